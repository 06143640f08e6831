package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	sbsync "github.com/switchboard/switchboard/sync"
)

// The send ledger (sbsync.Ledger). Its primary key is the send key, so the
// database, not the process, decides which BeginSend is fresh: exactly one
// across goroutines, processes and replicas. States move
// intent → sent | failed → recorded; AbandonSend deletes an intent.

var _ sbsync.Ledger = (*Store)(nil)

const ledgerCols = `send_key, task_id, account_sid, to_number, from_number, body, state, sid, status, reason, created_at`

// ledgerReadCols adds updated_at, which for an intent is when it was
// created or last claimed (LedgerEntry.ClaimedAt): ownership is that time,
// while created_at stays the original intent's, the start of the window a
// lookup at Twilio must cover.
const ledgerReadCols = ledgerCols + `, updated_at`

// BeginSend records the intent to send in.Key. fresh is true for the one
// caller that created the entry; every other caller gets the stored entry.
//
// Concurrent calls share one transaction and one fsync (group.go).
func (s *Store) BeginSend(ctx context.Context, in sbsync.SendIntent) (sbsync.LedgerEntry, bool, error) {
	if in.Key == "" {
		return sbsync.LedgerEntry{}, false, fmt.Errorf("%w: ledger: empty send key", ErrInvalid)
	}
	if err := s.checkOpen(); err != nil {
		return sbsync.LedgerEntry{}, false, err
	}
	r, err := s.begins.do(ctx, in)
	if err != nil {
		return sbsync.LedgerEntry{}, false, err
	}
	return r.entry, r.fresh, nil
}

type beginResult struct {
	entry sbsync.LedgerEntry
	fresh bool
}

// ledgerRowArgs is how many values one ledger row binds; ledgerChunk rows go
// in one statement (far below SQLite's 32,766 variables).
const (
	ledgerRowArgs = 9
	ledgerChunk   = 200
)

// beginBatch records the intents of several callers: one multi-row INSERT …
// ON CONFLICT DO NOTHING RETURNING per chunk, then one read of the keys that
// already existed. The database still decides which caller is fresh: a key
// it inserted goes to its first caller in the batch, every later caller of
// the same key gets that entry with fresh false. Keys are written in sorted
// order so two processes' batches never wait on each other's rows in a cycle
// (PostgreSQL would abort one as a deadlock).
func (s *Store) beginBatch(ctx context.Context, items []sbsync.SendIntent) ([]groupResult[beginResult], bool, error) {
	first := map[string]int{} // key → its first caller
	var keys []string
	for i, in := range items {
		if _, ok := first[in.Key]; !ok {
			first[in.Key] = i
			keys = append(keys, in.Key)
		}
	}
	slices.Sort(keys)
	entries := make(map[string]sbsync.LedgerEntry, len(keys))
	fresh := map[string]bool{}
	err := s.eng.tx(ctx, func(q querier, _ inserter) error {
		todo := keys
		// A concurrent AbandonSend can delete an entry between the insert
		// and the read; then the next insert decides again.
		for attempt := 0; attempt < 5 && len(todo) > 0; attempt++ {
			now := time.Now().UnixNano()
			for start := 0; start < len(todo); start += ledgerChunk {
				part := todo[start:min(start+ledgerChunk, len(todo))]
				args := make([]any, 0, len(part)*ledgerRowArgs)
				for _, k := range part {
					in := items[first[k]]
					args = append(args, in.Key, in.TaskID, in.AccountSID, in.To, in.From, in.Body, string(sbsync.LedgerIntent), now, now)
				}
				r, err := q.query(ctx, `INSERT INTO sb_send_ledger (`+ledgerCols+`, updated_at) VALUES `+
					repeatRows("(?, ?, ?, ?, ?, ?, ?, '', '', '', ?, ?)", len(part))+
					` ON CONFLICT (send_key) DO NOTHING RETURNING send_key`, args...)
				if err != nil {
					return err
				}
				for r.Next() {
					var k string
					if err := r.Scan(&k); err != nil {
						r.Close()
						return err
					}
					fresh[k] = true
					entries[k] = sbsync.LedgerEntry{SendIntent: items[first[k]], State: sbsync.LedgerIntent, CreatedAt: time.Unix(0, now), ClaimedAt: time.Unix(0, now)}
				}
				err = r.Err()
				r.Close()
				if err != nil {
					return err
				}
			}
			var existing []string
			for _, k := range todo {
				if !fresh[k] {
					existing = append(existing, k)
				}
			}
			todo = nil
			for start := 0; start < len(existing); start += ledgerChunk {
				part := existing[start:min(start+ledgerChunk, len(existing))]
				args := make([]any, len(part))
				for i, k := range part {
					args[i] = k
				}
				es, err := ledgerQuery(ctx, q, `SELECT `+ledgerReadCols+` FROM sb_send_ledger WHERE send_key IN (`+placeholders(len(part))+`)`, args...)
				if err != nil {
					return err
				}
				for _, e := range es {
					entries[e.Key] = e
				}
			}
			for _, k := range existing {
				if _, ok := entries[k]; !ok {
					todo = append(todo, k)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("ledger: recording %d intents: %w", len(keys), err)
	}
	res := make([]groupResult[beginResult], len(items))
	anyFresh := false
	for i, in := range items {
		e, ok := entries[in.Key]
		switch {
		case !ok:
			res[i].err = fmt.Errorf("%w: ledger: %s is being created and abandoned repeatedly", ErrConflict, in.Key)
		case fresh[in.Key] && first[in.Key] == i:
			// The caller calls Twilio next: the intent must survive a
			// power loss, or the retry would send again.
			res[i].out = beginResult{entry: e, fresh: true}
			anyFresh = true
		default:
			res[i].out = beginResult{entry: e}
		}
	}
	return res, anyFresh, nil
}

// repeatRows returns n copies of row joined by ", ".
func repeatRows(row string, n int) string {
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// LedgerEntry returns the entry for key.
func (s *Store) LedgerEntry(ctx context.Context, key string) (sbsync.LedgerEntry, error) {
	if err := s.checkOpen(); err != nil {
		return sbsync.LedgerEntry{}, err
	}
	e, ok, err := s.ledgerEntry(ctx, key)
	if err != nil {
		return e, err
	}
	if !ok {
		return e, fmt.Errorf("%w: ledger entry %s", ErrNotFound, key)
	}
	return e, nil
}

func (s *Store) ledgerEntry(ctx context.Context, key string) (sbsync.LedgerEntry, bool, error) {
	return ledgerEntryQ(ctx, s.eng.q(), key)
}

func ledgerEntryQ(ctx context.Context, q querier, key string) (sbsync.LedgerEntry, bool, error) {
	es, err := ledgerQuery(ctx, q, `SELECT `+ledgerReadCols+` FROM sb_send_ledger WHERE send_key = ?`, key)
	if err != nil || len(es) == 0 {
		return sbsync.LedgerEntry{}, false, err
	}
	return es[0], true, nil
}

func ledgerQuery(ctx context.Context, q querier, sql string, args ...any) ([]sbsync.LedgerEntry, error) {
	r, err := q.query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: reading: %w", err)
	}
	defer r.Close()
	var out []sbsync.LedgerEntry
	for r.Next() {
		var e sbsync.LedgerEntry
		var state string
		var created, updated int64
		if err := r.Scan(&e.Key, &e.TaskID, &e.AccountSID, &e.To, &e.From, &e.Body, &state, &e.SID, &e.Status, &e.Reason, &created, &updated); err != nil {
			return nil, fmt.Errorf("ledger: reading: %w", err)
		}
		e.State = sbsync.LedgerState(state)
		e.CreatedAt = time.Unix(0, created)
		e.ClaimedAt = time.Unix(0, updated)
		out = append(out, e)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("ledger: reading: %w", err)
	}
	return out, nil
}

// transition applies one of the four ledger transitions, guarded by the
// states it may start from. When nothing matched, it explains why: no entry
// (ErrNotFound), an entry already at or past the target (nil: the call is a
// repeat), or a contradiction (ErrConflict).
//
// Concurrent transitions (CompleteSend, FailSend, AbandonSend, MarkRecorded
// of any keys) share one transaction (group.go).
func (s *Store) transition(ctx context.Context, t transitionCall) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	_, err := s.transitions.do(ctx, t)
	return err
}

type transitionKind int

const (
	tComplete transitionKind = iota
	tFail
	tAbandon
	tRecord
)

var transitionOps = [...]string{tComplete: "completing", tFail: "failing", tAbandon: "abandoning", tRecord: "recording"}

type transitionCall struct {
	kind transitionKind
	key  string
	// sid and status (tComplete) or reason (tFail, in sid).
	sid, status string
	// owned (tAbandon) is the intent's claim time (updated_at) the caller
	// holds: only that intent is deleted, never one claimed since.
	owned int64
	// done says whether an entry the update did not match is already where
	// the call wanted it (a repeat).
	done func(sbsync.LedgerEntry) bool
}

// bulkTransition is one statement applying rows (distinct keys, one kind);
// it returns the keys it changed.
func bulkTransition(k transitionKind, rows []transitionCall, now int64) (string, []any) {
	var args []any
	switch k {
	case tComplete, tFail:
		set, where, width := `sid = v.column2, status = v.column3`, `(sb_send_ledger.state = ? OR (sb_send_ledger.state = ? AND sb_send_ledger.sid = v.column2))`, 3
		args = append(args, string(sbsync.LedgerSent), now)
		if k == tFail {
			set, where, width = `reason = v.column2`, `sb_send_ledger.state IN (?, ?)`, 2
			args[0] = string(sbsync.LedgerFailed)
		}
		for _, r := range rows {
			args = append(args, r.key, r.sid)
			if width == 3 {
				args = append(args, r.status)
			}
		}
		if k == tComplete {
			args = append(args, string(sbsync.LedgerIntent), string(sbsync.LedgerSent))
		} else {
			args = append(args, string(sbsync.LedgerIntent), string(sbsync.LedgerFailed))
		}
		row := "(" + placeholders(width) + ")"
		return `UPDATE sb_send_ledger SET state = ?, ` + set + `, updated_at = ? FROM (VALUES ` + repeatRows(row, len(rows)) +
			`) AS v WHERE sb_send_ledger.send_key = v.column1 AND ` + where + ` RETURNING sb_send_ledger.send_key`, args
	case tAbandon:
		args = append(args, string(sbsync.LedgerIntent))
		for _, r := range rows {
			args = append(args, r.key, r.owned)
		}
		// CAST: PostgreSQL types a VALUES parameter as text otherwise.
		return `DELETE FROM sb_send_ledger WHERE state = ? AND (send_key, updated_at) IN (VALUES ` +
			repeatRows("(?, CAST(? AS BIGINT))", len(rows)) + `) RETURNING send_key`, args
	default: // tRecord
		args = append(args, string(sbsync.LedgerRecorded), now)
		for _, r := range rows {
			args = append(args, r.key)
		}
		args = append(args, string(sbsync.LedgerSent), string(sbsync.LedgerFailed), string(sbsync.LedgerRecorded))
		return `UPDATE sb_send_ledger SET state = ?, updated_at = ? WHERE send_key IN (` + placeholders(len(rows)) +
			`) AND state IN (?, ?, ?) RETURNING send_key`, args
	}
}

// transitionBatch applies the calls in rounds in which each key appears
// once: calls of one key run in arrival order, calls of distinct keys
// commute, so each round is one statement per kind (RETURNING the keys it
// changed) and one read of the entries it did not. A refused transition
// (ErrNotFound, ErrConflict) is that caller's answer, not a failed
// transaction.
func (s *Store) transitionBatch(ctx context.Context, items []transitionCall) ([]groupResult[struct{}], bool, error) {
	var rounds [][]int
	seen := map[string]int{} // key → calls of it so far
	for i, t := range items {
		r := seen[t.key]
		seen[t.key]++
		if r == len(rounds) {
			rounds = append(rounds, nil)
		}
		rounds[r] = append(rounds[r], i)
	}
	res := make([]groupResult[struct{}], len(items))
	err := s.eng.tx(ctx, func(q querier, _ inserter) error {
		now := time.Now().UnixNano()
		for _, round := range rounds {
			changed := map[string]bool{}
			for k := tComplete; k <= tRecord; k++ {
				var rows []transitionCall
				for _, i := range round {
					if items[i].kind == k {
						rows = append(rows, items[i])
					}
				}
				slices.SortFunc(rows, func(a, b transitionCall) int { return strings.Compare(a.key, b.key) })
				for start := 0; start < len(rows); start += ledgerChunk {
					part := rows[start:min(start+ledgerChunk, len(rows))]
					sql, args := bulkTransition(k, part, now)
					r, err := q.query(ctx, sql, args...)
					if err != nil {
						return fmt.Errorf("ledger: %s %d entries: %w", transitionOps[k], len(part), err)
					}
					for r.Next() {
						var key string
						if err := r.Scan(&key); err != nil {
							r.Close()
							return err
						}
						changed[key] = true
					}
					err = r.Err()
					r.Close()
					if err != nil {
						return fmt.Errorf("ledger: %s %d entries: %w", transitionOps[k], len(part), err)
					}
				}
			}
			var missed []any
			for _, i := range round {
				if !changed[items[i].key] {
					missed = append(missed, items[i].key)
				}
			}
			entries := map[string]sbsync.LedgerEntry{}
			for start := 0; start < len(missed); start += ledgerChunk {
				part := missed[start:min(start+ledgerChunk, len(missed))]
				es, err := ledgerQuery(ctx, q, `SELECT `+ledgerReadCols+` FROM sb_send_ledger WHERE send_key IN (`+placeholders(len(part))+`)`, part...)
				if err != nil {
					return err
				}
				for _, e := range es {
					entries[e.Key] = e
				}
			}
			for _, i := range round {
				t := items[i]
				if changed[t.key] {
					continue
				}
				op := transitionOps[t.kind]
				e, ok := entries[t.key]
				switch {
				case !ok:
					res[i].err = fmt.Errorf("%w: ledger: %s %s: no such entry", ErrNotFound, op, t.key)
				case !t.done(e):
					res[i].err = fmt.Errorf("%w: ledger: %s %s: the entry is %s", ErrConflict, op, t.key, e.State)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return res, false, nil
}

// CompleteSend records Twilio's SID for key.
func (s *Store) CompleteSend(ctx context.Context, key, sid, status string) error {
	if sid == "" {
		return fmt.Errorf("%w: ledger: completing %s without a SID", ErrInvalid, key)
	}
	return s.transition(ctx, transitionCall{kind: tComplete, key: key, sid: sid, status: status,
		done: func(e sbsync.LedgerEntry) bool { return e.State == sbsync.LedgerRecorded && e.SID == sid }})
}

// FailSend records that Twilio refused the message for good.
func (s *Store) FailSend(ctx context.Context, key, reason string) error {
	return s.transition(ctx, transitionCall{kind: tFail, key: key, sid: reason,
		done: func(e sbsync.LedgerEntry) bool { return e.State == sbsync.LedgerRecorded && e.SID == "" }})
}

// AbandonSend deletes the intent created or claimed at owned (ClaimedAt), whose
// create provably did not reach Twilio. Abandoning a missing entry, or an
// intent another job has claimed since, is a no-op; abandoning a sent one
// is refused.
func (s *Store) AbandonSend(ctx context.Context, key string, owned time.Time) error {
	err := s.transition(ctx, transitionCall{kind: tAbandon, key: key, owned: owned.UnixNano(),
		done: func(e sbsync.LedgerEntry) bool { return e.State == sbsync.LedgerIntent && !e.ClaimedAt.Equal(owned) }})
	if err != nil && isNotFound(err) {
		return nil
	}
	return err
}

// ClaimStaleIntents takes over every intent of one (account, recipient,
// sender) group created or last claimed before staleBefore, in one
// conditional update: of several jobs, processes or replicas, each intent
// goes to exactly one. The entries carry the claim's ClaimedAt (CreatedAt
// stays the original intent's), oldest first. Durable before it returns,
// because the caller may send next.
func (s *Store) ClaimStaleIntents(ctx context.Context, accountSID, to, from string, staleBefore time.Time) ([]sbsync.LedgerEntry, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	now := max(time.Now().UnixNano(), staleBefore.UnixNano()+1)
	es, err := ledgerQuery(ctx, s.eng.q(), `UPDATE sb_send_ledger SET updated_at = ?
		WHERE state = ? AND account_sid = ? AND to_number = ? AND from_number = ? AND updated_at < ?
		RETURNING `+ledgerReadCols, now, string(sbsync.LedgerIntent), accountSID, to, from, staleBefore.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("ledger: claiming the stale intents to %s from %s: %w", to, from, err)
	}
	if len(es) == 0 {
		return nil, nil
	}
	if err := s.eng.durable(ctx); err != nil {
		return nil, fmt.Errorf("ledger: claiming the stale intents to %s from %s: %w", to, from, err)
	}
	slices.SortFunc(es, func(a, b sbsync.LedgerEntry) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return es, nil
}

// SIDOwners returns, for each of sids that a ledger entry holds, the key
// of that entry.
func (s *Store) SIDOwners(ctx context.Context, sids []string) (map[string]string, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for start := 0; start < len(sids); start += ledgerChunk {
		part := sids[start:min(start+ledgerChunk, len(sids))]
		args := make([]any, len(part))
		for i, sid := range part {
			args[i] = sid
		}
		r, err := s.eng.q().query(ctx, `SELECT sid, send_key FROM sb_send_ledger WHERE sid IN (`+placeholders(len(part))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("ledger: reading SIDs: %w", err)
		}
		for r.Next() {
			var sid, key string
			if err := r.Scan(&sid, &key); err != nil {
				r.Close()
				return nil, fmt.Errorf("ledger: reading SIDs: %w", err)
			}
			out[sid] = key
		}
		err = r.Err()
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("ledger: reading SIDs: %w", err)
		}
	}
	return out, nil
}

// LatestSend returns the entry of the Task's most recent transition.
func (s *Store) LatestSend(ctx context.Context, taskID string) (sbsync.LedgerEntry, bool, error) {
	if err := s.checkOpen(); err != nil {
		return sbsync.LedgerEntry{}, false, err
	}
	es, err := ledgerQuery(ctx, s.eng.q(), `SELECT `+ledgerReadCols+` FROM sb_send_ledger WHERE task_id = ? ORDER BY created_at DESC LIMIT 1`, taskID)
	if err != nil || len(es) == 0 {
		return sbsync.LedgerEntry{}, false, err
	}
	return es[0], true, nil
}

// MarkRecorded notes that the outcome is written to Salesforce.
func (s *Store) MarkRecorded(ctx context.Context, key string) error {
	return s.transition(ctx, transitionCall{kind: tRecord, key: key, done: func(sbsync.LedgerEntry) bool { return false }})
}

// UnresolvedSends lists entries untouched for at least olderThan that are
// not recorded: intents whose create may or may not have reached Twilio, and
// outcomes (sent or failed) not yet written to Salesforce. Oldest first, at
// most 1000.
func (s *Store) UnresolvedSends(ctx context.Context, olderThan time.Duration) ([]sbsync.LedgerEntry, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	return ledgerQuery(ctx, s.eng.q(), `SELECT `+ledgerReadCols+` FROM sb_send_ledger
		WHERE state IN (?, ?, ?) AND updated_at <= ? ORDER BY created_at LIMIT 1000`,
		string(sbsync.LedgerIntent), string(sbsync.LedgerSent), string(sbsync.LedgerFailed),
		time.Now().Add(-olderThan).UnixNano())
}

// PruneLedger deletes recorded entries last changed more than olderThan ago
// and returns how many. Start runs it daily with Options.LedgerRetention.
func (s *Store) PruneLedger(ctx context.Context, olderThan time.Duration) (int64, error) {
	if err := s.checkOpen(); err != nil {
		return 0, err
	}
	if olderThan <= 0 {
		return 0, fmt.Errorf("%w: ledger retention %s", ErrInvalid, olderThan)
	}
	n, err := s.eng.q().exec(ctx, `DELETE FROM sb_send_ledger WHERE state = ? AND updated_at < ?`,
		string(sbsync.LedgerRecorded), time.Now().Add(-olderThan).UnixNano())
	if err != nil {
		return 0, fmt.Errorf("ledger: pruning: %w", err)
	}
	return n, nil
}
