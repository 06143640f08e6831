package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard/switchboard/config"
	"github.com/switchboard/switchboard/sfdc"
	"github.com/switchboard/switchboard/twilio"
)

// Markers of doctor's report lines. A warning does not fail the run.
const (
	markPass = "✓"
	markFail = "✗"
	markWarn = "⚠"
	markSkip = "–"
)

// deployFix is how an admin adds missing schema (sfdc/metadata/README.md §1).
const deployFix = "deploy switchboard's schema: cd sfdc/metadata && sf project deploy start --source-dir force-app --target-org <your org alias>; " +
	"if it is deployed already, give the integration user access with the Switchboard_Integration permission set " +
	"(sf org assign permset --name Switchboard_Integration --on-behalf-of <integration username>)"

func newDoctorCmd(g *globals) *cobra.Command {
	var opts doctorOptions
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check every connection and setting, and say exactly what to fix",
		Long: `doctor checks, in order: the configuration (and which layer each value came
from), the Salesforce login, the API version, the org's remaining daily API calls,
the schema, the three PushTopics, the default External Channels, a streaming
handshake and subscribe to the sidecar's two topics, the Twilio
credentials of every account, every active Channel__c's number or Messaging
Service and its webhook URLs, server.public_url, the operator listener
(server.admin_listen: on loopback, and /readyz there when the daemon runs), and
the store.

Each check prints one line: "✓ what", "⚠ what: problem — fix: action" (a
warning) or "✗ what: problem — fix: action". A check that needs one that failed
is skipped ("– what: skipped: …"). doctor changes nothing (the store check
writes one health row). It exits 0 when no check failed (warnings allowed), 1
otherwise, and 2 for unusable flags or an unreadable settings file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDoctor(cmd, g, opts)
		},
	}
	cmd.Flags().DurationVar(&opts.timeout, "timeout", 20*time.Second, "how long one check may wait for Salesforce, Twilio or the store")
	return cmd
}

type doctorOptions struct {
	timeout time.Duration
}

// doctor runs the checks and keeps what later checks need.
type doctor struct {
	out  io.Writer
	cfg  *config.Config
	opts doctorOptions

	failures int
	problems map[string]bool // settings sections ("salesforce", …) with a configuration problem

	hc      *http.Client
	auth    *sfdc.Auth
	client  *sfdc.Client
	orgOK   bool // logged in, and the API version is served
	missing []sfdc.Problem
	topics  []sfdc.PushTopic
	topicOK bool // the PushTopics the sidecar subscribes to exist and are active

	tw      *twilio.Accounts
	twOK    map[string]bool // account SID → credentials accepted
	twFault map[string]string
}

func runDoctor(cmd *cobra.Command, g *globals, opts doctorOptions) error {
	if opts.timeout <= 0 {
		return &exitError{code: exitBadInput, err: errors.New("--timeout must be positive")}
	}
	cfg, err := config.Load(config.LoadOptions{ConfigFile: g.configFile, EnvFile: g.envFile, Flags: cmd.Flags(), Environ: g.environ})
	if err != nil {
		return &exitError{code: exitBadInput, err: err}
	}
	d := &doctor{
		out: g.stdout, cfg: cfg, opts: opts, problems: map[string]bool{},
		hc:   &http.Client{Timeout: opts.timeout},
		twOK: map[string]bool{}, twFault: map[string]string{},
	}
	ctx := cmd.Context()
	d.checkConfig()
	d.checkSalesforce(ctx)
	d.checkTwilio(ctx)
	d.checkChannels(ctx)
	d.checkPublicURL(ctx)
	d.checkAdminListen(ctx)
	d.checkStore(ctx)
	if d.tw != nil {
		d.tw.Close()
	}
	if d.failures > 0 {
		s := "s"
		if d.failures == 1 {
			s = ""
		}
		return &exitError{code: exitFailure, err: fmt.Errorf("doctor: %d check%s failed", d.failures, s)}
	}
	return nil
}

// report prints one check; a failed one fails the run.
func (d *doctor) report(c check) {
	if c.mark == markFail {
		d.failures++
	}
	fmt.Fprintln(d.out, c)
}

func (d *doctor) pass(what string) { d.report(passed(what)) }

func (d *doctor) fail(what, problem, fix string) { d.report(failed(what, problem, fix)) }

func (d *doctor) warn(what, problem, fix string) { d.report(warned(what, problem, fix)) }

func (d *doctor) skip(what, why string) {
	fmt.Fprintf(d.out, "%s %s: skipped: %s\n", markSkip, what, why)
}

func (d *doctor) detail(format string, args ...any) {
	fmt.Fprintf(d.out, "    "+format+"\n", args...)
}

func (d *doctor) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, d.opts.timeout)
}

// keyRef names a setting the way an admin sets it: the key and its
// environment variable.
func keyRef(key string) string { return key + " (" + config.EnvName(key) + ")" }

// ---- configuration ----------------------------------------------------

// sourceKeys are the settings whose origin explains most surprises.
var sourceKeys = []string{
	"salesforce.login_url", "salesforce.auth_flow", "salesforce.client_id", "salesforce.username",
	"salesforce.private_key_file", "salesforce.api_version", "twilio.account_sid", "twilio.accounts",
	"twilio.api_base_url", "twilio.default_channel", "server.public_url", "store.url",
}

func (d *doctor) checkConfig() {
	err := d.cfg.Validate(config.NeedAll)
	var ve *config.ValidationError
	if err != nil && !errors.As(err, &ve) {
		d.fail("configuration", err.Error(), "correct the settings named")
		return
	}
	if ve == nil {
		d.pass("configuration (every setting valid; where the main ones come from:)")
	}
	if ve != nil {
		for _, p := range ve.Problems {
			section, _, _ := strings.Cut(p.Key, ".")
			d.problems[section] = true
			d.fail("configuration "+p.Key, p.Message, d.setFix(p.Key))
		}
	}
	red := d.cfg.Redacted()
	for _, k := range sourceKeys {
		src := d.cfg.Source[k]
		if src == "unset" && red[k] == "" {
			continue
		}
		// Redacted hides the keys marked secret and the secrets of
		// store.url (all of it when it does not parse).
		val := red[k]
		if val == "" {
			val = `""`
		}
		d.detail("%s = %s (from %s)", k, val, src)
	}
}

// setFix says where to change a key, given the layer its value came from.
func (d *doctor) setFix(key string) string {
	env := config.EnvName(key)
	switch src := d.cfg.Source[key]; {
	case src == "flag":
		return "correct the flag --" + key
	case strings.HasPrefix(src, "env "):
		return "correct the environment variable " + env
	case src == ".env":
		return "correct " + env + " in the .env file"
	case src == "default", src == "unset", src == "":
		return "set " + env + " (or --" + key + ", or " + key + " in switchboard.yaml)"
	default:
		return "correct " + key + " in " + src + " (or override it with " + env + ")"
	}
}
