package sfdctest

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable time source for the CometD state, so the 24 h and
// 40 s windows of ref §3.3/§3.5 are tested at their real defaults.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func clockedOrg(t *testing.T) (*Org, *clock) {
	t.Helper()
	org := Start(t)
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	org.bayeux.mu.Lock()
	org.bayeux.now = clk.now
	org.bayeux.mu.Unlock()
	return org, clk
}

// attach registers a client with a subscription from cursor position
// start, as a successful handshake and subscribe would.
func attach(org *Org, channel string, start int64) *cometClient {
	b := org.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	c := &cometClient{id: randomID(26), subs: map[string]*subscription{}, lastReply: b.now(), connected: true, wake: make(chan struct{}, 1)}
	b.clients[c.id] = c
	lg := b.logLocked(channel)
	s := &subscription{client: c, log: lg, next: start}
	c.subs[channel] = s
	lg.subs[s] = struct{}{}
	return c
}

func replayErr(org *Org, channel string, id int64) string {
	b := org.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	raw, _ := json.Marshal(map[string]int64{channel: id})
	lg := b.logLocked(channel)
	lg.prune(b.now().Add(-b.retention))
	_, e := b.replayStart(&inMsg{Ext: map[string]json.RawMessage{"replay": raw}}, channel, lg)
	return e
}

func TestDefaultRetentionIs24Hours(t *testing.T) {
	org, clk := clockedOrg(t)
	const ch = "/topic/T"
	old := org.Publish(ch, "created", map[string]any{"Id": "a"})
	clk.advance(23*time.Hour + 59*time.Minute)
	if org.Retained(ch) != 1 || replayErr(org, ch, old) != "" {
		t.Fatal("an event younger than 24 h was dropped")
	}
	clk.advance(2 * time.Minute)
	fresh := org.Publish(ch, "created", map[string]any{"Id": "b"})
	if org.Retained(ch) != 1 {
		t.Fatalf("Retained %d, want only the fresh event", org.Retained(ch))
	}
	if e := replayErr(org, ch, old); !strings.HasPrefix(e, "400::The replayId {") {
		t.Fatalf("25 h old id: %q", e)
	}
	if e := replayErr(org, ch, fresh); e != "" {
		t.Fatalf("fresh id: %q", e)
	}
}

func TestDefaultReconnectTimeoutIs40Seconds(t *testing.T) {
	org, clk := clockedOrg(t)
	attach(org, "/topic/T", 0)
	clk.advance(40 * time.Second)
	if org.StreamClients() != 1 {
		t.Fatal("client dropped within the 40 s reconnect window")
	}
	clk.advance(time.Millisecond)
	if org.StreamClients() != 0 {
		t.Fatal("client kept past the 40 s reconnect window")
	}
}

func TestDailyEventWindow(t *testing.T) {
	org, clk := clockedOrg(t)
	const ch = "/topic/T"
	org.DailyEventLimit(2)
	c := attach(org, ch, 0)
	for range 3 {
		org.Publish(ch, "created", map[string]any{"Id": "x"})
	}
	take := func() (int, bool) {
		org.bayeux.mu.Lock()
		defer org.bayeux.mu.Unlock()
		evs, limited := org.bayeux.takeLocked(c)
		c.lastReply = org.bayeux.now()
		return len(evs), limited
	}
	if n, limited := take(); n != 2 || limited {
		t.Fatalf("first take: %d %v", n, limited)
	}
	if n, limited := take(); n != 0 || !limited {
		t.Fatalf("over the allocation: %d %v", n, limited)
	}
	clk.advance(24 * time.Hour)
	if n, limited := take(); n != 1 || limited {
		t.Fatalf("next day: %d %v", n, limited)
	}
}

func TestPublishWakesOnlyMatchingSubscribers(t *testing.T) {
	org, _ := clockedOrg(t)
	a := attach(org, "/topic/A", 0)
	b := attach(org, "/topic/B", 0)
	org.Publish("/topic/A", "created", map[string]any{"Id": "1"})
	select {
	case <-a.wake:
	default:
		t.Fatal("subscriber of /topic/A not woken")
	}
	select {
	case <-b.wake:
		t.Fatal("subscriber of /topic/B woken by /topic/A")
	default:
	}
}
