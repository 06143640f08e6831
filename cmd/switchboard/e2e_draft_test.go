package main

import (
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
)

// TestDraftTasksAreNeverTouched: a Draft Task (SPEC §1a: being composed)
// is neither sent — not by its creation's notification, not by the sweep at
// start — nor written when its conversation is bound to a record; once the
// user sets it to Pending it is sent like any other.
func TestDraftTasksAreNeverTouched(t *testing.T) {
	w := newWorld(t, simOptions{})
	const drafted, other = "+14155550171", "+14155550172"
	conv := w.newConversation(t, drafted)
	draft, err := w.Org.Insert("Task", map[string]any{"Message_Type__c": "Outbound", "Message_Status__c": "Draft", "Subject": "SMS",
		"Conversation__c": conv, "Description": "still typing"})
	if err != nil {
		t.Fatal(err)
	}
	sent, err := w.Org.Insert("Task", map[string]any{"Message_Type__c": "Outbound", "Message_Status__c": "Delivered", "Subject": "SMS",
		"Conversation__c": conv, "Description": "an earlier message"})
	if err != nil {
		t.Fatal(err)
	}
	before := w.task(t, draft)
	startDaemon(t, w, "", e2eTuning()) // its start sweeps every Pending Task

	// A Pending Task created after the Draft is sent: the daemon is working.
	id := w.pendingTask(t, map[string]any{"Conversation__c": w.newConversation(t, other), "Description": "hello"})
	w.waitAllSent(t, 15*time.Second, []string{id})

	contact, err := w.Org.Insert("Contact", map[string]any{"LastName": "Hopper"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Org.Update("Conversation__c", conv, map[string]any{"Record_Id__c": contact}); err != nil {
		t.Fatal(err)
	}
	sfdctest.Eventually(t, 15*time.Second, "the thread's other Task to move to the Contact", func() bool {
		return str(w.task(t, sent)["WhoId"]) == contact
	})
	after := w.task(t, draft)
	if n := w.messagesTo()[drafted]; n != 0 {
		t.Errorf("%d messages sent from a Draft", n)
	}
	for _, f := range []string{"Message_Status__c", "WhoId", "Message_Sid__c", "SystemModstamp"} {
		if after[f] != before[f] {
			t.Errorf("the Draft's %s changed from %v to %v", f, before[f], after[f])
		}
	}

	if err := w.Org.Update("Task", draft, map[string]any{"Message_Status__c": "Pending"}); err != nil {
		t.Fatal(err)
	}
	w.waitAllSent(t, 15*time.Second, []string{draft})
	if n := w.messagesTo()[drafted]; n != 1 {
		t.Errorf("%d messages once the Draft was set to Pending, want 1", n)
	}
}
