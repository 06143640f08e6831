package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
	sbsync "github.com/switchboard/switchboard/sync"
)

var bg = context.Background()

func TestEnqueueDedupe(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		s := openStore(t, url, testOptions())
		var mu gosync.Mutex
		got := map[string]int{}
		release := make(chan struct{})
		if err := s.Handle("send", func(ctx context.Context, j Job) error {
			<-release
			mu.Lock()
			got[j.Key]++
			mu.Unlock()
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		// The same key twice in one batch: River v0.32's InsertMany bug.
		rep, err := s.EnqueueReport(bg,
			Job{Kind: "send", Key: "a", Payload: []byte(`{"n":1}`)},
			Job{Kind: "send", Key: "a", Payload: []byte(`{"n":2}`)},
			Job{Kind: "send", Key: "b"},
			Job{Kind: "send"}, Job{Kind: "send"}, // no key: never de-duplicated
		)
		if err != nil {
			t.Fatal(err)
		}
		if rep != (EnqueueReport{Inserted: 4, Skipped: 1}) {
			t.Fatalf("first batch: %+v, want 4 inserted, 1 skipped", rep)
		}
		rep, err = s.EnqueueReport(bg, Job{Kind: "send", Key: "a"}, Job{Kind: "send", Key: "b"}, Job{Kind: "send", Key: "c"})
		if err != nil {
			t.Fatal(err)
		}
		if rep != (EnqueueReport{Inserted: 1, Skipped: 2}) {
			t.Fatalf("second batch: %+v, want 1 inserted (c), 2 skipped", rep)
		}
		if k := jobKeys(t, s, "send"); k["a"] != 1 || k["b"] != 1 || k["c"] != 1 || k[""] != 2 {
			t.Fatalf("stored keys %v", k)
		}
		start(t, s)
		// Running is unfinished too.
		sfdctest.Eventually(t, 20*time.Second, "jobs running", func() bool { return jobStates(t, s, "send")["running"] == 5 })
		if rep, _ := s.EnqueueReport(bg, Job{Kind: "send", Key: "a"}); rep.Skipped != 1 {
			t.Fatalf("enqueue of a running key: %+v, want skipped", rep)
		}
		close(release)
		sfdctest.Eventually(t, 20*time.Second, "jobs completed", func() bool { return jobStates(t, s, "send")["completed"] == 5 })
		// A finished job no longer blocks its key.
		if rep, _ := s.EnqueueReport(bg, Job{Kind: "send", Key: "a"}); rep.Inserted != 1 {
			t.Fatalf("enqueue of a completed key: %+v, want inserted", rep)
		}
		sfdctest.Eventually(t, 20*time.Second, "a twice", func() bool { mu.Lock(); defer mu.Unlock(); return got["a"] == 2 })
		mu.Lock()
		defer mu.Unlock()
		if got["b"] != 1 || got["c"] != 1 || got[""] != 2 {
			t.Fatalf("handled %v", got)
		}
	})
}

func TestEnqueueInvalid(t *testing.T) {
	s := openStore(t, sqliteURL(t), testOptions())
	if err := s.Handle("send", func(context.Context, Job) error { return nil }); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		job  Job
		want string
	}{
		{Job{Kind: "x"}, `job 1 (key ""): invalid: job kind "x" must be 2–127 letters, digits or _-[]<>/.·:+ and start with a letter, digit or _`},
		{Job{Kind: "other", Key: "k"}, `invalid: job 1 (key "k"): no handler is registered for kind "other"`},
		{Job{Kind: "send", Key: "k", Payload: []byte("{not json")}, `invalid: job 1 (kind "send", key "k"): the payload is not valid JSON`},
		{Job{Kind: "send", Key: "k", MaxAttempts: -1}, `invalid: job 1 (kind "send", key "k"): MaxAttempts -1`},
	}
	for _, c := range cases {
		err := s.Enqueue(bg, Job{Kind: "send", Key: "fine"}, c.job)
		if !errors.Is(err, ErrInvalid) || err.Error() != c.want {
			t.Fatalf("%+v:\n got %v\nwant %s", c.job, err, c.want)
		}
	}
	// Nothing of a rejected batch is stored.
	if n := jobStates(t, s, "send"); len(n) != 0 {
		t.Fatalf("a rejected batch stored jobs: %v", n)
	}
	if err := s.Handle("send", func(context.Context, Job) error { return nil }); err == nil || err.Error() != `invalid: a handler for "send" is already registered` {
		t.Fatalf("duplicate Handle: %v", err)
	}
}

func TestRetryWithBackoffThenSuccess(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		s := openStore(t, url, testOptions())
		var mu gosync.Mutex
		var attempts []int
		var times, created, runAt []time.Time
		if err := s.Handle("flaky", func(ctx context.Context, j Job) error {
			mu.Lock()
			defer mu.Unlock()
			attempts = append(attempts, j.Attempt)
			times = append(times, time.Now())
			created, runAt = append(created, j.CreatedAt), append(runAt, j.RunAt)
			if j.Attempt < 3 {
				return fmt.Errorf("salesforce is down (attempt %d)", j.Attempt)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.Enqueue(bg, Job{Kind: "flaky", Key: "k", MaxAttempts: 5}); err != nil {
			t.Fatal(err)
		}
		start(t, s)
		sfdctest.Eventually(t, 20*time.Second, "completion", func() bool { return jobStates(t, s, "flaky")["completed"] == 1 })
		mu.Lock()
		defer mu.Unlock()
		if fmt.Sprint(attempts) != "[1 2 3]" {
			t.Fatalf("attempts %v, want [1 2 3]", attempts)
		}
		// RetryBase 20 ms: the first retry waits at least 10 ms (half of it).
		if d := times[1].Sub(times[0]); d < 10*time.Millisecond {
			t.Fatalf("first retry after %s, want a backoff of at least 10ms", d)
		}
		// A retry runs later (RunAt moves) but the work arrived once: an
		// inbound message is ordered by CreatedAt, its own arrival.
		if created[0].IsZero() || !created[0].Equal(created[1]) || !created[1].Equal(created[2]) {
			t.Fatalf("CreatedAt by attempt %v, want one non-zero time", created)
		}
		if !runAt[2].After(runAt[0]) {
			t.Fatalf("RunAt by attempt %v: a retry is scheduled later", runAt)
		}
	})
}

func TestBackoffDelay(t *testing.T) {
	b := &backoff{base: time.Second, max: 10 * time.Minute}
	for attempt, full := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 5: 16 * time.Second, 11: 10 * time.Minute, 60: 10 * time.Minute} {
		for range 100 {
			d := b.delay(attempt)
			if d < full/2 || d > full {
				t.Fatalf("attempt %d: delay %s outside [%s, %s]", attempt, d, full/2, full)
			}
		}
	}
}

func TestRetryErrorSnoozesWithoutUsingAttempts(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		s := openStore(t, url, testOptions())
		var runs atomic.Int32
		var maxAttempt atomic.Int32
		if err := s.Handle("throttled", func(ctx context.Context, j Job) error {
			n := runs.Add(1)
			if int32(j.Attempt) > maxAttempt.Load() {
				maxAttempt.Store(int32(j.Attempt))
			}
			if n <= 4 {
				// What the engine returns for a Twilio 429.
				return fmt.Errorf("sending: %w", &sbsync.RetryError{After: 30 * time.Millisecond, Err: errors.New("429 Too Many Requests")})
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		// Two attempts allowed, four snoozes: snoozes must not use them up.
		if err := s.Enqueue(bg, Job{Kind: "throttled", Key: "k", MaxAttempts: 2}); err != nil {
			t.Fatal(err)
		}
		start(t, s)
		sfdctest.Eventually(t, 20*time.Second, "completion", func() bool { return jobStates(t, s, "throttled")["completed"] == 1 })
		if runs.Load() != 5 || maxAttempt.Load() != 1 {
			t.Fatalf("runs %d, highest attempt %d; want 5 runs all at attempt 1", runs.Load(), maxAttempt.Load())
		}
	})
}

func TestDeadLetterThenReplay(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		s := openStore(t, url, testOptions())
		var healthy atomic.Bool
		var replayedAttempt atomic.Int32
		if err := s.Handle("inbound", func(ctx context.Context, j Job) error {
			if j.Key == "panics" && !healthy.Load() {
				panic("nil map in handler")
			}
			if !healthy.Load() {
				return fmt.Errorf("boom %d", j.Attempt)
			}
			if j.Key == "k1" {
				replayedAttempt.Store(int32(j.Attempt))
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.Enqueue(bg,
			Job{Kind: "inbound", Key: "k1", Payload: []byte(`{"sid":"SM1"}`), MaxAttempts: 3},
			Job{Kind: "inbound", Key: "k2", MaxAttempts: 1},
			Job{Kind: "inbound", Key: "panics", MaxAttempts: 2},
		); err != nil {
			t.Fatal(err)
		}
		start(t, s)
		sfdctest.Eventually(t, 20*time.Second, "dead letters", func() bool { return jobStates(t, s, "inbound")["discarded"] == 3 })
		dls, err := s.DeadLetters(bg, "inbound", 10)
		if err != nil {
			t.Fatal(err)
		}
		byKey := map[string]DeadLetter{}
		for _, d := range dls {
			byKey[d.Key] = d
		}
		d1 := byKey["k1"]
		if len(dls) != 3 || d1.Attempts != 3 || d1.LastError != "boom 3" || strings.ReplaceAll(string(d1.Payload), " ", "") != `{"sid":"SM1"}` || d1.FailedAt.IsZero() || d1.Kind != "inbound" {
			t.Fatalf("dead letters %+v", dls)
		}
		if p := byKey["panics"]; p.Attempts != 2 || p.LastError == "" {
			t.Fatalf("a panicking handler: %+v, want 2 failed attempts with the panic as error", p)
		}
		depth, err := s.QueueDepth(bg)
		if err != nil {
			t.Fatal(err)
		}
		if depth["inbound"] != (Depth{Dead: 3}) {
			t.Fatalf("depth %+v", depth)
		}
		if other, _ := s.DeadLetters(bg, "send", 10); len(other) != 0 {
			t.Fatalf("dead letters of another kind: %+v", other)
		}

		// A new job with a dead letter's key is allowed (the dead letter is
		// finished) and then blocks replaying it.
		if err := s.Enqueue(bg, Job{Kind: "inbound", Key: "k2", RunAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		err = s.Replay(bg, byKey["k2"].ID)
		if !errors.Is(err, ErrConflict) {
			t.Fatalf("replaying k2 with a live k2: %v, want ErrConflict", err)
		}

		healthy.Store(true)
		if err := s.Replay(bg, d1.ID); err != nil {
			t.Fatal(err)
		}
		sfdctest.Eventually(t, 20*time.Second, "replayed job done", func() bool { return jobKeys(t, s, "inbound", "completed")["k1"] == 1 })
		if replayedAttempt.Load() != 1 {
			t.Fatalf("the replay ran at attempt %d, want 1 (attempts reset)", replayedAttempt.Load())
		}
		err = s.Replay(bg, d1.ID)
		if !errors.Is(err, ErrNotFound) || err.Error() != fmt.Sprintf("not found: dead letter %d", d1.ID) {
			t.Fatalf("replaying a completed job: %v", err)
		}
		n, err := s.ReplayAll(bg, "inbound")
		if err != nil || n != 1 {
			t.Fatalf("ReplayAll: %d, %v; want 1 (panics; k2 conflicts)", n, err)
		}
		sfdctest.Eventually(t, 20*time.Second, "panics done", func() bool { return jobKeys(t, s, "inbound", "completed")["panics"] == 1 })
	})
}

func TestCheckpointAtomicAndMonotonic(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		s := openStore(t, url, testOptions())
		const ch = "/topic/SwitchboardTasks"
		if _, ok, err := s.Checkpoint(bg, ch); err != nil || ok {
			t.Fatalf("fresh checkpoint: ok=%v err=%v", ok, err)
		}
		if err := s.EnqueueAndCheckpoint(bg, []Job{{Kind: "send", Key: "T1"}, {Kind: "send", Key: "T1"}}, ch, 10); err != nil {
			t.Fatal(err)
		}
		if id, ok, _ := s.Checkpoint(bg, ch); !ok || id != 10 {
			t.Fatalf("checkpoint %d %v, want 10", id, ok)
		}
		at10, ok, err := s.CheckpointTime(bg, ch)
		if err != nil || !ok || time.Since(at10) > time.Minute || time.Since(at10) < 0 {
			t.Fatalf("checkpoint time %v %v %v, want just now", at10, ok, err)
		}
		// Out of order: the jobs are stored, the checkpoint (and its time) stays.
		time.Sleep(2 * time.Millisecond)
		if err := s.EnqueueAndCheckpoint(bg, []Job{{Kind: "send", Key: "T2"}}, ch, 7); err != nil {
			t.Fatal(err)
		}
		if id, _, _ := s.Checkpoint(bg, ch); id != 10 {
			t.Fatalf("checkpoint moved back to %d", id)
		}
		if at, _, _ := s.CheckpointTime(bg, ch); !at.Equal(at10) {
			t.Fatalf("checkpoint time moved to %v by an older event (was %v)", at, at10)
		}
		if _, ok, err := s.CheckpointTime(bg, "/topic/None"); ok || err != nil {
			t.Fatalf("checkpoint time of an unknown channel: %v %v", ok, err)
		}
		if k := jobKeys(t, s, "send"); k["T1"] != 1 || k["T2"] != 1 {
			t.Fatalf("jobs %v", k)
		}
		// Channels are independent.
		if err := s.EnqueueAndCheckpoint(bg, nil, "/topic/SwitchboardConversations", 3); err != nil {
			t.Fatal(err)
		}
		if id, _, _ := s.Checkpoint(bg, ch); id != 10 {
			t.Fatalf("checkpoint %d", id)
		}
		// A failing transaction stores neither jobs nor checkpoint; this is
		// the transaction EnqueueAndCheckpoint runs in.
		params, _, err := s.insertParams([]Job{{Kind: "send", Key: "T3"}})
		if err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		err = s.eng.tx(bg, func(q querier, ins inserter) error {
			if _, err := ins(bg, params); err != nil {
				return err
			}
			if _, err := q.exec(bg, `UPDATE sb_checkpoint SET replay_id = 99 WHERE channel = ?`, ch); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if id, _, _ := s.Checkpoint(bg, ch); id != 10 {
			t.Fatalf("rolled-back checkpoint is %d", id)
		}
		if k := jobKeys(t, s, "send"); k["T3"] != 0 {
			t.Fatalf("rolled-back job stored: %v", k)
		}
		// A cancelled context commits nothing.
		cctx, cancel := context.WithCancel(bg)
		cancel()
		if err := s.EnqueueAndCheckpoint(cctx, []Job{{Kind: "send", Key: "T4"}}, ch, 20); err == nil {
			t.Fatal("EnqueueAndCheckpoint with a cancelled context succeeded")
		}
		if id, _, _ := s.Checkpoint(bg, ch); id != 10 {
			t.Fatalf("checkpoint %d after a cancelled call", id)
		}
		if err := s.ResetCheckpoint(bg, ch); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.Checkpoint(bg, ch); ok {
			t.Fatal("checkpoint still there after reset")
		}
		if err := s.EnqueueAndCheckpoint(bg, nil, ch, 4); err != nil {
			t.Fatal(err)
		}
		if id, _, _ := s.Checkpoint(bg, ch); id != 4 {
			t.Fatalf("checkpoint after reset %d, want 4", id)
		}
		if err := s.EnqueueAndCheckpoint(bg, nil, "", 4); err == nil || err.Error() != "invalid: empty checkpoint channel" {
			t.Fatalf("empty channel: %v", err)
		}
	})
}

func intent(key string) sbsync.SendIntent {
	return sbsync.SendIntent{Key: key, TaskID: "00T000000000001", AccountSID: "AC1", To: "+14155550100", From: "+14155550199", Body: "hello"}
}

func TestBeginSendExactlyOneFresh(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		a := openStore(t, url, testOptions())
		b := openStore(t, url, testOptions()) // a second process or replica
		for round := range 3 {
			key := fmt.Sprintf("00T000000000001@2026-12-01T06:00:0%dZ", round)
			var fresh atomic.Int32
			var wg gosync.WaitGroup
			errs := make(chan error, 50)
			for i := range 50 {
				st := a
				if i%2 == 1 {
					st = b
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					e, f, err := st.BeginSend(bg, intent(key))
					if err != nil {
						errs <- err
						return
					}
					if f {
						fresh.Add(1)
					}
					if e.Key != key || e.State != sbsync.LedgerIntent || e.Body != "hello" || e.CreatedAt.IsZero() {
						errs <- fmt.Errorf("entry %+v", e)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if fresh.Load() != 1 {
				t.Fatalf("round %d: %d fresh callers, want exactly 1", round, fresh.Load())
			}
		}
	})
}

func TestLedgerLifecycle(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		s := openStore(t, url, testOptions())
		k := "00T1@1"
		e0, fresh, err := s.BeginSend(bg, intent(k))
		if err != nil || !fresh {
			t.Fatalf("BeginSend: %v %v", fresh, err)
		}
		// Twilio refused the connection: abandon, and the retry is fresh.
		if err := s.AbandonSend(bg, k, e0.ClaimedAt); err != nil {
			t.Fatal(err)
		}
		if err := s.AbandonSend(bg, k, e0.ClaimedAt); err != nil {
			t.Fatalf("abandoning twice: %v", err)
		}
		e1, fresh, _ := s.BeginSend(bg, intent(k))
		if !fresh {
			t.Fatal("BeginSend after AbandonSend is not fresh")
		}
		if un, err := s.UnresolvedSends(bg, 0); err != nil || len(un) != 1 || un[0].State != sbsync.LedgerIntent {
			t.Fatalf("unresolved %+v %v", un, err)
		}
		if un, _ := s.UnresolvedSends(bg, time.Hour); len(un) != 0 {
			t.Fatalf("unresolved older than an hour: %+v", un)
		}
		if err := s.MarkRecorded(bg, k); !errors.Is(err, ErrConflict) || err.Error() != "conflict: ledger: recording 00T1@1: the entry is intent" {
			t.Fatalf("recording an intent: %v", err)
		}
		if err := s.CompleteSend(bg, k, "SM1", "queued"); err != nil {
			t.Fatal(err)
		}
		if err := s.CompleteSend(bg, k, "SM1", "queued"); err != nil {
			t.Fatalf("completing twice with the same SID: %v", err)
		}
		if err := s.CompleteSend(bg, k, "SM2", "queued"); !errors.Is(err, ErrConflict) {
			t.Fatalf("completing with another SID: %v", err)
		}
		if err := s.FailSend(bg, k, "21211"); !errors.Is(err, ErrConflict) || err.Error() != "conflict: ledger: failing 00T1@1: the entry is sent" {
			t.Fatalf("failing a sent entry: %v", err)
		}
		if err := s.AbandonSend(bg, k, e1.ClaimedAt); !errors.Is(err, ErrConflict) {
			t.Fatalf("abandoning a sent entry: %v", err)
		}
		e, fresh, err := s.BeginSend(bg, intent(k))
		if err != nil || fresh || e.State != sbsync.LedgerSent || e.SID != "SM1" || e.Status != "queued" || e.To != "+14155550100" {
			t.Fatalf("BeginSend of a sent key: %+v %v %v", e, fresh, err)
		}
		if un, _ := s.UnresolvedSends(bg, 0); len(un) != 1 || un[0].State != sbsync.LedgerSent {
			t.Fatalf("sent but not recorded must be unresolved: %+v", un)
		}
		if err := s.MarkRecorded(bg, k); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkRecorded(bg, k); err != nil {
			t.Fatalf("recording twice: %v", err)
		}
		if err := s.CompleteSend(bg, k, "SM1", "sent"); err != nil {
			t.Fatalf("late CompleteSend with the same SID after recording: %v", err)
		}
		if un, _ := s.UnresolvedSends(bg, 0); len(un) != 0 {
			t.Fatalf("unresolved after recording: %+v", un)
		}

		f := "00T2@1"
		_, _, _ = s.BeginSend(bg, intent(f))
		if err := s.FailSend(bg, f, "21211 invalid To"); err != nil {
			t.Fatal(err)
		}
		if e, _ := s.LedgerEntry(bg, f); e.State != sbsync.LedgerFailed || e.Reason != "21211 invalid To" {
			t.Fatalf("failed entry %+v", e)
		}
		if err := s.CompleteSend(bg, f, "SM3", "queued"); !errors.Is(err, ErrConflict) {
			t.Fatalf("completing a failed entry: %v", err)
		}
		if err := s.MarkRecorded(bg, f); err != nil {
			t.Fatal(err)
		}

		if err := s.CompleteSend(bg, "nope", "SM9", "queued"); !errors.Is(err, ErrNotFound) || err.Error() != "not found: ledger: completing nope: no such entry" {
			t.Fatalf("completing a missing entry: %v", err)
		}
		if _, _, err := s.BeginSend(bg, sbsync.SendIntent{}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("empty key: %v", err)
		}
		if n, err := s.PruneLedger(bg, time.Hour); err != nil || n != 0 {
			t.Fatalf("prune of fresh entries: %d %v", n, err)
		}
		time.Sleep(5 * time.Millisecond)
		if n, err := s.PruneLedger(bg, time.Millisecond); err != nil || n != 2 {
			t.Fatalf("prune: %d %v, want the 2 recorded entries", n, err)
		}
	})
}

func TestParkedCallbacks(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		s := openStore(t, url, testOptions())
		now := time.Now()
		later := now.Add(time.Hour)
		for _, p := range []struct {
			sid, body string
			exp       time.Time
		}{
			{"SM1", `{"MessageStatus":"sent"}`, later},
			{"SM2", `{"MessageStatus":"sent"}`, now.Add(-time.Second)},
			{"SM1", `{"MessageStatus":"delivered"}`, later},
			{"SM3", `{"MessageStatus":"failed"}`, later},
		} {
			if err := s.Park(bg, p.sid, []byte(p.body), p.exp); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.TakeParked(bg, []string{"SM1", "SM2", "SM9"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || len(got["SM1"]) != 2 || string(got["SM1"][0]) != `{"MessageStatus":"sent"}` || string(got["SM1"][1]) != `{"MessageStatus":"delivered"}` {
			t.Fatalf("taken %q", got)
		}
		if again, _ := s.TakeParked(bg, []string{"SM1"}); len(again) != 0 {
			t.Fatalf("taken twice: %q", again)
		}
		exp, err := s.ExpiredParked(bg, time.Now())
		if err != nil || len(exp) != 1 || exp[0].SID != "SM2" || exp[0].Expires.After(now) {
			t.Fatalf("expired %+v %v", exp, err)
		}
		if err := s.Handle("status", func(context.Context, Job) error { return nil }); err != nil {
			t.Fatal(err)
		}
		n, err := s.RequeueParked(bg, []string{"SM3"}, "status")
		if err != nil || n != 1 {
			t.Fatalf("requeue: %d %v", n, err)
		}
		if k := jobKeys(t, s, "status"); len(k) != 1 {
			t.Fatalf("requeued jobs %v", k)
		}
		if left, _ := s.TakeParked(bg, []string{"SM3"}); len(left) != 0 {
			t.Fatalf("requeued callback still parked: %q", left)
		}
		if err := s.Park(bg, "", nil, later); !errors.Is(err, ErrInvalid) {
			t.Fatalf("park without SID: %v", err)
		}
	})
}

func TestSurvivesCloseAndReopen(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		s, err := Open(bg, url, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.EnqueueAndCheckpoint(bg, []Job{{Kind: "send", Key: "T1", Payload: []byte(`{"task":"T1"}`)}}, "ch", 42); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.BeginSend(bg, intent("00T000000000001#1")); err != nil {
			t.Fatal(err)
		}
		if err := s.CompleteSend(bg, "00T000000000001#1", "SM1", "queued"); err != nil {
			t.Fatal(err)
		}
		if err := s.Park(bg, "SM7", []byte("{}"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(bg); err != nil {
			t.Fatal(err)
		}
		if err := s.Enqueue(bg, Job{Kind: "send", Key: "T2"}); !errors.Is(err, ErrClosed) {
			t.Fatalf("enqueue after close: %v", err)
		}

		s = openStore(t, url, testOptions())
		if id, ok, _ := s.Checkpoint(bg, "ch"); !ok || id != 42 {
			t.Fatalf("checkpoint %d %v", id, ok)
		}
		if e, err := s.LedgerEntry(bg, "00T000000000001#1"); err != nil || e.SID != "SM1" {
			t.Fatalf("ledger %+v %v", e, err)
		}
		if p, _ := s.TakeParked(bg, []string{"SM7"}); len(p["SM7"]) != 1 {
			t.Fatalf("parked %q", p)
		}
		got := make(chan Job, 1)
		if err := s.Handle("send", func(ctx context.Context, j Job) error { got <- j; return nil }); err != nil {
			t.Fatal(err)
		}
		start(t, s)
		select {
		case j := <-got:
			// PostgreSQL's jsonb keeps the JSON, not its bytes.
			if j.Key != "T1" || strings.ReplaceAll(string(j.Payload), " ", "") != `{"task":"T1"}` {
				t.Fatalf("job %+v", j)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the job enqueued before Close never ran")
		}
		if err := s.Writable(bg); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCloseWaitsForRunningHandler(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		s, err := Open(bg, url, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		running := make(chan struct{})
		var finished atomic.Bool
		if err := s.Handle("slow", func(ctx context.Context, j Job) error {
			close(running)
			time.Sleep(300 * time.Millisecond)
			finished.Store(true)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.Enqueue(bg, Job{Kind: "slow", Key: "k"}); err != nil {
			t.Fatal(err)
		}
		start(t, s)
		<-running
		ctx, cancel := context.WithTimeout(bg, 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if !finished.Load() {
			t.Fatal("Close returned before the running handler finished")
		}
		s = openStore(t, url, testOptions())
		if st := jobStates(t, s, "slow"); st["completed"] != 1 {
			t.Fatalf("after a graceful close: %v, want completed", st)
		}
	})
}

func TestCloseDeadlineCancelsHandlerWithoutUsingAnAttempt(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		s, err := Open(bg, url, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		running := make(chan struct{})
		if err := s.Handle("stuck", func(ctx context.Context, j Job) error {
			close(running)
			<-ctx.Done()
			return ctx.Err()
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.Enqueue(bg, Job{Kind: "stuck", Key: "k", MaxAttempts: 1}); err != nil {
			t.Fatal(err)
		}
		start(t, s)
		<-running
		ctx, cancel := context.WithTimeout(bg, 200*time.Millisecond)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		s = openStore(t, url, testOptions())
		// With one attempt allowed, a counted failure would have made it a
		// dead letter.
		if st := jobStates(t, s, "stuck"); st["available"] != 1 {
			t.Fatalf("after a cancelled close: %v, want available again", st)
		}
	})
}

func TestPeriodic(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		s := openStore(t, url, testOptions())
		var runs atomic.Int32
		if err := s.Periodic("sweep", time.Second, true); err == nil {
			t.Fatal("Periodic without a handler succeeded")
		}
		if err := s.Handle("sweep", func(context.Context, Job) error { runs.Add(1); return nil }); err != nil {
			t.Fatal(err)
		}
		if err := s.Periodic("sweep", 300*time.Millisecond, true); err != nil {
			t.Fatal(err)
		}
		start(t, s)
		sfdctest.Eventually(t, 20*time.Second, "two periodic runs", func() bool { return runs.Load() >= 2 })
		if err := s.Handle("late", func(context.Context, Job) error { return nil }); err == nil {
			t.Fatal("Handle after Start succeeded")
		}
	})
}

func TestConcurrentOpenMigratesOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		var wg gosync.WaitGroup
		errs := make([]error, 3)
		stores := make([]*Store, 3)
		for i := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				stores[i], errs[i] = Open(bg, url, testOptions())
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("Open %d: %v", i, err)
			}
			defer stores[i].Close(bg)
		}
		for _, s := range stores {
			if err := s.Writable(bg); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestBadURLs(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		url  string
		is   error
		want string
	}{
		{"", ErrBadURL, `store.url (SWITCHBOARD_STORE_URL) "": is empty; set it to sqlite://switchboard.db (embedded) or postgres://user@host:5432/db (several replicas)`},
		{"switchboard.db", ErrBadURL, `store.url (SWITCHBOARD_STORE_URL) "switchboard.db": has no scheme; use sqlite://switchboard.db for a file or postgres://user@host:5432/db`},
		{"mysql://root@db/x", ErrBadURL, `store.url (SWITCHBOARD_STORE_URL) "mysql://root@db/x": unknown scheme "mysql"; use sqlite:// or postgres://`},
		{"sqlite://", ErrBadURL, `store.url (SWITCHBOARD_STORE_URL) "sqlite://": the file path is empty; use sqlite://switchboard.db (relative to the working directory) or sqlite:///var/lib/switchboard/switchboard.db`},
		{"sqlite://?synchronous=full", ErrBadURL, `store.url (SWITCHBOARD_STORE_URL) "sqlite://?synchronous=full": the file path is empty; use sqlite://switchboard.db (relative to the working directory) or sqlite:///var/lib/switchboard/switchboard.db`},
		{"sqlite://x.db?cache=shared", ErrBadURL, `store.url (SWITCHBOARD_STORE_URL) "sqlite://x.db?cache=shared": unknown parameter "cache"; the only one is synchronous=group|full|normal`},
		{"sqlite://x.db?synchronous=off", ErrBadURL, `store.url (SWITCHBOARD_STORE_URL) "sqlite://x.db?synchronous=off": synchronous="off" is not group, full or normal`},
		{"sqlite://~/x.db", ErrBadURL, `store.url (SWITCHBOARD_STORE_URL) "sqlite://~/x.db": ~ is not expanded; give the path relative to the working directory or absolute (sqlite:///home/...)`},
		{"sqlite://" + dir + "/missing/x.db", ErrBadURL, `store.url (SWITCHBOARD_STORE_URL) "sqlite://` + dir + `/missing/x.db": the directory ` + dir + `/missing does not exist; create it or choose another path`},
		{"sqlite://" + dir, ErrBadURL, `store.url (SWITCHBOARD_STORE_URL) "sqlite://` + dir + `": ` + dir + ` is a directory; name a file inside it, e.g. sqlite://` + dir + `/switchboard.db`},
		{"postgres://postgres:secret@127.0.0.1:5432", ErrBadURL, `store.url (SWITCHBOARD_STORE_URL) "postgres://postgres:redacted@127.0.0.1:5432": names no database; use postgres://user@host:5432/switchboard`},
		{"postgres://postgres@127.0.0.1:5432/x?pool_max_conns=1", ErrBadURL, `store.url (SWITCHBOARD_STORE_URL) "postgres://postgres@127.0.0.1:5432/x?pool_max_conns=1": pool_max_conns must be at least 2: River keeps one connection listening for new jobs`},
		// A password never shows, even in a URL that does not parse.
		{"mysql://root:hunter2@db/x", ErrBadURL, `store.url (SWITCHBOARD_STORE_URL) "mysql://root:redacted@db/x": unknown scheme "mysql"; use sqlite:// or postgres://`},
		{"root:hunter2@db:5432/x", ErrBadURL, `store.url (SWITCHBOARD_STORE_URL) "[redacted: not a valid URL]": has no scheme; use sqlite://<path> for a file or postgres://user@host:5432/db`},
		{"postgres://sb:hunter2%ZZ@127.0.0.1:5432/x", ErrBadURL, `store.url (SWITCHBOARD_STORE_URL) "postgres://[redacted: not a valid URL]": is not a valid URL; write a % in the password as %25`},
		{"postgres://sb@127.0.0.1:5432/x?password=hunter2&pool_max_conns=1", ErrBadURL, `store.url (SWITCHBOARD_STORE_URL) "postgres://sb@127.0.0.1:5432/x?password=redacted&pool_max_conns=1": pool_max_conns must be at least 2: River keeps one connection listening for new jobs`},
		{"postgres://postgres@127.0.0.1:5432/x?sslmode=bogus", ErrBadURL, `store.url (SWITCHBOARD_STORE_URL) "postgres://postgres@127.0.0.1:5432/x?sslmode=bogus": cannot be parsed: cannot parse ` + "`postgres://postgres@127.0.0.1:5432/x?sslmode=bogus`" + `: failed to configure TLS (sslmode is invalid)`},
	}
	for _, c := range cases {
		s, err := Open(bg, c.url, testOptions())
		if err == nil {
			_ = s.Close(bg)
			t.Fatalf("Open(%q) succeeded", c.url)
		}
		var ue *URLError
		if !errors.Is(err, c.is) || !errors.As(err, &ue) || err.Error() != c.want {
			t.Errorf("Open(%q):\n got %v\nwant %s", c.url, err, c.want)
		}
	}

	// Unreachable: nothing listens on port 1. The driver's own text follows
	// the fixed part.
	url := "postgres://postgres:pw@127.0.0.1:1/switchboard?sslmode=disable&connect_timeout=2"
	_, err := Open(bg, url, testOptions())
	prefix := `store.url (SWITCHBOARD_STORE_URL) "postgres://postgres:redacted@127.0.0.1:1/switchboard?sslmode=disable&connect_timeout=2": cannot connect to 127.0.0.1:1/switchboard: `
	if !errors.Is(err, ErrUnavailable) || !strings.HasPrefix(fmt.Sprint(err), prefix) || strings.Contains(fmt.Sprint(err), ":pw@") {
		t.Errorf("unreachable database:\n got %v\nwant %s...", err, prefix)
	}

	// A file that is not a database.
	junk := dir + "/junk.db"
	if err := os.WriteFile(junk, []byte("this is not a database, just a text file that is long enough to have a header"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(bg, "sqlite://"+junk, testOptions())
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(fmt.Sprint(err), "file is not a database") {
		t.Errorf("a junk file: %v", err)
	}

	if _, err := Open(bg, sqliteURL(t), Options{JobTimeout: time.Minute, RescueStuckJobsAfter: time.Minute}); !errors.Is(err, ErrInvalid) ||
		err.Error() != "invalid: JobTimeout (1m0s) must be below RescueStuckJobsAfter (1m0s), or a job still running would be run a second time" {
		t.Errorf("bad options: %v", err)
	}
}

func TestWALSyncerSharesFsyncs(t *testing.T) {
	dir := t.TempDir()
	db := dir + "/x.db"
	if err := os.WriteFile(db, []byte("db"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db+"-wal", []byte("wal"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := newWALSyncer(db)
	var wg gosync.WaitGroup
	errs := make(chan error, 200)
	for range 200 {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- w.sync(bg) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := w.fsyncs.Load(); n < 1 || n >= 200 {
		t.Fatalf("%d fsyncs for 200 concurrent callers; want them shared", n)
	}
	// Without a -wal the database file is synced; without either, an error.
	_ = os.Remove(db + "-wal")
	if err := w.sync(bg); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(db)
	if err := w.sync(bg); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("sync with no files: %v", err)
	}
	w.close()
	if err := w.sync(bg); !errors.Is(err, ErrClosed) {
		t.Fatalf("sync after close: %v", err)
	}
}

func TestCancelledStartContextDoesNotUseAnAttempt(t *testing.T) {
	url := sqliteURL(t)
	s, err := Open(bg, url, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	running := make(chan struct{})
	returned := make(chan struct{})
	// The snoozed job is due at once, so River may fetch and run it again
	// before it has stopped fetching (a panic on a second close was
	// recovered by River as a failed last attempt: "discarded", seen once
	// in CI). Each run is cut off alike and must be snoozed alike.
	var startedOnce, returnedOnce gosync.Once
	if err := s.Handle("stuck", func(ctx context.Context, j Job) error {
		startedOnce.Do(func() { close(running) })
		<-ctx.Done()
		defer returnedOnce.Do(func() { close(returned) })
		return fmt.Errorf("calling salesforce: %w", ctx.Err())
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(bg, Job{Kind: "stuck", Key: "k", MaxAttempts: 1}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	<-running
	cancel()
	<-returned
	if err := s.Close(bg); err != nil {
		t.Fatal(err)
	}
	// Back in the queue with its attempt unused (River's snooze, or Close's
	// own pass when a hard stop lost River's last write): the next run
	// works it, although it may have only one attempt.
	s = openStore(t, url, testOptions())
	if st := jobStates(t, s, "stuck"); st["available"] != 1 {
		t.Fatalf("after the cut-off run and Close, the job is %v, want available", st)
	}
	var attempt int
	r, err := s.eng.q().query(bg, `SELECT attempt FROM river_job WHERE kind = 'stuck'`)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		if err := r.Scan(&attempt); err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	if attempt != 0 {
		t.Fatalf("attempt = %d after a run cut off by the shutdown, want 0", attempt)
	}
	done := make(chan struct{})
	if err := s.Handle("stuck", func(context.Context, Job) error { close(done); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(bg); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the job did not run again after the restart")
	}
	sfdctest.Eventually(t, 20*time.Second, "the job completed", func() bool { return jobStates(t, s, "stuck")["completed"] == 1 })
}

// TestCloseReturnsJobsLeftRunning: a job River left "running" for this
// client (its last write lost in a hard stop) goes back to the queue at
// Close, its attempt not counted; another client's running job is left to
// its owner.
func TestCloseReturnsJobsLeftRunning(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		s, err := Open(bg, url, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Handle("kk", func(context.Context, Job) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if err := s.Enqueue(bg, Job{Kind: "kk", Key: "mine"}, Job{Kind: "kk", Key: "theirs"}); err != nil {
			t.Fatal(err)
		}
		// What a lost completion leaves behind, written as River writes a
		// fetched job: running, attempt 1, attempted by a client.
		me := s.eng.(interface{ clientID() string }).clientID()
		for key, by := range map[string]string{"mine": me, "theirs": "another-replica"} {
			attemptedBy := `["` + by + `"]`
			set := `attempted_by = json(?)`
			if strings.HasPrefix(url, "postgres") {
				attemptedBy, set = "{"+by+"}", `attempted_by = ?::text[]`
			}
			if _, err := s.eng.q().exec(bg, `UPDATE river_job SET state = 'running', attempt = 1, `+set+` WHERE kind = 'kk' AND `+keyColumn(url)+` = ?`, attemptedBy, key); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Start(bg); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(bg); err != nil {
			t.Fatal(err)
		}
		s = openStore(t, url, testOptions())
		if st := jobStates(t, s, "kk"); st["available"] != 1 || st["running"] != 1 {
			t.Fatalf("jobs after Close: %v, want mine available and theirs still running", st)
		}
	})
}

// TestPermanentErrorIsADeadLetterAtOnce: a handler that says no retry can
// help (sbsync.PermanentError) uses one attempt, not MaxAttempts; the dead
// letter is listed, counted and replayable like any other.
func TestPermanentErrorIsADeadLetterAtOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		s := openStore(t, url, testOptions())
		var runs atomic.Int32
		var fixed atomic.Bool
		if err := s.Handle("status", func(ctx context.Context, j Job) error {
			runs.Add(1)
			if fixed.Load() {
				return nil
			}
			return &sbsync.PermanentError{Err: errors.New("MessageStatus is missing")}
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.Enqueue(bg, Job{Kind: "status", Key: "SMx@sent", MaxAttempts: 20}); err != nil {
			t.Fatal(err)
		}
		start(t, s)
		var dls []DeadLetter
		sfdctest.Eventually(t, 20*time.Second, "the dead letter", func() bool {
			var err error
			dls, err = s.DeadLetters(bg, "status", 10)
			return err == nil && len(dls) == 1
		})
		if runs.Load() != 1 || dls[0].Attempts != 1 || !strings.Contains(dls[0].LastError, "MessageStatus is missing") {
			t.Fatalf("ran %d times; dead letter %+v", runs.Load(), dls[0])
		}
		depth, err := s.QueueDepth(bg)
		if err != nil || depth["status"].Dead != 1 {
			t.Fatalf("depth %+v %v", depth, err)
		}
		fixed.Store(true)
		if err := s.Replay(bg, dls[0].ID); err != nil {
			t.Fatal(err)
		}
		sfdctest.Eventually(t, 20*time.Second, "the replayed job", func() bool { return runs.Load() == 2 })
		sfdctest.Eventually(t, 20*time.Second, "no dead letters", func() bool {
			d, err := s.DeadLetters(bg, "status", 10)
			return err == nil && len(d) == 0
		})
	})
}

// TestClaimIntent: of many jobs (across two Stores: two processes) that find
// the same stale intent, exactly one takes it over; the claim renews
// ClaimedAt but keeps CreatedAt (the window a lookup must cover); the
// previous owner's AbandonSend then leaves the claimed intent alone, the
// claimer's removes it.
func TestClaimIntent(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		a := openStore(t, url, testOptions())
		b := openStore(t, url, testOptions())
		k := "00T9@claim"
		e0, fresh, err := a.BeginSend(bg, intent(k))
		if err != nil || !fresh || !e0.ClaimedAt.Equal(e0.CreatedAt) {
			t.Fatalf("BeginSend: %+v %v %v", e0, fresh, err)
		}
		if _, ok, err := a.ClaimIntent(bg, k, e0.ClaimedAt); err != nil || ok {
			t.Fatalf("claiming an intent that is not stale: %v %v", ok, err)
		}
		claim := func(staleBefore time.Time) sbsync.LedgerEntry {
			var wins atomic.Int32
			var won atomic.Value
			var wg gosync.WaitGroup
			for i := range 50 {
				st := a
				if i%2 == 1 {
					st = b
				}
				wg.Go(func() {
					e, ok, err := st.ClaimIntent(bg, k, staleBefore)
					if err != nil {
						t.Error(err)
					}
					if ok {
						wins.Add(1)
						won.Store(e)
					}
				})
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("%d claims won, want exactly 1", wins.Load())
			}
			return won.Load().(sbsync.LedgerEntry)
		}
		c1 := claim(e0.ClaimedAt.Add(time.Nanosecond))
		c2 := claim(c1.ClaimedAt.Add(time.Nanosecond)) // the first claimer died too
		if !c2.ClaimedAt.After(c1.ClaimedAt) || !c1.ClaimedAt.After(e0.ClaimedAt) || !c2.CreatedAt.Equal(e0.CreatedAt) ||
			c2.State != sbsync.LedgerIntent || c2.Body != intent(k).Body {
			t.Fatalf("claims %+v then %+v of %+v: ClaimedAt must advance, CreatedAt stay", c1, c2, e0)
		}
		// Earlier owners give up late: the current claim stays.
		for _, old := range []time.Time{e0.ClaimedAt, c1.ClaimedAt} {
			if err := a.AbandonSend(bg, k, old); err != nil {
				t.Fatalf("abandoning an intent claimed by another: %v, want a no-op", err)
			}
		}
		if e, fresh, _ := b.BeginSend(bg, intent(k)); fresh || !e.ClaimedAt.Equal(c2.ClaimedAt) {
			t.Fatalf("after old owners' abandons: fresh %v, entry %+v", fresh, e)
		}
		if err := b.AbandonSend(bg, k, c2.ClaimedAt); err != nil {
			t.Fatal(err)
		}
		if _, fresh, _ := a.BeginSend(bg, intent(k)); !fresh {
			t.Fatal("the claimer's abandon did not remove the intent")
		}
		if _, ok, err := a.ClaimIntent(bg, "00T9@missing", time.Now()); err != nil || ok {
			t.Fatalf("claiming a missing key: %v %v", ok, err)
		}
	})
}

// keyColumn is the SQL for a River job's Key (in its args) on url's backend.
func keyColumn(url string) string {
	if strings.HasPrefix(url, "postgres") {
		return "args->>'key'"
	}
	return "json_extract(args, '$.key')"
}

// TestClaimStaleIntents: one call takes over every stale intent of one
// (account, recipient, sender) group and nothing else — not a young
// intent, not another group's, not a sent entry — and of many callers
// across two Stores (two processes) each intent goes to exactly one.
func TestClaimStaleIntents(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		a := openStore(t, url, testOptions())
		b := openStore(t, url, testOptions())
		group := func(key, to, from string) sbsync.SendIntent {
			in := intent(key)
			in.TaskID, in.To, in.From = strings.Split(key, "#")[0], to, from
			return in
		}
		const to, mg = "+14155550100", "MG0123456789abcdef0123456789abcdef"
		var mine []string
		for i := range 20 {
			in := group(fmt.Sprintf("00T%012d#1", i), to, mg)
			if _, fresh, err := a.BeginSend(bg, in); err != nil || !fresh {
				t.Fatal(fresh, err)
			}
			mine = append(mine, in.Key)
		}
		for _, in := range []sbsync.SendIntent{group("00TOTHERTO#1", "+14155550101", mg), group("00TOTHERFROM#1", to, "+14155550199"), group("00TSENT#1", to, mg)} {
			if _, _, err := a.BeginSend(bg, in); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.CompleteSend(bg, "00TSENT#1", "SM1", "accepted"); err != nil {
			t.Fatal(err)
		}
		staleBefore := time.Now()
		young := group("00TYOUNG#1", to, mg)
		if _, _, err := a.BeginSend(bg, young); err != nil {
			t.Fatal(err)
		}

		var mu gosync.Mutex
		got := map[string]int{}
		var wg gosync.WaitGroup
		for i := range 10 {
			st := a
			if i%2 == 1 {
				st = b
			}
			wg.Go(func() {
				es, err := st.ClaimStaleIntents(bg, "AC1", to, mg, staleBefore)
				if err != nil {
					t.Error(err)
				}
				for j, e := range es {
					if j > 0 && e.CreatedAt.Before(es[j-1].CreatedAt) {
						t.Errorf("not oldest first: %v", es)
					}
					if !e.ClaimedAt.After(staleBefore) || e.State != sbsync.LedgerIntent {
						t.Errorf("claimed entry %+v", e)
					}
				}
				mu.Lock()
				for _, e := range es {
					got[e.Key]++
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		if len(got) != len(mine) {
			t.Errorf("claimed %d keys %v, want the group's %d stale intents", len(got), got, len(mine))
		}
		for _, k := range mine {
			if got[k] != 1 {
				t.Errorf("%s claimed %d times, want once", k, got[k])
			}
		}
		if es, err := a.ClaimStaleIntents(bg, "AC1", to, mg, staleBefore); err != nil || len(es) != 0 {
			t.Errorf("claiming again: %v %v, want nothing", es, err)
		}
		// SIDOwners and LatestSend.
		owners, err := b.SIDOwners(bg, []string{"SM1", "SM2"})
		if err != nil || len(owners) != 1 || owners["SM1"] != "00TSENT#1" {
			t.Errorf("SIDOwners = %v, %v", owners, err)
		}
		if _, _, err := a.BeginSend(bg, group("00TSENT#2", to, mg)); err != nil {
			t.Fatal(err)
		}
		if e, ok, err := b.LatestSend(bg, "00TSENT"); err != nil || !ok || e.Key != "00TSENT#2" {
			t.Errorf("LatestSend = %+v %v %v", e, ok, err)
		}
		if _, ok, err := b.LatestSend(bg, "00TNONE"); err != nil || ok {
			t.Errorf("LatestSend of a Task without sends: %v %v", ok, err)
		}
	})
}

// TestLegacySendKeysUpgrade: entries keyed TaskID@SystemModstamp (before
// sync.SendKey) that are not recorded take the key of their Task's first
// transition when the store opens, so the upgraded engine resolves them
// rather than sending afresh. A Task with two such entries (an edit while
// in flight, under the old engine) keeps them as they were, and recorded
// ones are left alone.
func TestLegacySendKeysUpgrade(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		old := openStore(t, url, testOptions())
		legacy := func(key, task string) {
			in := intent(key)
			in.TaskID = task
			if _, fresh, err := old.BeginSend(bg, in); err != nil || !fresh {
				t.Fatal(fresh, err)
			}
		}
		legacy("00TA@2026-01-01T00:00:00.000+0000", "00TA")   // intent
		legacy("00TB@2026-01-01T00:00:00.000+0000#2", "00TB") // sent
		legacy("00TC@2026-01-01T00:00:00.000+0000", "00TC")   // two unresolved
		legacy("00TC@2026-01-01T00:00:01.000+0000", "00TC")   //
		legacy("00TD@2026-01-01T00:00:00.000+0000", "00TD")   // recorded
		if err := old.CompleteSend(bg, "00TB@2026-01-01T00:00:00.000+0000#2", "SMB", "queued"); err != nil {
			t.Fatal(err)
		}
		if err := old.CompleteSend(bg, "00TD@2026-01-01T00:00:00.000+0000", "SMD", "queued"); err != nil {
			t.Fatal(err)
		}
		if err := old.MarkRecorded(bg, "00TD@2026-01-01T00:00:00.000+0000"); err != nil {
			t.Fatal(err)
		}
		if err := old.Close(bg); err != nil {
			t.Fatal(err)
		}
		s := openStore(t, url, testOptions())
		for key, want := range map[string]sbsync.LedgerState{
			"00TA#1": sbsync.LedgerIntent, "00TB#1": sbsync.LedgerSent,
			"00TC@2026-01-01T00:00:00.000+0000": sbsync.LedgerIntent, "00TC@2026-01-01T00:00:01.000+0000": sbsync.LedgerIntent,
			"00TD@2026-01-01T00:00:00.000+0000": sbsync.LedgerRecorded,
		} {
			if e, err := s.LedgerEntry(bg, key); err != nil || e.State != want {
				t.Errorf("%s: %+v %v, want %s", key, e, err, want)
			}
		}
		for _, gone := range []string{"00TA@2026-01-01T00:00:00.000+0000", "00TC#1", "00TD#1"} {
			if _, err := s.LedgerEntry(bg, gone); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: %v, want not found", gone, err)
			}
		}
	})
}
