package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

var lockSeq atomic.Int64

// lockKey is unique per test: advisory locks are per database, and the
// PostgreSQL tests share one database (a schema each).
func lockKey(t *testing.T) string {
	return fmt.Sprintf("%s#%d", t.Name(), lockSeq.Add(1))
}

func TestLockExcludesWithinAProcess(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		s := openStore(t, url, testOptions())
		key := lockKey(t)
		unlock, err := s.Lock(bg, key)
		if err != nil {
			t.Fatal(err)
		}
		// Held: a second wait ends with its context, with the reason.
		ctx, cancel := context.WithTimeout(bg, 100*time.Millisecond)
		defer cancel()
		if _, err := s.Lock(ctx, key); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("second Lock = %v, want a deadline error", err)
		}
		// Another key is free.
		other, err := s.Lock(bg, key+"-other")
		if err != nil {
			t.Fatal(err)
		}
		other()
		// Released: a waiter gets it.
		got := make(chan func(), 1)
		go func() {
			u, err := s.Lock(bg, key)
			if err != nil {
				t.Error(err)
				u = func() {}
			}
			got <- u
		}()
		time.Sleep(50 * time.Millisecond)
		select {
		case <-got:
			t.Fatal("the lock was taken while held")
		default:
		}
		unlock()
		unlock() // a second call is harmless
		select {
		case u := <-got:
			u()
		case <-time.After(5 * time.Second):
			t.Fatal("the waiter never got the lock")
		}
		if _, err := s.Lock(bg, ""); !errors.Is(err, ErrInvalid) {
			t.Fatalf("empty key: %v", err)
		}
		if len(s.eng.(interface{ localLocks() map[string]*keyedEntry }).localLocks()) != 0 {
			t.Fatal("lock entries left behind")
		}
	})
}

// Two replicas on one PostgreSQL database exclude each other, and a
// replica that dies holding the lock releases it.
func TestLockAcrossReplicas(t *testing.T) {
	url := postgresURL(t)
	a, b := openStore(t, url, testOptions()), openStore(t, url, testOptions())
	key := lockKey(t)
	unlockA, err := a.Lock(bg, key)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bg, 200*time.Millisecond)
	defer cancel()
	if _, err := b.Lock(ctx, key); err == nil {
		t.Fatal("replica b took the lock replica a holds")
	}
	// b's cut-off wait left no lock behind: a's release lets b in.
	unlockA()
	unlockB, err := b.Lock(bg, key)
	if err != nil {
		t.Fatal(err)
	}

	// b dies holding it: its session ends, and a gets the lock.
	conn, err := pgx.Connect(bg, pgBase)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(bg)
	var killed int
	err = conn.QueryRow(bg, `WITH h AS (SELECT hashtextextended($1, 0) AS v)
		SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l, h
		WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
		  AND l.classid = ((h.v >> 32) & 4294967295)::bigint::oid AND l.objid = (h.v & 4294967295)::bigint::oid`, key).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminating the holder: %d sessions, %v", killed, err)
	}
	ctx2, cancel2 := context.WithTimeout(bg, 10*time.Second)
	defer cancel2()
	unlockA, err = a.Lock(ctx2, key)
	if err != nil {
		t.Fatalf("the lock of a dead session was not released: %v", err)
	}
	unlockB() // its session is gone: returns, without hanging or panicking
	unlockA()
	if !strings.Contains(fmt.Sprint(a.Lock(canceled(), key)), "context canceled") {
		t.Fatal("Lock with a cancelled context did not say so")
	}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(bg)
	cancel()
	return ctx
}

// localLocks are the keys with holders or waiters.
func (e *riverEngine[TTx]) localLocks() map[string]*keyedEntry {
	e.local.mu.Lock()
	defer e.local.mu.Unlock()
	out := make(map[string]*keyedEntry, len(e.local.locks))
	for k, v := range e.local.locks {
		out[k] = v
	}
	return out
}

// TestLockHoldersLeaveConnectionsForWork: each lock held on PostgreSQL
// keeps a pool connection (its session owns the advisory lock), and what a
// holder does next needs another one. With as many locks held at once as
// the pool has connections, every holder waited for a connection none
// would free until its job timed out (the stale-intent resolution of
// TestReplicaKilledMidBurst: one lock per recipient, 50 recipients, 20
// connections). Holders of different keys now leave half the pool free.
func TestLockHoldersLeaveConnectionsForWork(t *testing.T) {
	o := testOptions()
	o.PostgresMaxConns = 4
	s := openStore(t, postgresURL(t), o)
	const holders = 8
	errs := make(chan error, holders)
	for i := range holders {
		go func() {
			ctx, cancel := context.WithTimeout(bg, 5*time.Second)
			defer cancel()
			unlock, err := s.Lock(ctx, fmt.Sprintf("%s-%d", lockKey(t), i))
			if err != nil {
				errs <- err
				return
			}
			defer unlock()
			time.Sleep(100 * time.Millisecond) // every holder in before any works
			wctx, wcancel := context.WithTimeout(ctx, 2*time.Second)
			defer wcancel()
			errs <- s.Writable(wctx)
		}()
	}
	for range holders {
		if err := <-errs; err != nil {
			t.Fatalf("a lock holder's write (pool of 4, %d holders): %v", holders, err)
		}
	}
}
