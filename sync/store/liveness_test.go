package store

import (
	"context"
	"fmt"
	gosync "sync"
	"testing"
	"time"
)

// TestLiveProcessJobsNeverRescued: jobs of a live process that run past
// RescueStuckJobsAfter (a handler that notices its context late, or a
// completion write that waits behind others) stay with it. Two live
// replicas share the queue; each job runs exactly once.
func TestLiveProcessJobsNeverRescued(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		o := testOptions()
		o.JobTimeout = time.Second
		// The handler ignores its context for longer than the old rescue
		// rule (JobTimeout + 3 s) and the liveness window together.
		const slow = 5500 * time.Millisecond
		var mu gosync.Mutex
		runs := map[string]int{}
		handler := func(ctx context.Context, j Job) error {
			mu.Lock()
			runs[j.Key]++
			mu.Unlock()
			time.Sleep(slow)
			return nil
		}
		a, b := openStore(t, url, o), openStore(t, url, o)
		for _, s := range []*Store{a, b} {
			if err := s.Handle("slow", handler); err != nil {
				t.Fatal(err)
			}
		}
		const n = 20
		jobs := make([]Job, n)
		for i := range jobs {
			jobs[i] = Job{Kind: "slow", Key: fmt.Sprintf("s%02d", i)}
		}
		if err := a.Enqueue(bg, jobs...); err != nil {
			t.Fatal(err)
		}
		start(t, a)
		start(t, b)
		end := time.Now().Add(slow + 15*time.Second)
		for jobStates(t, a, "slow")["completed"] < n {
			if time.Now().After(end) {
				t.Fatalf("not every job completed: %v", jobStates(t, a, "slow"))
			}
			time.Sleep(100 * time.Millisecond)
		}
		// Give a wrongly rescued job time to start again.
		time.Sleep(1500 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		if len(runs) != n {
			t.Fatalf("%d distinct jobs ran, want %d", len(runs), n)
		}
		twice := 0
		for _, c := range runs {
			if c != 1 {
				twice++
			}
		}
		if twice > 0 {
			t.Fatalf("%d of %d jobs of live processes ran more than once (rescued): %v", twice, n, runs)
		}
	})
}

// TestCloseRemovesHeartbeat: a started store keeps a heartbeat row under its
// River client ID, moving with the database's clock; a clean Close deletes
// it (a replica reading the table sees one row less), while an unstarted
// store never writes one.
func TestCloseRemovesHeartbeat(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		watcher := openStore(t, url, testOptions())
		if rows := heartbeats(t, watcher); len(rows) != 0 {
			t.Fatalf("heartbeats before any Start: %v", rows)
		}
		s, err := Open(bg, url, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		start(t, s)
		id := s.eng.(interface{ clientID() string }).clientID()
		first := heartbeats(t, watcher)[id]
		if first == "" {
			t.Fatalf("no heartbeat row for client %s after Start: %v", id, heartbeats(t, watcher))
		}
		waitFor(t, "the heartbeat to move", func() bool { h := heartbeats(t, watcher)[id]; return h != "" && h != first })
		if err := s.Close(bg); err != nil {
			t.Fatal(err)
		}
		if rows := heartbeats(t, watcher); len(rows) != 0 {
			t.Fatalf("heartbeats after a clean Close: %v, want none", rows)
		}
	})
}

// heartbeats returns sb_clients as client ID → heartbeat_at (as text).
func heartbeats(t testing.TB, s *Store) map[string]string {
	t.Helper()
	r, err := s.eng.q().query(bg, `SELECT client_id, CAST(heartbeat_at AS TEXT) FROM sb_clients`)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := map[string]string{}
	for r.Next() {
		var id, at string
		if err := r.Scan(&id, &at); err != nil {
			t.Fatal(err)
		}
		out[id] = at
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
