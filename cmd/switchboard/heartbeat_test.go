package main

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
)

func (w *simWorld) statusRows() []map[string]any { return w.Org.Records("Switchboard_Status__c") }

// TestHeartbeatRowCreatedThenUpdated: a running daemon creates its
// Switchboard_Status__c row once subscribed and updates the same row at
// every beat, with the runtime checks as ✓ lines (SPEC §1a).
func TestHeartbeatRowCreatedThenUpdated(t *testing.T) {
	w := newWorld(t, simOptions{})
	d := startDaemon(t, w, "", e2eTuning(), "SWITCHBOARD_ENGINE_HEARTBEAT_INTERVAL=200ms")
	sfdctest.Eventually(t, 10*time.Second, "the heartbeat row", func() bool { return len(w.statusRows()) == 1 })
	first := w.statusRows()[0]
	// A later beat of the idle daemon: the start's sweep and poll jobs may
	// still be queued at an early beat (Queue_Backlog__c 1 was seen on a
	// loaded CI machine), so wait for a beat that reports them done.
	sfdctest.Eventually(t, 10*time.Second, "a later beat with the start's jobs done", func() bool {
		rows := w.statusRows()
		return len(rows) == 1 && str(rows[0]["Last_Heartbeat__c"]) != str(first["Last_Heartbeat__c"]) &&
			rows[0]["Queue_Backlog__c"] == float64(0)
	})
	rows := w.statusRows()
	if len(rows) != 1 || rows[0]["Id"] != first["Id"] {
		t.Fatalf("want one row updated in place, got %v then %v", first, rows)
	}
	row := rows[0]
	for field, want := range map[string]any{
		"Instance__c": d.m.instance, "Name": d.m.instance, "Version__c": version, "Stream_Subscribed__c": true,
		"Heartbeat_Interval_Seconds__c": 0.2, "Public_Url__c": d.publicURL, "Queue_Backlog__c": float64(0), "Dead_Letters__c": float64(0),
		"Started_At__c": first["Started_At__c"],
	} {
		if row[field] != want {
			t.Errorf("%s = %#v, want %#v", field, row[field], want)
		}
	}
	if !strings.Contains(d.m.instance, "-") || str(row["Started_At__c"]) == "" {
		t.Errorf("instance %q, started %v", d.m.instance, row["Started_At__c"])
	}
	checks := strings.Split(str(row["Checks__c"]), "\n")
	want := []string{"✓ Salesforce login (jwt flow", "✓ daily API calls", "✓ streaming: subscribed to /topic/SwitchboardTasks and /topic/SwitchboardConversations", "✓ store sqlite://"}
	if len(checks) != len(want) {
		t.Fatalf("Checks__c has %d lines, want %d:\n%s", len(checks), len(want), row["Checks__c"])
	}
	for i, prefix := range want {
		if !strings.HasPrefix(checks[i], prefix) {
			t.Errorf("Checks__c line %d = %q, want it to start %q", i+1, checks[i], prefix)
		}
	}
}

// TestHeartbeatOffAndOneCallPerBeat: engine.heartbeat_interval 0 writes no
// row; a beat costs exactly one Salesforce call (the upsert), and a beat on
// an unsubscribed stream says so with the fix.
func TestHeartbeatOffAndOneCallPerBeat(t *testing.T) {
	w := newWorld(t, simOptions{})
	tun := e2eTuning()
	tun.PollInterval = time.Hour // an idle daemon: nothing else calls the org
	d := startDaemon(t, w, "", tun, "SWITCHBOARD_ENGINE_HEARTBEAT_INTERVAL=0")
	// The start's sweep and poll finish; then the org hears nothing.
	quiet := 0
	sfdctest.Eventually(t, 15*time.Second, "the daemon to go quiet", func() bool {
		w.Org.ResetCalls()
		time.Sleep(300 * time.Millisecond)
		if w.Org.TotalCalls() == 0 {
			quiet++
		} else {
			quiet = 0
		}
		return quiet == 2
	})
	if rows := w.statusRows(); len(rows) != 0 {
		t.Fatalf("heartbeat off, yet rows: %v", rows)
	}

	ctx := context.Background()
	for range 3 {
		if err := d.m.beat(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if calls := w.Org.Calls(); !maps.Equal(calls, map[string]int{"PATCH sobjects": 3}) {
		t.Errorf("three beats made calls %v, want 3 upserts", calls)
	}
	if rows := w.statusRows(); len(rows) != 1 {
		t.Fatalf("rows after three beats: %v", rows)
	}

	// The stream drops and cannot come back: the next beat says so.
	w.Org.InjectBusy(1000)
	w.Org.ExpireAllClients()
	sfdctest.Eventually(t, 10*time.Second, "the stream to drop", func() bool { return !d.m.stream.Subscribed() })
	if err := d.m.beat(ctx); err != nil {
		t.Fatal(err)
	}
	row := w.statusRows()[0]
	if row["Stream_Subscribed__c"] != false || !strings.Contains(str(row["Checks__c"]),
		"✗ streaming: not subscribed to /topic/SwitchboardTasks and /topic/SwitchboardConversations, so new outbound Tasks wait for the next sweep (engine.sweep_interval) — fix: run `switchboard doctor`") {
		t.Errorf("after the stream dropped: Stream_Subscribed__c %v, Checks__c:\n%s", row["Stream_Subscribed__c"], row["Checks__c"])
	}
}

// TestHeartbeatWithoutTheObject: an org without Switchboard_Status__c (the
// metadata not deployed yet) gets a beat error that says what to do, and
// the daemon keeps working.
func TestHeartbeatWithoutTheObject(t *testing.T) {
	w := newWorld(t, simOptions{})
	w.Org.DropObject("Switchboard_Status__c")
	d := startDaemon(t, w, "", e2eTuning(), "SWITCHBOARD_ENGINE_HEARTBEAT_INTERVAL=100ms")
	err := d.m.beat(context.Background())
	if err == nil || !strings.Contains(err.Error(), "Switchboard_Status__c is not in the org: deploy sfdc/metadata") ||
		!strings.Contains(err.Error(), "SWITCHBOARD_ENGINE_HEARTBEAT_INTERVAL=0") {
		t.Fatalf("beat without the object: %v", err)
	}
	id := w.pendingTask(t, map[string]any{"Conversation__c": w.newConversation(t, "+14155550173"), "Description": "still sending"})
	w.waitAllSent(t, 15*time.Second, []string{id})
}

// TestHeartbeatOneRowPerInstance: two instances, even two started in the
// same second in one process, keep a row each.
func TestHeartbeatOneRowPerInstance(t *testing.T) {
	w := newWorld(t, simOptions{})
	a := startDaemon(t, w, "", e2eTuning(), "SWITCHBOARD_ENGINE_HEARTBEAT_INTERVAL=100ms")
	b := startDaemon(t, w, "", e2eTuning(), "SWITCHBOARD_ENGINE_HEARTBEAT_INTERVAL=100ms")
	sfdctest.Eventually(t, 10*time.Second, "a row for each instance", func() bool { return len(w.statusRows()) >= 2 })
	time.Sleep(300 * time.Millisecond) // a few more beats each
	rows := w.statusRows()
	got := map[string]bool{}
	for _, r := range rows {
		got[str(r["Instance__c"])] = true
	}
	if len(rows) != 2 || !got[a.m.instance] || !got[b.m.instance] {
		t.Fatalf("instances %q and %q, rows %v", a.m.instance, b.m.instance, rows)
	}
}
