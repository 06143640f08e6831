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
//
// At most MaxInFlight flushes run at once ("smart batching"): while a
// Salesforce call is out, new items wait and go together in the next one.
// Under a burst, batches therefore grow towards Max by themselves, and a
// quiet system still flushes after Window; the cost is bounded by one call
// of latency, never by a longer fixed window.
type Batcher[In, Out any] struct {
	// Max is the most items one flush gets (200 for sObject Collections).
	Max int
	// Window is how long the first waiting item waits for company.
	Window time.Duration
	// MaxInFlight is how many flushes may run at once (default 1).
	MaxInFlight int
	// Flush handles a batch and returns one result per item, in order, or
	// an error that every item of the batch receives.
	Flush func(ctx context.Context, items []In) ([]Out, error)

	mu       gosync.Mutex
	pending  []call[In, Out]
	firstAt  time.Time // when the oldest pending item arrived
	timer    *time.Timer
	inFlight int
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
	if len(b.pending) == 1 {
		b.firstAt = time.Now()
		b.timer = time.AfterFunc(b.Window, b.flushTimer)
	}
	b.startLocked(false)
	b.mu.Unlock()
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

func (b *Batcher[In, Out]) maxInFlight() int {
	if b.MaxInFlight <= 0 {
		return 1
	}
	return b.MaxInFlight
}

// startLocked starts flushes while a slot is free and a batch is due: full,
// or its oldest item has waited Window (windowDue says the timer fired).
func (b *Batcher[In, Out]) startLocked(windowDue bool) {
	for b.inFlight < b.maxInFlight() && len(b.pending) > 0 {
		due := windowDue || len(b.pending) >= b.max() || time.Since(b.firstAt) >= b.Window
		if !due {
			return
		}
		n := min(len(b.pending), b.max())
		batch := b.pending[:n:n]
		b.pending = append([]call[In, Out](nil), b.pending[n:]...)
		if b.timer != nil {
			b.timer.Stop()
			b.timer = nil
		}
		if len(b.pending) > 0 {
			// The rest has waited as long as the batch just taken.
			b.timer = time.AfterFunc(max(b.Window-time.Since(b.firstAt), 0), b.flushTimer)
		}
		b.inFlight++
		// The flush runs on its own goroutine with its own context, so one
		// impatient caller cannot fail the other 199.
		go b.run(batch)
		windowDue = false
	}
}

func (b *Batcher[In, Out]) flushTimer() {
	b.mu.Lock()
	b.timer = nil
	b.startLocked(true)
	b.mu.Unlock()
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
	b.mu.Lock()
	b.inFlight--
	b.startLocked(false)
	b.mu.Unlock()
}
