package sfdctest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The credentials the simulated Connected App and integration user accept.
const (
	DefaultClientID      = "3MVG9switchboardSimulatedOrgConsumerKey"
	DefaultClientSecret  = "5F1B0C3E9A7D2B64"
	DefaultUsername      = "integration@switchboard.example"
	DefaultPassword      = "s3cret-Passw0rd"
	DefaultSecurityToken = "SIMTOKEN0123456789"
	DefaultRefreshToken  = "5Aep861SimulatedRefreshToken"
)

// orgID is the 18-character Id of the simulated org, used in access tokens
// and identity URLs.
const orgID = "00D8c0000000SIMEAA"

// jwtMaxLifetime is how far in the future an assertion's exp may be. Ref
// §1.4 leaves the exact window unverified; clients in the wild use 3 and 5
// minutes, so both must pass.
const jwtMaxLifetime = 5*time.Minute + 30*time.Second

// tokenStore is the set of access tokens the org currently honours. REST and
// CometD both authenticate against it, so revoking a token breaks both, as in
// a real org.
type tokenStore struct {
	mu     sync.Mutex
	valid  map[string]bool
	issued int
}

func newTokenStore() *tokenStore { return &tokenStore{valid: map[string]bool{}} }

// issue mints a new access token shaped like Salesforce's ("00D…!…").
func (s *tokenStore) issue() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := orgID[:15] + "!" + hex.EncodeToString(b)
	s.mu.Lock()
	s.valid[tok] = true
	s.issued++
	s.mu.Unlock()
	return tok
}

// check reports whether tok is a live access token.
func (s *tokenStore) check(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.valid[tok]
}

// revokeAll invalidates every token issued so far.
func (s *tokenStore) revokeAll() {
	s.mu.Lock()
	s.valid = map[string]bool{}
	s.mu.Unlock()
}

// Issued counts the access tokens the token endpoint has handed out; tests
// use it to assert that a client re-authenticated exactly once.
func (o *Org) Issued() int {
	o.tokens.mu.Lock()
	defer o.tokens.mu.Unlock()
	return o.tokens.issued
}

// RevokeTokens invalidates every issued access token: REST answers 401
// INVALID_SESSION_ID and CometD answers 401::Authentication invalid until the
// client logs in again.
func (o *Org) RevokeTokens() { o.tokens.revokeAll() }

// ExpireTokens is RevokeTokens under the name ref §1.9 uses: Salesforce
// sends no expires_in, so a session simply stops working.
func (o *Org) ExpireTokens() { o.tokens.revokeAll() }

// jwtKey is the key pair whose certificate the simulated Connected App
// trusts. Generating RSA keys is slow, so it is made on first use.
type jwtKey struct {
	once sync.Once
	key  *rsa.PrivateKey
	err  error
}

func (k *jwtKey) get() (*rsa.PrivateKey, error) {
	k.once.Do(func() { k.key, k.err = rsa.GenerateKey(rand.Reader, 2048) })
	return k.key, k.err
}

// JWTPrivateKeyPEM is the PKCS#1 PEM private key matching the certificate
// registered on the simulated Connected App, for the JWT bearer flow.
func (o *Org) JWTPrivateKeyPEM() []byte {
	k, err := o.jwt.get()
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

// oauthError is the token endpoint's error object (ref §1.8) — an object,
// never the REST array.
type oauthError struct {
	code, desc string
}

func writeOAuthError(w http.ResponseWriter, status int, e oauthError) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": e.code, "error_description": e.desc})
}

var (
	errAuthFailure   = oauthError{"invalid_grant", "authentication failure"}
	errClientID      = oauthError{"invalid_client_id", "client identifier invalid"}
	errClientSecret  = oauthError{"invalid_client", "invalid client credentials"}
	errBadAssertion  = oauthError{"invalid_grant", "invalid assertion"}
	errNotApproved   = oauthError{"invalid_grant", "user hasn't approved this consumer"}
	errWrongDomain   = oauthError{"invalid_grant", "request not supported on this domain"}
	errRefreshToken  = oauthError{"invalid_grant", "expired access/refresh token"}
	errAudience      = oauthError{"invalid_grant", "audience is invalid"}
	errGrantMissing  = oauthError{"invalid_request", "grant type is missing"}
	errGrantUnknown  = oauthError{"unsupported_grant_type", "grant type not supported"}
	errMethodNotPOST = oauthError{"invalid_request", "must use HTTP POST"}
)

// serveToken is POST /services/oauth2/token for the four grants switchboard
// uses (ref §1.2–§1.8).
func (o *Org) serveToken(w http.ResponseWriter, r *http.Request) {
	o.rest.mu.Lock()
	fe := o.rest.takeFaultLocked(r, true)
	o.rest.mu.Unlock()
	if fe != nil {
		writeOAuthError(w, fe.status, oauthError{fe.code, fe.msg})
		return
	}
	if r.Method != http.MethodPost {
		writeOAuthError(w, http.StatusBadRequest, errMethodNotPOST)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, oauthError{"invalid_request", "malformed form body"})
		return
	}
	// ref §1.2: parameters belong in the body; ParseForm would also read
	// the query string, so use PostForm only.
	f := r.PostForm
	var e *oauthError
	switch f.Get("grant_type") {
	case "":
		e = &errGrantMissing
	case "password":
		e = o.checkClient(f.Get("client_id"), f.Get("client_secret"), true)
		if e == nil && (f.Get("username") != DefaultUsername || f.Get("password") != DefaultPassword+DefaultSecurityToken) {
			e = &errAuthFailure
		}
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		e = o.checkAssertion(f.Get("assertion"))
	case "client_credentials":
		id, secret := f.Get("client_id"), f.Get("client_secret")
		if u, p, ok := r.BasicAuth(); ok {
			// RFC 6749 §2.3.1: Basic credentials are form-encoded first.
			id, _ = url.QueryUnescape(u)
			secret, _ = url.QueryUnescape(p)
		}
		if genericLoginHost(r.Host) {
			e = &errWrongDomain
		} else {
			e = o.checkClient(id, secret, true)
		}
	case "refresh_token":
		e = o.checkClient(f.Get("client_id"), f.Get("client_secret"), false)
		if e == nil && f.Get("refresh_token") != DefaultRefreshToken {
			e = &errRefreshToken
		}
	default:
		e = &errGrantUnknown
	}
	if e != nil {
		writeOAuthError(w, http.StatusBadRequest, *e)
		return
	}
	o.writeToken(w, f.Get("grant_type"))
}

// genericLoginHost reports login.* and test.* hosts, where Salesforce
// refuses client_credentials (ref §1.1).
func genericLoginHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	return strings.HasPrefix(host, "login.") || strings.HasPrefix(host, "test.")
}

// checkClient checks the Connected App's consumer key and, where the flow
// needs it (or the caller sent one), the consumer secret.
func (o *Org) checkClient(id, secret string, needSecret bool) *oauthError {
	if id != DefaultClientID {
		return &errClientID
	}
	if (needSecret || secret != "") && secret != DefaultClientSecret {
		return &errClientSecret
	}
	return nil
}

// checkAssertion verifies a JWT bearer assertion (ref §1.4): RS256 signed
// by the registered key, iss the consumer key, sub the user, aud a login
// URL, exp in the future and within the allowed window. exp may be a number
// or, as simple-salesforce sends it, a string of seconds.
func (o *Org) checkAssertion(assertion string) *oauthError {
	key, err := o.jwt.get()
	if err != nil || assertion == "" {
		return &errBadAssertion
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(assertion, claims, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	if err != nil {
		return &errBadAssertion
	}
	if iss, _ := claims["iss"].(string); iss != DefaultClientID {
		return &errClientID
	}
	if sub, _ := claims["sub"].(string); sub != DefaultUsername {
		return &errNotApproved
	}
	if !o.audienceOK(claims["aud"]) {
		return &errAudience
	}
	var exp float64
	switch v := claims["exp"].(type) {
	case float64:
		exp = v
	case json.Number:
		exp, _ = v.Float64()
	case string:
		exp, _ = strconv.ParseFloat(v, 64)
	}
	now := float64(time.Now().Unix())
	if exp <= now || exp > now+jwtMaxLifetime.Seconds() {
		return &errBadAssertion
	}
	return nil
}

func (o *Org) audienceOK(aud any) bool {
	ok := func(s string) bool {
		s = strings.TrimRight(s, "/")
		return s == "https://login.salesforce.com" || s == "https://test.salesforce.com" || s == o.URL()
	}
	switch v := aud.(type) {
	case string:
		return ok(v)
	case []any:
		for _, a := range v {
			if s, _ := a.(string); ok(s) {
				return true
			}
		}
	}
	return false
}

// writeToken sends the ref §1.7 body: issued_at as a string of
// milliseconds, no expires_in, no refresh_token (no rotation).
func (o *Org) writeToken(w http.ResponseWriter, grant string) {
	o.rest.mu.Lock()
	userID := o.rest.userID
	o.rest.mu.Unlock()
	id := fmt.Sprintf("%s/id/%s/%s", o.URL(), orgID, userID)
	issued := strconv.FormatInt(time.Now().UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(DefaultClientSecret))
	mac.Write([]byte(id + issued))
	body := map[string]string{
		"access_token": o.tokens.issue(),
		"instance_url": o.URL(),
		"id":           id,
		"token_type":   "Bearer",
		"issued_at":    issued,
		"signature":    base64.StdEncoding.EncodeToString(mac.Sum(nil)),
	}
	switch grant {
	case "password":
		// ref §1.7: no scope for the username-password flow.
	case "client_credentials":
		body["scope"], body["token_format"] = "api", "opaque"
	default:
		body["scope"] = "api"
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private")
	_ = json.NewEncoder(w).Encode(body)
}
