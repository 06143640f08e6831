package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/switchboard/switchboard/config"
	"github.com/switchboard/switchboard/sfdc"
)

func newSetupCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "setup",
		Short: "Create or update the PushTopics and default External Channels, and check the org's schema",
		Long: `setup prepares a Salesforce org for switchboard. It is safe to run again:

  - creates or updates the PushTopics SwitchboardTasks and SwitchboardConversations
    with the queries switchboard listens to, and SwitchboardChat, which the chat
    components listen to;
  - creates the default External_Channel__c rows (Contact.MobilePhone, Contact.Phone,
    Lead.MobilePhone, Lead.Phone, Account.Phone) if they are missing;
  - checks every object and field switchboard uses, by describe, and lists what is
    missing by API name (deploy sfdc/metadata to add them).

It exits 0 only when the org is ready.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := g.load(cmd, config.NeedSalesforce)
			if err != nil {
				return err
			}
			defer log.Sync() //nolint:errcheck // stderr sync errors are not actionable
			client, err := newSalesforceClient(cfg, log)
			if err != nil {
				return &exitError{code: exitBadInput, err: err}
			}
			rep, err := sfdc.Setup(cmd.Context(), client, log)
			if err != nil {
				return &exitError{code: exitFailure, err: fmt.Errorf("setup: %w", err)}
			}
			fmt.Fprint(g.stdout, rep.String())
			if !rep.Ready() {
				return &exitError{code: exitFailure, err: fmt.Errorf("the org is not ready: deploy sfdc/metadata (sf project deploy start) and run setup again")}
			}
			return nil
		},
	}
}

// newSalesforceClient builds the authenticated REST client from settings.
func newSalesforceClient(cfg *config.Config, log *zap.Logger) (*sfdc.Client, error) {
	_, c, _, err := newSalesforce(cfg, log, nil)
	return c, err
}

// authConfig is the login the salesforce.* settings describe.
func authConfig(sf config.Salesforce) sfdc.AuthConfig {
	return sfdc.AuthConfig{
		Flow: sf.AuthFlow, LoginURL: sf.LoginURL, ClientID: sf.ClientID, ClientSecret: sf.ClientSecret,
		Username: sf.Username, Password: sf.Password, SecurityToken: sf.SecurityToken,
		PrivateKeyFile: sf.PrivateKeyFile, RefreshToken: sf.RefreshToken,
	}
}

// newSalesforce builds the login (shared by REST and the stream, so one
// re-authentication serves both) and the REST client. onLimits, if set,
// receives every Sforce-Limit-Info reading.
func newSalesforce(cfg *config.Config, log *zap.Logger, onLimits func(sfdc.Limits)) (*sfdc.Auth, *sfdc.Client, *http.Client, error) {
	sf := cfg.Salesforce
	hc := &http.Client{Timeout: 2 * time.Minute}
	auth, err := sfdc.NewAuth(authConfig(sf), hc, log)
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := sfdc.NewClient(auth, sfdc.ClientConfig{APIVersion: sf.APIVersion, HTTPClient: hc, Logger: log, OnLimits: onLimits})
	return auth, c, hc, err
}
