package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// Signature computes X-Twilio-Signature for a webhook Twilio sends to
// fullURL with form params: base64(HMAC-SHA1(authToken, fullURL followed by
// every name+value, names sorted)), ref §6.1. A repeated name contributes
// its distinct values sorted, as twilio-node does (twilio-go keeps only the
// first, ref §6.1 step 2; Messaging webhooks never repeat names).
func Signature(authToken, fullURL string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	mac := hmac.New(sha1.New, []byte(authToken))
	io.WriteString(mac, fullURL)
	for _, k := range keys {
		vs := append([]string(nil), params[k]...)
		sort.Strings(vs)
		for i, v := range vs {
			if i > 0 && v == vs[i-1] {
				continue
			}
			io.WriteString(mac, k)
			io.WriteString(mac, v)
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ValidateSignature reports whether signature is Twilio's for a request to
// fullURL with form params. Like Twilio's SDKs it accepts the URL both
// without a port and with the scheme's default port, "since sig generation
// on back-end is inconsistent" (ref §6.1). The scheme and host must match
// what Twilio called: pass the configured public URL, not the one a proxy
// forwarded (ref §6.5). The comparison is constant-time.
func ValidateSignature(fullURL string, params url.Values, signature, authToken string) bool {
	if signature == "" || authToken == "" {
		return false
	}
	ok := false
	for _, u := range urlVariants(fullURL) {
		want := Signature(authToken, u, params)
		if subtle.ConstantTimeCompare([]byte(want), []byte(signature)) == 1 {
			ok = true
		}
	}
	return ok
}

// urlVariants returns fullURL without its port and with the default port
// (the port it has, if it has a non-default one), like twilio-node's
// removePort/addPort, which split the URL textually so the path and query
// keep the exact characters Twilio signed.
func urlVariants(fullURL string) []string {
	i := strings.Index(fullURL, "://")
	if i < 0 {
		return []string{fullURL}
	}
	scheme := strings.ToLower(fullURL[:i])
	rest := fullURL[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	userinfo := ""
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		userinfo, authority = authority[:at+1], authority[at+1:]
	}
	host, port := authority, ""
	if c := strings.LastIndexByte(authority, ':'); c >= 0 && c > strings.LastIndexByte(authority, ']') {
		host, port = authority[:c], authority[c:]
	}
	prefix := fullURL[:i+3] + userinfo + host
	without := prefix + tail
	with := fullURL
	if port == "" {
		def := ":80"
		if scheme == "https" {
			def = ":443"
		}
		with = prefix + def + tail
	}
	return []string{without, with}
}

// ValidateRequest checks the X-Twilio-Signature of a form-encoded webhook
// received by r. publicBaseURL is server.public_url (e.g.
// https://sidecar.example.com): the signed URL is rebuilt from it and the
// raw path and query as received, never from r.Host, which a proxy may
// have changed (ref §6.5). Only body parameters are signed, so r.PostForm
// is used, not r.Form. It parses the form if needed.
func ValidateRequest(r *http.Request, publicBaseURL, authToken string) bool {
	if err := r.ParseForm(); err != nil {
		return false
	}
	return ValidateSignature(PublicURL(r, publicBaseURL), r.PostForm, r.Header.Get("X-Twilio-Signature"), authToken)
}

// PublicURL is the URL Twilio called for r, given server.public_url.
func PublicURL(r *http.Request, publicBaseURL string) string {
	u := strings.TrimRight(publicBaseURL, "/") + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	return u
}

// ErrBadSignature is returned by ValidateWebhook for a missing or wrong
// X-Twilio-Signature.
var ErrBadSignature = errors.New("twilio: webhook signature missing or invalid")

// ValidateWebhook checks a form-encoded webhook received by r (SPEC §3:
// "signature and AccountSid checked"): its AccountSid must be a configured
// account and its X-Twilio-Signature that account's signature for the URL
// Twilio called, rebuilt from publicBaseURL (server.public_url). It parses
// r's form and returns the AccountSid. Errors wrap ErrUnknownAccount,
// ErrBadSignature, or say why the body could not be read. An unknown
// account costs the same HMAC as a bad signature, so the answer's timing
// does not tell which Account SIDs are configured.
func (a *Accounts) ValidateWebhook(r *http.Request, publicBaseURL string) (string, error) {
	if err := r.ParseForm(); err != nil {
		return "", fmt.Errorf("twilio: reading webhook form: %w", err)
	}
	sid := r.PostForm.Get("AccountSid")
	token := unknownAccountToken
	acct := a.accounts[sid]
	if acct != nil {
		token = acct.creds.Password
	}
	valid := ValidateRequest(r, publicBaseURL, token)
	if acct == nil {
		return sid, fmt.Errorf("%w: %q", ErrUnknownAccount, sid)
	}
	if !valid {
		return sid, ErrBadSignature
	}
	return sid, nil
}

// unknownAccountToken stands in for the token of an Account SID that is not
// configured (see ValidateWebhook).
const unknownAccountToken = "00000000000000000000000000000000"
