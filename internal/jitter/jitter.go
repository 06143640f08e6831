// Package jitter holds the one retry delay switchboard uses everywhere it
// backs off (the River job queue, the engine's outage snooze, the Salesforce
// REST client, the Streaming API client): exponential, capped, with "equal
// jitter" — half fixed, half random — so replicas and jobs that failed
// together do not retry together.
package jitter

import (
	"math/rand/v2"
	"time"
)

// Backoff is the delay before retry number attempt (1 for the first):
// base·2^(attempt-1), capped at max, then a uniformly random duration in
// [d/2, d]. Attempts below 1 count as 1; a base of 0 or less gives 0.
func Backoff(base, max time.Duration, attempt int) time.Duration {
	return backoff(base, max, attempt, rand.N[time.Duration])
}

// backoff is Backoff with the random source injected: rnd(n) returns a
// value in [0, n).
func backoff(base, max time.Duration, attempt int, rnd func(time.Duration) time.Duration) time.Duration {
	if base <= 0 {
		return 0
	}
	d := base
	for i := 1; i < attempt && d < max; i++ {
		if d > max/2 {
			d = max // doubling would pass max, or overflow
			break
		}
		d *= 2
	}
	d = min(d, max)
	if d <= 0 {
		return 0
	}
	return d/2 + rnd(d/2+1)
}
