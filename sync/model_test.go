package sync_test

import (
	"context"
	"testing"

	sbsync "github.com/switchboard/switchboard/sync"
)

// The rule "a Task asks to be sent" exists once, in two forms: the SOQL
// condition the sweep and the PushTopic select with, and the predicate on
// a Task read. Against the simulated org they pick the same Tasks.
func TestPendingOutboundRuleOneTable(t *testing.T) {
	e := newSimEnv(t)
	want := map[string]bool{}
	for _, c := range []struct {
		typ, status string
		pending     bool
	}{
		{"Outbound", "Pending", true},
		{"Outbound", "Queued", false},
		{"Outbound", "Sent", false},
		{"Outbound", "Error", false},
		{"Outbound", "Draft", false}, // being composed: never sent (SPEC §1a)
		{"Outbound", "", false},
		{"Inbound", "Pending", false},
		{"Inbound", "Received", false},
		{"", "Pending", false},
	} {
		f := map[string]any{"Subject": "SMS"}
		if c.typ != "" {
			f["Message_Type__c"] = c.typ
		}
		if c.status != "" {
			f["Message_Status__c"] = c.status
		}
		want[e.insert(t, "Task", f)] = c.pending
	}
	var all, selected []sbsync.Task
	ctx := context.Background()
	if err := e.eng.Query(ctx, "SELECT Id, Message_Type__c, Message_Status__c FROM Task", &all); err != nil {
		t.Fatal(err)
	}
	if err := e.eng.Query(ctx, "SELECT Id FROM Task WHERE "+sbsync.PendingOutboundWhere, &selected); err != nil {
		t.Fatal(err)
	}
	chosen := map[string]bool{}
	for _, s := range selected {
		chosen[s.ID] = true
	}
	if len(all) != len(want) {
		t.Fatalf("%d tasks read, want %d", len(all), len(want))
	}
	for _, task := range all {
		if got := task.IsPendingOutbound(); got != want[task.ID] || chosen[task.ID] != want[task.ID] {
			t.Errorf("%s/%s: predicate %v, SOQL selects %v; want %v", task.MessageType, task.MessageStatus, got, chosen[task.ID], want[task.ID])
		}
	}
	var none *sbsync.Task
	if none.IsPendingOutbound() {
		t.Error("a Task that no longer exists (nil) asks to be sent")
	}
}
