package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	gosync "sync"
	"testing"
	"time"

	sbsync "github.com/switchboard/switchboard/sync"
)

// concurrently runs fn(i) for i in [0, n) on n goroutines released at
// once, so their calls meet in the group commits.
func concurrently(n int, fn func(i int)) {
	var ready, done gosync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-gate
			fn(i)
		}()
	}
	ready.Wait()
	close(gate)
	done.Wait()
}

// TestGroupEnqueueOverlappingKeys: 200 concurrent callers, 40 keys of which
// 10 already have a job. Each caller enqueues one keyed job (twice in its
// own call) and one keyless job; exactly one caller per new key may report
// the keyed job inserted, and the table must agree with the reports.
func TestGroupEnqueueOverlappingKeys(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		s := openStore(t, url, testOptions())
		key := func(i int) string { return fmt.Sprintf("k%02d", i%40) }
		for i := range 10 {
			if err := s.Enqueue(bg, Job{Kind: "inbound", Key: key(i)}); err != nil {
				t.Fatal(err)
			}
		}
		reports := make([]EnqueueReport, 200)
		errs := make([]error, 200)
		concurrently(200, func(i int) {
			j := Job{Kind: "inbound", Key: key(i), Payload: []byte(fmt.Sprintf(`{"caller":%d}`, i))}
			reports[i], errs[i] = s.EnqueueReport(bg, j, j, Job{Kind: "inbound"})
		})
		winners := map[string][]int{}
		for i, r := range reports {
			if errs[i] != nil {
				t.Fatalf("caller %d: %v", i, errs[i])
			}
			// The in-call duplicate is always a skip and the keyless job
			// always an insert; the keyed one is either.
			switch r {
			case EnqueueReport{Inserted: 2, Skipped: 1}:
				winners[key(i)] = append(winners[key(i)], i)
			case EnqueueReport{Inserted: 1, Skipped: 2}:
			default:
				t.Fatalf("caller %d (key %s): %+v", i, key(i), r)
			}
		}
		for k := range 40 {
			want := 1
			if k < 10 {
				want = 0 // already queued before the burst
			}
			if got := winners[key(k)]; len(got) != want {
				t.Errorf("key %s: callers %v reported it inserted, want %d", key(k), got, want)
			}
		}
		rows := jobKeys(t, s, "inbound")
		if rows[""] != 200 {
			t.Errorf("%d keyless jobs stored, want 200", rows[""])
		}
		for k := range 40 {
			if rows[key(k)] != 1 {
				t.Errorf("key %s stored %d times", key(k), rows[key(k)])
			}
		}
		if m := s.enqueues.maxBatch.Load(); m < 2 {
			t.Errorf("largest Enqueue batch %d: the calls were not grouped", m)
		}
	})
}

// TestGroupBeginSendDuplicatedKeys: 200 concurrent callers on two Stores
// (two processes) ask for 40 keys, 5 times each; one key was begun before.
// Exactly one caller per new key is fresh, every caller sees its key's
// intent.
func TestGroupBeginSendDuplicatedKeys(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		a := openStore(t, url, testOptions())
		b := openStore(t, url, testOptions())
		key := func(i int) string { return fmt.Sprintf("00T%012d@2026-12-01T06:00:00Z", i%40) }
		if _, fresh, err := a.BeginSend(bg, intent(key(0))); err != nil || !fresh {
			t.Fatalf("first BeginSend: %v %v", fresh, err)
		}
		fresh := make([]bool, 200)
		errs := make([]error, 200)
		concurrently(200, func(i int) {
			st := a
			if i%2 == 1 {
				st = b
			}
			in := intent(key(i))
			in.Body = fmt.Sprintf("from caller %d", i)
			var e sbsync.LedgerEntry
			e, fresh[i], errs[i] = st.BeginSend(bg, in)
			switch {
			case errs[i] != nil:
			case e.Key != in.Key || e.State != sbsync.LedgerIntent || e.CreatedAt.IsZero():
				errs[i] = fmt.Errorf("entry %+v", e)
			case fresh[i] && e.Body != in.Body:
				errs[i] = fmt.Errorf("fresh caller got another body: %+v", e)
			case !strings.HasPrefix(e.Body, "from caller") && e.Body != "hello":
				errs[i] = fmt.Errorf("entry %+v", e)
			}
		})
		perKey := map[string]int{}
		for i := range 200 {
			if errs[i] != nil {
				t.Fatalf("caller %d: %v", i, errs[i])
			}
			if fresh[i] {
				perKey[key(i)]++
			}
		}
		for k := range 40 {
			want := 1
			if k == 0 {
				want = 0
			}
			if perKey[key(k)] != want {
				t.Errorf("key %s: %d fresh callers, want %d", key(k), perKey[key(k)], want)
			}
		}
		// The stored body is the fresh caller's.
		for i := range 200 {
			if !fresh[i] {
				continue
			}
			e, err := a.LedgerEntry(bg, key(i))
			if err != nil || e.Body != fmt.Sprintf("from caller %d", i) {
				t.Errorf("key %s: stored %+v %v, fresh caller was %d", key(i), e, err, i)
			}
		}
		if m := max(a.begins.maxBatch.Load(), b.begins.maxBatch.Load()); m < 2 {
			t.Errorf("largest BeginSend batch %d: the calls were not grouped", m)
		}
	})
}

// poison makes the database itself reject rows (a trigger), so a batch
// containing one fails as a whole and must fall back to single items.
func poison(t *testing.T, s *Store) {
	t.Helper()
	var stmts []string
	if s.Backend() == "sqlite" {
		stmts = []string{
			`CREATE TRIGGER poison_ledger BEFORE INSERT ON sb_send_ledger WHEN NEW.send_key LIKE 'poison%'
				BEGIN SELECT RAISE(ABORT, 'poisoned send key'); END`,
			`CREATE TRIGGER poison_sid BEFORE UPDATE ON sb_send_ledger WHEN NEW.sid = 'SMpoison'
				BEGIN SELECT RAISE(ABORT, 'poisoned sid'); END`,
			`CREATE TRIGGER poison_job BEFORE INSERT ON river_job WHEN json_extract(NEW.args, '$.key') LIKE 'poison%'
				BEGIN SELECT RAISE(ABORT, 'poisoned job'); END`,
			`CREATE TRIGGER poison_park BEFORE INSERT ON sb_parked WHEN NEW.sid = 'SMpoison'
				BEGIN SELECT RAISE(ABORT, 'poisoned callback'); END`,
		}
	} else {
		stmts = []string{
			`CREATE FUNCTION poison_ledger() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
				IF NEW.send_key LIKE 'poison%' THEN RAISE EXCEPTION 'poisoned send key'; END IF;
				IF NEW.sid = 'SMpoison' THEN RAISE EXCEPTION 'poisoned sid'; END IF;
				RETURN NEW; END $$`,
			`CREATE TRIGGER poison_ledger BEFORE INSERT OR UPDATE ON sb_send_ledger FOR EACH ROW EXECUTE FUNCTION poison_ledger()`,
			`CREATE FUNCTION poison_job() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
				IF NEW.args->>'key' LIKE 'poison%' THEN RAISE EXCEPTION 'poisoned job'; END IF;
				RETURN NEW; END $$`,
			`CREATE TRIGGER poison_job BEFORE INSERT ON river_job FOR EACH ROW EXECUTE FUNCTION poison_job()`,
			`CREATE FUNCTION poison_park() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
				IF NEW.sid = 'SMpoison' THEN RAISE EXCEPTION 'poisoned callback'; END IF;
				RETURN NEW; END $$`,
			`CREATE TRIGGER poison_park BEFORE INSERT ON sb_parked FOR EACH ROW EXECUTE FUNCTION poison_park()`,
		}
	}
	for _, q := range stmts {
		if _, err := s.eng.q().exec(bg, q); err != nil {
			t.Fatalf("%s: %v", firstLine(q), err)
		}
	}
}

// TestGroupFailingItemDoesNotFailBatch: among 200 concurrent callers of
// each batched write, every 20th writes a row the database rejects. Those
// get the database's error; the other 190 succeed and their rows are there.
func TestGroupFailingItemDoesNotFailBatch(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		s := openStore(t, url, testOptions())
		poison(t, s)
		bad := func(i int) bool { return i%20 == 7 }
		check := func(op string, errs []error, want string) {
			t.Helper()
			for i, err := range errs {
				switch {
				case bad(i) && (err == nil || !strings.Contains(err.Error(), want)):
					t.Errorf("%s: poisoned caller %d got %v, want the database's %q", op, i, err, want)
				case !bad(i) && err != nil:
					t.Errorf("%s: caller %d failed with its batch-mate: %v", op, i, err)
				}
			}
		}
		name := func(i int) string {
			if bad(i) {
				return fmt.Sprintf("poison%03d", i)
			}
			return fmt.Sprintf("ok%03d", i)
		}

		errs := make([]error, 200)
		concurrently(200, func(i int) { errs[i] = s.Enqueue(bg, Job{Kind: "inbound", Key: name(i)}) })
		check("Enqueue", errs, "poisoned job")
		if rows := jobKeys(t, s, "inbound"); len(rows) != 190 {
			t.Errorf("%d jobs stored, want the 190 good ones", len(rows))
		}

		fresh := make([]bool, 200)
		concurrently(200, func(i int) { _, fresh[i], errs[i] = s.BeginSend(bg, intent(name(i))) })
		check("BeginSend", errs, "poisoned send key")
		for i := range 200 {
			if !bad(i) && !fresh[i] {
				t.Errorf("BeginSend %s: not fresh", name(i))
			}
		}

		for i := range 200 {
			if bad(i) {
				if _, _, err := s.BeginSend(bg, intent(fmt.Sprintf("spare%03d", i))); err != nil {
					t.Fatal(err)
				}
			}
		}
		concurrently(200, func(i int) {
			k, sid := name(i), "SM"+name(i)
			if bad(i) {
				k, sid = fmt.Sprintf("spare%03d", i), "SMpoison" // a real entry, a rejected SID
			}
			errs[i] = s.CompleteSend(bg, k, sid, "queued")
		})
		check("CompleteSend", errs, "poisoned sid")
		for i := range 200 {
			if bad(i) {
				continue
			}
			e, err := s.LedgerEntry(bg, name(i))
			if err != nil || e.State != sbsync.LedgerSent || e.SID != "SM"+name(i) {
				t.Errorf("entry %s: %+v %v", name(i), e, err)
			}
		}

		concurrently(200, func(i int) {
			sid := "SM" + name(i)
			if bad(i) {
				sid = "SMpoison"
			}
			errs[i] = s.Park(bg, sid, []byte(`{}`), time.Now().Add(time.Hour))
		})
		check("Park", errs, "poisoned callback")
		got, err := s.TakeParked(bg, []string{"SMok001", "SMok199", "SMpoison"})
		if err != nil || len(got) != 2 || len(got["SMok001"]) != 1 || len(got["SMok199"]) != 1 {
			t.Errorf("parked after the poisoned batch: %q %v", got, err)
		}
	})
}

// TestGroupTransitionsKeepPerCallerAnswers: concurrent transitions of one
// batch answer each caller for its own key: missing entries ErrNotFound, a
// contradiction ErrConflict, a repeat nil.
func TestGroupTransitionsKeepPerCallerAnswers(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		s := openStore(t, url, testOptions())
		for i := range 100 {
			if _, _, err := s.BeginSend(bg, intent(fmt.Sprintf("t%03d", i))); err != nil {
				t.Fatal(err)
			}
		}
		for i := 50; i < 100; i++ {
			if err := s.FailSend(bg, fmt.Sprintf("t%03d", i), "21211 invalid To"); err != nil {
				t.Fatal(err)
			}
		}
		errs := make([]error, 200)
		concurrently(200, func(i int) {
			k := fmt.Sprintf("t%03d", i%100)
			switch {
			case i >= 100 && i < 150: // a repeat of the CompleteSend below
				errs[i] = s.CompleteSend(bg, k, "SM"+k, "queued")
			case i < 50:
				errs[i] = s.CompleteSend(bg, k, "SM"+k, "queued")
			case i < 100: // failed before: completing contradicts it
				errs[i] = s.CompleteSend(bg, k, "SM"+k, "queued")
			default: // no such entry
				errs[i] = s.MarkRecorded(bg, fmt.Sprintf("missing%03d", i))
			}
		})
		for i, err := range errs {
			switch {
			case i < 50 || (i >= 100 && i < 150):
				if err != nil {
					t.Errorf("caller %d: %v", i, err)
				}
			case i < 100:
				if !errors.Is(err, ErrConflict) {
					t.Errorf("caller %d: %v, want ErrConflict", i, err)
				}
			default:
				if !errors.Is(err, ErrNotFound) {
					t.Errorf("caller %d: %v, want ErrNotFound", i, err)
				}
			}
		}
		if m := s.transitions.maxBatch.Load(); m < 2 {
			t.Errorf("largest transition batch %d: the calls were not grouped", m)
		}
	})
}

// TestGroupTakeParkedEachOnce: 200 concurrent TakeParked callers over
// overlapping SIDs; every parked callback goes to exactly one of them.
func TestGroupTakeParkedEachOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		s := openStore(t, url, testOptions())
		exp := time.Now().Add(time.Hour)
		concurrently(100, func(i int) {
			sid := fmt.Sprintf("SM%03d", i%50)
			if err := s.Park(bg, sid, []byte(fmt.Sprintf(`{"n":%d}`, i)), exp); err != nil {
				t.Error(err)
			}
		})
		got := make([]map[string][][]byte, 200)
		errs := make([]error, 200)
		concurrently(200, func(i int) {
			got[i], errs[i] = s.TakeParked(bg, []string{fmt.Sprintf("SM%03d", i%50), fmt.Sprintf("SM%03d", (i+1)%50)})
		})
		seen := map[string]int{}
		for i, m := range got {
			if errs[i] != nil {
				t.Fatalf("caller %d: %v", i, errs[i])
			}
			for sid, ps := range m {
				if sid != fmt.Sprintf("SM%03d", i%50) && sid != fmt.Sprintf("SM%03d", (i+1)%50) {
					t.Errorf("caller %d got %s, which it did not ask for", i, sid)
				}
				var k int
				fmt.Sscanf(sid, "SM%03d", &k)
				a, b := fmt.Sprintf(`{"n":%d}`, k), fmt.Sprintf(`{"n":%d}`, k+50)
				if len(ps) != 2 || !(string(ps[0]) == a && string(ps[1]) == b || string(ps[0]) == b && string(ps[1]) == a) {
					t.Errorf("caller %d: %s → %q, want %s and %s", i, sid, ps, a, b)
				}
				seen[sid]++
			}
		}
		for k := range 50 {
			if sid := fmt.Sprintf("SM%03d", k); seen[sid] != 1 {
				t.Errorf("%s taken by %d callers, want 1", sid, seen[sid])
			}
		}
	})
}

// TestGroupCallerGoneBeforeFlushWritesNothing: a call whose context is
// already cancelled gets its error and nothing is written.
func TestGroupCallerGoneBeforeFlushWritesNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		s := openStore(t, url, testOptions())
		ctx, cancel := context.WithCancel(bg)
		cancel()
		if err := s.Enqueue(ctx, Job{Kind: "inbound", Key: "gone"}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Enqueue: %v", err)
		}
		if _, _, err := s.BeginSend(ctx, intent("gone")); !errors.Is(err, context.Canceled) {
			t.Fatalf("BeginSend: %v", err)
		}
		// Let a flush that might (wrongly) have taken them finish.
		if err := s.Enqueue(bg, Job{Kind: "inbound", Key: "after"}); err != nil {
			t.Fatal(err)
		}
		if rows := jobKeys(t, s, "inbound"); rows["gone"] != 0 {
			t.Fatalf("jobs %v", rows)
		}
		if _, err := s.LedgerEntry(bg, "gone"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("ledger entry of a cancelled BeginSend: %v", err)
		}
	})
}

// TestGroupCloseAnswersQueuedCalls: Close while 200 callers are writing.
// Every call returns (no hang, no leaked flush: goleak at TestMain), each
// either succeeded or got an error, and every BeginSend or Enqueue that
// succeeded is there after reopening.
func TestGroupCloseAnswersQueuedCalls(t *testing.T) {
	eachBackend(t, func(t *testing.T, url string) {
		s, err := Open(bg, url, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		ok := make([]bool, 200)
		var wg gosync.WaitGroup
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k := fmt.Sprintf("c%03d", i)
				if i%2 == 0 {
					_, _, err := s.BeginSend(bg, intent(k))
					ok[i] = err == nil
				} else {
					ok[i] = s.Enqueue(bg, Job{Kind: "inbound", Key: k}) == nil
				}
			}()
		}
		time.Sleep(2 * time.Millisecond)
		if err := s.Close(bg); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if err := s.Enqueue(bg, Job{Kind: "inbound", Key: "late"}); !errors.Is(err, ErrClosed) {
			t.Fatalf("Enqueue after Close: %v", err)
		}
		r := openStore(t, url, testOptions())
		jobs := jobKeys(t, r, "inbound")
		n := 0
		for i := range 200 {
			if !ok[i] {
				continue
			}
			n++
			k := fmt.Sprintf("c%03d", i)
			if i%2 == 0 {
				if _, err := r.LedgerEntry(bg, k); err != nil {
					t.Errorf("BeginSend %s succeeded before Close but: %v", k, err)
				}
			} else if jobs[k] != 1 {
				t.Errorf("Enqueue %s succeeded before Close but %d jobs stored", k, jobs[k])
			}
		}
		t.Logf("%d of 200 calls succeeded before Close", n)
	})
}
