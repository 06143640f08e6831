package sfdc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
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
	if n := auth.Logins(); n != 2 {
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
	if auth.Logins() != 1 {
		t.Errorf("logins = %d: an unknown client keeps its token", auth.Logins())
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

func TestStreamOrgBackpressure(t *testing.T) {
	org := streamOrg(t)
	release := make(chan struct{})
	rec := newStreamRecorder()
	first := true
	rec.check = func(string, []Event) error {
		if first {
			first = false
			rec.mu.Unlock()
			<-release // a slow store: Handle blocks, the poll must not
			rec.mu.Lock()
		}
		return nil
	}
	s, _ := orgStream(t, org, rec, func(c *StreamConfig) {
		c.QueueSize = 20
		c.ReplayFrom = func(context.Context, string) (int64, error) { return -2, nil }
	})
	runStream(t, s)
	sfdctest.Eventually(t, 5*time.Second, "subscribed", s.Subscribed)
	var want []int64
	for i := 0; i < 10; i++ {
		want = append(want, orgPublish(org, topicTasks, 20)...)
		time.Sleep(5 * time.Millisecond)
	}
	sfdctest.Eventually(t, 5*time.Second, "refusals", func() bool { return s.Stats().Refused > 0 })
	// While Handle is stuck the session stays alive: connects continue.
	hs := org.Handshakes()
	time.Sleep(100 * time.Millisecond)
	if org.Handshakes() != hs || !s.Subscribed() {
		t.Errorf("a blocked Handle disturbed the session (handshakes %d → %d)", hs, org.Handshakes())
	}
	if q := s.Stats().Queued; q > 20+20 {
		t.Errorf("queue holds %d events, bound is 20 plus one reply", q)
	}
	close(release)
	sfdctest.Eventually(t, 10*time.Second, "all 200 events", func() bool { return rec.count(topicTasks) == 200 })
	sameReplayIDs(t, topicTasks, rec.ids(topicTasks), want)
	if st := s.Stats(); st.Reconnects[CauseOverflow] < 1 || st.Delivered != 200 {
		t.Errorf("stats %+v", st)
	}
	if g := rec.gapsFor(topicTasks); len(g) != 0 {
		t.Errorf("gaps %q: replay covers what the queue refused", joinGaps(g))
	}
}

// TestStreamOrgTenThousandEvents publishes 10,000 events over both SPEC
// channels while the stream is forced through an unknown-client error, a
// token revocation and a streaming server restart. Handle appends to a file
// and fsyncs before it returns; every event must arrive, in order per
// channel, and the replay id the stream resubscribes from must never be
// ahead of what the file holds.
func TestStreamOrgTenThousandEvents(t *testing.T) {
	org := streamOrg(t)
	org.SetHoldTimeout(100 * time.Millisecond)
	org.SetReplayStep(-5) // random steps of 1…5: ids are not contiguous (ref §3.5)
	org.ShuffleReplyOrder(true)
	org.DailyEventLimit(0)

	path := filepath.Join(t.TempDir(), "events.log")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	var (
		mu      sync.Mutex
		durable = map[string]int64{topicTasks: -1, topicConvs: -1} // last id fsynced per channel
		s       *Stream
		bad     []string
	)
	checkResume := func(when string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		for ch, st := range s.chans {
			if st.resume > durable[ch] {
				bad = append(bad, fmt.Sprintf("%s: resume point %d ahead of durable %d (%s)", ch, st.resume, durable[ch], when))
			}
		}
	}
	handle := func(_ context.Context, ch string, evs []Event) error {
		mu.Lock()
		defer mu.Unlock()
		checkResume("before write")
		var buf bytes.Buffer
		prev := durable[ch]
		for _, e := range evs {
			if e.ReplayID <= prev {
				bad = append(bad, fmt.Sprintf("%s: %d after %d", ch, e.ReplayID, prev))
			}
			prev = e.ReplayID
			fmt.Fprintf(&buf, "%s %d\n", ch, e.ReplayID)
		}
		if _, err := f.Write(buf.Bytes()); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
		durable[ch] = prev
		checkResume("after fsync")
		return nil
	}
	auth := newAuth(t, authConfig(org, FlowClientCredentials))
	s, err = NewStream(StreamConfig{
		Auth: auth, Channels: []string{topicTasks, topicConvs}, Handle: handle,
		ReplayFrom: func(context.Context, string) (int64, error) { return -2, nil },
		OnGap: func(_ context.Context, ch, reason string) {
			mu.Lock()
			bad = append(bad, "unexpected gap on "+ch+": "+reason)
			mu.Unlock()
		},
		RetryMin: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond, BusyMin: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	stop := runStream(t, s)
	sfdctest.Eventually(t, 5*time.Second, "subscribed", s.Subscribed)

	recovered := func(handshakes int64) {
		sfdctest.Eventually(t, 10*time.Second, fmt.Sprintf("session %d", handshakes), func() bool {
			return s.Stats().Handshakes >= handshakes && s.Subscribed()
		})
	}
	const total = 10000
	want := map[string][]int64{}
	for i := 0; i < total; i++ {
		ch := topicTasks
		if i%3 == 2 {
			ch = topicConvs
		}
		want[ch] = append(want[ch], org.Publish(ch, "updated", map[string]any{"Id": fmt.Sprintf("00T%015d", i), "Message_Status__c": "Pending"}))
		// Each fault waits for the stream to have recovered from the one
		// before, so every fault hits a live session.
		switch i {
		case 2500:
			org.ExpireAllClients()
		case 5000:
			recovered(2)
			org.RevokeTokens()
		case 7500:
			recovered(3)
			org.RestartStreaming()
		}
		if i%200 == 0 {
			time.Sleep(2 * time.Millisecond) // let faults land mid-stream
		}
	}
	sfdctest.Eventually(t, 60*time.Second, "every event durable", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return durable[topicTasks] == want[topicTasks][len(want[topicTasks])-1] &&
			durable[topicConvs] == want[topicConvs][len(want[topicConvs])-1]
	})
	elapsed := time.Since(start)
	stop()

	mu.Lock()
	for _, b := range bad {
		t.Error(b)
	}
	mu.Unlock()
	got := map[string][]int64{}
	rf, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	sc := bufio.NewScanner(rf)
	for sc.Scan() {
		ch, id, _ := strings.Cut(sc.Text(), " ")
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			t.Fatalf("bad line %q", sc.Text())
		}
		got[ch] = append(got[ch], n)
	}
	for ch, ids := range want {
		sameReplayIDs(t, "file "+ch, got[ch], ids) // exactly once: dedupe within the process
	}
	st := s.Stats()
	t.Logf("%d events in %v; stats %+v; logins %d; server handshakes %d", total, elapsed.Round(time.Millisecond), st, auth.Logins(), org.Handshakes())
	if st.Reconnects[CauseAuth] != 1 || auth.Logins() != 2 {
		t.Errorf("auth reconnects %d, logins %d: want one re-authentication", st.Reconnects[CauseAuth], auth.Logins())
	}
	if st.Reconnects[CauseUnknownClient] != 2 || st.Handshakes != 4 || len(st.Reconnects) != 2 {
		t.Errorf("reconnects %v, handshakes %d: want unknown_client 2 (expiry and restart), auth 1, 4 sessions", st.Reconnects, st.Handshakes)
	}
	if st.Delivered != total {
		t.Errorf("delivered %d, want %d", st.Delivered, total)
	}
}

func TestStreamOrgHandleErrorsAreRetried(t *testing.T) {
	org := streamOrg(t)
	rec := newStreamRecorder()
	rec.fail = 3
	s, _ := orgStream(t, org, rec)
	runStream(t, s)
	sfdctest.Eventually(t, 5*time.Second, "subscribed", s.Subscribed)
	want := orgPublish(org, topicTasks, 5)
	sfdctest.Eventually(t, 5*time.Second, "5 events", func() bool { return rec.count(topicTasks) == 5 })
	sameReplayIDs(t, topicTasks, rec.ids(topicTasks), want)
	if st := s.Stats(); st.HandleErrors != 3 || st.Delivered != 5 {
		t.Errorf("stats %+v, want 3 handle errors and 5 delivered", st)
	}
}

func TestStreamOrgDailyEventLimit(t *testing.T) {
	org := streamOrg(t)
	org.DailyEventLimit(4)
	rec := newStreamRecorder()
	s, _ := orgStream(t, org, rec)
	runStream(t, s)
	sfdctest.Eventually(t, 5*time.Second, "subscribed", s.Subscribed)
	want := orgPublish(org, topicTasks, 4)
	sfdctest.Eventually(t, 5*time.Second, "4 events", func() bool { return rec.count(topicTasks) == 4 })
	want = append(want, orgPublish(org, topicTasks, 3)...)
	sfdctest.Eventually(t, 5*time.Second, "the limit reported", func() bool { return s.Stats().Reconnects[CauseLimit] >= 1 })
	// A new allocation window: the held-back events are replayed (ref §3.5).
	org.DailyEventLimit(0)
	sfdctest.Eventually(t, 5*time.Second, "7 events", func() bool { return rec.count(topicTasks) == 7 })
	sameReplayIDs(t, topicTasks, rec.ids(topicTasks), want)
	if g := rec.gapsFor(topicTasks); len(g) != 0 {
		t.Errorf("gaps %q", joinGaps(g))
	}
}

func TestStreamOrgConcurrentClientLimit(t *testing.T) {
	org := streamOrg(t)
	org.ConcurrentClientLimit(1)
	recA, recB := newStreamRecorder(), newStreamRecorder()
	a, _ := orgStream(t, org, recA)
	stopA := runStream(t, a)
	sfdctest.Eventually(t, 5*time.Second, "a subscribed", a.Subscribed)
	b, _ := orgStream(t, org, recB)
	runStream(t, b)
	sfdctest.Eventually(t, 5*time.Second, "b refused", func() bool { return b.Stats().Reconnects[CauseLimit] >= 1 })
	if b.Subscribed() {
		t.Fatal("b subscribed beyond the limit")
	}
	stopA() // its /meta/disconnect frees the slot at once
	sfdctest.Eventually(t, 5*time.Second, "b subscribed", b.Subscribed)
	want := orgPublish(org, topicConvs, 2)
	sfdctest.Eventually(t, 5*time.Second, "b receives", func() bool { return recB.count(topicConvs) == 2 })
	sameReplayIDs(t, topicConvs, recB.ids(topicConvs), want)
}

func TestStreamOrgBusyOnHandshakeAndConnect(t *testing.T) {
	org := streamOrg(t)
	org.InjectBusy(1) // the handshake
	rec := newStreamRecorder()
	s, auth := orgStream(t, org, rec)
	runStream(t, s)
	sfdctest.Eventually(t, 5*time.Second, "subscribed", s.Subscribed)
	want := orgPublish(org, topicTasks, 2)
	sfdctest.Eventually(t, 5*time.Second, "events", func() bool { return rec.count(topicTasks) == 2 })
	// A busy connect comes as 401::Authentication invalid with a 503
	// failureReason (ref §3.6): back off, no re-authentication.
	org.InjectBusy(1)
	want = append(want, orgPublish(org, topicTasks, 2)...)
	sfdctest.Eventually(t, 5*time.Second, "events after busy connect", func() bool { return rec.count(topicTasks) == 4 })
	sameReplayIDs(t, topicTasks, rec.ids(topicTasks), want)
	st := s.Stats()
	if st.Reconnects[CauseBusy] != 2 || st.Reconnects[CauseAuth] != 0 || auth.Logins() != 1 {
		t.Errorf("reconnects %v, logins %d: want 2 busy and no re-auth", st.Reconnects, auth.Logins())
	}
}

// BenchmarkStreamOrgThroughput measures events per second from Publish to
// Handle through the simulated org on loopback.
func BenchmarkStreamOrgThroughput(b *testing.B) {
	org := sfdctest.Start(b)
	org.DailyEventLimit(0)
	c, err := NewClient(benchAuth(b, org), ClientConfig{})
	if err != nil {
		b.Fatal(err)
	}
	if err := setupPushTopics(context.Background(), c, &Report{}); err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	got := 0
	s, err := NewStream(StreamConfig{Auth: benchAuth(b, org), Channels: []string{topicTasks},
		Handle: func(_ context.Context, _ string, evs []Event) error {
			mu.Lock()
			got += len(evs)
			mu.Unlock()
			return nil
		}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for !s.Subscribed() {
		time.Sleep(time.Millisecond)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		org.Publish(topicTasks, "created", map[string]any{"Id": "00T000000000001AAA"})
	}
	for {
		mu.Lock()
		n := got
		mu.Unlock()
		if n >= b.N {
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

func benchAuth(b *testing.B, org *sfdctest.Org) *Auth {
	a, err := NewAuth(authConfig(org, FlowClientCredentials), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	return a
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
