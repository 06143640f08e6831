package store

import (
	"context"
	"testing"
	"time"
)

// TestTakeoverDefaults: a dead process's jobs are taken over once it has
// been silent for 3 s (and their attempt is older than the 5 s job
// timeout), which keeps the engine's intent takeover (twice the job
// timeout) at 10 s. River's own rescuer, which does not ask whether the
// worker lives, waits far longer: 10 job timeouts, at least a minute.
func TestTakeoverDefaults(t *testing.T) {
	for _, c := range []struct {
		in                             Options
		timeout, liveness, rescueAfter time.Duration
	}{
		{Options{}, 5 * time.Second, 3 * time.Second, time.Minute},
		{Options{JobTimeout: time.Minute}, time.Minute, 3 * time.Second, 10 * time.Minute},
		{Options{JobTimeout: time.Second, RescueStuckJobsAfter: 2 * time.Second, LivenessWindow: time.Second},
			time.Second, time.Second, 2 * time.Second},
	} {
		o, err := c.in.withDefaults()
		if err != nil {
			t.Errorf("%+v: %v", c.in, err)
			continue
		}
		if o.JobTimeout != c.timeout || o.LivenessWindow != c.liveness || o.RescueStuckJobsAfter != c.rescueAfter {
			t.Errorf("JobTimeout %s, LivenessWindow %s, RescueStuckJobsAfter %s: got %s, %s and %s, want %s, %s and %s",
				c.in.JobTimeout, c.in.LivenessWindow, c.in.RescueStuckJobsAfter,
				o.JobTimeout, o.LivenessWindow, o.RescueStuckJobsAfter, c.timeout, c.liveness, c.rescueAfter)
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
