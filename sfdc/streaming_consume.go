package sfdc

import (
	"context"
	"slices"
	"strings"

	"go.uber.org/zap"
)

// deliver queues the events of a reply: per channel, sorted by replay id
// (replies may carry messages in any order, ref §3.2), without ids already
// queued. It never blocks; a full queue refuses and sets s.refusal.
func (s *Stream) deliver(replies []bayeuxReply) {
	type batch struct {
		channel string
		events  []Event
	}
	var batches []*batch
	byCh := map[string]*batch{}
	for i := range replies {
		m := &replies[i]
		if strings.HasPrefix(m.Channel, "/meta/") || len(m.Data) == 0 {
			continue
		}
		ch := baseChannel(m.Channel)
		if _, ok := s.chans[ch]; !ok {
			s.log.Warn("salesforce stream message on a channel not subscribed", zap.String("channel", m.Channel))
			continue
		}
		ev, err := parseEvent(ch, m.Data)
		if err != nil {
			s.log.Error("unreadable salesforce notification", zap.Error(err))
			s.gap(ch, "unreadable notification: "+err.Error())
			continue
		}
		b := byCh[ch]
		if b == nil {
			b = &batch{channel: ch}
			byCh[ch] = b
			batches = append(batches, b)
		}
		b.events = append(b.events, ev)
	}
	for _, b := range batches {
		slices.SortStableFunc(b.events, func(x, y Event) int {
			switch {
			case x.ReplayID < y.ReplayID:
				return -1
			case x.ReplayID > y.ReplayID:
				return 1
			}
			return 0
		})
		s.mu.Lock()
		st := s.chans[b.channel]
		fresh := b.events[:0]
		for _, ev := range b.events {
			if ev.ReplayID > st.queued {
				fresh = append(fresh, ev)
			}
		}
		dups := len(b.events) - len(fresh)
		s.stats.Duplicates += int64(dups)
		if len(fresh) == 0 {
			s.mu.Unlock()
			continue
		}
		// Once refused, refuse the rest of the session too, or later
		// events would overtake the refused ones.
		if s.refusal.Load() || !s.q.push(queueItem{channel: b.channel, epoch: st.epoch, events: fresh}) {
			if !s.refusal.Swap(true) {
				s.deliveredAtRefusal = s.stats.Delivered
				s.log.Warn("salesforce stream hand-off queue full; refusing events until Handle catches up, then replaying",
					zap.Int("queue_size", s.cfg.QueueSize))
			}
			s.stats.Refused += int64(len(fresh))
			s.mu.Unlock()
			continue
		}
		st.queued = fresh[len(fresh)-1].ReplayID
		s.mu.Unlock()
	}
}

// drained reports that the queue refused events in this session and Handle
// has since made progress and emptied it to half: time to rebuild and have
// the refused events replayed. Requiring progress keeps a stuck Handle from
// turning into a handshake loop.
func (s *Stream) drained() bool {
	if !s.refusal.Load() {
		return false
	}
	s.mu.Lock()
	progressed := s.stats.Delivered > s.deliveredAtRefusal
	s.mu.Unlock()
	return progressed && s.q.held() <= s.cfg.QueueSize/2
}

// gap queues a gap notice for channel.
func (s *Stream) gap(channel, reason string) {
	s.mu.Lock()
	epoch := s.chans[channel].epoch
	s.mu.Unlock()
	s.q.push(queueItem{channel: channel, epoch: epoch, gap: reason})
}

// consume runs Handle and OnGap on one goroutine, in queue order.
func (s *Stream) consume(ctx context.Context) {
	for {
		it, ok := s.q.next(ctx, defaultBatchMax)
		if !ok {
			return
		}
		if it.gap != "" {
			s.count(func(st *StreamStats) { st.Gaps++ })
			s.log.Warn("salesforce stream gap: a sweep is needed", zap.String("channel", it.channel), zap.String("reason", it.gap))
			if s.cfg.OnGap != nil {
				s.cfg.OnGap(ctx, it.channel, it.gap)
			}
			continue
		}
		for attempt := 1; ; attempt++ {
			err := s.cfg.Handle(ctx, it.channel, it.events)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			s.count(func(st *StreamStats) { st.HandleErrors++ })
			d := s.backoff(s.cfg.RetryMin, attempt)
			s.log.Error("handling salesforce stream events failed; retrying", zap.String("channel", it.channel),
				zap.Int("events", len(it.events)), zap.Error(err), zap.Duration("backoff", d))
			if !sleepCtx(ctx, d) {
				return
			}
		}
		last := it.events[len(it.events)-1].ReplayID
		s.mu.Lock()
		if st := s.chans[it.channel]; st.epoch == it.epoch && last > st.resume {
			st.resume = last
		}
		s.stats.Delivered += int64(len(it.events))
		s.mu.Unlock()
	}
}
