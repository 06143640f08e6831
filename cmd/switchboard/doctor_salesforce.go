package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/switchboard/switchboard/config"
	"github.com/switchboard/switchboard/sfdc"
)

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
	what := loginWhat(sf)
	var err error
	d.auth, err = sfdc.NewAuth(authConfig(sf), d.hc, zap.NewNop())
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
	d.report(loginCheck(sf, creds, err))
	if err != nil {
		skipAll("needs a Salesforce login")
		return
	}
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
