package config

import (
	"cmp"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Redacted returns every key with its value as it may be printed: secrets
// show only whether they are set.
func (c *Config) Redacted() map[string]string {
	vals := c.values()
	out := make(map[string]string, len(Keys))
	for _, k := range Keys {
		val := vals[k.Name]
		if k.Secret && val != "" {
			val = "[redacted]"
		}
		out[k.Name] = val
	}
	// A PostgreSQL URL may carry a password; the rest of it is useful.
	out["store.url"] = RedactURL(c.Store.URL)
	return out
}

// urlPasswordParams are the query parameters of store.url that hold a
// password (PostgreSQL reads both).
var urlPasswordParams = []string{"password", "sslpassword"}

// RedactURL hides the secrets of a URL such as postgres://user:secret@host/db:
// the password, and the password and sslpassword parameters PostgreSQL
// also reads. It fails closed: a value that does not parse as a URL (a
// password with a bare %, a URL without its scheme) cannot be redacted
// reliably, so everything after its scheme is hidden.
func RedactURL(raw string) string {
	const unparsable = "[redacted: not a valid URL]"
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		if scheme, _, ok := strings.Cut(raw, "://"); ok && schemeRE.MatchString(scheme) {
			return scheme + "://" + unparsable
		}
		return unparsable
	}
	changed := false
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "redacted")
			changed = true
		}
	}
	q, inQuery := u.Query(), false
	for _, k := range urlPasswordParams {
		if q.Has(k) {
			q.Set(k, "redacted")
			inQuery = true
		}
	}
	if inQuery {
		u.RawQuery = q.Encode()
		changed = true
	}
	if !changed {
		return raw
	}
	return u.String()
}

// storePasswords are the passwords in store.url, if any, for log scrubbing.
func (c *Config) storePasswords() []string {
	u, err := url.Parse(c.Store.URL)
	if err != nil {
		return nil
	}
	var out []string
	if u.User != nil {
		if p, _ := u.User.Password(); p != "" {
			out = append(out, p)
		}
	}
	q := u.Query()
	for _, k := range urlPasswordParams {
		if p := q.Get(k); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// String renders the redacted configuration, one key per line, sorted, so a
// %v in a log line can never leak a secret.
func (c *Config) String() string {
	r := c.Redacted()
	names := make([]string, 0, len(r))
	for n := range r {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s=%s\n", n, r[n])
	}
	return b.String()
}

// Secrets lists the secret values that are set, for log scrubbing.
func (c *Config) Secrets() []string {
	vals := c.values()
	var out []string
	for _, k := range Keys {
		if k.Secret && vals[k.Name] != "" {
			out = append(out, vals[k.Name])
		}
	}
	for _, tok := range c.Twilio.Accounts {
		if tok != "" {
			out = append(out, tok)
		}
	}
	out = append(out, c.storePasswords()...)
	return out
}

func (c *Config) values() map[string]string {
	accounts := make([]string, 0, len(c.Twilio.Accounts))
	for sid, tok := range c.Twilio.Accounts {
		if sid != c.Twilio.AccountSID {
			accounts = append(accounts, sid+":"+tok)
		}
	}
	sort.Strings(accounts)
	return map[string]string{
		"salesforce.login_url":        c.Salesforce.LoginURL,
		"salesforce.auth_flow":        c.Salesforce.AuthFlow,
		"salesforce.client_id":        c.Salesforce.ClientID,
		"salesforce.client_secret":    c.Salesforce.ClientSecret,
		"salesforce.username":         c.Salesforce.Username,
		"salesforce.password":         c.Salesforce.Password,
		"salesforce.security_token":   c.Salesforce.SecurityToken,
		"salesforce.private_key_file": c.Salesforce.PrivateKeyFile,
		"salesforce.refresh_token":    c.Salesforce.RefreshToken,
		"salesforce.api_version":      c.Salesforce.APIVersion,
		"twilio.account_sid":          c.Twilio.AccountSID,
		"twilio.auth_token":           c.Twilio.AuthToken,
		"twilio.accounts":             cmp.Or(c.accountsRaw, strings.Join(accounts, ",")),
		"twilio.api_base_url":         c.Twilio.APIBaseURL,
		"twilio.default_channel":      c.Twilio.DefaultChannel,
		"twilio.max_concurrency":      strconv.Itoa(c.Twilio.MaxConcurrency),
		"twilio.sender_rates":         formatRates(c.Twilio.SenderRates),
		"engine.default_region":       c.Engine.DefaultRegion,
		"engine.sweep_interval":       c.Engine.SweepInterval.String(),
		"engine.status_poll_after":    c.Engine.StatusPollAfter.String(),
		"engine.heartbeat_interval":   c.Engine.HeartbeatInterval.String(),
		"engine.api_budget":           strconv.FormatFloat(c.Engine.APIBudget, 'g', -1, 64),
		"engine.merge_fields":         strings.Join(c.Engine.MergeFields, ","),
		"server.listen":               c.Server.Listen,
		"server.admin_listen":         cmp.Or(c.Server.AdminListen, AdminOff),
		"server.public_url":           c.Server.PublicURL,
		"store.url":                   c.Store.URL,
		"log.level":                   c.Log.Level,
		"log.format":                  c.Log.Format,
	}
}

func formatRates(r map[string]float64) string {
	parts := make([]string, 0, len(r))
	for _, name := range slices.Sorted(maps.Keys(r)) {
		parts = append(parts, name+"="+strconv.FormatFloat(r[name], 'g', -1, 64))
	}
	return strings.Join(parts, ",")
}
