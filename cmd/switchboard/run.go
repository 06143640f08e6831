package main

import (
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/switchboard/switchboard/config"
)

func newRunCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the sidecar: send Pending Tasks, take Twilio's webhooks, write results to Salesforce",
		Long: `run is the daemon. It listens to the PushTopics SwitchboardTasks and
SwitchboardConversations, sends every Pending outbound Task through Twilio
exactly once, and serves Twilio's webhooks on server.listen:

  POST /twilio/inbound   customers' messages (point your number or Messaging Service here)
  POST /twilio/status    delivery receipts (set per message by switchboard)
  GET  /healthz          the process is alive

and the operator endpoints on server.admin_listen (loopback by default):

  GET  /readyz           org authenticated, stream subscribed, store writable
  GET  /metrics          Prometheus

SIGTERM or SIGINT drains in-flight work and exits 0 within 20 s; a second
signal exits at once. Run "switchboard setup" once first, and "switchboard
doctor" when something is off.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := g.load(cmd, config.NeedSalesforce|config.NeedTwilio|config.NeedServer|config.NeedStore)
			if err != nil {
				return err
			}
			defer log.Sync() //nolint:errcheck // stderr sync errors are not actionable
			log.Debug("configuration (secrets redacted)", zap.Stringer("config", cfg))
			m := NewMain(cfg, log, tuning{})
			if err := m.Run(cmd.Context()); err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			return nil
		},
	}
}
