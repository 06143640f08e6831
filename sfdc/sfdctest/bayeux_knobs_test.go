package sfdctest_test

import (
	"fmt"
	"testing"
	"time"
)

// The streaming fault knobs: busy, push disconnects, hold timeout, reply
// order, client and daily event limits.

func TestStreamingInjectBusy(t *testing.T) {
	org, tok := streamOrg(t)
	b := newBayeux(t, org, tok)

	org.InjectBusy(1)
	r := b.one(map[string]any{"channel": "/meta/handshake", "supportedConnectionTypes": []string{"long-polling"}})
	wantError(t, r, "403::Handshake denied", map[string]any{"reconnect": "none"})
	const busy = "503::Server is too busy.  Please try your request again later."
	if failureReason(r) != busy {
		t.Fatalf("handshake failureReason %q", failureReason(r))
	}
	b.start("", 0)

	org.InjectBusy(2)
	ack, _ := b.connect()
	wantError(t, ack, "401::Authentication invalid", map[string]any{"reconnect": "none", "interval": 0})
	if failureReason(ack) != busy {
		t.Fatalf("connect failureReason %q", failureReason(ack))
	}
	sub := b.subscribe(tasksChannel, map[string]any{tasksChannel: -1})
	wantError(t, sub, busy, nil)
	if failureReason(sub) != busy || sub.str("subscription") != tasksChannel {
		t.Fatalf("subscribe busy reply %v", sub)
	}
	// Busy is transient: the session survives and the next calls work.
	b.mustSubscribe(tasksChannel, -1)
	if ack, _ := b.connect(); !ack.successful() {
		t.Fatalf("after busy: %v", ack)
	}
	org.InjectBusy(5)
	org.InjectBusy(0)
	if ack, _ := b.connect(); !ack.successful() {
		t.Fatalf("InjectBusy(0) did not clear: %v", ack)
	}
}

func TestStreamingPushDisconnect(t *testing.T) {
	org, tok := streamOrg(t)
	org.SetHoldTimeout(10 * time.Second)
	holding, idle := newBayeux(t, org, tok), newBayeux(t, org, tok)
	holding.start(tasksChannel, -1)
	idle.start(tasksChannel, -1)
	h := holding.connectAsync()
	waitHeld(t, org, 1)
	org.PushDisconnect()

	check := func(who string, out []bmsg, clientID string) {
		t.Helper()
		var disc, conn bmsg
		for _, m := range out {
			switch m.str("channel") {
			case "/meta/disconnect":
				disc = m
			case "/meta/connect":
				conn = m
			}
		}
		if disc == nil || conn == nil || len(out) != 2 || disc.str("clientId") != clientID {
			t.Fatalf("%s: %v, want a server /meta/disconnect beside the connect reply", who, out)
		}
		wantError(t, conn, "403::Unknown client", map[string]any{"reconnect": "none", "interval": 0})
	}
	check("held connect", await(t, h, "held connect after PushDisconnect"), holding.clientID)
	_, out := idle.send(map[string]any{"channel": "/meta/connect", "connectionType": "long-polling"})
	check("next connect", out, idle.clientID)
	// The sessions are gone.
	ack, _ := idle.connect()
	wantError(t, ack, "403::Unknown client", map[string]any{"reconnect": "handshake", "interval": 0})
	if org.StreamClients() != 0 {
		t.Fatalf("StreamClients %d", org.StreamClients())
	}
	// A client that handshakes afterwards is not disconnected.
	org.SetHoldTimeout(50 * time.Millisecond)
	idle.start(tasksChannel, -1)
	if ack, evs := idle.connect(); !ack.successful() || len(evs) != 0 {
		t.Fatalf("new session after PushDisconnect: %v %v", ack, evs)
	}
}

func TestStreamingHoldTimeout(t *testing.T) {
	org, tok := streamOrg(t)
	org.SetHoldTimeout(150 * time.Millisecond)
	b := newBayeux(t, org, tok)
	wantAdvice(t, b.handshake(), map[string]any{"reconnect": "retry", "interval": 0, "timeout": 150})
	b.connect()
	b.mustSubscribe(tasksChannel, -1)
	start := time.Now()
	ack, evs := b.connect()
	if held := time.Since(start); held < 150*time.Millisecond {
		t.Fatalf("connect held %v, want at least the hold timeout", held)
	}
	if !ack.successful() || len(evs) != 0 {
		t.Fatalf("empty poll: %v %v", ack, evs)
	}
	wantAdvice(t, ack, map[string]any{"reconnect": "retry", "interval": 0, "timeout": 150})

	// An event ends a held poll early, and that reply carries no advice
	// (ref §3.2: replies without advice occur; clients keep the last one).
	h := b.connectAsync()
	waitHeld(t, org, 1)
	id := org.Publish(tasksChannel, "created", map[string]any{"Id": "x"})
	out := await(t, h, "held connect with an event")
	if len(out) != 2 || out[0].str("channel") != "/meta/connect" || !out[0].successful() || out[1].replayID(t) != id {
		t.Fatalf("event reply %v", out)
	}
	wantAdvice(t, out[0], nil)

	// A second connect while one is held answers the first at once.
	org.SetHoldTimeout(10 * time.Second)
	first := b.connectAsync()
	waitHeld(t, org, 1)
	second := b.connectAsync()
	out = await(t, first, "superseded connect")
	if len(out) != 1 || !out[0].successful() {
		t.Fatalf("superseded connect: %v", out)
	}
	waitHeld(t, org, 1)
	org.Publish(tasksChannel, "created", map[string]any{"Id": "y"})
	if out := await(t, second, "second connect"); len(out) != 2 {
		t.Fatalf("second connect: %v", out)
	}
}

func TestStreamingReplyOrder(t *testing.T) {
	org, tok := streamOrg(t)
	b := newBayeux(t, org, tok)
	b.start(tasksChannel, -1)
	for i := range 3 {
		org.Publish(tasksChannel, "created", map[string]any{"Id": fmt.Sprint(i)})
	}
	// Several events come in one reply, the ack first by default.
	_, out := b.send(map[string]any{"channel": "/meta/connect", "connectionType": "long-polling"})
	if len(out) != 4 || out[0].str("channel") != "/meta/connect" {
		t.Fatalf("reply %v, want the ack then 3 events", out)
	}
	org.ShuffleReplyOrder(true)
	for i := range 2 {
		org.Publish(tasksChannel, "created", map[string]any{"Id": fmt.Sprint("s", i)})
	}
	_, out = b.send(map[string]any{"channel": "/meta/connect", "connectionType": "long-polling"})
	if len(out) != 3 || out[2].str("channel") != "/meta/connect" || out[0].str("channel") != tasksChannel {
		t.Fatalf("shuffled reply %v, want 2 events then the ack", out)
	}
}

func TestStreamingConcurrentClientLimit(t *testing.T) {
	org, tok := streamOrg(t)
	org.ConcurrentClientLimit(2)
	a, b, c := newBayeux(t, org, tok), newBayeux(t, org, tok), newBayeux(t, org, tok)
	a.handshake()
	b.handshake()
	r := c.one(map[string]any{"channel": "/meta/handshake", "supportedConnectionTypes": []string{"long-polling"}})
	wantError(t, r, "403::Handshake denied", map[string]any{"reconnect": "none"})
	if failureReason(r) != "403::Organization concurrent user limit exceeded" {
		t.Fatalf("failureReason %q", failureReason(r))
	}
	// A disconnect frees the slot (ref §3.2: clients should disconnect).
	if r := a.one(map[string]any{"channel": "/meta/disconnect"}); !r.successful() || r.str("clientId") != a.clientID {
		t.Fatalf("disconnect: %v", r)
	}
	c.handshake()
	org.ConcurrentClientLimit(0)
	a.handshake()
	if org.StreamClients() != 3 || org.Handshakes() != 4 {
		t.Fatalf("StreamClients %d Handshakes %d", org.StreamClients(), org.Handshakes())
	}
}

func TestStreamingDailyEventLimit(t *testing.T) {
	org, tok := streamOrg(t)
	org.DailyEventLimit(3)
	b := newBayeux(t, org, tok)
	b.start(tasksChannel, -1)
	for i := range 5 {
		org.Publish(tasksChannel, "created", map[string]any{"Id": fmt.Sprint(i)})
	}
	if _, evs := b.connect(); len(evs) != 3 {
		t.Fatalf("%d events under a limit of 3", len(evs))
	}
	ack, evs := b.connect()
	wantError(t, ack, "403::Organization total events daily limit exceeded", map[string]any{"reconnect": "none", "interval": 0})
	if len(evs) != 0 {
		t.Fatalf("events beyond the limit: %v", evs)
	}
	// ref §3.5: the events are not lost; with allocation again they come.
	org.DailyEventLimit(100)
	if got := b.eventsOf(2); got[0].obj("data").obj("sobject").str("Id") != "3" {
		t.Fatalf("after raising the limit: %v", got)
	}
}
