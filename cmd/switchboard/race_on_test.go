//go:build race

package main

// raceDetector: the race detector slows everything about tenfold, so
// figures that depend on timing (calls per message) are not asserted.
const raceDetector = true
