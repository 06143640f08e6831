package sfdc

import (
	"context"
	"sync"
)

// queueItem is either a run of events of one channel, in replay order, or
// a gap notice (gap != ""). Gap notices travel through the same queue so
// the consumer sees them in order with the events around them.
type queueItem struct {
	channel string
	epoch   int
	events  []Event
	gap     string
}

// handoff is the bounded queue between the long-poll loop and the consumer.
// push never blocks: when the queue is full it refuses, and the poller
// recovers the refused events later by replay (see Stream's doc comment).
type handoff struct {
	mu     sync.Mutex
	items  []queueItem
	events int // events held, the quantity the bound applies to
	limit  int
	wake   chan struct{}
}

func newHandoff(limit int) *handoff {
	return &handoff{limit: limit, wake: make(chan struct{}, 1)}
}

// push appends it unless that would exceed the bound. A gap notice always
// fits, and so does a batch larger than the bound when the queue is empty,
// or one oversized reply could never be delivered.
func (h *handoff) push(it queueItem) bool {
	h.mu.Lock()
	n := len(it.events)
	if it.gap == "" && h.events > 0 && h.events+n > h.limit {
		h.mu.Unlock()
		return false
	}
	h.items = append(h.items, it)
	h.events += n
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
	return true
}

// held is the number of events waiting.
func (h *handoff) held() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.events
}

// next waits for the head of the queue and returns it, coalesced with the
// items right behind it of the same channel and epoch, up to max events.
func (h *handoff) next(ctx context.Context, max int) (queueItem, bool) {
	for {
		h.mu.Lock()
		if len(h.items) > 0 {
			it := h.items[0]
			h.items = h.items[1:]
			if it.gap == "" {
				evs := it.events
				for len(h.items) > 0 {
					nx := h.items[0]
					if nx.gap != "" || nx.channel != it.channel || nx.epoch != it.epoch || len(evs)+len(nx.events) > max {
						break
					}
					if len(evs) == len(it.events) {
						evs = append([]Event(nil), it.events...)
					}
					evs = append(evs, nx.events...)
					h.items = h.items[1:]
				}
				it.events = evs
				h.events -= len(evs)
			}
			if len(h.items) == 0 {
				h.items = nil // let the backing array go
			}
			h.mu.Unlock()
			return it, true
		}
		h.mu.Unlock()
		select {
		case <-ctx.Done():
			return queueItem{}, false
		case <-h.wake:
		}
	}
}
