package store

import (
	"context"
	"testing"
	"time"
)

// TestTakeoverDefaults: a dead process's jobs are rescued 3 s after the
// job timeout (5 s by default), which keeps the engine's intent takeover
// (twice the job timeout) at 10 s; a longer job timeout alone moves the
// rescue with it instead of being refused.
func TestTakeoverDefaults(t *testing.T) {
	for _, c := range []struct {
		in                   Options
		timeout, rescueAfter time.Duration
	}{
		{Options{}, 5 * time.Second, 8 * time.Second},
		{Options{JobTimeout: time.Minute}, time.Minute, time.Minute + 3*time.Second},
		{Options{JobTimeout: time.Second, RescueStuckJobsAfter: 2 * time.Second}, time.Second, 2 * time.Second},
	} {
		o, err := c.in.withDefaults()
		if err != nil {
			t.Errorf("%+v: %v", c.in, err)
			continue
		}
		if o.JobTimeout != c.timeout || o.RescueStuckJobsAfter != c.rescueAfter {
			t.Errorf("JobTimeout %s, RescueStuckJobsAfter %s: got %s and %s, want %s and %s", c.in.JobTimeout, c.in.RescueStuckJobsAfter,
				o.JobTimeout, o.RescueStuckJobsAfter, c.timeout, c.rescueAfter)
		}
	}
}

// TestCloseAfterAFailedStart: Start that could not start the queue (here:
// its context already ended) leaves nothing running, and Close returns.
func TestCloseAfterAFailedStart(t *testing.T) {
	s, err := Open(bg, sqliteURL(t), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if err := s.Start(ctx); err == nil {
		t.Fatal("Start with an ended context succeeded")
	}
	if err := s.Close(bg); err != nil {
		t.Fatalf("Close: %v", err)
	}
}
