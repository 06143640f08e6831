package jitter

import (
	"math"
	"testing"
	"time"
)

// One table for every caller's arithmetic: the lowest draw gives d/2, the
// highest d, where d is base·2^(attempt-1) capped at max.
func TestBackoff(t *testing.T) {
	lowest := func(time.Duration) time.Duration { return 0 }
	highest := func(n time.Duration) time.Duration { return n - 1 }
	for _, c := range []struct {
		name      string
		base, max time.Duration
		attempt   int
		full      time.Duration // d before jitter
	}{
		{"first attempt", time.Second, 10 * time.Minute, 1, time.Second},
		{"attempt 0 counts as 1", time.Second, 10 * time.Minute, 0, time.Second},
		{"negative attempt counts as 1", time.Second, 10 * time.Minute, -3, time.Second},
		{"doubles", time.Second, 10 * time.Minute, 2, 2 * time.Second},
		{"doubles again", time.Second, 10 * time.Minute, 5, 16 * time.Second},
		{"capped", time.Second, 10 * time.Minute, 11, 10 * time.Minute},
		{"capped far out", time.Second, 10 * time.Minute, 60, 10 * time.Minute},
		{"no overflow at the largest max", time.Second, math.MaxInt64 - 1, 200, math.MaxInt64 - 1},
		{"base above max", time.Minute, time.Second, 1, time.Second},
		{"REST client defaults, third retry", 250 * time.Millisecond, 10 * time.Second, 3, time.Second},
		{"zero base", 0, time.Second, 3, 0},
		{"zero max", time.Second, 0, 3, 0},
	} {
		lo, hi := backoff(c.base, c.max, c.attempt, lowest), backoff(c.base, c.max, c.attempt, highest)
		if lo != c.full/2 || hi != c.full {
			t.Errorf("%s: delays [%s, %s], want [%s, %s]", c.name, lo, hi, c.full/2, c.full)
		}
	}
	// The real source stays in range.
	for range 1000 {
		if d := Backoff(time.Second, time.Minute, 3); d < 2*time.Second || d > 4*time.Second {
			t.Fatalf("Backoff(1s, 1m, 3) = %s, want within [2s, 4s]", d)
		}
	}
}
