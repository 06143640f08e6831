package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/config"
	"github.com/switchboard/switchboard/sync/store"
	"github.com/switchboard/switchboard/twilio"
)

// hostile sends one request and returns its status, or 0 when the server
// closed the connection before answering.
func hostile(t *testing.T, method, u, contentType, body string, header http.Header) int {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// startLoggedDaemon runs the daemon with the production logger (JSON, info)
// writing to the returned buffer, refusals logged once per every.
func startLoggedDaemon(t *testing.T, w *simWorld, every time.Duration) (*daemon, *syncBuffer) {
	t.Helper()
	logged := &syncBuffer{}
	log, err := config.NewLogger(config.Log{Level: "info", Format: "json"}, nil, logged)
	if err != nil {
		t.Fatal(err)
	}
	tun := e2eTuning()
	tun.RefusalLogEvery = every
	return startDaemonLog(t, w, "", tun, log), logged
}

// TestHostileRequestsBoundTheLog: 100 hostile requests of six kinds (a
// 1 MB query, 100 KB of headers, a signed message with a 40 KB From, bad
// signatures on an 8 KB query, a 30 KB unknown AccountSid, a JSON body)
// add less than 50 KB to the daemon's real log, each is refused with its
// own status, and each cause is still logged.
func TestHostileRequestsBoundTheLog(t *testing.T) {
	w := newWorld(t, simOptions{})
	d, logged := startLoggedDaemon(t, w, time.Hour)
	u := d.publicURL + "/twilio/inbound"
	before := len(logged.String())

	bigFrom := inboundForm("SM"+strings.Repeat("4", 32), "+1"+strings.Repeat("5", 40<<10), "hi")
	bigFromSig := twilio.Signature(simAuthToken, u, bigFrom)
	unknown := inboundForm("SM"+strings.Repeat("6", 32), "+14155550160", "hi")
	unknown.Set("AccountSid", "AC"+strings.Repeat("7", 30<<10))
	form := inboundForm("SM"+strings.Repeat("8", 32), "+14155550160", "hi").Encode()
	kinds := []struct {
		name string
		want int
		send func() int
	}{
		{"1 MB query, bad signature", http.StatusRequestHeaderFieldsTooLarge, func() int {
			return hostile(t, http.MethodPost, u+"?q="+strings.Repeat("q", 1_000_000), "application/x-www-form-urlencoded", form,
				http.Header{"X-Twilio-Signature": {"bogus"}})
		}},
		{"100 KB of headers", http.StatusRequestHeaderFieldsTooLarge, func() int {
			return hostile(t, http.MethodPost, u, "application/x-www-form-urlencoded", form,
				http.Header{"X-Twilio-Signature": {"bogus"}, "X-Junk": {strings.Repeat("j", 100<<10)}})
		}},
		{"signed, 40 KB From", http.StatusBadRequest, func() int {
			return hostile(t, http.MethodPost, u, "application/x-www-form-urlencoded", bigFrom.Encode(),
				http.Header{"X-Twilio-Signature": {bigFromSig}})
		}},
		{"bad signature, 8 KB query", http.StatusForbidden, func() int {
			return hostile(t, http.MethodPost, u+"?q="+strings.Repeat("q", 8<<10), "application/x-www-form-urlencoded", form,
				http.Header{"X-Twilio-Signature": {"bogus"}})
		}},
		{"30 KB unknown AccountSid", http.StatusForbidden, func() int {
			return hostile(t, http.MethodPost, u, "application/x-www-form-urlencoded", unknown.Encode(),
				http.Header{"X-Twilio-Signature": {"bogus"}})
		}},
		{"JSON body", http.StatusUnsupportedMediaType, func() int {
			return hostile(t, http.MethodPost, u, "application/json", `{"AccountSid": "`+strings.Repeat("A", 30<<10)+`"}`, nil)
		}},
	}
	for i := range 100 {
		k := kinds[i%len(kinds)]
		if got := k.send(); got != k.want && !(got == 0 && k.want == http.StatusRequestHeaderFieldsTooLarge) {
			t.Fatalf("request %d (%s): status %d, want %d", i, k.name, got, k.want)
		}
	}
	added := len(logged.String()) - before
	t.Logf("100 hostile requests added %d bytes of log", added)
	if added >= 50<<10 {
		t.Errorf("100 hostile requests added %d bytes of log, want < 50 KB; the log ends:\n%s", added, tail(logged.String(), 4000))
	}
	// Refused, not silent: each cause has its line, and nothing that long.
	out := logged.String()[before:]
	for _, cause := range []string{`"cause":"invalid_fields"`, `"cause":"bad_signature"`, `"cause":"unknown_account"`, `"cause":"not_a_form"`} {
		if !strings.Contains(out, cause) {
			t.Errorf("no log line with %s:\n%s", cause, tail(out, 4000))
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if len(line) > 1500 {
			t.Errorf("a log line of %d bytes: %s…", len(line), line[:300])
		}
	}
	depth, err := d.m.store.QueueDepth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := depth[kindInbound]; got != (store.Depth{}) {
		t.Errorf("inbound jobs %+v: a refused request was stored", got)
	}
}

// TestRefusalsLoggedOncePerInterval: within an interval, a cause is logged
// once; the next line says how many were refused in between.
func TestRefusalsLoggedOncePerInterval(t *testing.T) {
	w := newWorld(t, simOptions{})
	d, logged := startLoggedDaemon(t, w, 500*time.Millisecond)
	u := d.publicURL + "/twilio/status"
	form := url.Values{"MessageSid": {"SM" + strings.Repeat("1", 32)}, "AccountSid": {simAccountSID}, "MessageStatus": {"sent"}}.Encode()
	for range 10 {
		if got := hostile(t, http.MethodPost, u, "application/x-www-form-urlencoded", form, http.Header{"X-Twilio-Signature": {"bogus"}}); got != http.StatusForbidden {
			t.Fatalf("status %d, want 403", got)
		}
	}
	if n := strings.Count(logged.String(), `"cause":"bad_signature"`); n != 1 {
		t.Fatalf("%d lines for 10 bad signatures within the interval, want 1:\n%s", n, logged.String())
	}
	time.Sleep(600 * time.Millisecond)
	hostile(t, http.MethodPost, u, "application/x-www-form-urlencoded", form, http.Header{"X-Twilio-Signature": {"bogus"}})
	if n := strings.Count(logged.String(), `"cause":"bad_signature"`); n != 2 || !strings.Contains(logged.String(), `"refused_since_last_line":9`) {
		t.Fatalf("after the interval: %d lines, want 2, the second counting 9 refused in between:\n%s", n, logged.String())
	}
}

// TestWebhookValidatedBeforeAck: a signed webhook Twilio would not send
// (no From, a malformed MessageSid) is answered 400 with the reason, which
// Twilio's debugger shows, instead of 200 and a dead letter later; the
// signature is checked first, so unsigned junk still gets 403; a JSON or
// multipart body gets 415; an unknown account and a bad signature get the
// same 403.
func TestWebhookValidatedBeforeAck(t *testing.T) {
	w := newWorld(t, simOptions{})
	d := startDaemon(t, w, "", e2eTuning())
	in, status := d.publicURL+"/twilio/inbound", d.publicURL+"/twilio/status"

	noFrom := inboundForm("SM"+strings.Repeat("a", 32), "", "hi")
	noFrom.Del("From")
	badSID := inboundForm("SMnot-a-sid", "+14155550160", "hi")
	badSID.Set("SmsSid", "SMnot-a-sid")
	badStatus := url.Values{"MessageSid": {"SM123"}, "AccountSid": {simAccountSID}, "MessageStatus": {"delivered"}}
	for _, c := range []struct {
		name, url string
		form      url.Values
		signed    bool
		code      int
		says      string
	}{
		{"signed, no From", in, noFrom, true, http.StatusBadRequest, "missing From"},
		{"signed, malformed MessageSid", in, badSID, true, http.StatusBadRequest, `MessageSid: "SMnot-a-sid" is not a Twilio SID`},
		{"signed status, malformed MessageSid", status, badStatus, true, http.StatusBadRequest, `MessageSid: "SM123" is not a Twilio SID`},
		{"unsigned, no From", in, noFrom, false, http.StatusForbidden, ""},
	} {
		sig := "bogus"
		if c.signed {
			sig = twilio.Signature(simAuthToken, c.url, c.form)
		}
		resp, body := post(t, c.url, c.form, sig)
		if resp.StatusCode != c.code || !strings.Contains(body, c.says) {
			t.Errorf("%s: %d %q, want %d with %q", c.name, resp.StatusCode, body, c.code, c.says)
		}
	}

	for _, c := range []struct{ name, ct, body string }{
		{"JSON", "application/json", `{"AccountSid": "` + simAccountSID + `"}`},
		{"multipart", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"AccountSid\"\r\n\r\n" + simAccountSID + "\r\n--x--\r\n"},
		{"no content type", "", inboundForm("SM"+strings.Repeat("b", 32), "+14155550160", "hi").Encode()},
	} {
		if got := hostile(t, http.MethodPost, in, c.ct, c.body, nil); got != http.StatusUnsupportedMediaType {
			t.Errorf("%s body: %d, want 415", c.name, got)
		}
	}

	// One 403: which Account SIDs are configured is nobody's business.
	other := "AC" + strings.Repeat("9", 32)
	unknown := inboundForm("SM"+strings.Repeat("c", 32), "+14155550160", "hi")
	unknown.Set("AccountSid", other)
	r1, b1 := post(t, in, unknown, twilio.Signature("0123456789abcdef0123456789abcdef", in, unknown))
	forged := inboundForm("SM"+strings.Repeat("d", 32), "+14155550160", "hi")
	r2, b2 := post(t, in, forged, twilio.Signature("0123456789abcdef0123456789abcdef", in, forged))
	if r1.StatusCode != http.StatusForbidden || r1.StatusCode != r2.StatusCode || b1 != b2 {
		t.Errorf("unknown account: %d %q; bad signature: %d %q; want the same 403", r1.StatusCode, b1, r2.StatusCode, b2)
	}

	time.Sleep(500 * time.Millisecond) // anything wrongly stored would have been processed by now
	depth, err := d.m.store.QueueDepth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if dl := depth[kindInbound].Dead + depth[kindStatus].Dead; dl != 0 {
		t.Errorf("%d dead letters: a refused webhook was stored", dl)
	}
	if n := len(w.inboundTasks()); n != 0 {
		t.Errorf("%d inbound tasks from refused webhooks", n)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("…%s", s[len(s)-n:])
}

// TestOperatorEndpointsOnAdminListener: /readyz and /metrics (queue
// depths, API usage, error texts) are not on the public listener Twilio
// and everyone else reach, only on server.admin_listen; the webhooks and
// /healthz are not on the operator listener; admin_listen=off serves none.
func TestOperatorEndpointsOnAdminListener(t *testing.T) {
	w := newWorld(t, simOptions{})
	d := startDaemon(t, w, "", e2eTuning())
	admin := "http://" + d.m.AdminAddr()
	if d.m.AdminAddr() == "" || admin == d.publicURL {
		t.Fatalf("operator listener %q, public %q", d.m.AdminAddr(), d.publicURL)
	}
	for _, path := range []string{"/readyz", "/metrics"} {
		if code, _ := get(t, d.publicURL+path); code != http.StatusNotFound {
			t.Errorf("public %s: %d, want 404", path, code)
		}
		if code, _ := get(t, admin+path); code != http.StatusOK {
			t.Errorf("operator %s: %d, want 200", path, code)
		}
	}
	for _, path := range []string{"/healthz", "/twilio/inbound", "/twilio/status"} {
		if code, _ := get(t, admin+path); code != http.StatusNotFound {
			t.Errorf("operator %s: %d, want 404 (it belongs to the public listener)", path, code)
		}
	}
	if code, _ := get(t, d.publicURL+"/healthz"); code != http.StatusOK {
		t.Errorf("public /healthz: %d", code)
	}

	off := startDaemon(t, w, "", e2eTuning(), "SWITCHBOARD_SERVER_ADMIN_LISTEN=off")
	if a := off.m.AdminAddr(); a != "" {
		t.Errorf("admin_listen=off still listens on %s", a)
	}
	if code, _ := get(t, off.publicURL+"/metrics"); code != http.StatusNotFound {
		t.Errorf("admin_listen=off: public /metrics %d, want 404", code)
	}
}
