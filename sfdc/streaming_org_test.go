package sfdc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
)

// Scenario tests against the simulated org's CometD server (real sockets).

// streamOrg is an org with the SPEC PushTopics and short long polls.
func streamOrg(t *testing.T) *sfdctest.Org {
	t.Helper()
	org := sfdctest.Start(t)
	if err := setupPushTopics(context.Background(), newClient(t, org), &Report{}); err != nil {
		t.Fatal(err)
	}
	org.SetHoldTimeout(300 * time.Millisecond)
	return org
}

// orgStream builds a Stream on org with a real *Auth (client credentials).
func orgStream(t *testing.T, org *sfdctest.Org, rec *streamRecorder, tweak ...func(*StreamConfig)) (*Stream, *Auth) {
	t.Helper()
	auth := newAuth(t, authConfig(org, FlowClientCredentials))
	cfg := streamTestConfig(t, auth, rec, topicTasks, topicConvs)
	for _, f := range tweak {
		f(&cfg)
	}
	s, err := NewStream(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, auth
}

func orgPublish(org *sfdctest.Org, channel string, n int) (ids []int64) {
	for i := 0; i < n; i++ {
		ids = append(ids, org.Publish(channel, "created", map[string]any{
			"Id": fmt.Sprintf("00T%015d", i), "Message_Type__c": "Outbound", "Message_Status__c": "Pending",
		}))
	}
	return ids
}

func sameReplayIDs(t *testing.T, what string, got, want []int64) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: replay ids %v, want %v", what, got, want)
	}
}

func TestStreamOrgTokenRevokedMidStream(t *testing.T) {
	org := streamOrg(t)
	rec := newStreamRecorder()
	s, auth := orgStream(t, org, rec)
	runStream(t, s)
	sfdctest.Eventually(t, 5*time.Second, "subscribed", s.Subscribed)
	want := orgPublish(org, topicTasks, 5)
	sfdctest.Eventually(t, 5*time.Second, "5 events", func() bool { return rec.count(topicTasks) == 5 })

	org.RevokeTokens()
	want = append(want, orgPublish(org, topicTasks, 5)...)
	sfdctest.Eventually(t, 5*time.Second, "10 events", func() bool { return rec.count(topicTasks) == 10 })
	sameReplayIDs(t, topicTasks, rec.ids(topicTasks), want)
	if n := auth.logins.Load(); n != 2 {
		t.Errorf("logins = %d, want 2 (start + one re-authentication)", n)
	}
	if n := org.Handshakes(); n != 2 {
		t.Errorf("handshakes = %d, want 2 (a new session after re-auth)", n)
	}
	st := s.Stats()
	if st.Reconnects[CauseAuth] != 1 || len(st.Reconnects) != 1 {
		t.Errorf("reconnects %v, want exactly one for auth", st.Reconnects)
	}
	if g := rec.gapsFor(topicTasks); len(g) != 0 {
		t.Errorf("gaps %q: resubscribing from the handled replay id loses nothing", joinGaps(g))
	}
}

func TestStreamOrgServerForgetsClient(t *testing.T) {
	org := streamOrg(t)
	rec := newStreamRecorder()
	s, auth := orgStream(t, org, rec)
	runStream(t, s)
	sfdctest.Eventually(t, 5*time.Second, "subscribed", s.Subscribed)
	want := orgPublish(org, topicConvs, 3)
	sfdctest.Eventually(t, 5*time.Second, "3 events", func() bool { return rec.count(topicConvs) == 3 })

	org.ExpireAllClients()
	// Published while no session exists: the resubscribe replays them.
	want = append(want, orgPublish(org, topicConvs, 4)...)
	sfdctest.Eventually(t, 5*time.Second, "7 events", func() bool { return rec.count(topicConvs) == 7 })
	sameReplayIDs(t, topicConvs, rec.ids(topicConvs), want)
	sfdctest.Eventually(t, 5*time.Second, "resubscribed", s.Subscribed)
	if st := s.Stats(); st.Reconnects[CauseUnknownClient] != 1 || st.Handshakes != 2 {
		t.Errorf("stats %+v, want one unknown_client reconnect and 2 handshakes", st)
	}
	if auth.logins.Load() != 1 {
		t.Errorf("logins = %d: an unknown client keeps its token", auth.logins.Load())
	}
	if org.Subscribers(topicConvs) != 1 || org.Subscribers(topicTasks) != 1 {
		t.Errorf("subscribers after re-handshake: tasks %d, conversations %d, want 1 each",
			org.Subscribers(topicTasks), org.Subscribers(topicConvs))
	}
}

func TestStreamOrgStaleReplayID(t *testing.T) {
	org := streamOrg(t)
	old := orgPublish(org, topicTasks, 3)
	org.InvalidateReplayIDs()
	rec := newStreamRecorder()
	var asked []string
	var mu sync.Mutex
	s, _ := orgStream(t, org, rec, func(c *StreamConfig) {
		c.ReplayFrom = func(_ context.Context, ch string) (int64, error) {
			mu.Lock()
			asked = append(asked, ch)
			mu.Unlock()
			if ch == topicTasks {
				return old[1], nil // a checkpoint that aged out
			}
			return -1, nil
		}
	})
	runStream(t, s)
	sfdctest.Eventually(t, 5*time.Second, "subscribed", s.Subscribed)
	sfdctest.Eventually(t, 5*time.Second, "gap notice", func() bool { return len(rec.gapsFor(topicTasks)) == 1 })
	if g := rec.gapsFor(topicTasks)[0]; !strings.Contains(g, strconv.FormatInt(old[1], 10)) || !strings.Contains(g, "-1") {
		t.Errorf("gap reason %q should name the rejected id and the fallback", g)
	}
	if g := rec.gapsFor(topicConvs); len(g) != 0 {
		t.Errorf("conversations gaps %q", joinGaps(g))
	}
	want := orgPublish(org, topicTasks, 2)
	sfdctest.Eventually(t, 5*time.Second, "new events", func() bool { return rec.count(topicTasks) == 2 })
	sameReplayIDs(t, "after the fallback to -1", rec.ids(topicTasks), want)
	if st := s.Stats(); st.Reconnects[CauseReplayInvalid] != 1 || st.Handshakes != 1 {
		t.Errorf("stats %+v: the fallback resubscribes in the same session", st)
	}
	mu.Lock()
	if fmt.Sprint(asked) != fmt.Sprint([]string{topicTasks, topicConvs}) {
		t.Errorf("ReplayFrom asked for %v", asked)
	}
	mu.Unlock()
	// The stream now resumes from the new events, not the rejected id.
	org.ExpireAllClients()
	want = append(want, orgPublish(org, topicTasks, 2)...)
	sfdctest.Eventually(t, 5*time.Second, "events after a re-handshake", func() bool { return rec.count(topicTasks) == 4 })
	sameReplayIDs(t, "after re-handshake", rec.ids(topicTasks), want)
	if g := rec.gapsFor(topicTasks); len(g) != 1 {
		t.Errorf("gaps %q, want still one", joinGaps(g))
	}
}

// bayeuxWireLog is a RoundTripper that records every Bayeux request and can act
// just before one is sent.
type bayeuxWireLog struct {
	mu     sync.Mutex
	reqs   []bayeuxWireReq
	before func(channel string)
}

type bayeuxWireReq struct {
	channel, cookie, setCookie string
	at                         time.Time
	reply                      string
}

func (w *bayeuxWireLog) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var msgs []struct{ Channel string }
	_ = json.Unmarshal(body, &msgs)
	ch := ""
	if len(msgs) == 1 {
		ch = msgs[0].Channel
	}
	w.mu.Lock()
	before := w.before
	w.mu.Unlock()
	if before != nil {
		before(ch)
	}
	cookie := ""
	if c, err := r.Cookie("BAYEUX_BROWSER"); err == nil {
		cookie = c.Value
	}
	at := time.Now()
	resp, err := http.DefaultTransport.RoundTrip(r)
	rec := bayeuxWireReq{channel: ch, cookie: cookie, at: at}
	if err == nil {
		for _, c := range resp.Cookies() {
			if c.Name == "BAYEUX_BROWSER" {
				rec.setCookie = c.Value
			}
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(data))
		rec.reply = string(data)
	}
	w.mu.Lock()
	w.reqs = append(w.reqs, rec)
	w.mu.Unlock()
	return resp, err
}

func (w *bayeuxWireLog) snapshot() []bayeuxWireReq {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]bayeuxWireReq(nil), w.reqs...)
}

func TestStreamOrgCookieJarPerSession(t *testing.T) {
	org := streamOrg(t) // the org requires BAYEUX_BROWSER after the handshake
	wl := &bayeuxWireLog{}
	rec := newStreamRecorder()
	s, _ := orgStream(t, org, rec, func(c *StreamConfig) { c.HTTPClient = &http.Client{Transport: wl} })
	runStream(t, s)
	sfdctest.Eventually(t, 5*time.Second, "subscribed", s.Subscribed)
	orgPublish(org, topicTasks, 2)
	sfdctest.Eventually(t, 5*time.Second, "events", func() bool { return rec.count(topicTasks) == 2 })
	org.ExpireAllClients()
	sfdctest.Eventually(t, 5*time.Second, "second session", func() bool { return s.Stats().Handshakes == 2 && s.Subscribed() })
	orgPublish(org, topicTasks, 2)
	sfdctest.Eventually(t, 5*time.Second, "events in the second session", func() bool { return rec.count(topicTasks) == 4 })

	var sessions []string // BAYEUX_BROWSER per session
	for i, r := range wl.snapshot() {
		if r.channel == "/meta/handshake" {
			if r.cookie != "" {
				t.Errorf("request %d: handshake sent cookie %q; each session needs a new jar", i, r.cookie)
			}
			if r.setCookie == "" {
				t.Fatalf("request %d: handshake set no BAYEUX_BROWSER", i)
			}
			sessions = append(sessions, r.setCookie)
			continue
		}
		if len(sessions) == 0 {
			t.Fatalf("request %d (%s) before any handshake", i, r.channel)
		}
		if cur := sessions[len(sessions)-1]; r.cookie != cur {
			t.Errorf("request %d (%s) carried cookie %q, want its session's %q", i, r.channel, r.cookie, cur)
		}
	}
	if len(sessions) != 2 || sessions[0] == sessions[1] {
		t.Errorf("session cookies %v, want two different ones", sessions)
	}
}

func TestStreamOrgBusyOnSubscribe(t *testing.T) {
	org := streamOrg(t)
	var once sync.Once
	wl := &bayeuxWireLog{before: func(ch string) {
		if ch == "/meta/subscribe" {
			once.Do(func() { org.InjectBusy(2) })
		}
	}}
	rec := newStreamRecorder()
	const busyMin = 40 * time.Millisecond
	s, _ := orgStream(t, org, rec, func(c *StreamConfig) {
		c.HTTPClient = &http.Client{Transport: wl}
		c.BusyMin = busyMin
	})
	runStream(t, s)
	sfdctest.Eventually(t, 5*time.Second, "subscribed", s.Subscribed)
	want := orgPublish(org, topicTasks, 3)
	sfdctest.Eventually(t, 5*time.Second, "events", func() bool { return rec.count(topicTasks) == 3 })
	sameReplayIDs(t, topicTasks, rec.ids(topicTasks), want)

	var subs []bayeuxWireReq
	for _, r := range wl.snapshot() {
		if r.channel == "/meta/subscribe" {
			subs = append(subs, r)
		}
	}
	if len(subs) != 4 { // busy, busy, tasks ok, conversations ok
		t.Fatalf("%d subscribes, want 4", len(subs))
	}
	for i := 0; i < 2; i++ {
		if !strings.Contains(subs[i].reply, "503::Server is too busy") {
			t.Errorf("subscribe %d reply %s, want the injected 503", i, subs[i].reply)
		}
		// Equal jitter waits at least half the nominal delay.
		nominal := busyMin << i
		if gap := subs[i+1].at.Sub(subs[i].at); gap < nominal/2 {
			t.Errorf("retry %d after %v, want a backoff of at least %v", i+1, gap, nominal/2)
		}
	}
	if st := s.Stats(); st.Reconnects[CauseBusy] != 2 || st.Handshakes != 1 {
		t.Errorf("stats %+v: want 2 busy retries within one session", st)
	}
}

func TestStreamOrgServerDisconnectPush(t *testing.T) {
	org := streamOrg(t)
	rec := newStreamRecorder()
	s, _ := orgStream(t, org, rec)
	runStream(t, s)
	sfdctest.Eventually(t, 5*time.Second, "subscribed", s.Subscribed)
	want := orgPublish(org, topicTasks, 2)
	sfdctest.Eventually(t, 5*time.Second, "events", func() bool { return rec.count(topicTasks) == 2 })
	org.PushDisconnect()
	sfdctest.Eventually(t, 5*time.Second, "reconnected", func() bool { return s.Stats().Handshakes == 2 && s.Subscribed() })
	want = append(want, orgPublish(org, topicTasks, 2)...)
	sfdctest.Eventually(t, 5*time.Second, "events after the push", func() bool { return rec.count(topicTasks) == 4 })
	sameReplayIDs(t, topicTasks, rec.ids(topicTasks), want)
	if st := s.Stats(); st.Reconnects[CauseServerDisconnect] != 1 || len(st.Reconnects) != 1 {
		t.Errorf("reconnects %v, want one server_disconnect", st.Reconnects)
	}
}

func TestStreamOrgWatchdog(t *testing.T) {
	org := streamOrg(t)
	// The server holds connects for 30 s and advises so; a stream whose
	// watchdog allows 300 ms of silence must rebuild, and leave no client
	// behind each time.
	org.SetHoldTimeout(30 * time.Second)
	rec := newStreamRecorder()
	s, _ := orgStream(t, org, rec, func(c *StreamConfig) { c.Watchdog = 300 * time.Millisecond })
	runStream(t, s)
	sfdctest.Eventually(t, 10*time.Second, "two watchdog rebuilds", func() bool { return s.Stats().Reconnects[CauseWatchdog] >= 2 })
	sfdctest.Eventually(t, 5*time.Second, "subscribed", s.Subscribed)
	if n := org.StreamClients(); n > 1 {
		t.Errorf("%d live clients: the watchdog must /meta/disconnect the session it abandons", n)
	}
	// Events still flow: one wakes the held connect at once.
	orgPublish(org, topicTasks, 1)
	sfdctest.Eventually(t, 5*time.Second, "event", func() bool { return rec.count(topicTasks) >= 1 })
}

func TestStreamOrgShutdownDisconnects(t *testing.T) {
	org := streamOrg(t)
	wl := &bayeuxWireLog{}
	rec := newStreamRecorder()
	s, _ := orgStream(t, org, rec, func(c *StreamConfig) { c.HTTPClient = &http.Client{Transport: wl} })
	stop := runStream(t, s)
	sfdctest.Eventually(t, 5*time.Second, "subscribed", s.Subscribed)
	if org.StreamClients() != 1 {
		t.Fatalf("live clients = %d, want 1", org.StreamClients())
	}
	stop()
	if n := org.StreamClients(); n != 0 {
		t.Errorf("live clients after shutdown = %d, want 0", n)
	}
	reqs := wl.snapshot()
	last := reqs[len(reqs)-1]
	if last.channel != "/meta/disconnect" || !strings.Contains(last.reply, `"successful":true`) {
		t.Errorf("last request %s → %s, want a successful /meta/disconnect", last.channel, last.reply)
	}
	if s.Subscribed() {
		t.Error("Subscribed() after shutdown")
	}
}

// connectFaults answers the next n /meta/connect requests with an HTTP
// 504 from "the edge", as apache/camel-kafka-connector#1339 saw.
type connectFaults struct {
	mu sync.Mutex
	n  int
}

func (f *connectFaults) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	f.mu.Lock()
	hit := f.n > 0 && bytes.Contains(body, []byte(`"/meta/connect"`))
	if hit {
		f.n--
	}
	f.mu.Unlock()
	if hit {
		return &http.Response{StatusCode: http.StatusGatewayTimeout, Status: "504 Gateway Timeout", Header: http.Header{},
			Body: io.NopCloser(strings.NewReader("<html>upstream timed out</html>")), Request: r}, nil
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestStreamOrgGatewayErrorsRetryConnect(t *testing.T) {
	org := streamOrg(t)
	ft := &connectFaults{}
	rec := newStreamRecorder()
	s, _ := orgStream(t, org, rec, func(c *StreamConfig) { c.HTTPClient = &http.Client{Transport: ft} })
	runStream(t, s)
	sfdctest.Eventually(t, 5*time.Second, "subscribed", s.Subscribed)
	ft.mu.Lock()
	ft.n = 3
	ft.mu.Unlock()
	want := orgPublish(org, topicTasks, 3)
	sfdctest.Eventually(t, 5*time.Second, "events", func() bool { return rec.count(topicTasks) == 3 })
	sameReplayIDs(t, topicTasks, rec.ids(topicTasks), want)
	// Within the 40 s reconnect window a 5xx is retried on the same
	// session, not answered with a new handshake.
	if st := s.Stats(); st.Handshakes != 1 || len(st.Reconnects) != 0 {
		t.Errorf("stats %+v: want the same session", st)
	}
}
