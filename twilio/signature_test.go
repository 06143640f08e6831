package twilio_test

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/twilio"
	"github.com/switchboard/switchboard/twilio/twiliotest"
)

var vectorParams = url.Values{
	"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"1234"},
	"From": {"+14158675309"}, "To": {"+18005551212"},
}

// The test vectors of ref §6.2 (from twilio-node's and twilio-go's suites).
func TestSignatureVectors(t *testing.T) {
	for _, v := range []struct{ url, sig string }{
		{"https://mycompany.com/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		{"https://mycompany.com:443/myapp.php?foo=1&bar=2", "kvajT1Ptam85bY51eRf/AJRuM3w="},
		{"http://mycompany.com:80/myapp.php?foo=1&bar=2", "0ZXoZLH/DfblKGATFgpif+LLRf4="},
		{"http://mycompany.com:1234/myapp.php?foo=1&bar=2", "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="},
	} {
		if got := twilio.Signature("12345", v.url, vectorParams); got != v.sig {
			t.Errorf("Signature(%s) = %s, want %s", v.url, got, v.sig)
		}
		if !twilio.ValidateSignature(v.url, vectorParams, v.sig, "12345") {
			t.Errorf("ValidateSignature(%s) rejected the vector", v.url)
		}
	}
	inbound, _ := url.ParseQuery("AccountSid=AC0123456789abcdef0123456789abcdef&ApiVersion=2010-04-01&Body=Stop&From=%2B16505551111&FromCity=&FromCountry=US&FromState=CA&FromZip=&MessageSid=SM3558804311501f712c1b4772546a80e0&MessagingServiceSid=MG0123456789abcdef0123456789abcdef&NumMedia=0&NumSegments=1&OptOutType=STOP&ReferralNumMedia=0&SmsMessageSid=SM3558804311501f712c1b4772546a80e0&SmsSid=SM3558804311501f712c1b4772546a80e0&SmsStatus=received&To=%2B16505552222&ToCity=SAN+BRUNO&ToCountry=US&ToState=CA&ToZip=94030")
	status, _ := url.ParseQuery("AccountSid=AC0123456789abcdef0123456789abcdef&ApiVersion=2010-04-01&ErrorCode=30003&From=%2B15017122661&MessageSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&MessageStatus=undelivered&MessagingServiceSid=MG0123456789abcdef0123456789abcdef&RawDlrDoneDate=2508241201&SmsSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&SmsStatus=undelivered&To=%2B15558675310")
	for _, v := range []struct {
		url    string
		params url.Values
		sig    string
	}{
		{"https://example.com/sms", url.Values{"Body": {"hi"}, "From": {"+15551230000"}}, "i3LZen3cqcHiAxCpR7P2ABePVT0="},
		{"https://sidecar.example.com/twilio/sms/inbound", inbound, "2RA3sYuGBpAHsrkHbG20L+7NIo0="},
		{"https://sidecar.example.com/twilio/sms/status?tenant=acme", status, "isG9bEdvIhFLfFLbuOrpv0ES9P0="},
	} {
		if !twilio.ValidateSignature(v.url, v.params, v.sig, tok1) {
			t.Errorf("sidecar vector %s rejected (computed %s)", v.url, twilio.Signature(tok1, v.url, v.params))
		}
	}
}

func TestValidateSignatureRejects(t *testing.T) {
	const u = "https://mycompany.com/myapp.php?foo=1&bar=2"
	good := "RSOYDt4T1cUTdK1PDd93/VVr8B8="
	altered := url.Values{}
	for k, v := range vectorParams {
		altered[k] = v
	}
	altered.Set("Digits", "1235")
	cases := map[string]struct {
		url    string
		params url.Values
		sig    string
		token  string
	}{
		"one bad byte in the signature": {u, vectorParams, "RSOYDt4T1cUTdK1PDd93/VVr8B9=", "12345"},
		"a changed parameter":           {u, altered, good, "12345"},
		"an extra parameter":            {u, url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"1234"}, "From": {"+14158675309"}, "To": {"+18005551212"}, "X": {""}}, good, "12345"},
		"wrong token":                   {u, vectorParams, good, "12346"},
		"http instead of https":         {"http://mycompany.com/myapp.php?foo=1&bar=2", vectorParams, good, "12345"},
		"another host":                  {"https://mycompany.org/myapp.php?foo=1&bar=2", vectorParams, good, "12345"},
		"query dropped":                 {"https://mycompany.com/myapp.php", vectorParams, good, "12345"},
		"empty signature":               {u, vectorParams, "", "12345"},
		"empty token":                   {u, vectorParams, good, ""},
		"signed on another port":        {"https://mycompany.com:8443/myapp.php?foo=1&bar=2", vectorParams, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=", "12345"},
	}
	for name, c := range cases {
		if twilio.ValidateSignature(c.url, c.params, c.sig, c.token) {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Port variants: a signature made over the URL with the default port
// validates against the URL without it, and the reverse (ref §6.1).
func TestValidateSignaturePortVariants(t *testing.T) {
	withPort := "kvajT1Ptam85bY51eRf/AJRuM3w=" // https://mycompany.com:443/…
	if !twilio.ValidateSignature("https://mycompany.com/myapp.php?foo=1&bar=2", vectorParams, withPort, "12345") {
		t.Error(":443 signature rejected for the URL without a port")
	}
	noPort := "RSOYDt4T1cUTdK1PDd93/VVr8B8="
	if !twilio.ValidateSignature("https://mycompany.com:443/myapp.php?foo=1&bar=2", vectorParams, noPort, "12345") {
		t.Error("port-less signature rejected for the URL with :443")
	}
	// http://…:80 signature for the bare http URL.
	if !twilio.ValidateSignature("http://mycompany.com/myapp.php?foo=1&bar=2", vectorParams, "0ZXoZLH/DfblKGATFgpif+LLRf4=", "12345") {
		t.Error(":80 signature rejected for the http URL without a port")
	}
	// A non-default port is kept, or dropped, never replaced.
	if !twilio.ValidateSignature("http://mycompany.com:1234/myapp.php?foo=1&bar=2", vectorParams, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=", "12345") {
		t.Error(":1234 signature rejected")
	}
}

func randomParams(r *rand.Rand) url.Values {
	alphabet := []rune("abcXYZ019 +&=%?/é€😜'\"")
	str := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	v := url.Values{}
	for range 1 + r.IntN(8) {
		v.Set("P"+str(1+r.IntN(5)), str(r.IntN(12)))
	}
	v.Set("Empty", "")
	return v
}

// Twilio's own Node library and this package agree, both ways, on random
// URLs and parameters.
func TestSignatureAgainstTwilioNode(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	urls := []string{
		"https://sidecar.example.com/twilio/inbound",
		"https://sidecar.example.com:443/twilio/status?tenant=acme&x=%27q%27",
		"http://127.0.0.1:8080/twilio/status",
		"https://user:pass@sidecar.example.com/twilio/inbound",
	}
	type sample struct {
		url    string
		params url.Values
		token  string
	}
	var samples []sample
	var reqs []map[string]any
	for i := range 40 {
		s := sample{urls[i%len(urls)], randomParams(r), fmt.Sprintf("tok%032x", r.Uint64())}
		samples = append(samples, s)
		reqs = append(reqs, map[string]any{"op": "sign", "token": s.token, "url": s.url, "params": nodeParams(s.params)})
	}
	var signed []struct{ Signature string }
	node(t, reqs, &signed)
	var check []map[string]any
	for i, s := range samples {
		if got := twilio.Signature(s.token, s.url, s.params); got != signed[i].Signature {
			t.Errorf("sample %d (%s): Go %s, twilio-node %s", i, s.url, got, signed[i].Signature)
		}
		if !twilio.ValidateSignature(s.url, s.params, signed[i].Signature, s.token) {
			t.Errorf("sample %d: twilio-node's signature rejected", i)
		}
		// Go signs, Node validates: as given, and the port variants.
		sig := twilio.Signature(s.token, s.url, s.params)
		check = append(check,
			map[string]any{"op": "validate", "token": s.token, "url": s.url, "params": nodeParams(s.params), "signature": sig},
			map[string]any{"op": "validate", "token": s.token + "x", "url": s.url, "params": nodeParams(s.params), "signature": sig},
			map[string]any{"op": "validate", "token": s.token, "url": strings.Replace(s.url, "https://", "http://", 1), "params": nodeParams(s.params), "signature": sig},
		)
	}
	var valid []struct{ Valid bool }
	node(t, check, &valid)
	for i := range samples {
		https := strings.HasPrefix(samples[i].url, "https://")
		if !valid[3*i].Valid || valid[3*i+1].Valid || (https && valid[3*i+2].Valid) {
			t.Errorf("sample %d: twilio-node validation of the Go signature: as given %v, wrong token %v, http %v",
				i, valid[3*i].Valid, valid[3*i+1].Valid, valid[3*i+2].Valid)
		}
	}
	// Ports: twilio-node signs with :443, Go validates without (and back).
	var ported []struct{ Signature string }
	node(t, []map[string]any{
		{"op": "sign", "token": tok1, "url": "https://sidecar.example.com:443/twilio/status", "params": map[string]any{"A": "1"}},
		{"op": "sign", "token": tok1, "url": "https://sidecar.example.com/twilio/status", "params": map[string]any{"A": "1"}},
	}, &ported)
	if !twilio.ValidateSignature("https://sidecar.example.com/twilio/status", url.Values{"A": {"1"}}, ported[0].Signature, tok1) ||
		!twilio.ValidateSignature("https://sidecar.example.com:443/twilio/status", url.Values{"A": {"1"}}, ported[1].Signature, tok1) {
		t.Error("port variants signed by twilio-node rejected")
	}
}

// The simulator's callback and inbound signatures verify with this package
// and with twilio-node.
func TestSimulatorSignaturesVerifyWithBoth(t *testing.T) {
	e := newEnv(t, twilio.Options{})
	inbound := newReceiver(t)
	e.fake.SetInboundURL(inbound.srv.URL + "/twilio/inbound")
	_, err := e.tw.Send(ctxT(t), acct1, twilio.SendParams{To: cust, From: num1, Body: "x", StatusCallback: e.cb.srv.URL + "/twilio/status?tenant=acme"})
	must(t, err)
	settle(t, e.fake)
	_, err = e.fake.SendInbound(ctxT(t), twiliotest.Inbound{From: cust, To: mgNum, Body: "hello 'quoted' & more"})
	must(t, err)
	got := append(e.cb.all(), inbound.all()...)
	if len(got) != 4 {
		t.Fatalf("%d webhooks received, want 3 callbacks + 1 inbound", len(got))
	}
	var reqs []map[string]any
	for _, r := range got {
		if !twilio.ValidateSignature(r.URL, r.Form, r.Signature, tok1) {
			t.Errorf("%s: simulator signature rejected by package twilio", r.URL)
		}
		reqs = append(reqs, map[string]any{"op": "validate", "token": tok1, "url": r.URL, "params": nodeParams(r.Form), "signature": r.Signature})
	}
	var valid []struct{ Valid bool }
	node(t, reqs, &valid)
	for i, v := range valid {
		if !v.Valid {
			t.Errorf("%s: simulator signature rejected by twilio-node", got[i].URL)
		}
	}
}

// ValidateRequest rebuilds the URL from server.public_url, as a sidecar
// behind a TLS-terminating proxy must (ref §6.5).
func TestValidateRequestBehindProxy(t *testing.T) {
	const public = "https://sidecar.example.com"
	var results []bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		results = append(results, twilio.ValidateRequest(r, public, tok1))
		io.WriteString(w, "<Response/>")
	}))
	defer srv.Close()
	fake := twiliotest.Start(t, twiliotest.Options{Accounts: map[string]string{acct1: tok1}, InboundURL: srv.URL + "/twilio/inbound?x=1"})
	must(t, fake.AddNumber(acct1, num1))
	for _, in := range []twiliotest.Inbound{
		{From: cust, To: num1, Body: "signed for the public URL", SignURL: public + "/twilio/inbound?x=1"},
		{From: cust, To: num1, Body: "public URL with :443", SignURL: public + ":443/twilio/inbound?x=1"},
		{From: cust, To: num1, Body: "signed for the internal URL"},
		{From: cust, To: num1, Body: "wrong token", SignURL: public + "/twilio/inbound?x=1", AuthToken: tok2},
		{From: cust, To: num1, Body: "unsigned", Unsigned: true},
	} {
		_, err := fake.SendInbound(ctxT(t), in)
		must(t, err)
	}
	want := []bool{true, true, false, false, false}
	if fmt.Sprint(results) != fmt.Sprint(want) {
		t.Fatalf("ValidateRequest results %v, want %v", results, want)
	}
}

func TestValidateWebhook(t *testing.T) {
	e := newEnv(t, twilio.Options{})
	const public = "https://sidecar.example.com"
	type result struct {
		sid string
		err error
	}
	var got []result
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sid, err := e.tw.ValidateWebhook(r, public)
		got = append(got, result{sid, err})
		w.WriteHeader(204)
	}))
	defer srv.Close()
	e.fake.SetInboundURL(srv.URL + "/twilio/inbound")
	signed := public + "/twilio/inbound"
	for _, in := range []twiliotest.Inbound{
		{From: cust, To: num1, Body: "ok", SignURL: signed},
		{From: cust, To: num2, Body: "other account, its own token", SignURL: signed},
		{From: cust, To: num2, Body: "other account, acct1's token", SignURL: signed, AuthToken: tok1},
		{From: cust, To: num1, Body: "unsigned", Unsigned: true},
		{From: cust, To: num1, Body: "unknown account", SignURL: signed, Extra: url.Values{"AccountSid": {"AC" + strings.Repeat("7", 32)}}},
	} {
		_, err := e.fake.SendInbound(ctxT(t), in)
		must(t, err)
	}
	if len(got) != 5 {
		t.Fatalf("%d results", len(got))
	}
	if got[0].err != nil || got[0].sid != acct1 || got[1].err != nil || got[1].sid != acct2 {
		t.Fatalf("valid webhooks: %+v", got[:2])
	}
	if !errors.Is(got[2].err, twilio.ErrBadSignature) || !errors.Is(got[3].err, twilio.ErrBadSignature) {
		t.Fatalf("bad signatures: %+v", got[2:4])
	}
	if !errors.Is(got[4].err, twilio.ErrUnknownAccount) {
		t.Fatalf("unknown account: %+v", got[4])
	}
}
