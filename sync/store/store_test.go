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
