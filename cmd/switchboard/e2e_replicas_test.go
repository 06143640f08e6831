package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
	"github.com/switchboard/switchboard/twilio/twiliotest"
)

// takeoverTarget is how soon a dead replica's sends must be sent and
// written back by the others (issue 8.5).
const takeoverTarget = 15 * time.Second

// TestReplicaKilledMidBurst: two replicas, the real `switchboard run` with
// its production timing, on one PostgreSQL store, both subscribed; a burst
// of 500 Tasks to 50 customers; the replica with Twilio creates in flight is
// SIGKILLed mid-burst and a third one started. Every Task is sent exactly
// once and written back, within takeoverTarget of the kill (the figure is
// printed).
func TestReplicaKilledMidBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("replica crash test")
	}
	storeURL := freshPostgres(t)
	w := newWorld(t, simOptions{})
	w.Twilio.SetLatency(20 * time.Millisecond) // creates in flight when the kill lands
	type replica struct {
		child  *childDaemon
		twilio *twilioGate
	}
	start := func() replica {
		addr, admin := freePort(t), freePort(t)
		gate := newTwilioGate(t, w.Twilio.URL())
		env := append(w.environ("http://"+addr, storeURL), "SWITCHBOARD_SERVER_LISTEN="+addr, "SWITCHBOARD_SERVER_ADMIN_LISTEN="+admin,
			"SWITCHBOARD_LOG_LEVEL=warn",
			"SWITCHBOARD_TWILIO_API_BASE_URL="+gate.url) // the last value of a variable counts (os/exec)
		c := startChildAs(t, "main", env)
		waitReady(t, admin, 30*time.Second)
		return replica{c, gate}
	}
	replicas := []replica{start(), start()}

	const n, customers = 500, 50
	convs := make([]string, customers)
	for i := range convs {
		convs[i] = w.newConversation(t, fmt.Sprintf("+1415556%04d", i))
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = w.pendingTask(t, map[string]any{"Conversation__c": convs[i%customers], "Description": fmt.Sprintf("Replica test message %d", i)})
	}
	// Mid-burst, the replica with creates out at Twilio dies: it has work in
	// flight, whichever of the two the queue gave more.
	doomed := -1
	sfdctest.Eventually(t, 60*time.Second, "a replica with creates in flight, mid-burst", func() bool {
		if len(w.Twilio.Messages()) < n/5 {
			return false
		}
		for i, r := range replicas {
			if r.twilio.inflight.Load() > 0 {
				doomed = i
				return true
			}
		}
		return false
	})
	atKill := len(w.Twilio.Messages())
	replicas[doomed].child.kill(t)
	killed := time.Now()
	survivor := replicas[1-doomed].child
	t.Cleanup(func() { survivor.kill(t) })
	newcomer := start().child
	t.Cleanup(func() { newcomer.kill(t) })

	unsent := func() int {
		left := 0
		for _, id := range ids {
			if str(w.task(t, id)["Message_Sid__c"]) == "" {
				left++
			}
		}
		return left
	}
	leftAfter3s := -1
	sfdctest.Eventually(t, 120*time.Second, "every task sent and written back", func() bool {
		left := unsent()
		if leftAfter3s < 0 && time.Since(killed) > 3*time.Second {
			leftAfter3s = left
		}
		return left == 0
	})
	takeover := time.Since(killed)

	bodies := map[string]int{}
	for _, m := range w.Twilio.Messages() {
		bodies[m.Body]++
	}
	for i := range n {
		if c := bodies[fmt.Sprintf("Replica test message %d", i)]; c != 1 {
			t.Errorf("message %d sent %d times", i, c)
		}
	}
	if len(bodies) != n {
		t.Errorf("%d distinct messages at Twilio, want %d", len(bodies), n)
	}
	for _, id := range ids {
		if task := w.task(t, id); str(task["Message_Status__c"]) == "Pending" || str(task["Status"]) != "Completed" {
			t.Errorf("task %s not written back: %v", id, task)
		}
	}
	t.Logf("replica %d killed at %d of %d messages; %d Tasks still unsent 3 s later; every Task sent and written back %s after the kill (target ≤ %s)",
		doomed+1, atKill, n, leftAfter3s, takeover.Round(100*time.Millisecond), takeoverTarget)
	if leftAfter3s <= 0 {
		t.Fatal("nothing was left to take over: the kill did not land on work in flight")
	}
	if takeover > takeoverTarget && !raceDetector {
		t.Errorf("the dead replica's work was done %s after the kill, want ≤ %s", takeover.Round(100*time.Millisecond), takeoverTarget)
	}
}

// twilioGate passes one replica's Twilio calls to the simulator and counts
// its message creates in flight.
type twilioGate struct {
	url      string
	inflight atomic.Int64
}

func newTwilioGate(t *testing.T, target string) *twilioGate {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	g := &twilioGate{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/Messages.json") {
			g.inflight.Add(1)
			defer g.inflight.Add(-1)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	g.url = srv.URL
	return g
}

// TestReplicasShareOneThreadPerNumber: two replicas on one PostgreSQL
// store, and 20 customers nobody knows each text both of them at once.
// Every customer gets exactly one conversation, holding all of their
// messages: the replicas take the store's lock before they decide that a
// number has no thread.
func TestReplicasShareOneThreadPerNumber(t *testing.T) {
	if testing.Short() {
		t.Skip("replica test")
	}
	storeURL := freshPostgres(t)
	w := newWorld(t, simOptions{})
	w.Org.SetLatency(20 * time.Millisecond) // a wide window between "none found" and "created"
	a := startDaemon(t, w, storeURL, e2eTuning())
	b := startDaemon(t, w, storeURL, e2eTuning())

	const customers, each = 20, 4
	var wg gosync.WaitGroup
	for c := range customers {
		for m := range each {
			target := a
			if m%2 == 1 {
				target = b
			}
			wg.Go(func() {
				in := twiliotest.Inbound{From: fmt.Sprintf("+1415558%04d", c), To: simNumber, Body: fmt.Sprintf("message %d", m),
					URL: target.publicURL + "/twilio/inbound"}
				if _, err := w.Twilio.SendInbound(context.Background(), in); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	sfdctest.Eventually(t, 60*time.Second, "every message in Salesforce", func() bool { return len(w.inboundTasks()) == customers*each })
	threads := map[string]map[string]bool{} // customer → conversations
	for _, c := range w.Org.Records("Conversation__c") {
		cust := str(c["Message_Recipient__c"])
		if threads[cust] == nil {
			threads[cust] = map[string]bool{}
		}
		threads[cust][str(c["Id"])] = true
	}
	if len(threads) != customers {
		t.Errorf("%d customers have conversations, want %d", len(threads), customers)
	}
	for cust, convs := range threads {
		if len(convs) != 1 {
			t.Errorf("%s has %d conversations, want 1", cust, len(convs))
		}
	}
	for _, task := range w.inboundTasks() {
		if !threads[str(task["Subject"])[len("SMS from "):]][str(task["Conversation__c"])] {
			t.Errorf("task %v is not in its customer's conversation", task["Id"])
		}
	}
}
