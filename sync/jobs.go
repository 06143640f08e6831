package sync

import (
	"errors"
	"fmt"
	gosync "sync"
	"time"

	"github.com/switchboard/switchboard/sfdc/soql"
)

// PermanentError marks a job that no retry can complete as it stands: a
// webhook naming a number no Channel__c has, a status Twilio never sends, a
// parked callback whose Task never appeared. The queue dead-letters such a
// job — keeps it for an operator to read and replay — rather than retrying
// it forever or dropping it.
type PermanentError struct {
	Err error
}

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err (or anything it wraps) is a
// *PermanentError.
func IsPermanent(err error) bool {
	var pe *PermanentError
	return errors.As(err, &pe)
}

func permanentf(format string, args ...any) error {
	return &PermanentError{Err: fmt.Errorf(format, args...)}
}

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

// parseOrgTime reads a datetime from a query result; "" and garbage give
// the zero time.
func parseOrgTime(s string) time.Time {
	t, _ := soql.ParseTime(s)
	return t
}

// whoPrefixes are the key prefixes of the objects a Task's WhoId can name
// (Contact, Lead); any other record goes in WhatId.
var whoPrefixes = map[string]bool{"003": true, "00Q": true}

// looksLikeID accepts 15- and 18-character Salesforce Ids (alphanumeric),
// the only thing Record_Id__c may splice into a lookup field.
func looksLikeID(s string) bool {
	if len(s) != 15 && len(s) != 18 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// isWhoID reports whether id names a Contact or Lead.
func isWhoID(id string) bool { return len(id) >= 3 && whoPrefixes[id[:3]] }
