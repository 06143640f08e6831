package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
)

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
