package sfdctest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The replay log and event delivery: replay ids, event shape, retention,
// paging of large events, filtered subscriptions.

// eventsOf collects events over connects until n have arrived.
func (b *bayeux) eventsOf(n int) []bmsg {
	b.t.Helper()
	var all []bmsg
	for polls := 0; len(all) < n; polls++ {
		if polls > n+20 {
			b.t.Fatalf("%d events after %d polls, want %d", len(all), polls, n)
		}
		ack, evs := b.connect()
		if !ack.successful() {
			b.t.Fatalf("connect: %v", ack)
		}
		all = append(all, evs...)
	}
	if len(all) != n {
		b.t.Fatalf("%d events, want %d", len(all), n)
	}
	return all
}

func ids(t testing.TB, evs []bmsg) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.replayID(t)
	}
	return out
}

func TestStreamingReplay(t *testing.T) {
	org, tok := streamOrg(t)
	org.SetReplayStep(3)
	var old []int64
	for i := range 5 {
		old = append(old, org.Publish(tasksChannel, "created", map[string]any{"Id": fmt.Sprint("old", i)}))
	}
	for i := 1; i < len(old); i++ {
		if old[i]-old[i-1] != 3 {
			t.Fatalf("replay ids %v, want steps of 3", old)
		}
	}
	if org.LastReplayID(tasksChannel) != old[4] || org.Published(tasksChannel) != 5 || org.Retained(tasksChannel) != 5 {
		t.Fatal("counters")
	}
	org.SetReplayStep(-5)
	steps := map[int64]bool{}
	for prev := org.LastReplayID("/topic/Random"); len(steps) < 5; {
		id := org.Publish("/topic/Random", "created", map[string]any{"Id": "r"})
		if d := id - prev; d < 1 || d > 5 {
			t.Fatalf("random step %d, want 1–5", d)
		}
		steps[id-prev] = true
		prev = id
	}
	org.SetReplayStep(3)

	newOnly, all, after, noExt := newBayeux(t, org, tok), newBayeux(t, org, tok), newBayeux(t, org, tok), newBayeux(t, org, tok)
	newOnly.start(tasksChannel, -1)
	all.start(tasksChannel, -2)
	after.start(tasksChannel, old[2])
	noExt.start("", 0)
	if r := noExt.subscribe(tasksChannel, nil); !r.successful() { // no ext means -1
		t.Fatal(r)
	}
	fresh := org.Publish(tasksChannel, "updated", map[string]any{"Id": "new"})

	if got := ids(t, newOnly.eventsOf(1)); fmt.Sprint(got) != fmt.Sprint([]int64{fresh}) {
		t.Fatalf("-1 got %v, want only %d", got, fresh)
	}
	if got := ids(t, noExt.eventsOf(1)); fmt.Sprint(got) != fmt.Sprint([]int64{fresh}) {
		t.Fatalf("no replay ext got %v", got)
	}
	if got := ids(t, all.eventsOf(6)); fmt.Sprint(got) != fmt.Sprint(append(old[:5:5], fresh)) {
		t.Fatalf("-2 got %v", got)
	}
	if got := ids(t, after.eventsOf(3)); fmt.Sprint(got) != fmt.Sprint([]int64{old[3], old[4], fresh}) {
		t.Fatalf("from %d got %v", old[2], got)
	}
	if org.Delivered(tasksChannel) != 1+1+6+3 {
		t.Fatalf("Delivered %d", org.Delivered(tasksChannel))
	}

	// Resubscribing from the last id received (the client rule of ref
	// §3.5) after a new handshake misses nothing and repeats nothing.
	org.RestartStreaming()
	org.Publish(tasksChannel, "created", map[string]any{"Id": "during-outage"})
	after.start(tasksChannel, fresh)
	evs := after.eventsOf(1)
	if evs[0].obj("data").obj("sobject").str("Id") != "during-outage" {
		t.Fatalf("after restart: %v", evs)
	}
}

func TestStreamingEventShape(t *testing.T) {
	org, tok := streamOrg(t)
	b := newBayeux(t, org, tok)
	b.start(tasksChannel, -1)
	before := time.Now().UTC().Add(-time.Second)
	id := org.Publish(tasksChannel, "created", map[string]any{"Id": "00Tx", "Message_Status__c": "Pending", "Conversation__c": nil})
	evs := b.eventsOf(1)
	raw, _ := json.Marshal(evs[0])
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	want := fmt.Sprintf(`{"channel":"/topic/SwitchboardTasks","clientId":%q,"data":{"event":{"createdDate":"*","replayId":%d,"type":"created"},"sobject":{"Conversation__c":null,"Id":"00Tx","Message_Status__c":"Pending"}}}`, b.clientID, id)
	created := evs[0].obj("data").obj("event").str("createdDate")
	evs[0].obj("data").obj("event")["createdDate"] = "*"
	got, _ := json.Marshal(evs[0])
	if string(got) != want {
		t.Fatalf("event message\n got %s\nwant %s", got, want)
	}
	// ref §3.4: createdDate like 2016-03-29T16:40:08.208Z.
	ts, err := time.Parse("2006-01-02T15:04:05.000Z", created)
	if err != nil || ts.Before(before) || ts.After(time.Now().UTC().Add(time.Second)) {
		t.Fatalf("createdDate %q: %v", created, err)
	}
}

func TestStreamingRESTWriteArrives(t *testing.T) {
	org, tok := streamOrg(t)
	b := newBayeux(t, org, tok)
	b.start(tasksChannel, -1)
	a := &api{t: t, org: org, tok: tok}

	convID := a.create("Conversation__c", map[string]any{"Status__c": "Open", "Message_Recipient__c": "+14155550100"})
	if _, err := org.Insert("Task", map[string]any{"Subject": "SMS from +14155550100", "Message_Type__c": "Inbound", "Message_Status__c": "Received"}); err != nil {
		t.Fatal(err)
	}
	taskID, err := org.Insert("Task", map[string]any{"Subject": "SMS to +14155550100", "Description": "hi", "Conversation__c": convID,
		"Message_Type__c": "Outbound", "Message_Status__c": "Pending"})
	if err != nil {
		t.Fatal(err)
	}
	// The sidecar's own REST write that takes the Task out of Pending
	// matches no more and notifies nothing; a user's retry (back to
	// Pending) notifies "updated".
	if r := a.do(http.MethodPatch, v+"/sobjects/Task/"+taskID, map[string]any{"Message_Status__c": "Failed"}); r.status != 204 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	if err := org.Update("Task", taskID, map[string]any{"Message_Status__c": "Pending"}); err != nil {
		t.Fatal(err)
	}
	evs := b.eventsOf(2)
	for i, typ := range []string{"created", "updated"} {
		d := evs[i].obj("data")
		sob := d.obj("sobject")
		if d.obj("event").str("type") != typ || evs[i].str("channel") != tasksChannel {
			t.Fatalf("event %d: %v, want %s on %s", i, evs[i], typ, tasksChannel)
		}
		want := map[string]any{"Id": taskID, "Message_Type__c": "Outbound", "Message_Status__c": "Pending", "Conversation__c": convID}
		if fmt.Sprint(map[string]any(sob)) != fmt.Sprint(want) {
			t.Fatalf("event %d sobject %v, want exactly the topic's SELECT fields %v", i, sob, want)
		}
	}
	if ids := ids(t, evs); ids[1] <= ids[0] {
		t.Fatalf("replay ids %v not increasing", ids)
	}
	org.SetHoldTimeout(50 * time.Millisecond)
	if ack, more := b.connect(); !ack.successful() || len(more) != 0 {
		t.Fatalf("unexpected events %v", more)
	}
}

func TestStreamingRetention(t *testing.T) {
	org, tok := streamOrg(t)
	first := org.Publish(tasksChannel, "created", map[string]any{"Id": "a"})
	org.Publish(tasksChannel, "created", map[string]any{"Id": "b"})
	time.Sleep(30 * time.Millisecond)
	org.SetRetention(10 * time.Millisecond) // both are older: dropped now
	if n := org.Retained(tasksChannel); n != 0 {
		t.Fatalf("Retained %d after retention cut", n)
	}
	org.SetRetention(0) // back to 24 h
	latest := org.Publish(tasksChannel, "created", map[string]any{"Id": "c"})

	b := newBayeux(t, org, tok)
	b.start("", 0)
	wantError(t, b.subscribe(tasksChannel, map[string]any{tasksChannel: first}),
		fmt.Sprintf("400::The replayId {%d} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.", first), nil)
	b.mustSubscribe(tasksChannel, -2)
	if got := ids(t, b.eventsOf(1)); got[0] != latest {
		t.Fatalf("-2 after retention replayed %v, want only %d", got, latest)
	}
}

func TestStreamingInvalidateReplayIDs(t *testing.T) {
	org, tok := streamOrg(t)
	live := newBayeux(t, org, tok)
	live.start(tasksChannel, -1)
	stale := org.Publish(tasksChannel, "created", map[string]any{"Id": "a"})
	org.InvalidateReplayIDs()
	fresh := org.Publish(tasksChannel, "created", map[string]any{"Id": "b"})

	// A live subscriber loses nothing.
	if got := ids(t, live.eventsOf(2)); got[0] != stale || got[1] != fresh {
		t.Fatalf("live subscriber got %v", got)
	}
	late := newBayeux(t, org, tok)
	late.start("", 0)
	wantError(t, late.subscribe(tasksChannel, map[string]any{tasksChannel: stale}),
		fmt.Sprintf("400::The replayId {%d} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.", stale), nil)
	late.mustSubscribe(tasksChannel, fresh) // new ids stay valid
	late.mustSubscribe(tasksChannel, -2)
	if got := ids(t, late.eventsOf(1)); got[0] != fresh {
		t.Fatalf("-2 after invalidation got %v", got)
	}
}

func TestStreamingRestartKeepsReplayLog(t *testing.T) {
	org, tok := streamOrg(t)
	org.SetHoldTimeout(10 * time.Second)
	b := newBayeux(t, org, tok)
	b.start(tasksChannel, -1)
	id := org.Publish(tasksChannel, "created", map[string]any{"Id": "before"})
	h := b.connectAsync()
	if out := await(t, h, "event poll"); len(out) != 2 || out[1].replayID(t) != id {
		t.Fatalf("%v", out)
	}
	h = b.connectAsync()
	waitHeld(t, org, 1)
	org.RestartStreaming()
	out := await(t, h, "held connect across restart")
	wantError(t, out[0], "403::Unknown client", map[string]any{"reconnect": "handshake", "interval": 0})
	if org.StreamClients() != 0 {
		t.Fatalf("StreamClients %d", org.StreamClients())
	}
	next := org.Publish(tasksChannel, "created", map[string]any{"Id": "after"})
	u, _ := url.Parse(org.URL() + cometdPath)
	old := b.hc.Jar.Cookies(u)
	b.start(tasksChannel, id)
	if fmt.Sprint(b.hc.Jar.Cookies(u)) == fmt.Sprint(old) {
		t.Fatal("the restarted server kept the old BAYEUX_BROWSER cookie")
	}
	if got := ids(t, b.eventsOf(1)); got[0] != next {
		t.Fatalf("after restart got %v, want %d", got, next)
	}
}

// TestStreamingTenThousandEvents drains 10,000 published events through
// connect polls, in order, while a second client follows live.
func TestStreamingTenThousandEvents(t *testing.T) {
	org, tok := streamOrg(t)
	org.SetReplayStep(7)
	live := newBayeux(t, org, tok)
	live.start(tasksChannel, -1)
	const n = 10000
	start := time.Now()
	for i := range n {
		org.Publish(tasksChannel, "created", map[string]any{"Id": fmt.Sprintf("00T%06d", i), "Message_Status__c": "Pending"})
	}
	published := time.Since(start)
	late := newBayeux(t, org, tok)
	late.start(tasksChannel, -2)
	start = time.Now()
	for _, c := range []*bayeux{late, live} {
		polls, prev := 0, int64(0)
		for got := 0; got < n; polls++ {
			ack, evs := c.connect()
			if !ack.successful() {
				t.Fatalf("poll %d: %v", polls, ack)
			}
			for _, e := range evs {
				id := e.replayID(t)
				if want := fmt.Sprintf("00T%06d", got); e.obj("data").obj("sobject").str("Id") != want || id <= prev {
					t.Fatalf("event %d: %v (previous id %d), want Id %s", got, e, prev, want)
				}
				prev = id
				got++
			}
		}
		t.Logf("%d events in %d polls", n, polls)
	}
	t.Logf("published %d events in %v; two clients drained them in %v", n, published, time.Since(start))
	if org.Delivered(tasksChannel) != 2*n {
		t.Fatalf("Delivered %d", org.Delivered(tasksChannel))
	}
}

func BenchmarkStreamingDrain(b *testing.B) {
	org, tok := streamOrg(b)
	const n = 10000
	for range b.N {
		c := newBayeux(b, org, tok)
		c.start(tasksChannel, -1)
		for i := range n {
			org.Publish(tasksChannel, "created", map[string]any{"Id": fmt.Sprintf("00T%06d", i), "Message_Status__c": "Pending"})
		}
		for got := 0; got < n; {
			ack, evs := c.connect()
			if !ack.successful() {
				b.Fatalf("connect: %v", ack)
			}
			got += len(evs)
		}
		c.one(map[string]any{"channel": "/meta/disconnect"})
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
}

func TestStreamingLargeEventsArePaged(t *testing.T) {
	org, tok := streamOrg(t)
	b := newBayeux(t, org, tok)
	b.start(tasksChannel, -1)
	big := strings.Repeat("x", 600<<10)
	for i := range 3 {
		org.Publish(tasksChannel, "created", map[string]any{"Id": fmt.Sprint(i), "Description": big})
	}
	// Each reply stays near 1 MiB: one of these events per poll.
	for i := range 3 {
		_, evs := b.connect()
		if len(evs) != 1 || evs[0].obj("data").obj("sobject").str("Id") != fmt.Sprint(i) {
			t.Fatalf("poll %d: %d events", i, len(evs))
		}
	}
}

// Filtered subscriptions: "&" joins conditions as a logical OR, and one
// field may appear several times — how the chat components follow the
// conversations on a page. Salesforce documents the value both bare
// ("?fieldA=valueA&fieldB=valueB", Industry=Energy) and, for strings, in
// single quotes ("/topic/MyTopic?Name='SomeName'"); an Id is a string, and
// the chat quotes it, so both forms must filter the same way.
// Salesforce, "Filtered Subscriptions":
// https://developer.salesforce.com/docs/atlas.en-us.264.0.api_streaming.meta/api_streaming/using_filtered_subscriptions.htm
func TestStreamingFilteredSubscriptionIsAnOR(t *testing.T) {
	for _, form := range []struct {
		name  string
		value func(id string) string
	}{
		{"bare", func(id string) string { return id }},
		{"quoted", func(id string) string { return "'" + id + "'" }},
	} {
		t.Run(form.name, func(t *testing.T) {
			org, tok := streamOrg(t)
			org.SetHoldTimeout(300 * time.Millisecond)
			a := &api{t: t, org: org, tok: tok}
			a.create("PushTopic", map[string]any{"Name": "SwitchboardChat", "ApiVersion": 62.0, "NotifyForFields": "Referenced",
				"Query": "SELECT Id, Conversation__c, Message_Type__c, Message_Status__c FROM Task WHERE Conversation__c != null"})
			convA := a.create("Conversation__c", map[string]any{"Message_Recipient__c": "+14155550100"})
			convB := a.create("Conversation__c", map[string]any{"Message_Recipient__c": "+14155550101"})
			convC := a.create("Conversation__c", map[string]any{"Message_Recipient__c": "+14155550102"})
			b := newBayeux(t, org, tok)
			b.start("", 0)
			sub := "/topic/SwitchboardChat?Conversation__c=" + form.value(convA) + "&Conversation__c=" + form.value(convB)
			if r := b.subscribe(sub, map[string]any{"/topic/SwitchboardChat": -1}); !r.successful() || r.str("subscription") != sub {
				t.Fatalf("subscribe %s: %v", sub, r)
			}
			for _, c := range []string{convA, convC, convB} {
				a.create("Task", map[string]any{"Conversation__c": c, "Message_Type__c": "Inbound", "Message_Status__c": "Received"})
			}
			var got []string
			for _, ev := range b.eventsOf(2) {
				got = append(got, ev.obj("data").obj("sobject").str("Conversation__c"))
			}
			if len(got) != 2 || got[0] != convA || got[1] != convB {
				t.Fatalf("events for %v, want %s and %s (not %s)", got, convA, convB, convC)
			}
			if _, evs := b.connect(); len(evs) != 0 {
				t.Fatalf("the other conversation's event came through: %v", evs)
			}
		})
	}
}
