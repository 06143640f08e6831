// Package testclock is the clock a test moves instead of sleeping. Its
// Now is what a component takes as its time source (sync.InboundConfig.Now,
// the daemon's tuning); Add moves it. Only tests import it.
package testclock

import (
	"sync"
	"time"
)

// Clock is a time that stands still until Add moves it; safe for
// concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock that reads start.
func New(start time.Time) *Clock { return &Clock{t: start} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
