package sync

import (
	"errors"
	"fmt"
	"time"
)

// The two errors a job handler returns to tell the queue what to do other
// than "failed, retry with backoff": run it again later without using an
// attempt (RetryError), or keep it as a dead letter now (PermanentError).
// The store's worker reads them (sync/store/jobs.go).

// RetryError asks the queue to run the job again after After without
// counting it as a failed attempt (throttling, outages).
type RetryError struct {
	After time.Duration
	Err   error
}

func (e *RetryError) Error() string { return fmt.Sprintf("retry in %s: %v", e.After, e.Err) }
func (e *RetryError) Unwrap() error { return e.Err }

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
