package sync

import (
	"testing"
	"time"
)

func TestSenderMPS(t *testing.T) {
	for sender, want := range map[string]float64{
		"+14155550100": 1, "+18885550100": 3, "12345": 100, "123456": 100, "+447700900123": 10,
		"MG0123456789abcdef0123456789abcdef": 0, "Acme": 0,
	} {
		if got := senderMPS(sender); got != want {
			t.Errorf("senderMPS(%q) = %v, want %v", sender, got, want)
		}
	}
}

// TestBacklogWarnsBeforeTwilioQueueOverflows: a US long code drains one
// segment a second; 28,800 queued segments are 8 of Twilio's 10 hours.
func TestBacklogWarnsBeforeTwilioQueueOverflows(t *testing.T) {
	var b backlog
	now := time.Unix(0, 0)
	const long = "+14155550100"
	if _, warn := b.add(long, 28000, now); warn {
		t.Fatal("warned below 80 % of the queue")
	}
	drain, warn := b.add(long, 1000, now)
	if !warn || drain != 29000*time.Second {
		t.Fatalf("29,000 segments: drain %s, warn %v", drain, warn)
	}
	if _, warn := b.add(long, 10, now.Add(30*time.Second)); warn {
		t.Error("warned again within a minute")
	}
	// An hour later 3,570 more segments have gone out: 25,411 are left,
	// below the 28,800 line.
	if _, warn := b.add(long, 1, now.Add(time.Hour)); warn {
		t.Error("25,411 segments left should not warn")
	}
	// A short code drains 100 a second: the same burst is harmless.
	if drain, warn := b.add("12345", 29000, now); warn || drain != 290*time.Second {
		t.Errorf("short code: drain %s, warn %v", drain, warn)
	}
	// Messaging Services are not estimated.
	if drain, warn := b.add("MG0123456789abcdef0123456789abcdef", 1e6, now); warn || drain != 0 {
		t.Errorf("messaging service: drain %s, warn %v", drain, warn)
	}
}
