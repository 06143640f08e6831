package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// chdir moves the test into an empty folder so no stray .env or
// switchboard.yaml of the developer's leaks in.
func chdir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	return dir
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestEnvName(t *testing.T) {
	if got := EnvName("salesforce.client_id"); got != "SWITCHBOARD_SALESFORCE_CLIENT_ID" {
		t.Fatalf("EnvName = %q", got)
	}
}

func TestDefaults(t *testing.T) {
	chdir(t)
	cfg, err := Load(LoadOptions{Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"salesforce.login_url":   "https://login.salesforce.com",
		"salesforce.auth_flow":   "jwt",
		"salesforce.api_version": "62.0",
		"twilio.api_base_url":    "https://api.twilio.com",
		"server.listen":          ":8080",
		"store.url":              "sqlite://switchboard.db",
		"log.level":              "info",
		"log.format":             "json",
	}
	got := cfg.Redacted()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
		if cfg.Source[k] != "default" {
			t.Errorf("%s source = %q, want default", k, cfg.Source[k])
		}
	}
}

// TestPrecedence checks SPEC §4: flags > environment > .env > yaml > defaults,
// one key per layer boundary.
func TestPrecedence(t *testing.T) {
	dir := chdir(t)
	write(t, filepath.Join(dir, "switchboard.yaml"), `
log:
  level: debug        # yaml only
server:
  listen: ":7000"     # yaml, beaten by .env
  public_url: https://yaml.example
twilio:
  default_channel: yaml-channel # yaml, beaten by env
store:
  url: sqlite://yaml.db         # yaml, beaten by flag
`)
	write(t, filepath.Join(dir, ".env"), "SWITCHBOARD_SERVER_LISTEN=:7001\nSWITCHBOARD_SERVER_PUBLIC_URL=https://dotenv.example\n")
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	RegisterFlags(fs)
	if err := fs.Parse([]string{"--store.url=postgres://flag@127.0.0.1/db"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(LoadOptions{Flags: fs, Environ: []string{
		"SWITCHBOARD_TWILIO_DEFAULT_CHANNEL=env-channel",
		"SWITCHBOARD_SERVER_PUBLIC_URL=https://env.example",
		"UNRELATED=1",
	}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ key, got, want, src string }{
		{"log.level", cfg.Log.Level, "debug", "switchboard.yaml"},
		{"server.listen", cfg.Server.Listen, ":7001", ".env"},
		{"server.public_url", cfg.Server.PublicURL, "https://env.example", "env SWITCHBOARD_SERVER_PUBLIC_URL"},
		{"twilio.default_channel", cfg.Twilio.DefaultChannel, "env-channel", "env SWITCHBOARD_TWILIO_DEFAULT_CHANNEL"},
		{"store.url", cfg.Store.URL, "postgres://flag@127.0.0.1/db", "flag"},
		{"log.format", cfg.Log.Format, "json", "default"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.key, c.got, c.want)
		}
		if cfg.Source[c.key] != c.src {
			t.Errorf("%s source = %q, want %q", c.key, cfg.Source[c.key], c.src)
		}
	}
}

func TestExplicitFilesMissing(t *testing.T) {
	chdir(t)
	if _, err := Load(LoadOptions{ConfigFile: "nope.yaml", Environ: []string{}}); err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("missing --config file: err = %v, want one naming nope.yaml", err)
	}
	if _, err := Load(LoadOptions{EnvFile: "nope.env", Environ: []string{}}); err == nil || !strings.Contains(err.Error(), "nope.env") {
		t.Fatalf("missing env file: err = %v, want one naming nope.env", err)
	}
}

func TestBadYAMLNamesFile(t *testing.T) {
	dir := chdir(t)
	write(t, filepath.Join(dir, "switchboard.yaml"), "log: [unclosed\n")
	_, err := Load(LoadOptions{Environ: []string{}})
	if err == nil || !strings.Contains(err.Error(), "switchboard.yaml") {
		t.Fatalf("err = %v, want a parse error naming switchboard.yaml", err)
	}
}

func problems(t *testing.T, err error) map[string]string {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want *ValidationError", err)
	}
	out := map[string]string{}
	for _, p := range ve.Problems {
		out[p.Key] = p.String()
	}
	return out
}

// TestEachRequiredKeyNamesItsEnv removes each required key of a complete
// configuration in turn and checks the one problem line names the key and its
// environment variable.
func TestEachRequiredKeyNamesItsEnv(t *testing.T) {
	dir := chdir(t)
	keyFile := filepath.Join(dir, "key.pem")
	write(t, keyFile, "-----BEGIN RSA PRIVATE KEY-----\nMII...\n-----END RSA PRIVATE KEY-----\n")
	complete := map[string]string{
		"SWITCHBOARD_SALESFORCE_CLIENT_ID":        "3MVG9abc",
		"SWITCHBOARD_SALESFORCE_USERNAME":         "integration@example.com",
		"SWITCHBOARD_SALESFORCE_PRIVATE_KEY_FILE": keyFile,
		"SWITCHBOARD_TWILIO_ACCOUNT_SID":          "AC" + strings.Repeat("0a", 16),
		"SWITCHBOARD_TWILIO_AUTH_TOKEN":           "secret-token",
		"SWITCHBOARD_SERVER_PUBLIC_URL":           "https://sms.example.com",
	}
	env := func(skip string) []string {
		var out []string
		for k, v := range complete {
			if k != skip {
				out = append(out, k+"="+v)
			}
		}
		return out
	}
	cfg, err := Load(LoadOptions{Environ: env("")})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(NeedAll); err != nil {
		t.Fatalf("complete config: %v", err)
	}
	for name := range complete {
		cfg, err := Load(LoadOptions{Environ: env(name)})
		if err != nil {
			t.Fatal(err)
		}
		ps := problems(t, cfg.Validate(NeedAll))
		if len(ps) != 1 {
			t.Errorf("without %s: %d problems %v, want 1", name, len(ps), ps)
			continue
		}
		for key, line := range ps {
			if EnvName(key) != name || !strings.Contains(line, "set "+name) || !strings.HasPrefix(line, key+": required") {
				t.Errorf("without %s: problem line %q", name, line)
			}
		}
	}
}

func TestValidateBadValues(t *testing.T) {
	chdir(t)
	cfg, err := Load(LoadOptions{Environ: []string{
		"SWITCHBOARD_SALESFORCE_AUTH_FLOW=saml",
		"SWITCHBOARD_SALESFORCE_CLIENT_ID=x",
		"SWITCHBOARD_SALESFORCE_API_VERSION=62",
		"SWITCHBOARD_SALESFORCE_LOGIN_URL=http://login.salesforce.com",
		"SWITCHBOARD_TWILIO_ACCOUNT_SID=ACnothex",
		"SWITCHBOARD_TWILIO_AUTH_TOKEN=t",
		"SWITCHBOARD_TWILIO_ACCOUNTS=AC" + strings.Repeat("1", 32) + ":tok,broken",
		"SWITCHBOARD_SERVER_PUBLIC_URL=ftp://x",
		"SWITCHBOARD_STORE_URL=mysql://x",
		"SWITCHBOARD_LOG_LEVEL=loud",
		"SWITCHBOARD_LOG_FORMAT=xml",
	}})
	if err != nil {
		t.Fatal(err)
	}
	ps := problems(t, cfg.Validate(NeedAll))
	want := map[string]string{
		"salesforce.auth_flow":   `"saml" is not one of`,
		"salesforce.api_version": `"62" is not a Salesforce API version`,
		"salesforce.login_url":   "must use https",
		"twilio.account_sid":     "is not an Account SID",
		"twilio.accounts":        `entry 2 of 2 is not SID:TOKEN`,
		"server.public_url":      "must be an https URL",
		"store.url":              `scheme "mysql" is not sqlite:// or postgres://`,
		"log.level":              `"loud"`,
		"log.format":             `"xml"`,
	}
	for k, frag := range want {
		if !strings.Contains(ps[k], frag) || !strings.Contains(ps[k], EnvName(k)) {
			t.Errorf("%s: problem %q, want it to contain %q and %s", k, ps[k], frag, EnvName(k))
		}
	}
	if len(ps) != len(want) {
		t.Errorf("got %d problems, want %d: %v", len(ps), len(want), ps)
	}
}

func TestFlowSpecificRequirements(t *testing.T) {
	chdir(t)
	cases := map[string][]string{
		"password":           {"salesforce.client_secret", "salesforce.username", "salesforce.password"},
		"client_credentials": {"salesforce.client_secret"},
		"refresh_token":      {"salesforce.refresh_token"},
		"jwt":                {"salesforce.username", "salesforce.private_key_file"},
	}
	for flow, keys := range cases {
		cfg, err := Load(LoadOptions{Environ: []string{
			"SWITCHBOARD_SALESFORCE_AUTH_FLOW=" + flow,
			"SWITCHBOARD_SALESFORCE_CLIENT_ID=x",
			"SWITCHBOARD_SALESFORCE_LOGIN_URL=https://acme.my.salesforce.com",
		}})
		if err != nil {
			t.Fatal(err)
		}
		ps := problems(t, cfg.Validate(NeedSalesforce))
		for _, k := range keys {
			if !strings.Contains(ps[k], "required for the "+flow+" flow") {
				t.Errorf("%s: %s problem = %q", flow, k, ps[k])
			}
		}
		if len(ps) != len(keys) {
			t.Errorf("%s: %v", flow, ps)
		}
	}
	// client_credentials refuses the generic login host (reference §1.1).
	cfg, _ := Load(LoadOptions{Environ: []string{
		"SWITCHBOARD_SALESFORCE_AUTH_FLOW=client_credentials",
		"SWITCHBOARD_SALESFORCE_CLIENT_ID=x", "SWITCHBOARD_SALESFORCE_CLIENT_SECRET=y",
	}})
	if ps := problems(t, cfg.Validate(NeedSalesforce)); !strings.Contains(ps["salesforce.login_url"], "My Domain") {
		t.Errorf("client_credentials on login.salesforce.com: %v", ps)
	}
}

func TestJWTKeyFileChecked(t *testing.T) {
	dir := chdir(t)
	notPEM := filepath.Join(dir, "key.txt")
	write(t, notPEM, "hello")
	for file, frag := range map[string]string{notPEM: "holds no PEM private key", filepath.Join(dir, "absent.pem"): "cannot read"} {
		cfg, _ := Load(LoadOptions{Environ: []string{
			"SWITCHBOARD_SALESFORCE_CLIENT_ID=x", "SWITCHBOARD_SALESFORCE_USERNAME=u",
			"SWITCHBOARD_SALESFORCE_PRIVATE_KEY_FILE=" + file,
		}})
		ps := problems(t, cfg.Validate(NeedSalesforce))
		if !strings.Contains(ps["salesforce.private_key_file"], frag) {
			t.Errorf("%s: %v", file, ps)
		}
	}
}

// TestSecretsNeverPrinted sets every secret and checks neither Redacted nor
// String shows it.
func TestSecretsNeverPrinted(t *testing.T) {
	chdir(t)
	var env []string
	for _, k := range Keys {
		if k.Secret {
			env = append(env, k.Env()+"=s3cr3t-"+k.Name)
		}
	}
	env = append(env, "SWITCHBOARD_TWILIO_ACCOUNTS=AC"+strings.Repeat("2", 32)+":s3cr3t-extra")
	cfg, err := Load(LoadOptions{Environ: env})
	if err != nil {
		t.Fatal(err)
	}
	dump := cfg.String()
	if strings.Contains(dump, "s3cr3t") {
		t.Fatalf("secret printed:\n%s", dump)
	}
	if !strings.Contains(dump, "salesforce.password=[redacted]") {
		t.Fatalf("set secret should show as [redacted]:\n%s", dump)
	}
	if len(cfg.Secrets()) < 6 {
		t.Fatalf("Secrets() = %d values, want every set secret", len(cfg.Secrets()))
	}
}

// TestEveryKeyHasAValue guards values(): a key added to Keys but not to the
// typed struct would silently print empty.
func TestEveryKeyHasAValue(t *testing.T) {
	chdir(t)
	var env []string
	for _, k := range Keys {
		v := map[string]string{
			"twilio.accounts":     "AC" + strings.Repeat("3", 32) + ":t",
			"twilio.sender_rates": "Support=2",
			"engine.merge_fields": "Contact.FirstName",
		}[k.Name]
		if v == "" {
			v = "x"
		}
		env = append(env, k.Env()+"="+v)
	}
	cfg, err := Load(LoadOptions{Environ: env})
	if err != nil {
		t.Fatal(err)
	}
	vals := cfg.values()
	for _, k := range Keys {
		if vals[k.Name] == "" {
			t.Errorf("key %s is loaded nowhere", k.Name)
		}
	}
	if len(vals) != len(Keys) {
		t.Errorf("values() has %d keys, Keys has %d", len(vals), len(Keys))
	}
}

// TestEngineSettings: the typed engine keys parse, and each bad value is one
// problem line naming its key and environment variable.
func TestEngineSettings(t *testing.T) {
	chdir(t)
	cfg, err := Load(LoadOptions{Environ: []string{
		"SWITCHBOARD_ENGINE_SWEEP_INTERVAL=90s",
		"SWITCHBOARD_TWILIO_SENDER_RATES=Support=1.5, Sales=10",
		"SWITCHBOARD_ENGINE_DEFAULT_REGION=de",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Engine.HeartbeatInterval != 5*time.Minute {
		t.Errorf("engine.heartbeat_interval default = %s, want 5m", cfg.Engine.HeartbeatInterval)
	}
	if cfg.Engine.SweepInterval != 90*time.Second || cfg.Engine.StatusPollAfter != 15*time.Minute ||
		cfg.Engine.DefaultRegion != "DE" || cfg.Engine.APIBudget != 0.9 || cfg.Twilio.MaxConcurrency != 50 {
		t.Errorf("engine settings = %+v, max concurrency %d", cfg.Engine, cfg.Twilio.MaxConcurrency)
	}
	if got := cfg.Twilio.SenderRates; len(got) != 2 || got["Support"] != 1.5 || got["Sales"] != 10 {
		t.Errorf("sender rates = %v", got)
	}

	cfg, err = Load(LoadOptions{Environ: []string{
		"SWITCHBOARD_ENGINE_SWEEP_INTERVAL=5",
		"SWITCHBOARD_ENGINE_STATUS_POLL_AFTER=-1m",
		"SWITCHBOARD_ENGINE_API_BUDGET=90%",
		"SWITCHBOARD_ENGINE_DEFAULT_REGION=USA",
		"SWITCHBOARD_TWILIO_MAX_CONCURRENCY=0",
		"SWITCHBOARD_TWILIO_SENDER_RATES=Support",
		"SWITCHBOARD_ENGINE_HEARTBEAT_INTERVAL=-5m",
	}})
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate(0)
	if err == nil {
		t.Fatal("bad engine settings validated")
	}
	for _, want := range []string{
		`engine.sweep_interval: "5" is not a positive Go duration like 30s or 5m (set SWITCHBOARD_ENGINE_SWEEP_INTERVAL)`,
		`engine.status_poll_after: "-1m" is not a positive Go duration`,
		`engine.api_budget: "90%" is not a share between 0 and 1`,
		`engine.default_region: "USA" is not a two-letter country code`,
		`twilio.max_concurrency: "0" is not a whole number of at least 1`,
		`twilio.sender_rates: entry "Support" is not ChannelName=messages-per-second`,
		`engine.heartbeat_interval: "-5m" is not a Go duration like 5m, or 0 for off (set SWITCHBOARD_ENGINE_HEARTBEAT_INTERVAL)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("validation error lacks %q:\n%v", want, err)
		}
	}
}

// TestHeartbeatIntervalZeroIsOff: 0 turns the heartbeat off (SPEC §4),
// and is not a bad value.
func TestHeartbeatIntervalZeroIsOff(t *testing.T) {
	chdir(t)
	for _, v := range []string{"0", "0s"} {
		cfg, err := Load(LoadOptions{Environ: []string{"SWITCHBOARD_ENGINE_HEARTBEAT_INTERVAL=" + v}})
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(0); err != nil {
			t.Errorf("%q: %v", v, err)
		}
		if cfg.Engine.HeartbeatInterval != 0 {
			t.Errorf("%q parsed as %s", v, cfg.Engine.HeartbeatInterval)
		}
	}
}

// TestStoreURLPasswordRedacted: a password in store.url never reaches a
// dump or a log line; the rest of the URL stays readable.
func TestStoreURLPasswordRedacted(t *testing.T) {
	chdir(t)
	cfg, err := Load(LoadOptions{Environ: []string{"SWITCHBOARD_STORE_URL=postgres://sb:hunter2@db.internal:5432/switchboard?sslmode=require"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Redacted()["store.url"]; got != "postgres://sb:redacted@db.internal:5432/switchboard?sslmode=require" {
		t.Errorf("redacted store.url = %q", got)
	}
	if strings.Contains(cfg.String(), "hunter2") {
		t.Errorf("String() leaks the store password:\n%s", cfg)
	}
	if !slices.Contains(cfg.Secrets(), "hunter2") {
		t.Error("Secrets() does not list the store password, so logs would not scrub it")
	}
	if got := RedactURL("sqlite://switchboard.db"); got != "sqlite://switchboard.db" {
		t.Errorf("RedactURL(sqlite) = %q", got)
	}
}

// TestAdminListen: the operator listener defaults to loopback, "off"
// turns it off, and a value that is not host:port or that is
// server.listen itself is refused by name.
func TestAdminListen(t *testing.T) {
	chdir(t)
	load := func(env ...string) *Config {
		t.Helper()
		cfg, err := Load(LoadOptions{Environ: env})
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	if got := load().Server.AdminListen; got != "127.0.0.1:9090" {
		t.Errorf("default admin_listen = %q, want 127.0.0.1:9090", got)
	}
	off := load("SWITCHBOARD_SERVER_ADMIN_LISTEN=off")
	if off.Server.AdminListen != "" || off.Redacted()["server.admin_listen"] != "off" {
		t.Errorf("off: %q, shown as %q", off.Server.AdminListen, off.Redacted()["server.admin_listen"])
	}
	for value, want := range map[string]string{
		"9090":         `"9090" is not host:port`,
		":8080":        "is server.listen too",
		"localhost:90": "",
	} {
		cfg := load("SWITCHBOARD_SERVER_ADMIN_LISTEN="+value, "SWITCHBOARD_SERVER_PUBLIC_URL=https://x.example.com")
		err := cfg.Validate(NeedServer)
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", value, err)
			}
			continue
		}
		if ps := problems(t, err); !strings.Contains(ps["server.admin_listen"], want) {
			t.Errorf("%s: %v, want %q", value, ps, want)
		}
	}
}

// TestStartupErrorsNeverPrintSecrets: a mistyped value that holds a secret
// is refused naming its key, never printing the value: a store.url with a
// wrong scheme, no scheme or a bad escape; a twilio.accounts entry with =
// for :; a .env line without =. RedactURL fails closed.
func TestStartupErrorsNeverPrintSecrets(t *testing.T) {
	dir := chdir(t)
	for _, c := range []struct {
		env  string
		key  string
		says string
	}{
		{"SWITCHBOARD_STORE_URL=postgress://sb:hunter2@db.internal/switchboard", "store.url", `scheme "postgress" is not sqlite:// or postgres://`},
		{"SWITCHBOARD_STORE_URL=sb:hunter2@db.internal:5432/switchboard", "store.url", "has no scheme"},
		{"SWITCHBOARD_STORE_URL=postgres://sb:hunter2%ZZ@db.internal/switchboard", "store.url", "is not a valid URL"},
		{"SWITCHBOARD_TWILIO_ACCOUNTS=AC" + strings.Repeat("1", 32) + "=hunter2", "twilio.accounts", "entry 1 of 1 is not SID:TOKEN"},
		{"SWITCHBOARD_TWILIO_ACCOUNTS=hunter2:AC" + strings.Repeat("1", 32), "twilio.accounts", "entry 1 of 1: the part before : is not an Account SID"},
	} {
		cfg, err := Load(LoadOptions{Environ: []string{c.env}})
		if err != nil {
			t.Fatal(err)
		}
		verr := cfg.Validate(NeedTwilio | NeedStore)
		ps := problems(t, verr)
		if !strings.Contains(ps[c.key], c.says) {
			t.Errorf("%s: %q, want %q", c.env, ps[c.key], c.says)
		}
		if strings.Contains(verr.Error(), "hunter2") {
			t.Errorf("%s: the error prints the secret:\n%v", c.env, verr)
		}
		if strings.Contains(cfg.String(), "hunter2") {
			t.Errorf("%s: the redacted configuration prints the secret:\n%s", c.env, cfg)
		}
		if c.key == "twilio.accounts" && cfg.Redacted()[c.key] != "[redacted]" {
			t.Errorf("%s: a malformed twilio.accounts shows as %q, want [redacted] (it is set)", c.env, cfg.Redacted()[c.key])
		}
	}

	for raw, want := range map[string]string{
		"postgres://sb:Pa%ZZword@db/x":               "postgres://[redacted: not a valid URL]",
		"sb:Password@db:5432/x":                      "[redacted: not a valid URL]",
		"postgres://sb@db/x?password=Password":       "postgres://sb@db/x?password=redacted",
		"postgres://sb@db/x?sslpassword=Password&a=": "postgres://sb@db/x?a=&sslpassword=redacted",
		"postgres://sb:Password@db/x":                "postgres://sb:redacted@db/x",
		"sqlite:///var/lib/switchboard.db":           "sqlite:///var/lib/switchboard.db",
	} {
		if got := RedactURL(raw); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", raw, got, want)
		}
	}

	write(t, filepath.Join(dir, "bad.env"), "SWITCHBOARD_TWILIO_ACCOUNT_SID=AC"+strings.Repeat("1", 32)+"\nSWITCHBOARD_TWILIO_AUTH_TOKEN hunter2\n")
	_, err := Load(LoadOptions{EnvFile: filepath.Join(dir, "bad.env")})
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "line 2 (SWITCHBOARD_TWILIO_AUTH_TOKEN) is not NAME=value") {
		t.Errorf("a .env line without =: %v", err)
	}
}

// TestMergeFieldsSetting: engine.merge_fields is a list of Object.Field
// paths, the short default when unset; an entry that is not a path stops
// the start with a line naming the key and its variable.
func TestMergeFieldsSetting(t *testing.T) {
	chdir(t)
	cfg, err := Load(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Engine.MergeFields, ","); got != DefaultMergeFields {
		t.Errorf("default merge fields %q, want %q", got, DefaultMergeFields)
	}
	cfg, err = Load(LoadOptions{Environ: []string{"SWITCHBOARD_ENGINE_MERGE_FIELDS= Contact.Email , Contact.Account.Owner.Email,"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Engine.MergeFields; len(got) != 2 || got[0] != "Contact.Email" || got[1] != "Contact.Account.Owner.Email" {
		t.Errorf("merge fields %q", got)
	}
	for _, bad := range []string{"Email", "Contact.Email}", "{!Contact.Email}", "Contact..Email"} {
		cfg, err = Load(LoadOptions{Environ: []string{"SWITCHBOARD_ENGINE_MERGE_FIELDS=Contact.FirstName," + bad}})
		if err != nil {
			t.Fatal(err)
		}
		err := cfg.Validate(0)
		if err == nil || !strings.Contains(err.Error(), "engine.merge_fields") || !strings.Contains(err.Error(), "SWITCHBOARD_ENGINE_MERGE_FIELDS") || !strings.Contains(err.Error(), bad) {
			t.Errorf("entry %q: error %v, want one naming the key, its variable and the entry", bad, err)
		}
	}
}

// Validate applies the same endpoint rules as the Salesforce client
// (internal/endpoint), so a setting it passes is one the client accepts
// and the other way round. Each row: one setting, and the problem it gets
// ("" for none).
func TestValidateEndpointRulesMatchTheClient(t *testing.T) {
	chdir(t)
	base := []string{"SWITCHBOARD_SALESFORCE_AUTH_FLOW=client_credentials",
		"SWITCHBOARD_SALESFORCE_CLIENT_ID=x", "SWITCHBOARD_SALESFORCE_CLIENT_SECRET=y"}
	for _, c := range []struct{ env, key, want string }{
		{"SWITCHBOARD_SALESFORCE_LOGIN_URL=https://LOGIN.Salesforce.com", "salesforce.login_url", "My Domain"},
		{"SWITCHBOARD_SALESFORCE_LOGIN_URL=https://test.salesforce.com", "salesforce.login_url", "My Domain"},
		{"SWITCHBOARD_SALESFORCE_LOGIN_URL=https://acme.my.salesforce.com", "salesforce.login_url", ""},
		{"SWITCHBOARD_SALESFORCE_LOGIN_URL=http://127.0.0.2:20001", "salesforce.login_url", ""},
		{"SWITCHBOARD_SALESFORCE_LOGIN_URL=http://LOCALHOST:20001", "salesforce.login_url", ""},
		{"SWITCHBOARD_SALESFORCE_LOGIN_URL=http://[::1]:20001", "salesforce.login_url", ""},
		{"SWITCHBOARD_SALESFORCE_LOGIN_URL=http://acme.my.salesforce.com", "salesforce.login_url", "must use https"},
		{"SWITCHBOARD_SALESFORCE_API_VERSION=05.0", "salesforce.api_version", "not a Salesforce API version"},
		{"SWITCHBOARD_SALESFORCE_API_VERSION=00.0", "salesforce.api_version", "not a Salesforce API version"},
		{"SWITCHBOARD_SALESFORCE_API_VERSION=61.0", "salesforce.api_version", ""},
	} {
		env := append(append([]string{}, base...), c.env)
		if !strings.Contains(c.env, "LOGIN_URL") {
			env = append(env, "SWITCHBOARD_SALESFORCE_LOGIN_URL=https://acme.my.salesforce.com")
		}
		cfg, err := Load(LoadOptions{Environ: env})
		if err != nil {
			t.Fatal(err)
		}
		err = cfg.Validate(NeedSalesforce)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v, want no problem", c.env, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no problem, want %s: …%s…", c.env, c.key, c.want)
		} else if ps := problems(t, err); !strings.Contains(ps[c.key], c.want) {
			t.Errorf("%s: %v, want %s: …%s…", c.env, ps, c.key, c.want)
		}
	}
}
