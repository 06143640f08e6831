package sfdc

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jwtlib "github.com/golang-jwt/jwt/v5"
	"go.uber.org/zap"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/sync/singleflight"

	"github.com/switchboard/switchboard/internal/endpoint"
)

// The OAuth grants switchboard supports (SPEC §4 salesforce.auth_flow).
const (
	FlowJWT               = "jwt"
	FlowPassword          = "password"
	FlowClientCredentials = "client_credentials"
	FlowRefreshToken      = "refresh_token"
)

const (
	jwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	// Salesforce rejects assertions whose exp is further out than about
	// three minutes (ref §1.4).
	jwtLifetime = 3 * time.Minute
	// loginTimeout bounds one token request when the HTTP client has no
	// timeout of its own; a login is shared by every waiting caller, so it
	// must not hang on one caller's context.
	loginTimeout = 30 * time.Second
)

// Credentials are what a REST or CometD request needs: the bearer token and
// the instance the org lives on.
type Credentials struct {
	AccessToken, InstanceURL string
}

// AuthConfig selects a grant and carries its secrets. Which fields are
// required depends on Flow; NewAuth says which are missing.
type AuthConfig struct {
	Flow           string
	LoginURL       string
	ClientID       string
	ClientSecret   string
	Username       string
	Password       string
	SecurityToken  string
	PrivateKeyFile string
	PrivateKeyPEM  []byte
	RefreshToken   string
}

// Auth logs in to one org and caches the session. Salesforce's token
// response has no expires_in (ref §1.7), so a session is kept until a REST
// or CometD call is refused and its caller asks for Reauthenticate.
type Auth struct {
	flow     string
	tokenURL string
	log      *zap.Logger
	hc       *http.Client
	grant    func(ctx context.Context) (*oauth2.Token, error)

	mu           sync.Mutex
	cur          Credentials
	refreshToken string // rotates if the Connected App rotates refresh tokens (ref §1.6)

	flight singleflight.Group
	logins atomic.Int64
}

// NewAuth validates cfg and prepares the grant; it does not contact the
// org. hc is used for every token request (nil means http.DefaultClient).
func NewAuth(cfg AuthConfig, hc *http.Client, log *zap.Logger) (*Auth, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	if log == nil {
		log = zap.NewNop()
	}
	login, err := validateLoginURL(cfg.LoginURL)
	if err != nil {
		return nil, err
	}
	a := &Auth{
		flow:         cfg.Flow,
		tokenURL:     login + "/services/oauth2/token",
		log:          log,
		hc:           hc,
		refreshToken: cfg.RefreshToken,
	}
	var problems []error
	need := func(field, value string) {
		if value == "" {
			problems = append(problems, fmt.Errorf("salesforce auth flow %q needs %s", cfg.Flow, field))
		}
	}
	need("ClientID (the Connected App consumer key)", cfg.ClientID)
	switch cfg.Flow {
	case FlowJWT:
		need("Username", cfg.Username)
		key, err := loadKey(cfg)
		if err != nil {
			problems = append(problems, err)
			break
		}
		a.grant = a.jwtGrant(cfg.ClientID, cfg.Username, login, key)
	case FlowClientCredentials:
		need("ClientSecret", cfg.ClientSecret)
		if u, err := url.Parse(login); err == nil && endpoint.IsGenericLoginHost(u.Hostname()) {
			// ref §1.1: login./test. answer "request not supported on this domain".
			problems = append(problems, fmt.Errorf("salesforce auth flow client_credentials must use the org's My Domain URL (https://<domain>.my.salesforce.com), not %s", login))
		}
		a.grant = a.clientCredentialsGrant(cfg.ClientID, cfg.ClientSecret)
	case FlowRefreshToken:
		need("RefreshToken", cfg.RefreshToken)
		a.grant = a.refreshGrant(cfg.ClientID, cfg.ClientSecret)
	case FlowPassword:
		need("Username", cfg.Username)
		need("Password", cfg.Password)
		a.grant = a.passwordGrant(cfg.ClientID, cfg.ClientSecret, cfg.Username, cfg.Password+cfg.SecurityToken)
		// ref §1.3: deprecated, and blocked by default in new orgs.
		log.Warn("salesforce username-password flow is being retired by Salesforce and is blocked by default in new orgs; switch salesforce.auth_flow to jwt or client_credentials")
	default:
		problems = append(problems, fmt.Errorf("salesforce auth flow %q is not one of jwt, password, client_credentials, refresh_token", cfg.Flow))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return a, nil
}

// Credentials returns the cached session, logging in first if there is none.
func (a *Auth) Credentials(ctx context.Context) (Credentials, error) {
	a.mu.Lock()
	cur := a.cur
	a.mu.Unlock()
	if cur.AccessToken != "" {
		return cur, nil
	}
	return a.login(ctx, Credentials{})
}

// Reauthenticate replaces a session the org refused. Concurrent callers
// holding the same stale session share one login; a caller whose stale
// session was already replaced gets the replacement without a login.
func (a *Auth) Reauthenticate(ctx context.Context, stale Credentials) (Credentials, error) {
	return a.login(ctx, stale)
}

func (a *Auth) login(ctx context.Context, stale Credentials) (Credentials, error) {
	if err := ctx.Err(); err != nil {
		return Credentials{}, err
	}
	ch := a.flight.DoChan("login", func() (any, error) {
		// Re-check inside the flight: a login that finished between the
		// caller's refusal and now already replaced the stale token.
		a.mu.Lock()
		cur := a.cur
		a.mu.Unlock()
		if cur.AccessToken != "" && cur.AccessToken != stale.AccessToken {
			return cur, nil
		}
		timeout := loginTimeout
		if a.hc.Timeout > 0 {
			timeout = a.hc.Timeout
		}
		// The login is shared by every caller waiting on it, so one caller
		// giving up must not fail it for the others.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		lctx = context.WithValue(lctx, oauth2.HTTPClient, a.hc)
		tok, err := a.grant(lctx)
		if err != nil {
			return Credentials{}, a.loginError(err)
		}
		creds, err := credentialsFrom(tok)
		if err != nil {
			return Credentials{}, err
		}
		a.mu.Lock()
		a.cur = creds
		if tok.RefreshToken != "" {
			a.refreshToken = tok.RefreshToken
		}
		a.mu.Unlock()
		a.logins.Add(1)
		a.log.Info("salesforce login", zap.String("flow", a.flow), zap.String("instance_url", creds.InstanceURL))
		return creds, nil
	})
	select {
	case <-ctx.Done():
		return Credentials{}, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return Credentials{}, r.Err
		}
		return r.Val.(Credentials), nil
	}
}

// credentialsFrom reads the ref §1.7 response. x/oauth2 keeps the raw JSON
// in Extra, where issued_at stays the string Salesforce sends.
func credentialsFrom(tok *oauth2.Token) (Credentials, error) {
	inst, _ := tok.Extra("instance_url").(string)
	if tok.AccessToken == "" || inst == "" {
		return Credentials{}, errors.New("salesforce login: token response lacks access_token or instance_url")
	}
	if _, err := url.Parse(inst); err != nil {
		return Credentials{}, fmt.Errorf("salesforce login: bad instance_url %q: %w", inst, err)
	}
	return Credentials{AccessToken: tok.AccessToken, InstanceURL: strings.TrimRight(inst, "/")}, nil
}

// loginError turns the token endpoint's {"error","error_description"} body
// (ref §1.8) into an *AuthError; transport errors pass through wrapped.
func (a *Auth) loginError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return fmt.Errorf("salesforce login (%s flow): %w", a.flow, err)
	}
	ae := &AuthError{Code: re.ErrorCode, Description: re.ErrorDescription}
	if re.Response != nil {
		ae.Status = re.Response.StatusCode
	}
	if ae.Code == "" {
		var body struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(re.Body, &body) == nil && body.Error != "" {
			ae.Code, ae.Description = body.Error, body.Description
		} else {
			ae.Description = excerpt(re.Body)
		}
	}
	return ae
}

func (a *Auth) passwordGrant(clientID, secret, user, password string) func(context.Context) (*oauth2.Token, error) {
	conf := a.oauthConfig(clientID, secret)
	return func(ctx context.Context) (*oauth2.Token, error) {
		return conf.PasswordCredentialsToken(ctx, user, password)
	}
}

func (a *Auth) refreshGrant(clientID, secret string) func(context.Context) (*oauth2.Token, error) {
	conf := a.oauthConfig(clientID, secret)
	return func(ctx context.Context) (*oauth2.Token, error) {
		a.mu.Lock()
		rt := a.refreshToken
		a.mu.Unlock()
		// A token with no access token is invalid, so the source refreshes
		// immediately instead of handing it back.
		return conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
	}
}

func (a *Auth) clientCredentialsGrant(clientID, secret string) func(context.Context) (*oauth2.Token, error) {
	conf := &clientcredentials.Config{ClientID: clientID, ClientSecret: secret, TokenURL: a.tokenURL, AuthStyle: oauth2.AuthStyleInParams}
	return func(ctx context.Context) (*oauth2.Token, error) { return conf.Token(ctx) }
}

// jwtGrant signs a fresh RS256 assertion per login (ref §1.4: iss = consumer
// key, sub = username, aud = login URL, exp ≤ 3 min) and posts it through
// clientcredentials, which lets grant_type be overridden; that keeps token
// endpoint errors as *oauth2.RetrieveError and transport errors unwrapped,
// which x/oauth2/jwt flattens into strings.
func (a *Auth) jwtGrant(clientID, user, aud string, key *rsa.PrivateKey) func(context.Context) (*oauth2.Token, error) {
	return func(ctx context.Context) (*oauth2.Token, error) {
		now := time.Now()
		// MapClaims, not RegisteredClaims: golang-jwt encodes a registered
		// audience as an array, and the examples of ref §1.4 send a string.
		assertion, err := jwtlib.NewWithClaims(jwtlib.SigningMethodRS256, jwtlib.MapClaims{
			"iss": clientID,
			"sub": user,
			"aud": aud,
			"exp": now.Add(jwtLifetime).Unix(),
			"iat": now.Unix(),
		}).SignedString(key)
		if err != nil {
			return nil, fmt.Errorf("sign JWT assertion: %w", err)
		}
		conf := &clientcredentials.Config{
			TokenURL:  a.tokenURL,
			AuthStyle: oauth2.AuthStyleInParams,
			EndpointParams: url.Values{
				"grant_type": {jwtBearerGrant},
				"assertion":  {assertion},
			},
		}
		return conf.Token(ctx)
	}
}

func (a *Auth) oauthConfig(clientID, secret string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     clientID,
		ClientSecret: secret,
		Endpoint:     oauth2.Endpoint{TokenURL: a.tokenURL, AuthStyle: oauth2.AuthStyleInParams},
	}
}

// validateLoginURL accepts https URLs, and http only for loopback hosts
// (the simulated org); it returns the URL without a trailing slash.
func validateLoginURL(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("salesforce auth needs LoginURL (e.g. https://login.salesforce.com)")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("salesforce LoginURL %q is not an absolute http(s) URL", raw)
	}
	if u.Scheme == "http" && !endpoint.IsLoopback(u.Hostname()) {
		return "", fmt.Errorf("salesforce LoginURL %q must use https", raw)
	}
	if u.RawQuery != "" || (u.Path != "" && u.Path != "/") {
		return "", fmt.Errorf("salesforce LoginURL %q must be a bare host URL without path or query", raw)
	}
	return u.Scheme + "://" + u.Host, nil
}

func loadKey(cfg AuthConfig) (*rsa.PrivateKey, error) {
	data := cfg.PrivateKeyPEM
	src := "PrivateKeyPEM"
	switch {
	case len(data) > 0 && cfg.PrivateKeyFile != "":
		return nil, errors.New("salesforce auth flow jwt: set PrivateKeyFile or PrivateKeyPEM, not both")
	case len(data) == 0 && cfg.PrivateKeyFile == "":
		return nil, errors.New(`salesforce auth flow "jwt" needs PrivateKeyFile (PEM RSA key whose certificate is on the Connected App)`)
	case len(data) == 0:
		b, err := os.ReadFile(cfg.PrivateKeyFile)
		if err != nil {
			return nil, fmt.Errorf("salesforce auth flow jwt: read private key: %w", err)
		}
		data, src = b, cfg.PrivateKeyFile
	}
	key, err := parseRSAKey(data)
	if err != nil {
		return nil, fmt.Errorf("salesforce auth flow jwt: %s: %w", src, err)
	}
	return key, nil
}

func parseRSAKey(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not a PKCS#1 or PKCS#8 private key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key is %T, the JWT flow needs RSA (RS256)", k)
	}
	return rk, nil
}
