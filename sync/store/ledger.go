package store

import (
	"context"
	"fmt"
	"time"

	sbsync "github.com/switchboard/switchboard/sync"
)

// The send ledger (sbsync.Ledger). Its primary key is the send key, so the
// database, not the process, decides which BeginSend is fresh: exactly one
// across goroutines, processes and replicas. States move
// intent → sent | failed → recorded; AbandonSend deletes an intent.

var _ sbsync.Ledger = (*Store)(nil)

const ledgerCols = `send_key, task_id, account_sid, to_number, from_number, body, state, sid, status, reason, created_at`

// BeginSend records the intent to send in.Key. fresh is true for the one
// caller that created the entry; every other caller gets the stored entry.
func (s *Store) BeginSend(ctx context.Context, in sbsync.SendIntent) (sbsync.LedgerEntry, bool, error) {
	if in.Key == "" {
		return sbsync.LedgerEntry{}, false, fmt.Errorf("%w: ledger: empty send key", ErrInvalid)
	}
	if err := s.checkOpen(); err != nil {
		return sbsync.LedgerEntry{}, false, err
	}
	// A concurrent AbandonSend can delete the entry between the insert and
	// the read; then the next insert decides again.
	for range 5 {
		now := time.Now()
		n, err := s.eng.q().exec(ctx, `INSERT INTO sb_send_ledger (`+ledgerCols+`, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, '', '', '', ?, ?) ON CONFLICT (send_key) DO NOTHING`,
			in.Key, in.TaskID, in.AccountSID, in.To, in.From, in.Body, string(sbsync.LedgerIntent), now.UnixNano(), now.UnixNano())
		if err != nil {
			return sbsync.LedgerEntry{}, false, fmt.Errorf("ledger: recording the intent for %s: %w", in.Key, err)
		}
		if n == 1 {
			// The caller calls Twilio next: the intent must survive a power
			// loss, or the retry would send again.
			if err := s.eng.durable(ctx); err != nil {
				return sbsync.LedgerEntry{}, false, fmt.Errorf("ledger: recording the intent for %s: %w", in.Key, err)
			}
			return sbsync.LedgerEntry{SendIntent: in, State: sbsync.LedgerIntent, CreatedAt: time.Unix(0, now.UnixNano())}, true, nil
		}
		e, ok, err := s.ledgerEntry(ctx, in.Key)
		if err != nil {
			return sbsync.LedgerEntry{}, false, err
		}
		if ok {
			return e, false, nil
		}
	}
	return sbsync.LedgerEntry{}, false, fmt.Errorf("%w: ledger: %s is being created and abandoned repeatedly", ErrConflict, in.Key)
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
	es, err := s.ledgerQuery(ctx, `SELECT `+ledgerCols+` FROM sb_send_ledger WHERE send_key = ?`, key)
	if err != nil || len(es) == 0 {
		return sbsync.LedgerEntry{}, false, err
	}
	return es[0], true, nil
}

func (s *Store) ledgerQuery(ctx context.Context, q string, args ...any) ([]sbsync.LedgerEntry, error) {
	r, err := s.eng.q().query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: reading: %w", err)
	}
	defer r.Close()
	var out []sbsync.LedgerEntry
	for r.Next() {
		var e sbsync.LedgerEntry
		var state string
		var created int64
		if err := r.Scan(&e.Key, &e.TaskID, &e.AccountSID, &e.To, &e.From, &e.Body, &state, &e.SID, &e.Status, &e.Reason, &created); err != nil {
			return nil, fmt.Errorf("ledger: reading: %w", err)
		}
		e.State = sbsync.LedgerState(state)
		e.CreatedAt = time.Unix(0, created)
		out = append(out, e)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("ledger: reading: %w", err)
	}
	return out, nil
}

// transition applies an update guarded by the states it may start from. When
// nothing matched, it explains why: no entry (ErrNotFound), an entry already
// at or past the target (nil: the call is a repeat), or a contradiction
// (ErrConflict).
func (s *Store) transition(ctx context.Context, op, key string, done func(sbsync.LedgerEntry) bool, q string, args ...any) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	n, err := s.eng.q().exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("ledger: %s %s: %w", op, key, err)
	}
	if n > 0 {
		return nil
	}
	e, ok, err := s.ledgerEntry(ctx, key)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: ledger: %s %s: no such entry", ErrNotFound, op, key)
	}
	if done(e) {
		return nil
	}
	return fmt.Errorf("%w: ledger: %s %s: the entry is %s", ErrConflict, op, key, e.State)
}

// CompleteSend records Twilio's SID for key.
func (s *Store) CompleteSend(ctx context.Context, key, sid, status string) error {
	if sid == "" {
		return fmt.Errorf("%w: ledger: completing %s without a SID", ErrInvalid, key)
	}
	return s.transition(ctx, "completing", key,
		func(e sbsync.LedgerEntry) bool { return e.State == sbsync.LedgerRecorded && e.SID == sid },
		`UPDATE sb_send_ledger SET state = ?, sid = ?, status = ?, updated_at = ?
			WHERE send_key = ? AND (state = ? OR (state = ? AND sid = ?))`,
		string(sbsync.LedgerSent), sid, status, time.Now().UnixNano(), key,
		string(sbsync.LedgerIntent), string(sbsync.LedgerSent), sid)
}

// FailSend records that Twilio refused the message for good.
func (s *Store) FailSend(ctx context.Context, key, reason string) error {
	return s.transition(ctx, "failing", key,
		func(e sbsync.LedgerEntry) bool { return e.State == sbsync.LedgerRecorded && e.SID == "" },
		`UPDATE sb_send_ledger SET state = ?, reason = ?, updated_at = ? WHERE send_key = ? AND state IN (?, ?)`,
		string(sbsync.LedgerFailed), reason, time.Now().UnixNano(), key,
		string(sbsync.LedgerIntent), string(sbsync.LedgerFailed))
}

// AbandonSend deletes an intent whose create provably did not reach Twilio.
// Abandoning a missing entry is a no-op; abandoning a sent one is refused.
func (s *Store) AbandonSend(ctx context.Context, key string) error {
	err := s.transition(ctx, "abandoning", key, func(sbsync.LedgerEntry) bool { return false },
		`DELETE FROM sb_send_ledger WHERE send_key = ? AND state = ?`, key, string(sbsync.LedgerIntent))
	if err != nil && isNotFound(err) {
		return nil
	}
	return err
}

// MarkRecorded notes that the outcome is written to Salesforce.
func (s *Store) MarkRecorded(ctx context.Context, key string) error {
	return s.transition(ctx, "recording", key, func(sbsync.LedgerEntry) bool { return false },
		`UPDATE sb_send_ledger SET state = ?, updated_at = ? WHERE send_key = ? AND state IN (?, ?, ?)`,
		string(sbsync.LedgerRecorded), time.Now().UnixNano(), key,
		string(sbsync.LedgerSent), string(sbsync.LedgerFailed), string(sbsync.LedgerRecorded))
}

// UnresolvedSends lists entries untouched for at least olderThan that are
// not recorded: intents whose create may or may not have reached Twilio, and
// outcomes (sent or failed) not yet written to Salesforce. Oldest first, at
// most 1000.
func (s *Store) UnresolvedSends(ctx context.Context, olderThan time.Duration) ([]sbsync.LedgerEntry, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	return s.ledgerQuery(ctx, `SELECT `+ledgerCols+` FROM sb_send_ledger
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
