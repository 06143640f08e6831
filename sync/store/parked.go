package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
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
	_, err := s.parks.do(ctx, parkCall{sid: sid, payload: payload, expires: expires.UnixNano(), at: time.Now().UnixNano()})
	return err
}

type parkCall struct {
	sid         string
	payload     []byte
	expires, at int64
}

// parkBatch inserts several callers' callbacks with one multi-row INSERT.
func (s *Store) parkBatch(ctx context.Context, items []parkCall) ([]groupResult[struct{}], bool, error) {
	const chunk = 500 // 4 values a row
	err := s.eng.tx(ctx, func(q querier, _ inserter) error {
		for start := 0; start < len(items); start += chunk {
			part := items[start:min(start+chunk, len(items))]
			args := make([]any, 0, 4*len(part))
			for _, p := range part {
				args = append(args, p.sid, p.payload, p.expires, p.at)
			}
			if _, err := q.exec(ctx, `INSERT INTO sb_parked (sid, payload, expires_at, created_at) VALUES `+
				repeatRows("(?, ?, ?, ?)", len(part)), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if len(items) == 1 {
			return nil, false, fmt.Errorf("parking a callback for %s: %w", items[0].sid, err)
		}
		return nil, false, fmt.Errorf("parking %d callbacks: %w", len(items), err)
	}
	return make([]groupResult[struct{}], len(items)), false, nil
}

// TakeParked removes and returns the unexpired callbacks kept for sids, in
// the order they were parked. Taken callbacks are gone: a caller that may
// crash before applying them should use RequeueParked instead.
//
// Concurrent calls share one transaction (group.go); a callback wanted by
// two of them goes to the one that asked first.
func (s *Store) TakeParked(ctx context.Context, sids []string) (map[string][][]byte, error) {
	if len(sids) == 0 {
		return map[string][][]byte{}, nil
	}
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	return s.takes.do(ctx, sids)
}

// takeBatch takes the callbacks of every caller's SIDs in one transaction.
func (s *Store) takeBatch(ctx context.Context, items [][]string) ([]groupResult[map[string][][]byte], bool, error) {
	var all []string
	seen := map[string]bool{}
	for _, sids := range items {
		for _, sid := range sids {
			if !seen[sid] {
				seen[sid] = true
				all = append(all, sid)
			}
		}
	}
	slices.Sort(all)
	var got []Parked
	err := s.eng.tx(ctx, func(q querier, _ inserter) error {
		now := time.Now().UnixNano()
		const chunk = 500
		for start := 0; start < len(all); start += chunk {
			part := all[start:min(start+chunk, len(all))]
			args := make([]any, 0, len(part)+1)
			for _, sid := range part {
				args = append(args, sid)
			}
			args = append(args, now)
			ps, err := queryParked(ctx, q, `SELECT id, sid, payload, expires_at, created_at FROM sb_parked
				WHERE sid IN (`+placeholders(len(part))+`) AND expires_at > ? ORDER BY id`, args...)
			if err != nil {
				return err
			}
			if len(ps) > 0 {
				if err := deleteParked(ctx, q, ps); err != nil {
					return err
				}
			}
			got = append(got, ps...)
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("taking parked callbacks: %w", err)
	}
	// Parking order, across chunks too.
	slices.SortFunc(got, func(a, b Parked) int { return cmp.Compare(a.ID, b.ID) })
	owner := map[string]int{}
	res := make([]groupResult[map[string][][]byte], len(items))
	for i, sids := range items {
		res[i].out = map[string][][]byte{}
		for _, sid := range sids {
			if _, ok := owner[sid]; !ok {
				owner[sid] = i
			}
		}
	}
	for _, p := range got {
		m := res[owner[p.SID]].out
		m[p.SID] = append(m[p.SID], p.Payload)
	}
	return res, false, nil
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
