package sync

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/switchboard/switchboard/internal/jitter"
)

// outageTolerant turns a transient Salesforce failure (503, row locks,
// network; the client has already retried it a few times) into a snooze
// that uses no attempt: an outage of any length delays work but never
// dead-letters a message (SPEC §3 "Nothing is lost").
func (e *Engine) outageTolerant(h JobHandler) JobHandler {
	base := e.opts.OutageRetry
	return func(ctx context.Context, j Job) (err error) {
		start := time.Now()
		if e.opts.ObserveJob != nil {
			defer func() { e.opts.ObserveJob(j.Kind, time.Since(start), err) }()
		}
		err = h(ctx, j)
		if err == nil || IsPermanent(err) || e.opts.Retryable == nil || !e.opts.Retryable(err) {
			return err
		}
		var re *RetryError
		if errors.As(err, &re) {
			return err
		}
		// A snooze uses no attempt, so the wait does not grow: always
		// between OutageRetry and twice it (the one jitter rule, at a fixed
		// step).
		after := jitter.Backoff(2*base, 2*base, 1)
		e.log.Warn("salesforce unavailable; the job will run again", zap.String("kind", j.Kind),
			zap.String("key", j.Key), zap.Duration("after", after), zap.Error(err))
		return &RetryError{After: after, Err: err}
	}
}

// overBudget: the org has used more than APIBudget of its daily calls, so
// background work (sweeps, polls) yields to sends and replies.
func (e *Engine) overBudget() bool {
	if e.opts.APIUsage == nil {
		return false
	}
	used, limit := e.opts.APIUsage()
	return limit > 0 && float64(used) >= e.opts.APIBudget*float64(limit)
}
