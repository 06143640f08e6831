package sync

import (
	"context"
	"errors"
	gosync "sync"
	"time"
)

// Batcher coalesces single requests from many goroutines into batched calls:
// a flush happens when Max items are waiting or Window has passed since the
// first of them. This is how per-message work (a River job per Task) turns
// into one SOQL query or one sObject Collections call for up to 200 records.
type Batcher[In, Out any] struct {
	// Max is the most items one flush gets (200 for sObject Collections).
	Max int
	// Window is how long the first waiting item waits for company.
	Window time.Duration
	// Flush handles a batch and returns one result per item, in order, or
	// an error that every item of the batch receives.
	Flush func(ctx context.Context, items []In) ([]Out, error)

	mu      gosync.Mutex
	pending []call[In, Out]
	timer   *time.Timer
}

type call[In, Out any] struct {
	in  In
	res chan result[Out]
}

type result[Out any] struct {
	out Out
	err error
}

// errShortResult guards against a Flush that loses items.
var errShortResult = errors.New("sync: batch flush returned fewer results than items")

// Do queues in for the next flush and waits for its result. If ctx ends
// first, Do returns ctx's error; the item may still be flushed.
func (b *Batcher[In, Out]) Do(ctx context.Context, in In) (Out, error) {
	c := call[In, Out]{in: in, res: make(chan result[Out], 1)}
	b.mu.Lock()
	b.pending = append(b.pending, c)
	var batch []call[In, Out]
	switch {
	case len(b.pending) >= b.max():
		batch = b.takeLocked()
	case len(b.pending) == 1:
		b.timer = time.AfterFunc(b.Window, b.flushTimer)
	}
	b.mu.Unlock()
	if batch != nil {
		// The caller that fills the batch runs the flush; its own context
		// is deliberately not used, so one impatient caller cannot fail the
		// other 199.
		go b.run(batch)
	}
	select {
	case r := <-c.res:
		return r.out, r.err
	case <-ctx.Done():
		var zero Out
		return zero, ctx.Err()
	}
}

func (b *Batcher[In, Out]) max() int {
	if b.Max <= 0 {
		return 200
	}
	return b.Max
}

func (b *Batcher[In, Out]) takeLocked() []call[In, Out] {
	batch := b.pending
	b.pending = nil
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	return batch
}

func (b *Batcher[In, Out]) flushTimer() {
	b.mu.Lock()
	batch := b.takeLocked()
	b.mu.Unlock()
	if len(batch) > 0 {
		b.run(batch)
	}
}

func (b *Batcher[In, Out]) run(batch []call[In, Out]) {
	items := make([]In, len(batch))
	for i, c := range batch {
		items[i] = c.in
	}
	// Flushes get their own deadline-free context: they are bounded by the
	// clients' own timeouts, and abandoning a half-written batch is worse.
	outs, err := b.Flush(context.Background(), items)
	if err == nil && len(outs) != len(items) {
		err = errShortResult
	}
	for i, c := range batch {
		if err != nil {
			c.res <- result[Out]{err: err}
			continue
		}
		c.res <- result[Out]{out: outs[i]}
	}
}
