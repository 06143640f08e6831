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

	sbsync "github.com/switchboard/switchboard/sync"
)

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

// TestClaimStaleIntentRenewsClaim: of many jobs (across two Stores: two
// processes) that claim the same stale intent (ClaimStaleIntents, as a
// resolution does), exactly one takes it over; the claim renews ClaimedAt
// but keeps CreatedAt (the window a lookup must cover); the previous
// owner's AbandonSend then leaves the claimed intent alone, the claimer's
// removes it.
func TestClaimStaleIntentRenewsClaim(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		a := openStore(t, url, testOptions())
		b := openStore(t, url, testOptions())
		k := "00T9@claim"
		e0, fresh, err := a.BeginSend(bg, intent(k))
		if err != nil || !fresh || !e0.ClaimedAt.Equal(e0.CreatedAt) {
			t.Fatalf("BeginSend: %+v %v %v", e0, fresh, err)
		}
		in := intent(k)
		claimOnce := func(st *Store, staleBefore time.Time) (sbsync.LedgerEntry, bool, error) {
			es, err := st.ClaimStaleIntents(bg, in.AccountSID, in.To, in.From, staleBefore)
			if err != nil || len(es) == 0 {
				return sbsync.LedgerEntry{}, false, err
			}
			if len(es) != 1 || es[0].Key != k {
				return sbsync.LedgerEntry{}, false, fmt.Errorf("claimed %+v, want only %s", es, k)
			}
			return es[0], true, nil
		}
		if _, ok, err := claimOnce(a, e0.ClaimedAt); err != nil || ok {
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
					e, ok, err := claimOnce(st, staleBefore)
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
