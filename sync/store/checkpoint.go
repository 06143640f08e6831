package store

import (
	"context"
	"fmt"
	"time"
)

// EnqueueAndCheckpoint stores jobs and moves channel's replay checkpoint to
// replayID in one transaction, so a checkpoint is never ahead of the events
// it covers (SPEC §3: "a replay checkpoint is stored after the event is
// durably queued"). The checkpoint never moves backwards: a lower replayID
// (events can arrive out of order, dependencies.md §4) leaves it where it
// is, and the jobs are stored all the same.
func (s *Store) EnqueueAndCheckpoint(ctx context.Context, jobs []Job, channel string, replayID int64) error {
	if channel == "" {
		return fmt.Errorf("%w: empty checkpoint channel", ErrInvalid)
	}
	params, _, err := s.insertParams(jobs)
	if err != nil {
		return err
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	err = s.eng.tx(ctx, func(q querier, insert inserter) error {
		if len(params) > 0 {
			if _, err := insert(ctx, params); err != nil {
				return fmt.Errorf("enqueueing %d jobs: %w", len(params), err)
			}
		}
		_, err := q.exec(ctx, `INSERT INTO sb_checkpoint (channel, replay_id, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (channel) DO UPDATE SET replay_id = excluded.replay_id, updated_at = excluded.updated_at
			WHERE sb_checkpoint.replay_id < excluded.replay_id`, channel, replayID, time.Now().UnixNano())
		if err != nil {
			return fmt.Errorf("storing the checkpoint of %s: %w", channel, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.eng.durable(ctx)
}

// Checkpoint returns channel's stored replay id; ok is false when there is
// none (first start, or after ResetCheckpoint).
func (s *Store) Checkpoint(ctx context.Context, channel string) (replayID int64, ok bool, err error) {
	if err := s.checkOpen(); err != nil {
		return 0, false, err
	}
	r, err := s.eng.q().query(ctx, `SELECT replay_id FROM sb_checkpoint WHERE channel = ?`, channel)
	if err != nil {
		return 0, false, fmt.Errorf("reading the checkpoint of %s: %w", channel, err)
	}
	defer r.Close()
	if r.Next() {
		if err := r.Scan(&replayID); err != nil {
			return 0, false, fmt.Errorf("reading the checkpoint of %s: %w", channel, err)
		}
		return replayID, true, nil
	}
	if err := r.Err(); err != nil {
		return 0, false, fmt.Errorf("reading the checkpoint of %s: %w", channel, err)
	}
	return 0, false, nil
}

// CheckpointTime is when channel's checkpoint last moved: about when its
// newest queued event arrived. After a gap, what changed since then may
// have been missed. ok is false when there is no checkpoint.
func (s *Store) CheckpointTime(ctx context.Context, channel string) (at time.Time, ok bool, err error) {
	if err := s.checkOpen(); err != nil {
		return time.Time{}, false, err
	}
	r, err := s.eng.q().query(ctx, `SELECT updated_at FROM sb_checkpoint WHERE channel = ?`, channel)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("reading the checkpoint of %s: %w", channel, err)
	}
	defer r.Close()
	if r.Next() {
		var ns int64
		if err := r.Scan(&ns); err != nil {
			return time.Time{}, false, fmt.Errorf("reading the checkpoint of %s: %w", channel, err)
		}
		return time.Unix(0, ns), true, nil
	}
	if err := r.Err(); err != nil {
		return time.Time{}, false, fmt.Errorf("reading the checkpoint of %s: %w", channel, err)
	}
	return time.Time{}, false, nil
}

// ResetCheckpoint forgets channel's checkpoint, for when Salesforce rejects
// the stored replay id; the next checkpoint may then be any value.
func (s *Store) ResetCheckpoint(ctx context.Context, channel string) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	if _, err := s.eng.q().exec(ctx, `DELETE FROM sb_checkpoint WHERE channel = ?`, channel); err != nil {
		return fmt.Errorf("resetting the checkpoint of %s: %w", channel, err)
	}
	return nil
}
