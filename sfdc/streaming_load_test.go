package sfdc

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
)

// Load and allocation scenarios against the simulated org: backpressure,
// 10,000 events, failing handlers, the org's streaming limits, throughput.

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
//
// Long on purpose: the faults are injected in order while one stream runs.
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
	t.Logf("%d events in %v; stats %+v; logins %d; server handshakes %d", total, elapsed.Round(time.Millisecond), st, auth.logins.Load(), org.Handshakes())
	if st.Reconnects[CauseAuth] != 1 || auth.logins.Load() != 2 {
		t.Errorf("auth reconnects %d, logins %d: want one re-authentication", st.Reconnects[CauseAuth], auth.logins.Load())
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
	if st.Reconnects[CauseBusy] != 2 || st.Reconnects[CauseAuth] != 0 || auth.logins.Load() != 1 {
		t.Errorf("reconnects %v, logins %d: want 2 busy and no re-auth", st.Reconnects, auth.logins.Load())
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
	sfdctest.Eventually(b, 10*time.Second, "subscribed", s.Subscribed)
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
