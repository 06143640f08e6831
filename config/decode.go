package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// decodeEngine reads the engine.* keys; a value that does not parse is
// kept in parseErrs for Validate to report.
func (cfg *Config) decodeEngine(str func(string) string) {
	cfg.Engine = Engine{DefaultRegion: strings.ToUpper(str("engine.default_region"))}
	parseDur := func(key string) time.Duration {
		d, err := time.ParseDuration(str(key))
		if err != nil || d <= 0 {
			cfg.parseErrs[key] = fmt.Sprintf("%q is not a positive Go duration like 30s or 5m", str(key))
		}
		return d
	}
	cfg.Engine.SweepInterval = parseDur("engine.sweep_interval")
	cfg.Engine.StatusPollAfter = parseDur("engine.status_poll_after")
	if d, err := time.ParseDuration(str("engine.heartbeat_interval")); err != nil || d < 0 {
		cfg.parseErrs["engine.heartbeat_interval"] = fmt.Sprintf("%q is not a Go duration like 5m, or 0 for off", str("engine.heartbeat_interval"))
	} else {
		cfg.Engine.HeartbeatInterval = d
	}
	if f, err := strconv.ParseFloat(str("engine.api_budget"), 64); err != nil || f <= 0 || f > 1 {
		cfg.parseErrs["engine.api_budget"] = fmt.Sprintf("%q is not a share between 0 and 1, like 0.9", str("engine.api_budget"))
	} else {
		cfg.Engine.APIBudget = f
	}
	for _, p := range strings.Split(str("engine.merge_fields"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if !mergePathRE.MatchString(p) {
			cfg.parseErrs["engine.merge_fields"] = fmt.Sprintf("entry %q is not an Object.Field path like Contact.FirstName", p)
			continue
		}
		cfg.Engine.MergeFields = append(cfg.Engine.MergeFields, p)
	}
}

// decodeTwilio reads the twilio.* keys that need parsing: concurrency,
// sender rates and the SID:TOKEN accounts.
func (cfg *Config) decodeTwilio(str func(string) string) {
	if n, err := strconv.Atoi(str("twilio.max_concurrency")); err != nil || n < 1 {
		cfg.parseErrs["twilio.max_concurrency"] = fmt.Sprintf("%q is not a whole number of at least 1", str("twilio.max_concurrency"))
	} else {
		cfg.Twilio.MaxConcurrency = n
	}
	cfg.Twilio.SenderRates = map[string]float64{}
	if rates := str("twilio.sender_rates"); rates != "" {
		for _, pair := range strings.Split(rates, ",") {
			name, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
			r, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if !ok || strings.TrimSpace(name) == "" || err != nil || r <= 0 {
				cfg.parseErrs["twilio.sender_rates"] = fmt.Sprintf("entry %q is not ChannelName=messages-per-second", pair)
				continue
			}
			cfg.Twilio.SenderRates[strings.TrimSpace(name)] = r
		}
	}
	if cfg.Twilio.AccountSID != "" {
		cfg.Twilio.Accounts[cfg.Twilio.AccountSID] = cfg.Twilio.AuthToken
	}
	extra := str("twilio.accounts")
	if extra == "" {
		return
	}
	// Problems name the entry by its place, never its text: a mistyped
	// pair (= for :, the halves swapped) puts the token anywhere.
	cfg.accountsRaw = extra
	pairs := strings.Split(extra, ",")
	for i, pair := range pairs {
		sid, tok, ok := strings.Cut(strings.TrimSpace(pair), ":")
		sid, tok = strings.TrimSpace(sid), strings.TrimSpace(tok)
		switch {
		case !ok:
			cfg.accountErrs = append(cfg.accountErrs, fmt.Sprintf("entry %d of %d is not SID:TOKEN", i+1, len(pairs)))
		case !accountSIDRE.MatchString(sid):
			cfg.accountErrs = append(cfg.accountErrs, fmt.Sprintf("entry %d of %d: the part before : is not an Account SID (AC followed by 32 hex digits)", i+1, len(pairs)))
		case tok == "":
			cfg.accountErrs = append(cfg.accountErrs, fmt.Sprintf("entry %d of %d (%s) has no token after the :", i+1, len(pairs), sid))
		default:
			cfg.Twilio.Accounts[sid] = tok
		}
	}
}
