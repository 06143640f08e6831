package store

import (
	"context"
	"fmt"
	gosync "sync"
)

// Lock holds the lock named key until unlock is called, in this process
// and, on PostgreSQL, in every replica sharing the database (a session
// advisory lock, released by PostgreSQL if the replica dies). It is for
// short critical sections that read and then write Salesforce, where two
// replicas deciding at once would each create a record: a conversation
// for a number that has none. On SQLite one process owns the file, and
// the lock is that process's.
//
// ctx bounds the wait. unlock must be called exactly once.
func (s *Store) Lock(ctx context.Context, key string) (unlock func(), err error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	if key == "" {
		return nil, fmt.Errorf("%w: empty lock key", ErrInvalid)
	}
	return s.eng.lock(ctx, key)
}

// keyedMutex is a mutex per key whose waits honour a context. Entries go
// away when nobody holds or waits for them.
type keyedMutex struct {
	mu    gosync.Mutex
	locks map[string]*keyedEntry
}

type keyedEntry struct {
	ch   chan struct{} // capacity 1: a token in it means held
	refs int
}

func (k *keyedMutex) lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedEntry{}
	}
	e := k.locks[key]
	if e == nil {
		e = &keyedEntry{ch: make(chan struct{}, 1)}
		k.locks[key] = e
	}
	e.refs++
	k.mu.Unlock()
	release := func() {
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
	select {
	case e.ch <- struct{}{}:
	case <-ctx.Done():
		release()
		return nil, fmt.Errorf("locking %q: %w", key, ctx.Err())
	}
	var once gosync.Once
	return func() {
		once.Do(func() {
			<-e.ch
			release()
		})
	}, nil
}
