package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/switchboard/switchboard/config"
	"github.com/switchboard/switchboard/sfdc"
	"github.com/switchboard/switchboard/sync/store"
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

// ---- Salesforce -------------------------------------------------------

func (d *doctor) checkSalesforce(ctx context.Context) {
	orgChecks := []string{"Salesforce API version", "daily API calls", "schema"}
	for _, name := range sfdc.SpecTopicNames() {
		orgChecks = append(orgChecks, "PushTopic "+name)
	}
	orgChecks = append(orgChecks, "default External Channels", "streaming")
	skipAll := func(why string) {
		for _, c := range orgChecks {
			d.skip(c, why)
		}
	}
	if d.problems["salesforce"] {
		d.skip("Salesforce login", "the salesforce.* settings above are not usable")
		skipAll("needs a Salesforce login")
		return
	}
	sf := d.cfg.Salesforce
	what := fmt.Sprintf("Salesforce login (%s flow at %s)", sf.AuthFlow, sf.LoginURL)
	var err error
	d.auth, err = sfdc.NewAuth(sfdc.AuthConfig{
		Flow: sf.AuthFlow, LoginURL: sf.LoginURL, ClientID: sf.ClientID, ClientSecret: sf.ClientSecret,
		Username: sf.Username, Password: sf.Password, SecurityToken: sf.SecurityToken,
		PrivateKeyFile: sf.PrivateKeyFile, RefreshToken: sf.RefreshToken,
	}, d.hc, zap.NewNop())
	if err == nil {
		// One retry: doctor wants a prompt answer, not the daemon's patience.
		d.client, err = sfdc.NewClient(d.auth, sfdc.ClientConfig{APIVersion: sf.APIVersion, HTTPClient: d.hc, MaxRetries: 1})
	}
	if err != nil {
		d.fail(what, err.Error(), "correct the salesforce.* settings it names")
		skipAll("needs a Salesforce login")
		return
	}
	lctx, cancel := d.ctx(ctx)
	creds, err := d.auth.Credentials(lctx)
	cancel()
	if err != nil {
		problem, fix := explainLogin(sf, err)
		d.fail(what, problem, fix)
		skipAll("needs a Salesforce login")
		return
	}
	d.pass(fmt.Sprintf("%s as %s; instance %s", what, orDash(sf.Username), creds.InstanceURL))
	if sf.AuthFlow == sfdc.FlowPassword {
		// ref §1.3: deprecated and blocked by default in new orgs.
		d.warn("Salesforce login flow", "the username-password flow is being retired by Salesforce and is blocked by default in new orgs",
			"switch "+keyRef("salesforce.auth_flow")+" to jwt (with salesforce.private_key_file) or client_credentials")
	}

	if !d.checkVersion(ctx) {
		for _, c := range orgChecks[1:] {
			d.skip(c, "needs an API version the org serves")
		}
		return
	}
	d.orgOK = true
	topicErr := d.checkLimits(ctx)
	if topicErr == errLimitExhausted {
		for _, c := range orgChecks[2:] {
			d.skip(c, "the org has no API calls left today")
		}
		d.orgOK = false
		return
	}
	d.checkSchema(ctx)
	d.checkTopics(topicErr)
	d.checkDefaultChannels(ctx)
	d.checkStreaming(ctx)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// explainLogin turns a failed token request into what is wrong and what to
// change (ref §1.8: the error codes and descriptions the token endpoint
// sends).
func explainLogin(sf config.Salesforce, err error) (problem, fix string) {
	var ae *sfdc.AuthError
	if !errors.As(err, &ae) {
		return fmt.Sprintf("no answer from %s/services/oauth2/token: %v", sf.LoginURL, err),
			"check " + keyRef("salesforce.login_url") + " (https://login.salesforce.com, https://test.salesforce.com for sandboxes, or your My Domain) and the network or proxy between here and Salesforce"
	}
	said := fmt.Sprintf("%s: %s", ae.Code, ae.Description)
	desc := strings.ToLower(ae.Description)
	appPolicies := "Setup → App Manager → your Connected App → Manage → Edit Policies"
	switch ae.Code {
	case "invalid_client_id":
		return fmt.Sprintf("the org does not know consumer key %q (%s)", sf.ClientID, said),
			"set " + keyRef("salesforce.client_id") + " to the Consumer Key of the Connected App (Setup → App Manager → the app → View → Manage Consumer Details); a brand-new app can take a few minutes to be accepted"
	case "invalid_client":
		return "the consumer secret does not match the consumer key (" + said + ")",
			"set " + keyRef("salesforce.client_secret") + " to the Consumer Secret shown next to the Consumer Key (Manage Consumer Details)"
	case "unsupported_grant_type":
		return fmt.Sprintf("the org refuses the %s grant (%s)", sf.AuthFlow, said),
			"enable the flow on the Connected App (" + appPolicies + "; for client_credentials tick Enable Client Credentials Flow), or change " + keyRef("salesforce.auth_flow")
	case "inactive_user":
		return fmt.Sprintf("user %s is deactivated (%s)", sf.Username, said), "reactivate the integration user or set " + keyRef("salesforce.username") + " to an active one"
	case "inactive_org":
		return "the org is locked, deleted or expired (" + said + ")", "log in to the org in a browser and check its status; point " + keyRef("salesforce.login_url") + " at a live org"
	case "rate_limit_exceeded":
		return "Salesforce is refusing logins for now (" + said + ")", "wait a few minutes and run doctor again; make sure no process is logging in in a loop"
	case "invalid_grant":
	default:
		return "the token endpoint refused the login (" + said + ")", "check the Connected App (" + appPolicies + ") and the salesforce.* settings for the " + sf.AuthFlow + " flow"
	}
	switch {
	case strings.Contains(desc, "invalid assertion") && sf.AuthFlow == sfdc.FlowJWT:
		return fmt.Sprintf("the org cannot verify the JWT signed with %s: it is not the key of the certificate on the Connected App, or this machine's clock is off (%s)", sf.PrivateKeyFile, said),
			"upload the certificate of that key to the Connected App (Setup → App Manager → Edit → Use digital signatures), or set " + keyRef("salesforce.private_key_file") + " to the key the uploaded certificate was made from; check the clock (NTP)"
	case strings.Contains(desc, "hasn't approved") || strings.Contains(desc, "not approved"):
		return fmt.Sprintf("user %s is not pre-authorised for this Connected App (%s)", sf.Username, said),
			appPolicies + " → Permitted Users: Admin approved users are pre-authorized; then add the integration user's profile or the Switchboard_Integration permission set (Manage Permission Sets); and check " + keyRef("salesforce.username")
	case strings.Contains(desc, "audience"):
		return "the JWT audience does not match the org (" + said + ")",
			"set " + keyRef("salesforce.login_url") + " to https://login.salesforce.com for production, https://test.salesforce.com for sandboxes"
	case strings.Contains(desc, "not supported on this domain"):
		return "client_credentials works only on the org's My Domain (" + said + ")",
			"set " + keyRef("salesforce.login_url") + " to https://<your domain>.my.salesforce.com"
	case strings.Contains(desc, "client credentials user"):
		return "the Connected App has no Run As user for client_credentials (" + said + ")",
			appPolicies + " → Client Credentials Flow → Run As: the integration user"
	case strings.Contains(desc, "refresh token"):
		return "the refresh token was revoked or has expired (" + said + ")",
			"authorise the app again (web-server flow) and set " + keyRef("salesforce.refresh_token") + " to the new refresh token; or switch salesforce.auth_flow to jwt"
	case strings.Contains(desc, "ip restricted") || strings.Contains(desc, "login hours"):
		return "the user may not log in from this address or at this time (" + said + ")",
			appPolicies + " → IP Relaxation: Relax IP restrictions, or add this host's IP to the profile's Login IP Ranges"
	case sf.AuthFlow == sfdc.FlowPassword:
		return "username, password or security token is wrong, or the org blocks the username-password flow (" + said + ")",
			"check " + keyRef("salesforce.username") + ", " + keyRef("salesforce.password") + " and " + keyRef("salesforce.security_token") +
				"; Setup → OAuth and OpenID Connect Settings → Allow OAuth Username-Password Flows; better: switch salesforce.auth_flow to jwt"
	default:
		return fmt.Sprintf("the org refused user %s (%s)", orDash(sf.Username), said),
			"check " + keyRef("salesforce.username") + " (an active user pre-authorised for the Connected App) and the app's policies (" + appPolicies + ")"
	}
}

func (d *doctor) checkVersion(ctx context.Context) bool {
	want := d.cfg.Salesforce.APIVersion
	what := "Salesforce API version " + want
	vctx, cancel := d.ctx(ctx)
	vs, err := d.client.Versions(vctx)
	cancel()
	if err != nil {
		d.fail(what, "listing the org's API versions failed: "+err.Error(), "check that "+keyRef("salesforce.login_url")+" is the org's login host and the network path to its instance")
		return false
	}
	var served []string
	for _, v := range vs {
		served = append(served, v.Version)
		if v.Version == want {
			if f, _ := strconv.ParseFloat(want, 64); f < 37 {
				d.fail(what, "the Streaming API has no durable replay before 37.0", "set "+keyRef("salesforce.api_version")+" to "+sfdc.DefaultAPIVersion)
				return false
			}
			d.pass(fmt.Sprintf("%s (%s) is served by the org", what, v.Label))
			return true
		}
	}
	sort.Slice(served, func(i, j int) bool { return versionLess(served[i], served[j]) })
	newest := "none"
	if len(served) > 0 {
		newest = served[len(served)-1]
	}
	rng := newest
	if len(served) > 1 {
		rng = served[0] + " to " + newest
	}
	suggest := sfdc.DefaultAPIVersion
	if !slices.Contains(served, suggest) {
		suggest = newest
	}
	d.fail(what, fmt.Sprintf("the org serves %s, not %s", rng, want), "set "+keyRef("salesforce.api_version")+" to "+suggest)
	return false
}

func versionLess(a, b string) bool {
	x, _ := strconv.ParseFloat(a, 64)
	y, _ := strconv.ParseFloat(b, 64)
	return x < y
}

var errLimitExhausted = errors.New("daily API calls exhausted")

// checkLimits reads the PushTopics (a counted call, so its answer carries
// Sforce-Limit-Info, ref §2.1; GET /services/data/ does not) and reports
// the org's remaining daily calls. It returns the PushTopic query's error
// for checkTopics, or errLimitExhausted.
func (d *doctor) checkLimits(ctx context.Context) error {
	qctx, cancel := d.ctx(ctx)
	topics, err := sfdc.ListPushTopics(qctx, d.client, sfdc.SpecTopicNames()...)
	cancel()
	d.topics = topics
	l := d.client.Limits()
	var ae *sfdc.APIError
	if errors.As(err, &ae) && ae.Code == sfdc.CodeRequestLimitExceeded && !strings.Contains(ae.Message, "ConcurrentPerOrgLongTxn") {
		d.fail("daily API calls", fmt.Sprintf("the org has used all of its daily API calls (%d of %d in the last 24 h)", l.Used, l.Max),
			"wait for the rolling 24-hour window to free calls, or raise the org's limit; Setup → System Overview shows API usage and the API Usage report names the apps using it")
		return errLimitExhausted
	}
	d.report(apiCallsCheck(l, d.cfg.Engine.APIBudget))
	return err
}

func (d *doctor) checkSchema(ctx context.Context) {
	sctx, cancel := d.ctx(ctx)
	missing, err := sfdc.CheckSchema(sctx, d.client, sfdc.SpecSchema())
	cancel()
	if err != nil {
		d.fail("schema", "describing the SPEC objects failed: "+err.Error(), "give the integration user API access and read access to the objects (Switchboard_Integration permission set)")
		return
	}
	d.missing = missing
	if len(missing) == 0 {
		n := 0
		for _, o := range sfdc.SpecSchema() {
			n += len(o.Fields)
		}
		d.pass(fmt.Sprintf("schema: every SPEC object and field is there (%d objects, %d fields)", len(sfdc.SpecSchema()), n))
		return
	}
	parts := make([]string, len(missing))
	for i, p := range missing {
		parts[i] = p.String()
	}
	d.fail("schema", fmt.Sprintf("%d gap(s): %s", len(missing), strings.Join(parts, "; ")), deployFix)
}

// sameQuery compares SOQL as Salesforce does: keywords and API names are
// case-insensitive and whitespace is not significant.
func sameQuery(a, b string) bool {
	return strings.EqualFold(strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " "))
}

func (d *doctor) checkTopics(queryErr error) {
	specs := sfdc.SpecTopics()
	if queryErr != nil {
		for _, s := range specs {
			d.fail("PushTopic "+s.Name, "reading PushTopics failed: "+queryErr.Error(),
				"give the integration user Read on PushTopic (Switchboard_Integration permission set)")
		}
		return
	}
	d.topicOK = true
	for _, s := range specs {
		what := "PushTopic " + s.Name
		// The sidecar does not subscribe to SwitchboardChat (SPEC §2), so
		// without it only the chat components go deaf.
		sidecars := slices.Contains(streamChannels, "/topic/"+s.Name)
		hears := "switchboard hears nothing on /topic/" + s.Name
		if !sidecars {
			hears = "the chat components get no live updates on /topic/" + s.Name
		}
		fix := "run `switchboard setup` (it creates or updates the PushTopics to SPEC §2)"
		for _, p := range d.missing {
			if p.Object == s.Object && p.Value == "" {
				fix = "first " + deployFix + "; then run `switchboard setup`"
				break
			}
		}
		i := slices.IndexFunc(d.topics, func(t sfdc.PushTopic) bool { return t.Name == s.Name })
		if i < 0 {
			d.topicOK = d.topicOK && !sidecars
			d.fail(what, "does not exist, so "+hears, fix)
			continue
		}
		t := d.topics[i]
		var drift []string
		if !t.IsActive {
			d.topicOK = d.topicOK && !sidecars
			drift = append(drift, "it is inactive (IsActive = false), so nobody can subscribe to it")
		}
		if !sameQuery(t.Query, s.Query) {
			drift = append(drift, fmt.Sprintf("its query is %q, SPEC §2 wants %q", t.Query, s.Query))
		}
		if t.NotifyForFields != "Referenced" {
			drift = append(drift, fmt.Sprintf("NotifyForFields is %s, want Referenced", t.NotifyForFields))
		}
		if !t.NotifyForOperationCreate || !t.NotifyForOperationUpdate {
			drift = append(drift, fmt.Sprintf("it must notify on create and update (create %t, update %t)", t.NotifyForOperationCreate, t.NotifyForOperationUpdate))
		}
		if t.NotifyForOperationDelete || t.NotifyForOperationUndelete {
			drift = append(drift, fmt.Sprintf("it must not notify on delete or undelete (delete %t, undelete %t)", t.NotifyForOperationDelete, t.NotifyForOperationUndelete))
		}
		if len(drift) > 0 {
			d.fail(what, strings.Join(drift, "; "), fix)
			continue
		}
		d.pass(fmt.Sprintf("%s: active, SPEC query, notifies on create and update, fields Referenced (API %.1f)", what, t.APIVersion))
	}
}

// checkDefaultChannels: the External Channels `setup` creates (SPEC §1).
// Without one, replies from numbers stored in that field are not linked to
// their record.
func (d *doctor) checkDefaultChannels(ctx context.Context) {
	const what = "default External Channels"
	for _, p := range d.missing {
		if p.Object == "External_Channel__c" && p.Value == "" {
			d.skip(what, "needs External_Channel__c as SPEC §1 defines it (see schema)")
			return
		}
	}
	qctx, cancel := d.ctx(ctx)
	missing, err := sfdc.MissingDefaultExternalChannels(qctx, d.client)
	cancel()
	if err != nil {
		d.fail(what, "reading External_Channel__c failed: "+err.Error(), "give the integration user Read on External_Channel__c (Switchboard_Integration permission set)")
		return
	}
	var names, gone []string
	for _, c := range sfdc.DefaultExternalChannels() {
		names = append(names, c[0]+"."+c[1])
		if slices.Contains(missing, c) {
			gone = append(gone, c[0]+"."+c[1])
		}
	}
	if len(gone) == 0 {
		d.pass(what + ": " + strings.Join(names, ", "))
		return
	}
	verb := "is"
	if len(gone) > 1 {
		verb = "are"
	}
	d.fail(what, fmt.Sprintf("%s %s missing, so replies from those numbers are not linked to their records", strings.Join(gone, ", "), verb),
		"run `switchboard setup` (it creates the default External Channels)")
}

// streamEnded is the stream's log message for a session that ended; its
// "cause" and "error" fields say why (sfdc/streaming.go Run).
const (
	streamEnded     = "salesforce stream session ended; starting a new one"
	streamBusyRetry = "salesforce stream busy on subscribe; retrying"
)

// checkStreaming runs a short-lived stream: it handshakes and subscribes
// both topics, then disconnects as soon as the stream is subscribed, or
// reports the first session failure. Events that arrive meanwhile are
// dropped: the daemon's own subscription and replay checkpoint are
// untouched (a separate Bayeux client).
func (d *doctor) checkStreaming(ctx context.Context) {
	channels := streamChannels
	what := "streaming: handshake and subscribe to " + strings.Join(channels, " and ")
	if !d.topicOK {
		d.skip("streaming", "needs "+strings.Join(streamChannels, " and ")+" to exist and be active")
		return
	}
	core, logs := observer.New(zap.InfoLevel)
	s, err := sfdc.NewStream(sfdc.StreamConfig{
		Auth: d.auth, APIVersion: d.cfg.Salesforce.APIVersion, HTTPClient: d.hc, Logger: zap.New(core),
		Channels:       channels,
		Handle:         func(context.Context, string, []sfdc.Event) error { return nil },
		RequestTimeout: d.opts.timeout,
	})
	if err != nil {
		d.fail("streaming", err.Error(), "set "+keyRef("salesforce.api_version")+" to "+sfdc.DefaultAPIVersion)
		return
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Run(runCtx)
	}()
	defer func() {
		stop()
		<-done
	}()
	deadline := time.NewTimer(d.opts.timeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			d.fail("streaming", "interrupted", "run doctor again")
			return
		case <-deadline.C:
			d.fail("streaming", fmt.Sprintf("no subscription within %s", d.opts.timeout),
				"check the network path to the org's instance /cometd/"+d.cfg.Salesforce.APIVersion+" (proxies must allow long-polling POSTs held for 2 minutes)")
			return
		case <-tick.C:
		}
		if s.Subscribed() {
			d.pass(what)
			return
		}
		if busy := logs.FilterMessage(streamBusyRetry).Len(); busy > 0 {
			d.fail("streaming", "Salesforce answered a subscribe with 503::Server is too busy",
				"try again in a few minutes; if it persists check https://status.salesforce.com for the org's instance")
			return
		}
		if ended := logs.FilterMessage(streamEnded).All(); len(ended) > 0 {
			fields := ended[0].ContextMap()
			cause, _ := fields["cause"].(string)
			msg, _ := fields["error"].(string)
			problem, fix := explainStream(cause, msg)
			d.fail("streaming", problem, fix)
			return
		}
	}
}

// explainStream maps a stream failure cause (sfdc.Cause*) to advice; the
// error strings are those of ref §3.6.
func explainStream(cause, msg string) (problem, fix string) {
	perms := "the integration user needs API Enabled, Streaming API, and Read on PushTopic, Task and Conversation__c (Switchboard_Integration permission set)"
	switch cause {
	case sfdc.CauseAuth:
		return "the streaming endpoint refused the session: " + msg, perms + "; the Connected App's OAuth scopes must include api"
	case sfdc.CauseBusy:
		return "Salesforce refused the handshake as too busy: " + msg,
			"try again in a few minutes; if it persists check https://status.salesforce.com for the org's instance"
	case sfdc.CauseLimit:
		return "an org streaming allocation is used up: " + msg,
			"stop other subscribers (every switchboard replica is one) or wait a minute for abandoned clients to expire; the daily event allocation renews over 24 hours"
	case sfdc.CauseSubscribeFailed:
		return "a subscribe was refused: " + msg, "run `switchboard setup`; " + perms
	default:
		return "the handshake failed (" + cause + "): " + msg,
			"check " + keyRef("salesforce.api_version") + " (37.0 or later) and that nothing between here and the instance's /cometd endpoint drops cookies or long-polling requests"
	}
}

// ---- Twilio -----------------------------------------------------------

func (d *doctor) checkTwilio(ctx context.Context) {
	if d.problems["twilio"] {
		d.skip("Twilio credentials", "the twilio.* settings above are not usable")
		return
	}
	tw := d.cfg.Twilio
	var err error
	d.tw, err = twilio.NewAccounts(tw.Accounts, twilio.Options{BaseURL: tw.APIBaseURL, Timeout: d.opts.timeout})
	if err != nil {
		d.fail("Twilio credentials", err.Error(), "correct "+keyRef("twilio.auth_token")+" or the entries of "+keyRef("twilio.accounts")+" (auth tokens are letters and digits)")
		return
	}
	for _, sid := range d.tw.SIDs() {
		what := "Twilio credentials of " + sid
		tokenKey := "twilio.auth_token"
		if sid != tw.AccountSID {
			tokenKey = "twilio.accounts"
		}
		cctx, cancel := d.ctx(ctx)
		err := d.tw.Check(cctx, sid)
		cancel()
		if err == nil {
			d.twOK[sid] = true
			d.pass(what + " (at " + tw.APIBaseURL + ")")
			continue
		}
		d.twFault[sid] = "needs working Twilio credentials of " + sid
		var te *twilio.Error
		errors.As(err, &te)
		switch {
		case te != nil && te.Code == 20003:
			fix := "set " + keyRef("twilio.auth_token") + " to the Auth Token of " + sid + " (Twilio Console → Account → API keys & tokens)"
			if tokenKey == "twilio.accounts" {
				fix = "correct the token of " + sid + " in " + keyRef("twilio.accounts") + " (SID:TOKEN pairs; Twilio Console → Account → API keys & tokens)"
			}
			d.fail(what, "Twilio rejected the account SID or auth token (20003)", fix)
		case te != nil && te.Code == 20005:
			d.fail(what, "the Twilio account is not active (20005)", "reactivate "+sid+" in the Twilio Console, or remove it from the settings")
		case te != nil && te.HTTPStatus == 0:
			d.fail(what, "no answer from Twilio: "+te.Description, "check "+keyRef("twilio.api_base_url")+" and the network or proxy between here and Twilio")
		default:
			d.fail(what, err.Error(), "check "+keyRef("twilio.account_sid")+" and "+keyRef("twilio.api_base_url"))
		}
	}
}

// channelRow and channelTypeRow are the Channel__c / Channel_Type__c fields
// doctor needs (SPEC §1).
type channelRow struct {
	ID               string `json:"Id"`
	Name             string `json:"Name"`
	Phone            string `json:"Phone_Number__c"`
	MessagingService string `json:"Messaging_Service_Sid__c"`
	ChannelType      string `json:"Channel_Type__c"`
}

type channelTypeRow struct {
	ID         string `json:"Id"`
	Name       string `json:"Name"`
	AccountSID string `json:"Account_Sid__c"`
}

func (d *doctor) checkChannels(ctx context.Context) {
	switch {
	case !d.orgOK:
		d.skip("channels", "needs a Salesforce login")
		return
	case d.tw == nil:
		d.skip("channels", "needs usable Twilio settings")
		return
	}
	for _, p := range d.missing {
		if p.Object == "Channel__c" || p.Object == "Channel_Type__c" {
			d.skip("channels", "needs Channel__c and Channel_Type__c as SPEC §1 defines them (see schema)")
			return
		}
	}
	qctx, cancel := d.ctx(ctx)
	defer cancel()
	var channels []channelRow
	var types []channelTypeRow
	err := d.client.Query(qctx, "SELECT Id, Name, Phone_Number__c, Messaging_Service_Sid__c, Channel_Type__c FROM Channel__c WHERE Active__c = true", &channels)
	if err == nil {
		err = d.client.Query(qctx, "SELECT Id, Name, Account_Sid__c FROM Channel_Type__c", &types)
	}
	if err != nil {
		d.fail("channels", "reading Channel__c and Channel_Type__c failed: "+err.Error(), "give the integration user Read on both (Switchboard_Integration permission set)")
		return
	}
	if len(channels) == 0 {
		d.fail("channels", "no active Channel__c: switchboard has no number to send from",
			"create a Channel__c with Phone_Number__c (or Messaging_Service_Sid__c), a Channel_Type__c whose Account_Sid__c is configured, and Active__c checked")
		return
	}
	if dc := d.cfg.Twilio.DefaultChannel; dc != "" && !slices.ContainsFunc(channels, func(c channelRow) bool { return c.Name == dc }) {
		d.fail("configuration twilio.default_channel", fmt.Sprintf("%q is not the Name of an active Channel__c", dc),
			"set "+keyRef("twilio.default_channel")+" to one of: "+strings.Join(channelNames(channels), ", "))
	}
	sort.Slice(channels, func(i, j int) bool { return channels[i].Name < channels[j].Name })
	for _, ch := range channels {
		ti := slices.IndexFunc(types, func(t channelTypeRow) bool { return t.ID == ch.ChannelType })
		if ti < 0 {
			d.fail("channel "+ch.Name, "has no Channel_Type__c, so switchboard does not know its Twilio account",
				"set Channel_Type__c on Channel__c "+ch.Name+" ("+ch.ID+") to the channel type of its Twilio account")
			continue
		}
		d.checkChannel(ctx, ch, types[ti])
	}
}

func channelNames(cs []channelRow) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	sort.Strings(out)
	return out
}

func (d *doctor) checkChannel(ctx context.Context, ch channelRow, ct channelTypeRow) {
	what := "channel " + ch.Name
	acct := strings.TrimSpace(ct.AccountSID)
	switch {
	case acct == "":
		d.fail(what, fmt.Sprintf("its Channel_Type__c %s has no Account_Sid__c", ct.Name), "set Account_Sid__c on Channel_Type__c "+ct.Name+" to the AC… SID of its Twilio account")
		return
	case !d.tw.Has(acct):
		d.fail(what, fmt.Sprintf("its Channel_Type__c %s names Twilio account %s, which has no credentials here", ct.Name, acct),
			"add "+acct+":<auth token> to "+keyRef("twilio.accounts")+", or correct Account_Sid__c on Channel_Type__c "+ct.Name)
		return
	case !d.twOK[acct]:
		d.skip(what, d.twFault[acct])
		return
	case ch.Phone == "" && ch.MessagingService == "":
		d.fail(what, "has neither Phone_Number__c nor Messaging_Service_Sid__c", "set one of them on Channel__c "+ch.Name)
		return
	}
	wantIn, wantStatus := "", ""
	if !d.problems["server"] {
		wantIn, wantStatus = d.cfg.Server.PublicURL+"/twilio/inbound", d.cfg.Server.PublicURL+"/twilio/status"
	}
	consoleNumber := "Twilio Console → Phone Numbers → Manage → Active numbers → " + ch.Phone + " → Messaging Configuration → A message comes in: Webhook " + wantIn + ", HTTP POST"
	lctx, cancel := d.ctx(ctx)
	defer cancel()

	numberRouted := ch.MessagingService == ""
	if ch.MessagingService != "" {
		svc, err := d.tw.MessagingService(lctx, acct, ch.MessagingService)
		if errors.Is(err, twilio.ErrNotFound) {
			d.fail(what, fmt.Sprintf("Messaging Service %s is not a service of Twilio account %s", ch.MessagingService, acct),
				"correct Messaging_Service_Sid__c on Channel__c "+ch.Name+", or Account_Sid__c on its Channel_Type__c "+ct.Name)
			return
		}
		if err != nil {
			d.fail(what, "looking up Messaging Service "+ch.MessagingService+" failed: "+err.Error(), "check "+keyRef("twilio.api_base_url")+" and run doctor again")
			return
		}
		consoleSvc := "Twilio Console → Messaging → Services → " + ch.MessagingService + " → Integration → Incoming Messages: Send a webhook, Request URL " + wantIn + ", HTTP POST"
		if svc.StatusCallback != "" && wantStatus != "" && !sameURL(svc.StatusCallback, wantStatus) {
			// A message's own StatusCallback overrides the service's (ref
			// §2.1) and switchboard sets one on every send, so only messages
			// sent by others report there.
			d.warn(what, fmt.Sprintf("Messaging Service %s sends delivery status to %s; switchboard's sends override it, but messages sent through the service by anything else never reach Salesforce", ch.MessagingService, svc.StatusCallback),
				"clear the service's Delivery Status Callback, or set it to "+wantStatus)
		}
		switch {
		case svc.UseInboundWebhookOnNumber && ch.Phone == "":
			d.warn(what, fmt.Sprintf("Messaging Service %s hands inbound messages to each sender number's own webhook, which doctor cannot check without Phone_Number__c", ch.MessagingService),
				"make sure every number of the service has 'A message comes in' set to "+wantIn+" (HTTP POST), or switch the service to Send a webhook: "+consoleSvc)
		case svc.UseInboundWebhookOnNumber:
			numberRouted = true
		case wantIn == "":
			d.pass(fmt.Sprintf("%s: Messaging Service %s is in account %s (its webhook is not checked: server.public_url is not usable)", what, ch.MessagingService, acct))
		case svc.InboundRequestURL == "":
			d.fail(what, fmt.Sprintf("Messaging Service %s has no inbound webhook: Twilio drops replies to it", ch.MessagingService), consoleSvc)
		case !sameURL(svc.InboundRequestURL, wantIn) || !strings.EqualFold(orPost(svc.InboundMethod), http.MethodPost):
			d.fail(what, fmt.Sprintf("Messaging Service %s sends inbound messages to %s %s, not to switchboard at POST %s", ch.MessagingService, orPost(svc.InboundMethod), svc.InboundRequestURL, wantIn), consoleSvc)
		default:
			d.pass(fmt.Sprintf("%s: Messaging Service %s in %s sends inbound messages to %s", what, ch.MessagingService, acct, wantIn))
		}
		if !numberRouted && ch.Phone == "" {
			return
		}
	}
	if ch.Phone == "" {
		return
	}
	n, err := d.tw.IncomingNumber(lctx, acct, ch.Phone)
	if errors.Is(err, twilio.ErrNotFound) {
		d.fail(what, fmt.Sprintf("%s is not a phone number of Twilio account %s", ch.Phone, acct),
			"correct Phone_Number__c on Channel__c "+ch.Name+" (E.164, e.g. +14155550100), or Account_Sid__c on its Channel_Type__c "+ct.Name+", or buy or port the number into "+acct)
		return
	}
	if err != nil {
		d.fail(what, "looking up "+ch.Phone+" failed: "+err.Error(), "correct Phone_Number__c on Channel__c "+ch.Name+" or check "+keyRef("twilio.api_base_url"))
		return
	}
	if !numberRouted {
		// The service routes inbound messages; the number only has to exist.
		return
	}
	if n.StatusCallback != "" && wantStatus != "" && !sameURL(n.StatusCallback, wantStatus) {
		// On this resource status_callback reports calls; message status goes
		// to each message's StatusCallback, which switchboard sets (ref §2.1).
		d.warn(what, fmt.Sprintf("%s has a status callback to %s (call status; switchboard's messages carry their own status URL)", ch.Phone, n.StatusCallback),
			"nothing, if that endpoint is meant for calls; otherwise clear it or set it to "+wantStatus)
	}
	switch {
	case wantIn == "":
		d.pass(fmt.Sprintf("%s: %s is in account %s (its webhook is not checked: server.public_url is not usable)", what, ch.Phone, acct))
	case n.SMSApplicationSID != "":
		d.warn(what, fmt.Sprintf("%s hands messages to TwiML App %s, whose Messaging Request URL doctor does not check", ch.Phone, n.SMSApplicationSID),
			"make sure that app's Messaging Request URL is "+wantIn+" (HTTP POST), or set the number itself: "+consoleNumber)
	case n.SMSURL == "":
		d.fail(what, fmt.Sprintf("%s has no 'A message comes in' webhook: Twilio drops replies to it", ch.Phone), consoleNumber)
	case !sameURL(n.SMSURL, wantIn) || !strings.EqualFold(orPost(n.SMSMethod), http.MethodPost):
		d.fail(what, fmt.Sprintf("%s sends inbound messages to %s %s, not to switchboard at POST %s", ch.Phone, orPost(n.SMSMethod), n.SMSURL, wantIn), consoleNumber)
	default:
		d.pass(fmt.Sprintf("%s: %s in %s sends inbound messages to %s", what, ch.Phone, acct, wantIn))
	}
}

func orPost(m string) string {
	if m == "" {
		return http.MethodPost
	}
	return strings.ToUpper(m)
}

// sameURL compares webhook URLs as Twilio calls them: scheme and host
// case-insensitive, a default port equal to none, a trailing slash
// ignored, and the fragment dropped (it carries connection overrides,
// ref §5.2, and is never sent).
func sameURL(a, b string) bool {
	norm := func(s string) string {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil {
			return s
		}
		u.Fragment, u.RawFragment = "", ""
		u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
		if (u.Scheme == "https" && u.Port() == "443") || (u.Scheme == "http" && u.Port() == "80") {
			u.Host = u.Hostname()
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		u.RawPath = ""
		return u.String()
	}
	return norm(a) == norm(b)
}

// ---- server.public_url ------------------------------------------------

func (d *doctor) checkPublicURL(ctx context.Context) {
	const what = "server.public_url"
	if d.problems["server"] {
		d.skip(what, "see the configuration problems above")
		return
	}
	raw := d.cfg.Server.PublicURL
	u, err := url.Parse(raw)
	if err != nil {
		d.fail(what, err.Error(), d.setFix(what))
		return
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	loopback := isLoopbackHost(host)
	fixHTTPS := "set " + keyRef(what) + " to the https base URL your proxy or load balancer publishes for this sidecar, e.g. https://switchboard.example.com"
	switch {
	case u.RawQuery != "" || u.Fragment != "":
		d.fail(what, fmt.Sprintf("%q carries a query or fragment; Twilio signs the exact URL it calls", raw), fixHTTPS)
		return
	case strings.HasSuffix(u.Path, "/twilio/inbound") || strings.HasSuffix(u.Path, "/twilio/status"):
		d.fail(what, fmt.Sprintf("%q is a webhook URL; public_url is the base that /twilio/inbound and /twilio/status are appended to", raw),
			"set "+keyRef(what)+" to "+strings.TrimSuffix(strings.TrimSuffix(raw, "/twilio/inbound"), "/twilio/status"))
		return
	case u.Scheme == "http" && !loopback:
		d.fail(what, fmt.Sprintf("%q is not https; Twilio's webhooks and their signatures must not travel in clear text", raw), fixHTTPS)
		return
	case !loopback && ip != nil && (ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified()):
		d.fail(what, fmt.Sprintf("%s is a private address Twilio cannot reach", host), fixHTTPS)
		return
	case !loopback && ip == nil && !strings.Contains(host, "."):
		d.fail(what, fmt.Sprintf("%q is not a public DNS name", host), fixHTTPS)
		return
	}
	note := ""
	if loopback {
		note = " (loopback: fine for the simulators; real Twilio cannot reach it)"
	}
	// Is this sidecar (or one like it) behind the URL? Not a failure if not:
	// doctor may run before `switchboard run`.
	pctx, cancel := context.WithTimeout(ctx, min(d.opts.timeout, 5*time.Second))
	defer cancel()
	req, _ := http.NewRequestWithContext(pctx, http.MethodGet, raw+"/healthz", nil)
	resp, err := d.hc.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
	}
	switch {
	case err != nil:
		d.warn(what+" "+raw+note, "GET "+raw+"/healthz got no answer ("+shortErr(err)+"), so Twilio's webhooks would not arrive either",
			"start `switchboard run`, and route "+raw+" to server.listen ("+d.cfg.Server.Listen+") at your proxy or load balancer")
	case resp.StatusCode != http.StatusOK:
		d.warn(what+" "+raw+note, fmt.Sprintf("GET %s/healthz answered HTTP %d, not switchboard's 200", raw, resp.StatusCode),
			"route "+raw+" to this sidecar's server.listen ("+d.cfg.Server.Listen+") without rewriting the path")
	default:
		d.pass(what + " " + raw + note + ": GET /healthz answered 200")
	}
}

// ---- server.admin_listen ---------------------------------------------

// checkAdminListen: the operator endpoints show queue depths, API usage and
// error texts, so they belong on loopback or a private network; and when
// the daemon runs, /readyz there says whether it is ready.
func (d *doctor) checkAdminListen(ctx context.Context) {
	const key = "server.admin_listen"
	addr := d.cfg.Server.AdminListen
	if d.problems["server"] {
		d.skip(key, "see the configuration problems above")
		return
	}
	if addr == "" {
		d.pass(key + " off: /readyz and /metrics are not served (no readiness probe, no Prometheus)")
		return
	}
	host, port, _ := net.SplitHostPort(addr)
	what := key + " " + addr
	if isLoopbackHost(host) {
		what += " (loopback)"
	} else {
		d.warn(what, "/readyz and /metrics are reachable beyond this host; they show queue depths, API usage and error texts",
			"keep that port to your monitoring network (a firewall, a Kubernetes Service of its own), or set "+keyRef(key)+" to 127.0.0.1:9090")
		return
	}
	if port == "0" {
		d.pass(what + ": a port chosen at start, so not probed")
		return
	}
	u := "http://" + net.JoinHostPort(host, port) + "/readyz"
	pctx, cancel := context.WithTimeout(ctx, min(d.opts.timeout, 5*time.Second))
	defer cancel()
	req, _ := http.NewRequestWithContext(pctx, http.MethodGet, u, nil)
	resp, err := d.hc.Do(req)
	if err != nil {
		d.warn(what, "GET "+u+" got no answer ("+shortErr(err)+")", "start `switchboard run` on this host; probes and Prometheus read "+u)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	switch text := strings.TrimSpace(string(body)); {
	case resp.StatusCode == http.StatusOK && text == "ready":
		d.pass(what + ": GET /readyz answered ready")
	case resp.StatusCode == http.StatusServiceUnavailable:
		d.warn(what, "the daemon answers but is not ready: "+text, "see the checks above")
	default:
		d.warn(what, fmt.Sprintf("GET %s answered HTTP %d, not switchboard's readiness", u, resp.StatusCode),
			"set "+keyRef(key)+" to a port of its own")
	}
}

func shortErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// ---- store ------------------------------------------------------------

func (d *doctor) checkStore(ctx context.Context) {
	what := storeWhat(d.cfg.Store.URL)
	if d.problems["store"] {
		d.skip("store", "see the configuration problems above")
		return
	}
	sctx, cancel := d.ctx(ctx)
	defer cancel()
	st, err := store.Open(sctx, d.cfg.Store.URL, store.Options{})
	if err != nil {
		d.fail(what, "cannot be opened: "+err.Error(),
			"set "+keyRef("store.url")+" to sqlite://<path in a writable directory> or to a reachable postgres://user@host:5432/db")
		return
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = st.Close(cctx)
	}()
	c, _ := storeCheck(sctx, st, what)
	d.report(c)
}
