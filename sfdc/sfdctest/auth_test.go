package sfdctest_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/switchboard/switchboard/sfdc/sfdctest"
)

func TestTokenGrants(t *testing.T) {
	org := sfdctest.Start(t)
	id, secret := sfdctest.DefaultClientID, sfdctest.DefaultClientSecret
	password := url.Values{"grant_type": {"password"}, "client_id": {id}, "client_secret": {secret},
		"username": {sfdctest.DefaultUsername}, "password": {sfdctest.DefaultPassword + sfdctest.DefaultSecurityToken}}
	with := func(base url.Values, k, val string) url.Values {
		out := url.Values{}
		for key, vs := range base {
			out[key] = vs
		}
		if val == "" {
			out.Del(k)
		} else {
			out.Set(k, val)
		}
		return out
	}
	cc := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	refresh := url.Values{"grant_type": {"refresh_token"}, "client_id": {id}, "refresh_token": {sfdctest.DefaultRefreshToken}}

	good := map[string]struct {
		form  url.Values
		basic []string
	}{
		"password":                 {form: password},
		"client_credentials body":  {form: cc},
		"client_credentials basic": {form: url.Values{"grant_type": {"client_credentials"}}, basic: []string{id, secret}},
		"refresh_token":            {form: refresh},
		"refresh_token w/ secret":  {form: with(refresh, "client_secret", secret)},
	}
	for name, c := range good {
		t.Run(name, func(t *testing.T) {
			before := org.Issued()
			status, body := tokenReq(t, org, c.form, "", c.basic...)
			if status != 200 {
				t.Fatalf("%d %v", status, body)
			}
			if body["instance_url"] != org.URL() || body["token_type"] != "Bearer" || !strings.HasPrefix(body["access_token"].(string), "00D") {
				t.Fatalf("token body %v", body)
			}
			if _, isString := body["issued_at"].(string); !isString {
				t.Fatalf("issued_at %T, want a string (ref §1.7)", body["issued_at"])
			}
			if _, has := body["expires_in"]; has {
				t.Fatal("token response carries expires_in; Salesforce sends none")
			}
			if _, has := body["refresh_token"]; has {
				t.Fatal("token response carries a refresh_token")
			}
			if body["signature"] == "" || !strings.Contains(body["id"].(string), "/id/00D") {
				t.Fatalf("signature/id missing: %v", body)
			}
			if org.Issued() != before+1 {
				t.Fatalf("Issued %d → %d", before, org.Issued())
			}
		})
	}

	bad := map[string]struct {
		form        url.Values
		host        string
		code, descr string
	}{
		"password without security token": {with(password, "password", sfdctest.DefaultPassword), "", "invalid_grant", "authentication failure"},
		"password wrong user":             {with(password, "username", "who@example.com"), "", "invalid_grant", "authentication failure"},
		"password wrong client id":        {with(password, "client_id", "nope"), "", "invalid_client_id", "client identifier invalid"},
		"password wrong secret":           {with(password, "client_secret", "nope"), "", "invalid_client", "invalid client credentials"},
		"password no secret":              {with(password, "client_secret", ""), "", "invalid_client", "invalid client credentials"},
		"client_credentials on login.":    {cc, "login.salesforce.com", "invalid_grant", "request not supported on this domain"},
		"client_credentials on test.":     {cc, "test.salesforce.com:443", "invalid_grant", "request not supported on this domain"},
		"client_credentials bad secret":   {with(cc, "client_secret", "x"), "", "invalid_client", "invalid client credentials"},
		"refresh revoked":                 {with(refresh, "refresh_token", "revoked"), "", "invalid_grant", "expired access/refresh token"},
		"refresh wrong secret":            {with(refresh, "client_secret", "x"), "", "invalid_client", "invalid client credentials"},
		"no grant_type":                   {with(cc, "grant_type", ""), "", "invalid_request", "grant type is missing"},
		"unknown grant_type":              {with(cc, "grant_type", "authorization_code"), "", "unsupported_grant_type", "grant type not supported"},
	}
	for name, c := range bad {
		t.Run(name, func(t *testing.T) {
			status, body := tokenReq(t, org, c.form, c.host)
			if status != 400 || body["error"] != c.code || body["error_description"] != c.descr {
				t.Fatalf("%d %v, want 400 %s / %s", status, body, c.code, c.descr)
			}
		})
	}
	// My Domain hosts accept client_credentials.
	if status, body := tokenReq(t, org, cc, "acme.my.salesforce.com"); status != 200 {
		t.Fatalf("client_credentials on My Domain: %d %v", status, body)
	}
}

func TestTokenEndpointRefusesGET(t *testing.T) {
	org := sfdctest.Start(t)
	resp, err := httpc.Get(org.URL() + "/services/oauth2/token?grant_type=client_credentials")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("GET token: %d, want 400", resp.StatusCode)
	}
}

func signAssertion(t *testing.T, key *rsa.PrivateKey, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestJWTBearerGrant(t *testing.T) {
	org := sfdctest.Start(t)
	block, _ := pem.Decode(org.JWTPrivateKeyPEM())
	if block == nil {
		t.Fatal("JWTPrivateKeyPEM is not PEM")
	}
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": sfdctest.DefaultClientID, "sub": sfdctest.DefaultUsername,
			"aud": "https://login.salesforce.com", "exp": now.Add(3 * time.Minute).Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	grant := func(assertion string) (int, map[string]any) {
		return tokenReq(t, org, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion}}, "")
	}
	for name, c := range map[string]jwt.MapClaims{
		"3 minutes":                 claims(nil),
		"5 minutes":                 claims(func(c jwt.MapClaims) { c["exp"] = now.Add(5 * time.Minute).Unix() }),
		"exp as string":             claims(func(c jwt.MapClaims) { c["exp"] = strconv.FormatInt(now.Add(time.Minute).Unix(), 10) }),
		"aud test":                  claims(func(c jwt.MapClaims) { c["aud"] = "https://test.salesforce.com" }),
		"aud the org (My Domain)":   claims(func(c jwt.MapClaims) { c["aud"] = org.URL() }),
		"aud as array with a login": claims(func(c jwt.MapClaims) { c["aud"] = []string{"https://login.salesforce.com"} }),
	} {
		t.Run("good "+name, func(t *testing.T) {
			if status, body := grant(signAssertion(t, key, c)); status != 200 || body["access_token"] == nil {
				t.Fatalf("%d %v", status, body)
			}
		})
	}
	for name, c := range map[string]struct {
		assertion   string
		code, descr string
	}{
		"wrong key":     {signAssertion(t, other, claims(nil)), "invalid_grant", "invalid assertion"},
		"expired":       {signAssertion(t, key, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() })), "invalid_grant", "invalid assertion"},
		"exp too far":   {signAssertion(t, key, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(time.Hour).Unix() })), "invalid_grant", "invalid assertion"},
		"no exp":        {signAssertion(t, key, claims(func(c jwt.MapClaims) { delete(c, "exp") })), "invalid_grant", "invalid assertion"},
		"wrong iss":     {signAssertion(t, key, claims(func(c jwt.MapClaims) { c["iss"] = "nope" })), "invalid_client_id", "client identifier invalid"},
		"wrong sub":     {signAssertion(t, key, claims(func(c jwt.MapClaims) { c["sub"] = "who@example.com" })), "invalid_grant", "user hasn't approved this consumer"},
		"wrong aud":     {signAssertion(t, key, claims(func(c jwt.MapClaims) { c["aud"] = "https://evil.example" })), "invalid_grant", "audience is invalid"},
		"not a JWT":     {"abc.def.ghi", "invalid_grant", "invalid assertion"},
		"no assertion":  {"", "invalid_grant", "invalid assertion"},
		"HS256 instead": {hs256(t, claims(nil)), "invalid_grant", "invalid assertion"},
	} {
		t.Run("bad "+name, func(t *testing.T) {
			status, body := grant(c.assertion)
			if status != 400 || body["error"] != c.code || body["error_description"] != c.descr {
				t.Fatalf("%d %v, want 400 %s / %s", status, body, c.code, c.descr)
			}
		})
	}
}

func hs256(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(sfdctest.DefaultClientSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRevokedTokenIs401InvalidSession(t *testing.T) {
	a := newAPI(t)
	if r := a.query("SELECT Id FROM Task"); r.status != 200 {
		t.Fatalf("query with a fresh token: %d %s", r.status, r.body)
	}
	a.org.RevokeTokens()
	r := a.query("SELECT Id FROM Task")
	if r.status != 401 || strings.TrimSpace(string(r.body)) != `[{"errorCode":"INVALID_SESSION_ID","message":"Session expired or invalid"}]` {
		t.Fatalf("after revoke: %d %s", r.status, r.body)
	}
	a.tok = login(t, a.org)
	a.org.ExpireTokens()
	wantErr(t, a.do(http.MethodGet, v+"/sobjects/Task/describe", nil), 401, "INVALID_SESSION_ID")
	a.tok = "garbage"
	wantErr(t, a.query("SELECT Id FROM Task"), 401, "INVALID_SESSION_ID")
}
