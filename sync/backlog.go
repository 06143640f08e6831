package sync

import (
	"strings"
	gosync "sync"
	"time"
)

// Twilio queues what a sender cannot send at once, up to 10 hours of
// segments at the sender's rate, and fails the rest (twilio.md §3.3:
// "a local phone number from the US or Canada has a full queue of 36,000
// message segments"). Unless a sender is paced (twilio.sender_rates),
// switchboard hands Twilio everything at once, so it estimates each
// sender's queue and warns before it would overflow.
const (
	twilioQueueHold = 10 * time.Hour
	// backlogWarnShare of the hold is when the warning starts, leaving an
	// admin time to pace the sender or add numbers.
	backlogWarnShare = 0.8
)

// senderMPS is how many segments per second Twilio drains a sender at
// (twilio.md §3.3), or 0 when it cannot be told: a Messaging Service
// spreads over a pool, and US A2P 10DLC rates are set per campaign.
func senderMPS(sender string) float64 {
	digits := strings.TrimPrefix(sender, "+")
	switch {
	case strings.HasPrefix(sender, "MG"):
		return 0
	case !strings.HasPrefix(sender, "+") && len(digits) >= 5 && len(digits) <= 6:
		return 100 // short code
	case strings.HasPrefix(sender, "+1") && len(digits) == 11 && isTollFree(digits[1:4]):
		return 3
	case strings.HasPrefix(sender, "+1"):
		return 1 // US/Canada long code
	case strings.HasPrefix(sender, "+"):
		return 10
	}
	return 0
}

func isTollFree(area string) bool {
	switch area {
	case "800", "833", "844", "855", "866", "877", "888":
		return true
	}
	return false
}

// backlog is a leaky bucket per sender: segments handed to Twilio fill it,
// the sender's rate drains it.
type backlog struct {
	mu      gosync.Mutex
	senders map[string]*bucket
}

type bucket struct {
	level    float64 // segments waiting at Twilio
	at       time.Time
	warnedAt time.Time
}

// add records segments handed to Twilio for sender at now and returns the
// estimated time Twilio needs to send what is queued, and whether to warn
// (at most once a minute per sender).
func (b *backlog) add(sender string, segments int, now time.Time) (drain time.Duration, warn bool) {
	mps := senderMPS(sender)
	if mps == 0 || segments <= 0 {
		return 0, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.senders == nil {
		b.senders = map[string]*bucket{}
	}
	k := b.senders[sender]
	if k == nil {
		k = &bucket{at: now}
		b.senders[sender] = k
	}
	k.level = max(0, k.level-mps*now.Sub(k.at).Seconds()) + float64(segments)
	k.at = now
	drain = time.Duration(k.level / mps * float64(time.Second))
	if drain > time.Duration(backlogWarnShare*float64(twilioQueueHold)) && now.Sub(k.warnedAt) >= time.Minute {
		k.warnedAt = now
		return drain, true
	}
	return drain, false
}
