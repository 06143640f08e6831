package twilio_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	sbsync "github.com/switchboard/switchboard/sync"
	"github.com/switchboard/switchboard/twilio"
)

type queued struct {
	kind, key string
	payload   []byte
}

type fakeQueue struct {
	mu   sync.Mutex
	jobs []queued
	err  error
}

func (q *fakeQueue) EnqueueWebhook(_ context.Context, kind, key string, payload []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	q.jobs = append(q.jobs, queued{kind, key, payload})
	return nil
}

type answer struct {
	kind   string
	status int
}

// webhookRig is the handlers on a test server, with a fake queue, an
// observed log and the answers Observe heard.
type webhookRig struct {
	url     string
	queue   *fakeQueue
	logs    *observer.ObservedLogs
	mu      sync.Mutex
	answers []answer
}

func newWebhookRig(t *testing.T) *webhookRig {
	t.Helper()
	tw, err := twilio.NewAccounts(map[string]string{acct1: tok1}, twilio.Options{})
	must(t, err)
	t.Cleanup(tw.Close)
	core, logs := observer.New(zap.InfoLevel)
	rig := &webhookRig{queue: &fakeQueue{}, logs: logs}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	rig.url = srv.URL
	h := twilio.NewWebhooks(twilio.WebhookOptions{PublicURL: srv.URL, Accounts: tw, Queue: rig.queue, Log: zap.New(core),
		Observe: func(kind string, status int, _ time.Duration) {
			rig.mu.Lock()
			rig.answers = append(rig.answers, answer{kind, status})
			rig.mu.Unlock()
		}})
	mux.Handle("/twilio/inbound", h.Inbound())
	mux.Handle("/twilio/status", h.Status())
	return rig
}

func (rig *webhookRig) post(t *testing.T, path, contentType, body, signature string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, rig.url+path, strings.NewReader(body))
	must(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("X-Twilio-Signature", signature)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	return resp, string(b)
}

func inboundWebhookForm(sid string) url.Values {
	return url.Values{"MessageSid": {sid}, "AccountSid": {acct1}, "From": {cust}, "To": {num1}, "Body": {"hi"}}
}

// The handler's rules without a daemon: what is refused with which status
// before the queue, one 403 for an unknown account and a bad signature,
// the queued payload read back by DecodeInbound/DecodeStatus, the status
// callback's key per (SID, status), 503 when the queue fails, and every
// answer observed.
func TestWebhooksAnswerAndQueue(t *testing.T) {
	rig := newWebhookRig(t)
	const form = "application/x-www-form-urlencoded"
	sid := "SM" + strings.Repeat("a", 32)
	in := inboundWebhookForm(sid)
	inURL := rig.url + "/twilio/inbound"

	resp, body := rig.post(t, "/twilio/inbound", form, in.Encode(), twilio.Signature(tok1, inURL, in))
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") || !strings.Contains(body, "<Response/>") {
		t.Fatalf("signed inbound: %d %s %q, want 200 with empty TwiML", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if len(rig.queue.jobs) != 1 || rig.queue.jobs[0].kind != sbsync.KindInbound || rig.queue.jobs[0].key != sid {
		t.Fatalf("queued %+v, want one inbound job keyed %s", rig.queue.jobs, sid)
	}
	if got, err := twilio.DecodeInbound(rig.queue.jobs[0].payload); err != nil || got.MessageSID != sid || got.Body != "hi" {
		t.Fatalf("DecodeInbound = %+v, %v", got, err)
	}

	st := url.Values{"MessageSid": {sid}, "AccountSid": {acct1}, "MessageStatus": {"delivered"}}
	resp, _ = rig.post(t, "/twilio/status", form, st.Encode(), twilio.Signature(tok1, rig.url+"/twilio/status", st))
	if resp.StatusCode != http.StatusNoContent || len(rig.queue.jobs) != 2 || rig.queue.jobs[1].key != sid+"@delivered" {
		t.Fatalf("signed status: %d, queued %+v; want 204 keyed SID@status", resp.StatusCode, rig.queue.jobs)
	}
	if got, err := twilio.DecodeStatus(rig.queue.jobs[1].payload); err != nil || got.Status != "delivered" {
		t.Fatalf("DecodeStatus = %+v, %v", got, err)
	}

	noFrom := inboundWebhookForm("SM" + strings.Repeat("b", 32))
	noFrom.Del("From")
	unknown := inboundWebhookForm("SM" + strings.Repeat("c", 32))
	unknown.Set("AccountSid", "AC"+strings.Repeat("9", 32))
	for _, c := range []struct {
		name, ct, body, sig string
		code                int
		says                string
	}{
		{"signed, no From", form, noFrom.Encode(), twilio.Signature(tok1, inURL, noFrom), http.StatusBadRequest, "missing From"},
		{"unsigned, no From", form, noFrom.Encode(), "bogus", http.StatusForbidden, "not signed by a configured Twilio account"},
		{"unknown account", form, unknown.Encode(), twilio.Signature(tok1, inURL, unknown), http.StatusForbidden, "not signed by a configured Twilio account"},
		{"JSON", "application/json", `{"AccountSid": "` + acct1 + `"}`, "", http.StatusUnsupportedMediaType, "application/x-www-form-urlencoded"},
		{"over 64 KiB", form, in.Encode() + "&Pad=" + strings.Repeat("p", 64<<10), "bogus", http.StatusRequestEntityTooLarge, "too large"},
	} {
		resp, body := rig.post(t, "/twilio/inbound", c.ct, c.body, c.sig)
		if resp.StatusCode != c.code || !strings.Contains(body, c.says) {
			t.Errorf("%s: %d %q, want %d with %q", c.name, resp.StatusCode, body, c.code, c.says)
		}
	}
	if len(rig.queue.jobs) != 2 {
		t.Errorf("queued %d jobs, want only the 2 accepted", len(rig.queue.jobs))
	}

	get, err := http.Get(inURL)
	must(t, err)
	get.Body.Close()
	if get.StatusCode != http.StatusMethodNotAllowed || get.Header.Get("Allow") != http.MethodPost {
		t.Errorf("GET: %d Allow %q, want 405 Allow POST", get.StatusCode, get.Header.Get("Allow"))
	}

	rig.queue.err = errors.New("disk full")
	again := inboundWebhookForm("SM" + strings.Repeat("d", 32))
	if resp, _ := rig.post(t, "/twilio/inbound", form, again.Encode(), twilio.Signature(tok1, inURL, again)); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("queue failing: %d, want 503", resp.StatusCode)
	}

	want := []int{200, 204, 400, 403, 403, 415, 413, 405, 503}
	rig.mu.Lock()
	defer rig.mu.Unlock()
	if len(rig.answers) != len(want) {
		t.Fatalf("observed %+v, want statuses %v", rig.answers, want)
	}
	for i, a := range rig.answers {
		if a.status != want[i] {
			t.Errorf("answer %d observed %+v, want status %d", i, a, want[i])
		}
	}
	for _, cause := range []string{"invalid_fields", "bad_signature", "unknown_account", "not_a_form", "too_large", "method"} {
		if rig.logs.FilterField(zap.String("cause", cause)).Len() != 1 {
			t.Errorf("no single refusal line with cause %s: %v", cause, rig.logs.All())
		}
	}
}
