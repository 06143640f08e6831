package store

import (
	"context"
	"errors"
	gosync "sync"
	"sync/atomic"
	"time"
)

// groupCommit coalesces concurrent calls of one store operation into one
// transaction. 200 River handlers each writing a one-row transaction spend
// their time queueing for SQLite's only connection (BeginTx), not writing;
// one transaction of 200 rows costs about as much as one of a single row.
//
// Smart batching, as in sbsync.Batcher: a call that finds no flush running
// starts one at once (a lone call waits for nothing), and calls arriving
// while a flush runs go together in the next. Unlike sbsync.Batcher, errors
// are per item: a flush whose transaction fails is retried one item per
// transaction, so one caller's bad row (a constraint, a trigger) fails only
// that caller. And the durability wait is pipelined: once a batch has
// committed, the next batch may start committing while this one waits for
// the shared fsync (walsync.go).
type groupCommit[In, Out any] struct {
	// run executes items in one transaction and returns one result per
	// item, or an error for the transaction as a whole (then each item is
	// run again alone). durable asks for an fsync before results are
	// delivered.
	run func(ctx context.Context, items []In) (res []groupResult[Out], durable bool, err error)
	// sync waits for durability (nil: commits are durable already).
	sync func(ctx context.Context) error
	// maxSize bounds one batch by the sum of size(item) (size nil: 1 each);
	// a batch always takes at least one item.
	maxSize int
	size    func(In) int
	// base bounds every flush; the store cancels it when Close gives up
	// waiting.
	base context.Context

	// For tests: transactions run (fallback ones included) and the largest
	// batch taken.
	flushes, maxBatch atomic.Int64

	mu      gosync.Mutex
	pending []groupCall[In, Out]
	running bool
	closed  bool
	wg      gosync.WaitGroup
}

type groupCall[In, Out any] struct {
	ctx context.Context
	in  In
	res chan groupResult[Out]
}

type groupResult[Out any] struct {
	out Out
	err error
}

// flushTimeout bounds one flush. Flushes do not use a caller's context: one
// impatient caller must not roll back the other 199.
const flushTimeout = 30 * time.Second

// do queues in and waits for its result. If ctx ends first, do returns its
// error; the write may still commit (as with any write whose caller gives
// up), except that an item whose caller is gone before its flush starts is
// not written at all.
func (g *groupCommit[In, Out]) do(ctx context.Context, in In) (Out, error) {
	c := groupCall[In, Out]{ctx: ctx, in: in, res: make(chan groupResult[Out], 1)}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		var zero Out
		return zero, ErrClosed
	}
	g.pending = append(g.pending, c)
	if !g.running {
		g.running = true
		g.wg.Add(1)
		go g.flusher()
	}
	g.mu.Unlock()
	select {
	case r := <-c.res:
		return r.out, r.err
	case <-ctx.Done():
		var zero Out
		return zero, ctx.Err()
	}
}

// close refuses new calls; wait then returns once every queued one is
// answered.
func (g *groupCommit[In, Out]) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

func (g *groupCommit[In, Out]) wait() { g.wg.Wait() }

// take removes the next batch from pending; ok is false (and the flusher
// role is given up) when nothing is waiting.
func (g *groupCommit[In, Out]) take() (batch []groupCall[In, Out], ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.pending) == 0 {
		g.running = false
		return nil, false
	}
	n, total := 0, 0
	for n < len(g.pending) {
		w := 1
		if g.size != nil {
			w = max(g.size(g.pending[n].in), 1)
		}
		if n > 0 && total+w > g.maxSize {
			break
		}
		total += w
		n++
	}
	batch = g.pending[:n:n]
	if int64(n) > g.maxBatch.Load() {
		g.maxBatch.Store(int64(n))
	}
	g.pending = append([]groupCall[In, Out](nil), g.pending[n:]...)
	return batch, true
}

// handOver passes the flusher role to a new goroutine if calls are waiting,
// so they commit while this goroutine waits for its fsync.
func (g *groupCommit[In, Out]) handOver() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.pending) == 0 {
		g.running = false
		return
	}
	g.wg.Add(1)
	go g.flusher()
}

func (g *groupCommit[In, Out]) flusher() {
	defer g.wg.Done()
	for {
		batch, ok := g.take()
		if !ok {
			return
		}
		live := batch[:0:0]
		for _, c := range batch {
			if err := c.ctx.Err(); err != nil {
				c.res <- groupResult[Out]{err: err}
				continue
			}
			live = append(live, c)
		}
		if len(live) == 0 {
			continue
		}
		res, durable := g.flush(live)
		if durable && g.sync != nil {
			g.handOver()
			ctx, cancel := context.WithTimeout(g.base, flushTimeout)
			err := g.sync(ctx)
			cancel()
			if err != nil {
				for i := range res {
					if res[i].err == nil {
						res[i] = groupResult[Out]{err: err}
					}
				}
			}
			deliver(live, res)
			return
		}
		deliver(live, res)
	}
}

func deliver[In, Out any](batch []groupCall[In, Out], res []groupResult[Out]) {
	for i, c := range batch {
		c.res <- res[i]
	}
}

// flush runs the batch in one transaction, or item by item if that fails.
func (g *groupCommit[In, Out]) flush(batch []groupCall[In, Out]) ([]groupResult[Out], bool) {
	items := make([]In, len(batch))
	for i, c := range batch {
		items[i] = c.in
	}
	ctx, cancel := context.WithTimeout(g.base, flushTimeout)
	defer cancel()
	g.flushes.Add(1)
	res, durable, err := g.run(ctx, items)
	if err == nil && len(res) == len(items) {
		return res, durable
	}
	if len(items) == 1 {
		if err == nil {
			err = errShortFlush
		}
		return []groupResult[Out]{{err: err}}, false
	}
	// Whatever made the transaction fail fails only the items it concerns.
	res = make([]groupResult[Out], len(items))
	durable = false
	for i := range items {
		g.flushes.Add(1)
		r, d, err := g.run(ctx, items[i:i+1])
		switch {
		case err != nil:
			res[i] = groupResult[Out]{err: err}
		case len(r) != 1:
			res[i] = groupResult[Out]{err: errShortFlush}
		default:
			res[i] = r[0]
			durable = durable || d
		}
	}
	return res, durable
}

// errShortFlush guards against a run that loses items (a bug).
var errShortFlush = errors.New("store: a batched write returned fewer results than items")
