package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Parked status callbacks (SPEC §3): a callback for a SID that no Task
// carries yet is kept until a Task does, or until it expires.

// Parked is one kept callback.
type Parked struct {
	ID       int64
	SID      string
	Payload  []byte
	Expires  time.Time
	ParkedAt time.Time
}

// Park keeps payload for sid until expires.
func (s *Store) Park(ctx context.Context, sid string, payload []byte, expires time.Time) error {
	if sid == "" {
		return fmt.Errorf("%w: parking a callback without a SID", ErrInvalid)
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	if payload == nil {
		payload = []byte{}
	}
	_, err := s.eng.q().exec(ctx, `INSERT INTO sb_parked (sid, payload, expires_at, created_at) VALUES (?, ?, ?, ?)`,
		sid, payload, expires.UnixNano(), time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("parking a callback for %s: %w", sid, err)
	}
	return nil
}

// TakeParked removes and returns the unexpired callbacks kept for sids, in
// the order they were parked. Taken callbacks are gone: a caller that may
// crash before applying them should use RequeueParked instead.
func (s *Store) TakeParked(ctx context.Context, sids []string) (map[string][][]byte, error) {
	out := map[string][][]byte{}
	err := s.takeParked(ctx, sids, func(q querier, ins inserter, ps []Parked) error {
		for _, p := range ps {
			out[p.SID] = append(out[p.SID], p.Payload)
		}
		return nil
	})
	return out, err
}

// RequeueParked turns the unexpired callbacks kept for sids into jobs of
// kind (Key "parked:<id>", Payload the callback) in the same transaction that
// removes them, so none is lost between taking and applying. It returns how
// many were queued.
func (s *Store) RequeueParked(ctx context.Context, sids []string, kind string) (int, error) {
	if err := checkKind(kind); err != nil {
		return 0, err
	}
	n := 0
	err := s.takeParked(ctx, sids, func(q querier, ins inserter, ps []Parked) error {
		jobs := make([]Job, len(ps))
		for i, p := range ps {
			jobs[i] = Job{Kind: kind, Key: fmt.Sprintf("parked:%d", p.ID), Payload: p.Payload}
		}
		params, _, err := s.insertParams(jobs)
		if err != nil {
			return err
		}
		if len(params) > 0 {
			if _, err := ins(ctx, params); err != nil {
				return err
			}
		}
		n = len(params)
		return nil
	})
	return n, err
}

func (s *Store) takeParked(ctx context.Context, sids []string, use func(querier, inserter, []Parked) error) error {
	if len(sids) == 0 {
		return nil
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	const chunk = 500
	for start := 0; start < len(sids); start += chunk {
		part := sids[start:min(start+chunk, len(sids))]
		err := s.eng.tx(ctx, func(q querier, ins inserter) error {
			args := make([]any, 0, len(part)+1)
			for _, sid := range part {
				args = append(args, sid)
			}
			args = append(args, time.Now().UnixNano())
			ps, err := queryParked(ctx, q, `SELECT id, sid, payload, expires_at, created_at FROM sb_parked
				WHERE sid IN (`+placeholders(len(part))+`) AND expires_at > ? ORDER BY id`, args...)
			if err != nil || len(ps) == 0 {
				return err
			}
			if err := deleteParked(ctx, q, ps); err != nil {
				return err
			}
			return use(q, ins, ps)
		})
		if err != nil {
			return fmt.Errorf("taking parked callbacks: %w", err)
		}
	}
	return nil
}

// ExpiredParked removes and returns callbacks whose time ran out before a
// Task carried their SID (at most 1000 per call), so the caller can log them
// or poll Twilio for their message.
func (s *Store) ExpiredParked(ctx context.Context, now time.Time) ([]Parked, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	var out []Parked
	err := s.eng.tx(ctx, func(q querier, _ inserter) error {
		ps, err := queryParked(ctx, q, `SELECT id, sid, payload, expires_at, created_at FROM sb_parked
			WHERE expires_at <= ? ORDER BY id LIMIT 1000`, now.UnixNano())
		if err != nil || len(ps) == 0 {
			return err
		}
		out = ps
		return deleteParked(ctx, q, ps)
	})
	if err != nil {
		return nil, fmt.Errorf("taking expired parked callbacks: %w", err)
	}
	return out, nil
}

// DropExpiredParked deletes callbacks expired before now without reading
// them (the daily sweep's backstop if nobody calls ExpiredParked).
func (s *Store) DropExpiredParked(ctx context.Context, now time.Time) (int64, error) {
	if err := s.checkOpen(); err != nil {
		return 0, err
	}
	n, err := s.eng.q().exec(ctx, `DELETE FROM sb_parked WHERE expires_at <= ?`, now.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("dropping expired parked callbacks: %w", err)
	}
	return n, nil
}

func queryParked(ctx context.Context, q querier, sql string, args ...any) ([]Parked, error) {
	r, err := q.query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []Parked
	for r.Next() {
		var p Parked
		var exp, at int64
		if err := r.Scan(&p.ID, &p.SID, &p.Payload, &exp, &at); err != nil {
			return nil, err
		}
		p.Expires, p.ParkedAt = time.Unix(0, exp), time.Unix(0, at)
		out = append(out, p)
	}
	return out, r.Err()
}

func deleteParked(ctx context.Context, q querier, ps []Parked) error {
	args := make([]any, len(ps))
	for i, p := range ps {
		args[i] = p.ID
	}
	_, err := q.exec(ctx, `DELETE FROM sb_parked WHERE id IN (`+placeholders(len(ps))+`)`, args...)
	return err
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
