package sync

import (
	gosync "sync"
	"time"
)

// recentSet remembers keys for about ttl, in two generations so that
// memory stays bounded without a sweep: a key is forgotten between ttl and
// 2×ttl after it was added, or earlier if a generation fills up. It is the
// engine's cheap first line against duplicate work (a retried webhook, a
// repeated callback); Salesforce's unique keys and the status order are
// the real guarantee, so forgetting early only costs a redundant call.
type recentSet struct {
	ttl time.Duration
	max int

	mu        gosync.Mutex
	cur, prev map[string]struct{}
	rotated   time.Time
	now       func() time.Time
}

func newRecentSet(ttl time.Duration, max int) *recentSet {
	return &recentSet{ttl: ttl, max: max, cur: map[string]struct{}{}, prev: map[string]struct{}{}, now: time.Now}
}

func (s *recentSet) rotateLocked() {
	now := s.now()
	if s.rotated.IsZero() {
		s.rotated = now
	}
	if now.Sub(s.rotated) >= s.ttl || len(s.cur) >= s.max {
		s.prev, s.cur, s.rotated = s.cur, map[string]struct{}{}, now
	}
}

func (s *recentSet) Add(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotateLocked()
	s.cur[key] = struct{}{}
}

func (s *recentSet) Has(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotateLocked()
	if _, ok := s.cur[key]; ok {
		return true
	}
	_, ok := s.prev[key]
	return ok
}

func (s *recentSet) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.cur, key)
	delete(s.prev, key)
}
