package sfdc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func rsaPEM(t *testing.T) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func TestNewAuthRejectsBadConfig(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})
	good := rsaPEM(t)
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(keyFile, good, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		cfg  AuthConfig
		want string // substring of the error; "" means accepted
	}{
		{"unknown flow", AuthConfig{Flow: "saml", LoginURL: "https://login.salesforce.com", ClientID: "c"}, `"saml" is not one of`},
		{"no login url", AuthConfig{Flow: FlowPassword, ClientID: "c", Username: "u", Password: "p"}, "needs LoginURL"},
		{"plain http remote", AuthConfig{Flow: FlowPassword, LoginURL: "http://login.salesforce.com", ClientID: "c", Username: "u", Password: "p"}, "must use https"},
		{"login url with path", AuthConfig{Flow: FlowPassword, LoginURL: "https://login.salesforce.com/services/oauth2/token", ClientID: "c", Username: "u", Password: "p"}, "without path"},
		{"no client id", AuthConfig{Flow: FlowPassword, LoginURL: "https://login.salesforce.com", Username: "u", Password: "p"}, "needs ClientID"},
		{"password without password", AuthConfig{Flow: FlowPassword, LoginURL: "https://login.salesforce.com", ClientID: "c", Username: "u"}, "needs Password"},
		{"client credentials on login host", AuthConfig{Flow: FlowClientCredentials, LoginURL: "https://login.salesforce.com", ClientID: "c", ClientSecret: "s"}, "My Domain"},
		{"client credentials on test host", AuthConfig{Flow: FlowClientCredentials, LoginURL: "https://TEST.salesforce.com/", ClientID: "c", ClientSecret: "s"}, "My Domain"},
		{"client credentials without secret", AuthConfig{Flow: FlowClientCredentials, LoginURL: "https://acme.my.salesforce.com", ClientID: "c"}, "needs ClientSecret"},
		{"refresh without token", AuthConfig{Flow: FlowRefreshToken, LoginURL: "https://login.salesforce.com", ClientID: "c"}, "needs RefreshToken"},
		{"jwt without key", AuthConfig{Flow: FlowJWT, LoginURL: "https://login.salesforce.com", ClientID: "c", Username: "u"}, "needs PrivateKeyFile"},
		{"jwt with both keys", AuthConfig{Flow: FlowJWT, LoginURL: "https://login.salesforce.com", ClientID: "c", Username: "u", PrivateKeyFile: keyFile, PrivateKeyPEM: good}, "not both"},
		{"jwt key file missing", AuthConfig{Flow: FlowJWT, LoginURL: "https://login.salesforce.com", ClientID: "c", Username: "u", PrivateKeyFile: "/nonexistent/key.pem"}, "read private key"},
		{"jwt key not pem", AuthConfig{Flow: FlowJWT, LoginURL: "https://login.salesforce.com", ClientID: "c", Username: "u", PrivateKeyPEM: []byte("hello")}, "no PEM block"},
		{"jwt key not rsa", AuthConfig{Flow: FlowJWT, LoginURL: "https://login.salesforce.com", ClientID: "c", Username: "u", PrivateKeyPEM: ecPEM}, "needs RSA"},
		{"jwt without username", AuthConfig{Flow: FlowJWT, LoginURL: "https://login.salesforce.com", ClientID: "c", PrivateKeyPEM: good}, "needs Username"},
		{"jwt from file", AuthConfig{Flow: FlowJWT, LoginURL: "https://login.salesforce.com", ClientID: "c", Username: "u", PrivateKeyFile: keyFile}, ""},
		{"client credentials on my domain", AuthConfig{Flow: FlowClientCredentials, LoginURL: "https://acme.my.salesforce.com", ClientID: "c", ClientSecret: "s"}, ""},
		{"loopback http", AuthConfig{Flow: FlowRefreshToken, LoginURL: "http://127.0.0.1:8080", ClientID: "c", RefreshToken: "r"}, ""},
		{"loopback http, name in capitals", AuthConfig{Flow: FlowRefreshToken, LoginURL: "http://LOCALHOST:20001", ClientID: "c", RefreshToken: "r"}, ""},
		{"client credentials on login host in capitals", AuthConfig{Flow: FlowClientCredentials, LoginURL: "https://LOGIN.Salesforce.com", ClientID: "c", ClientSecret: "s"}, "My Domain"},
	}
	for _, c := range cases {
		_, err := NewAuth(c.cfg, nil, nil)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: rejected: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want it to mention %q", c.name, err, c.want)
		}
	}
}

func TestPasswordFlowWarnsAtConstruction(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	_, err := NewAuth(AuthConfig{Flow: FlowPassword, LoginURL: "https://login.salesforce.com", ClientID: "c", Username: "u", Password: "p"}, nil, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	if logs.FilterMessageSnippet("retired").Len() != 1 {
		t.Fatalf("want one retirement warning, got %v", logs.All())
	}
}
