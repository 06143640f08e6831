// Package config loads switchboard's settings with viper, in the precedence
// SPEC §4 fixes: flags > environment > .env file > switchboard.yaml >
// defaults. Every key is declared once, in Keys, with its default, whether it
// is a secret, and a one-line help text; .env.example, the README and the
// redacted dump are all checked against that table.
package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/switchboard/switchboard/internal/endpoint"
)

// AdminOff as server.admin_listen serves no operator listener.
const AdminOff = "off"

// EnvPrefix is prepended to every environment variable name.
const EnvPrefix = "SWITCHBOARD"

// Key describes one configuration key.
type Key struct {
	Name    string // dotted viper key, e.g. salesforce.client_id
	Default string // as it would be typed in .env; empty means no default
	Secret  bool   // redacted wherever configuration is printed or logged
	Help    string // one line for .env.example, --help and the README
}

// Env is the environment variable that sets k.
func (k Key) Env() string { return EnvName(k.Name) }

// EnvName maps a dotted key to its environment variable: upper-cased, '.'
// becomes '_', prefixed with SWITCHBOARD_ (SPEC §4).
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Keys is every setting switchboard reads. Order is the order of
// .env.example and of the README table.
var Keys = []Key{
	{Name: "salesforce.login_url", Default: "https://login.salesforce.com", Help: "OAuth host: https://login.salesforce.com, https://test.salesforce.com for sandboxes, or your My Domain (required for client_credentials)"},
	{Name: "salesforce.auth_flow", Default: "jwt", Help: "jwt, client_credentials, refresh_token or password (legacy; Salesforce is retiring it)"},
	{Name: "salesforce.client_id", Help: "Consumer key of the External Client App / Connected App"},
	{Name: "salesforce.client_secret", Secret: true, Help: "Consumer secret (client_credentials, password, optional for refresh_token)"},
	{Name: "salesforce.username", Help: "Integration user's username (jwt and password flows)"},
	{Name: "salesforce.password", Secret: true, Help: "Integration user's password (password flow only)"},
	{Name: "salesforce.security_token", Secret: true, Help: "Integration user's security token, appended to the password (password flow only)"},
	{Name: "salesforce.private_key_file", Help: "PEM RSA private key whose certificate is uploaded to the app (jwt flow)"},
	{Name: "salesforce.refresh_token", Secret: true, Help: "Refresh token (refresh_token flow)"},
	{Name: "salesforce.api_version", Default: "62.0", Help: "REST and Streaming API version"},
	{Name: "twilio.account_sid", Help: "Twilio Account SID (AC…)"},
	{Name: "twilio.auth_token", Secret: true, Help: "Auth token of twilio.account_sid; also verifies webhook signatures"},
	{Name: "twilio.accounts", Secret: true, Help: "More Twilio accounts, as SID:TOKEN pairs separated by commas (one per Channel_Type__c.Account_Sid__c)"},
	{Name: "twilio.api_base_url", Default: "https://api.twilio.com", Help: "Where Twilio REST calls go (set to a simulator for tests)"},
	{Name: "twilio.default_channel", Help: "Channel__c Name used when an outbound Task has no conversation"},
	{Name: "twilio.max_concurrency", Default: "50", Help: "Most Twilio API requests in flight at once, across every sender"},
	{Name: "twilio.sender_rates", Help: "Optional pacing per sender, as ChannelName=messages-per-second pairs separated by commas (off by default: Twilio queues per sender)"},
	{Name: "engine.default_region", Default: "US", Help: "ISO country whose national format numbers without a + are read in (e.g. (415) 555-0100 with US)"},
	{Name: "engine.sweep_interval", Default: "5m", Help: "How often every Pending outbound Task is swept into the queue, in case the stream missed one (Go duration)"},
	{Name: "engine.status_poll_after", Default: "15m", Help: "Age after which a Task still in a non-final status is checked at Twilio, in case its callback was lost (Go duration)"},
	{Name: "engine.heartbeat_interval", Default: "5m", Help: "How often each instance upserts its Switchboard_Status__c row with its self-checks, one API call (Go duration; 0 = off)"},
	{Name: "engine.api_budget", Default: "0.9", Help: "Share of the org's daily API calls above which sweeps and status polls slow down (0-1)"},
	{Name: "engine.merge_fields", Default: DefaultMergeFields, Help: "Object.Field paths a message's merge fields may name, separated by commas (lookups like Contact.Account.Name allowed); any other {!Object.Field} ends the Task in Error"},
	{Name: "server.listen", Default: ":8080", Help: "Address of the public HTTP listener: Twilio's webhooks and /healthz"},
	{Name: "server.admin_listen", Default: "127.0.0.1:9090", Help: "Address of the operator listener for /readyz and /metrics (keep it on loopback or a private network), or off"},
	{Name: "server.public_url", Help: "External https base URL Twilio calls; webhook signatures are checked against it"},
	{Name: "store.url", Default: "sqlite://switchboard.db", Help: "Durable store: sqlite://path (embedded) or postgres://user@host:5432/db (several replicas)"},
	{Name: "log.level", Default: "info", Help: "debug, info, warn or error"},
	{Name: "log.format", Default: "json", Help: "json, or console for development"},
}

// DefaultMergeFields lets templates greet people by name and name their
// company, and nothing else: no e-mail, phone, User or custom field, which
// anyone who can write a Task could otherwise have texted to any number.
const DefaultMergeFields = "Contact.FirstName,Contact.LastName,Contact.Name,Contact.Account.Name," +
	"Lead.FirstName,Lead.LastName,Lead.Name,Lead.Company,Account.Name"

// mergePathRE is one allowlist entry: an object and a field, through lookups.
var mergePathRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$`)

// Config is the typed view of the settings.
type Config struct {
	Salesforce Salesforce
	Twilio     Twilio
	Engine     Engine
	Server     Server
	Store      Store
	Log        Log

	// parseErrs holds keys whose values did not parse, for Validate.
	parseErrs map[string]string
	// accountErrs are twilio.accounts entries that are not SID:TOKEN, and
	// accountsRaw the setting as given (shown redacted, scrubbed from logs).
	accountErrs []string
	accountsRaw string

	// Source tells where each key's value came from (flag, env, .env,
	// file, default); doctor prints it so an admin can see which layer won.
	Source map[string]string
}

// Salesforce holds the org connection settings.
type Salesforce struct {
	LoginURL       string
	AuthFlow       string
	ClientID       string
	ClientSecret   string
	Username       string
	Password       string
	SecurityToken  string
	PrivateKeyFile string
	RefreshToken   string
	APIVersion     string
}

// Twilio holds the Twilio settings.
type Twilio struct {
	AccountSID     string
	AuthToken      string
	Accounts       map[string]string // every account: SID → auth token, including AccountSID
	APIBaseURL     string
	DefaultChannel string
	MaxConcurrency int
	SenderRates    map[string]float64 // Channel__c Name → messages per second
}

// Engine tunes the message engine.
type Engine struct {
	DefaultRegion   string
	SweepInterval   time.Duration
	StatusPollAfter time.Duration
	// HeartbeatInterval is how often the instance upserts its
	// Switchboard_Status__c row; 0 is off.
	HeartbeatInterval time.Duration
	APIBudget         float64
	MergeFields       []string // Object.Field paths merge fields may name
}

// Server holds the HTTP listener settings.
type Server struct {
	Listen      string
	AdminListen string // "" when off
	PublicURL   string
}

// Store holds the durable store setting.
type Store struct {
	URL string
}

// Log holds logging settings.
type Log struct {
	Level  string
	Format string
}

// LoadOptions say where to look.
type LoadOptions struct {
	// ConfigFile is an explicit YAML file (--config). Empty means
	// ./switchboard.yaml if it exists.
	ConfigFile string
	// EnvFile is the dotenv file. Empty means ./.env if it exists.
	EnvFile string
	// Flags, if set, override everything for the keys they define; a flag
	// named like the key (salesforce.client_id) binds to it.
	Flags *pflag.FlagSet
	// Environ replaces os.Environ (tests).
	Environ []string
}

// Load reads the configuration layers and returns the typed Config. It does
// not validate; call Validate with what the command needs.
func Load(opts LoadOptions) (*Config, error) {
	l, err := readLayers(opts)
	if err != nil {
		return nil, err
	}
	cfg := &Config{Source: l.sources(opts.Flags), parseErrs: map[string]string{}}
	str := func(key string) string { return strings.TrimSpace(l.v.GetString(key)) }
	cfg.Salesforce = Salesforce{
		LoginURL:       strings.TrimRight(str("salesforce.login_url"), "/"),
		AuthFlow:       strings.ToLower(str("salesforce.auth_flow")),
		ClientID:       str("salesforce.client_id"),
		ClientSecret:   str("salesforce.client_secret"),
		Username:       str("salesforce.username"),
		Password:       l.v.GetString("salesforce.password"), // passwords may end in spaces
		SecurityToken:  str("salesforce.security_token"),
		PrivateKeyFile: str("salesforce.private_key_file"),
		RefreshToken:   str("salesforce.refresh_token"),
		APIVersion:     strings.TrimPrefix(str("salesforce.api_version"), "v"),
	}
	cfg.Twilio = Twilio{
		AccountSID:     str("twilio.account_sid"),
		AuthToken:      str("twilio.auth_token"),
		APIBaseURL:     strings.TrimRight(str("twilio.api_base_url"), "/"),
		DefaultChannel: str("twilio.default_channel"),
		Accounts:       map[string]string{},
	}
	cfg.decodeEngine(str)
	cfg.decodeTwilio(str)
	cfg.Server = Server{Listen: str("server.listen"), AdminListen: str("server.admin_listen"), PublicURL: strings.TrimRight(str("server.public_url"), "/")}
	if strings.EqualFold(cfg.Server.AdminListen, AdminOff) {
		cfg.Server.AdminListen = ""
	}
	cfg.Store = Store{URL: str("store.url")}
	cfg.Log = Log{Level: strings.ToLower(str("log.level")), Format: strings.ToLower(str("log.format"))}
	return cfg, nil
}

// Need says which parts of the configuration a command uses, so that
// `setup` does not demand Twilio credentials and `demo` demands nothing.
type Need uint8

const (
	NeedSalesforce Need = 1 << iota
	NeedTwilio
	NeedServer
	NeedStore
	NeedAll = NeedSalesforce | NeedTwilio | NeedServer | NeedStore
)

// Problem is one invalid or missing setting.
type Problem struct {
	Key     string
	Message string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s: %s (set %s)", p.Key, p.Message, EnvName(p.Key))
}

// ValidationError lists every problem found, one per line.
type ValidationError struct{ Problems []Problem }

func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

var (
	accountSIDRE = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	regionRE     = regexp.MustCompile(`^[A-Z]{2}$`)
	schemeRE     = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]{0,20}$`)
)

// Validate checks what the command needs and returns a *ValidationError
// naming every problem, or nil.
func (c *Config) Validate(need Need) error {
	var ps problemList
	if need&NeedSalesforce != 0 {
		c.Salesforce.validate(&ps)
	}
	if need&NeedTwilio != 0 {
		c.Twilio.validate(&ps, c.accountErrs)
	}
	if need&NeedServer != 0 {
		c.Server.validate(&ps)
	}
	if need&NeedStore != 0 {
		c.Store.validate(&ps)
	}
	c.validateAlways(&ps)
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps}
}

// problemList collects what Validate finds, in the order found.
type problemList []Problem

func (ps *problemList) add(key, format string, args ...any) {
	*ps = append(*ps, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
}

func (ps *problemList) required(key, val, why string) {
	if val == "" {
		ps.add(key, "required%s", why)
	}
}

func (sf Salesforce) validate(ps *problemList) {
	if u, err := checkURL(sf.LoginURL); err != nil {
		ps.add("salesforce.login_url", "%v", err)
	} else if sf.AuthFlow == "client_credentials" && endpoint.IsGenericLoginHost(u.Hostname()) {
		ps.add("salesforce.login_url", "client_credentials needs your My Domain (https://<domain>.my.salesforce.com), not %s", u.Host)
	}
	ps.required("salesforce.client_id", sf.ClientID, "")
	switch sf.AuthFlow {
	case "jwt":
		ps.required("salesforce.username", sf.Username, " for the jwt flow")
		if sf.PrivateKeyFile == "" {
			ps.add("salesforce.private_key_file", "required for the jwt flow")
		} else if err := checkPEMFile(sf.PrivateKeyFile); err != nil {
			ps.add("salesforce.private_key_file", "%v", err)
		}
	case "client_credentials":
		ps.required("salesforce.client_secret", sf.ClientSecret, " for the client_credentials flow")
	case "refresh_token":
		ps.required("salesforce.refresh_token", sf.RefreshToken, " for the refresh_token flow")
	case "password":
		ps.required("salesforce.client_secret", sf.ClientSecret, " for the password flow")
		ps.required("salesforce.username", sf.Username, " for the password flow")
		ps.required("salesforce.password", sf.Password, " for the password flow")
	default:
		ps.add("salesforce.auth_flow", "%q is not one of jwt, client_credentials, refresh_token, password", sf.AuthFlow)
	}
	if !endpoint.ValidAPIVersion(sf.APIVersion) {
		ps.add("salesforce.api_version", "%q is not a Salesforce API version like 62.0", sf.APIVersion)
	}
}

// validate checks the Twilio settings; accountErrs are the twilio.accounts
// entries Load could not read.
func (tw Twilio) validate(ps *problemList, accountErrs []string) {
	ps.required("twilio.account_sid", tw.AccountSID, "")
	if tw.AccountSID != "" && !accountSIDRE.MatchString(tw.AccountSID) {
		ps.add("twilio.account_sid", "%q is not an Account SID (AC followed by 32 hex digits)", tw.AccountSID)
	}
	ps.required("twilio.auth_token", tw.AuthToken, "")
	for _, msg := range accountErrs {
		ps.add("twilio.accounts", "%s (the entry is not shown: it holds a token)", msg)
	}
	if _, err := checkURL(tw.APIBaseURL); err != nil {
		ps.add("twilio.api_base_url", "%v", err)
	}
}

func (sv Server) validate(ps *problemList) {
	if sv.Listen == "" {
		ps.add("server.listen", "required, e.g. :8080")
	}
	if a := sv.AdminListen; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			ps.add("server.admin_listen", "%q is not host:port like 127.0.0.1:9090 (or off)", a)
		} else if a == sv.Listen && !strings.HasSuffix(a, ":0") {
			ps.add("server.admin_listen", "%q is server.listen too; the operator endpoints need their own listener", a)
		}
	}
	if sv.PublicURL == "" {
		ps.add("server.public_url", "required: the https URL Twilio calls this sidecar at")
	} else if _, err := checkURL(sv.PublicURL); err != nil {
		ps.add("server.public_url", "%v", err)
	}
}

func (st Store) validate(ps *problemList) {
	// The value is never printed: a PostgreSQL URL holds a password,
	// and a mistyped one cannot be redacted reliably.
	const notShown = " (the value is not shown: it may hold a password)"
	u := st.URL
	scheme, _, hasScheme := strings.Cut(u, "://")
	switch {
	case !hasScheme || !schemeRE.MatchString(scheme):
		ps.add("store.url", "has no scheme; use sqlite://<path> or postgres://user@host:5432/db"+notShown)
	case scheme != "sqlite" && scheme != "postgres" && scheme != "postgresql":
		ps.add("store.url", "scheme %q is not sqlite:// or postgres://"+notShown, scheme)
	default:
		if _, err := url.Parse(u); err != nil {
			ps.add("store.url", "is not a valid URL; write a %% in the password as %%25"+notShown)
		}
	}
}

// validateAlways checks what every command reads: the engine's region,
// values that did not parse, and logging.
func (c *Config) validateAlways(ps *problemList) {
	if !regionRE.MatchString(c.Engine.DefaultRegion) {
		ps.add("engine.default_region", "%q is not a two-letter country code like US or DE", c.Engine.DefaultRegion)
	}
	for _, key := range slices.Sorted(maps.Keys(c.parseErrs)) {
		ps.add(key, "%s", c.parseErrs[key])
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		ps.add("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "console":
	default:
		ps.add("log.format", "%q is not json or console", c.Log.Format)
	}
}

// checkURL accepts https URLs, and http only for loopback hosts (the
// simulators), because tokens and auth tokens travel over these.
func checkURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("required")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%q is not an absolute URL", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !endpoint.IsLoopback(u.Hostname()) {
			return nil, fmt.Errorf("%q must use https (http is allowed only for localhost)", raw)
		}
	default:
		return nil, fmt.Errorf("%q must be an https URL", raw)
	}
	return u, nil
}

func checkPEMFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("cannot read %s: %v", path, errors.Unwrap(err))
	}
	if !strings.Contains(string(b), "PRIVATE KEY-----") {
		return fmt.Errorf("%s holds no PEM private key", path)
	}
	return nil
}

// RegisterFlags adds a --<key> flag for every key to fs, so any setting can
// be given on the command line (highest precedence).
func RegisterFlags(fs *pflag.FlagSet) {
	for _, k := range Keys {
		fs.String(k.Name, "", k.Help+" [env "+k.Env()+"]")
	}
}
