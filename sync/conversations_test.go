package sync_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	sbsync "github.com/switchboard/switchboard/sync"
)

func TestConversationBoundToRecordMovesItsTasks(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	in := e.inbound(nil)
	// An unknown number: the thread starts unbound.
	for n := range 3 {
		if err := in.Handle(ctx, msg("+14155550100", fmt.Sprint("before ", n))); err != nil {
			t.Fatal(err)
		}
	}
	conv := e.query(t, "SELECT Id, Record_Id__c FROM Conversation__c")
	if len(conv) != 1 || conv[0]["Record_Id__c"] != nil {
		t.Fatalf("conversation %v, want one, unbound", conv)
	}
	convID := conv[0]["Id"].(string)
	// A Task of another thread must not move.
	otherConv := e.insert(t, "Conversation__c", map[string]any{"Status__c": "Open", "Channel__c": e.chanID, "Message_Recipient__c": "+14155550111"})
	other := e.insert(t, "Task", map[string]any{"Subject": "other", "Conversation__c": otherConv})

	// An agent creates the Contact and binds the thread (the PushTopic
	// event names the conversation).
	contact := e.insert(t, "Contact", map[string]any{"LastName": "Late", "MobilePhone": "415 555 0100"})
	if err := e.org.Update("Conversation__c", convID, map[string]any{"Record_Id__c": contact}); err != nil {
		t.Fatal(err)
	}
	cs := sbsync.NewConversations(e.eng, nil, 5*time.Millisecond, in)
	if err := cs.Handle(ctx, convID); err != nil {
		t.Fatal(err)
	}
	tasks := e.query(t, "SELECT Id, WhoId, WhatId FROM Task WHERE Conversation__c = '"+convID+"'")
	if len(tasks) != 3 {
		t.Fatalf("%d tasks in the thread, want 3", len(tasks))
	}
	for _, tk := range tasks {
		if tk["WhoId"] != contact || tk["WhatId"] != nil {
			t.Fatalf("task %v, want WhoId %s", tk, contact)
		}
	}
	if r := e.task(t, other); r["WhoId"] != nil {
		t.Fatalf("a task of another conversation moved: %v", r)
	}
	// The inbound engine was told: the next message links to the Contact.
	if err := in.Handle(ctx, msg("+14155550100", "after")); err != nil {
		t.Fatal(err)
	}
	if rows := e.query(t, "SELECT Id FROM Task WHERE WhoId = '"+contact+"'"); len(rows) != 4 {
		t.Fatalf("%d tasks on the contact after a new message, want 4", len(rows))
	}

	// An event that changes nothing else costs one read.
	e.org.ResetCalls()
	if err := cs.Handle(ctx, convID); err != nil {
		t.Fatal(err)
	}
	if n := e.org.TotalCalls(); n != 1 {
		t.Fatalf("event without a binding change: %d calls (%v), want 1", n, e.org.Calls())
	}

	// Rebound to an Account: WhatId, and the previous Contact leaves WhoId.
	acct := e.insert(t, "Account", map[string]any{"Name": "Acme"})
	if err := e.org.Update("Conversation__c", convID, map[string]any{"Record_Id__c": acct}); err != nil {
		t.Fatal(err)
	}
	if err := cs.Handle(ctx, convID); err != nil {
		t.Fatal(err)
	}
	for _, tk := range e.query(t, "SELECT WhoId, WhatId FROM Task WHERE Conversation__c = '"+convID+"'") {
		if tk["WhatId"] != acct || tk["WhoId"] != nil {
			t.Fatalf("after rebinding to an Account: %v", tk)
		}
	}
	// Bound to a Lead: WhoId, and no WhatId (Salesforce's rule for Leads).
	lead := e.insert(t, "Lead", map[string]any{"LastName": "L", "Company": "C"})
	if err := e.org.Update("Conversation__c", convID, map[string]any{"Record_Id__c": lead}); err != nil {
		t.Fatal(err)
	}
	if err := sbsync.NewConversations(e.eng, nil, 0).Handle(ctx, convID); err != nil {
		t.Fatal(err)
	}
	for _, tk := range e.query(t, "SELECT WhoId, WhatId FROM Task WHERE Conversation__c = '"+convID+"'") {
		if tk["WhoId"] != lead || tk["WhatId"] != nil {
			t.Fatalf("after binding to a Lead: %v", tk)
		}
	}
}

func TestConversationMovesManyTasksInCollections(t *testing.T) {
	e := newSimEnv(t)
	convID := e.insert(t, "Conversation__c", map[string]any{"Status__c": "Open", "Channel__c": e.chanID, "Message_Recipient__c": "+14155550100"})
	for n := range 450 {
		e.insert(t, "Task", map[string]any{"Subject": fmt.Sprint("t", n), "Conversation__c": convID})
	}
	contact := e.insert(t, "Contact", map[string]any{"LastName": "C"})
	if err := e.org.Update("Conversation__c", convID, map[string]any{"Record_Id__c": contact}); err != nil {
		t.Fatal(err)
	}
	e.org.ResetCalls()
	if err := sbsync.NewConversations(e.eng, nil, 0).Handle(context.Background(), convID); err != nil {
		t.Fatal(err)
	}
	// Two reads and three 200-record updates at most; the engine's adapter
	// may pack some of them into one /composite call.
	if n := e.org.TotalCalls(); n > 5 {
		t.Fatalf("moving 450 tasks took %d calls (%v), want at most 2 reads and 3 collection updates", n, e.org.Calls())
	}
	if rows := e.query(t, "SELECT Id FROM Task WHERE WhoId = '"+contact+"'"); len(rows) != 450 {
		t.Fatalf("%d tasks moved, want 450", len(rows))
	}
}

func TestConversationEventClosingThreadStartsANewOne(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	in := e.inbound(nil)
	cs := sbsync.NewConversations(e.eng, nil, 0, in)
	if err := in.Handle(ctx, msg("+14155550100", "one")); err != nil {
		t.Fatal(err)
	}
	first := e.query(t, "SELECT Id FROM Conversation__c")[0]["Id"].(string)
	if err := e.org.Update("Conversation__c", first, map[string]any{"Status__c": "Closed"}); err != nil {
		t.Fatal(err)
	}
	if err := cs.Handle(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := in.Handle(ctx, msg("+14155550100", "two")); err != nil {
		t.Fatal(err)
	}
	open := e.query(t, "SELECT Id FROM Conversation__c WHERE Status__c = 'Open'")
	if len(open) != 1 || open[0]["Id"] == first {
		t.Fatalf("open conversations %v: want a new one, %s stays closed", open, first)
	}
	if err := cs.Handle(ctx, "garbage"); !sbsync.IsPermanent(err) {
		t.Fatalf("event for a malformed Id: %v, want a permanent error", err)
	}
	// A deleted conversation is not an error.
	if err := e.org.Delete("Conversation__c", first); err != nil {
		t.Fatal(err)
	}
	if err := cs.Handle(ctx, first); err != nil {
		t.Fatalf("event for a deleted conversation: %v", err)
	}
	// A Record_Id__c that is not an Id is reported, not retried forever.
	bad := e.insert(t, "Conversation__c", map[string]any{"Status__c": "Open", "Channel__c": e.chanID, "Message_Recipient__c": "+14155550122", "Record_Id__c": "not an id"})
	if err := cs.Handle(ctx, bad); !sbsync.IsPermanent(err) {
		t.Fatalf("conversation with a malformed Record_Id__c: %v, want a permanent error", err)
	}
}

// TestUnboundThreadIsBoundWhenTheRecordAppears: the customer's Contact is
// created after the thread; the next message (read fresh, on another
// replica) binds the thread, and the event that binding fires moves the
// earlier Tasks.
func TestUnboundThreadIsBoundWhenTheRecordAppears(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	for n := range 2 {
		if err := e.inbound(nil).Handle(ctx, msg("+14155550100", fmt.Sprint("early ", n))); err != nil {
			t.Fatal(err)
		}
	}
	contact := e.insert(t, "Contact", map[string]any{"LastName": "New", "Phone": "+1 415 555 0100"})
	in := e.inbound(nil)
	if err := in.Handle(ctx, msg("+14155550100", "now known")); err != nil {
		t.Fatal(err)
	}
	conv := e.query(t, "SELECT Id, Record_Id__c, External_Channel__c FROM Conversation__c")
	if len(conv) != 1 || conv[0]["Record_Id__c"] != contact || conv[0]["External_Channel__c"] != e.regPhone {
		t.Fatalf("conversation %v, want one, bound to %s via Contact.Phone", conv, contact)
	}
	if n := len(e.query(t, "SELECT Id FROM Task WHERE WhoId = '"+contact+"'")); n != 1 {
		t.Fatalf("%d tasks on the contact before the event, want the new one", n)
	}
	if err := sbsync.NewConversations(e.eng, nil, 0, in).Handle(ctx, conv[0]["Id"].(string)); err != nil {
		t.Fatal(err)
	}
	if n := len(e.query(t, "SELECT Id FROM Task WHERE WhoId = '"+contact+"'")); n != 3 {
		t.Fatalf("%d tasks on the contact after the event, want all 3", n)
	}
}

// TestReconcileAfterAGap: bindings made while the stream was down (their
// events lost) move their Tasks when the engine reconciles; a binding older
// than the gap is left alone, and a second pass writes nothing.
func TestReconcileAfterAGap(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	bind := func(n int) (conv, contact string, tasks []string) {
		conv = e.insert(t, "Conversation__c", map[string]any{"Status__c": "Open", "Channel__c": e.chanID, "Message_Recipient__c": fmt.Sprintf("+1415557%04d", n)})
		for i := range 2 {
			tasks = append(tasks, e.insert(t, "Task", map[string]any{"Subject": fmt.Sprint("t", i), "Conversation__c": conv}))
		}
		contact = e.insert(t, "Contact", map[string]any{"LastName": fmt.Sprint("C", n)})
		if err := e.org.Update("Conversation__c", conv, map[string]any{"Record_Id__c": contact}); err != nil {
			t.Fatal(err)
		}
		return conv, contact, tasks
	}
	_, _, earlyTasks := bind(0)
	time.Sleep(1100 * time.Millisecond) // Salesforce datetimes have whole seconds
	since := time.Now()
	const n = 250 // more than one batch
	contacts := map[string]string{}
	for i := 1; i <= n; i++ {
		_, c, ts := bind(i)
		for _, tk := range ts {
			contacts[tk] = c
		}
	}
	cs := sbsync.NewConversations(e.eng, nil, 5*time.Millisecond)
	e.org.ResetCalls()
	got, err := cs.Reconcile(ctx, since)
	if err != nil || got != n {
		t.Fatalf("Reconcile = %d, %v; want %d conversations", got, err, n)
	}
	for tk, c := range contacts {
		if r := e.task(t, tk); r["WhoId"] != c {
			t.Fatalf("task %s: WhoId %v, want %s", tk, r["WhoId"], c)
		}
	}
	for _, tk := range earlyTasks {
		if r := e.task(t, tk); r["WhoId"] != nil {
			t.Errorf("a binding from before the gap was reconciled: %v", r)
		}
	}
	calls := e.org.TotalCalls()
	t.Logf("%d conversations, %d tasks moved in %d Salesforce calls: %v", n, len(contacts), calls, e.org.Calls())
	if calls > 10 {
		t.Errorf("%d calls to reconcile %d conversations, want ≤ 10", calls, n)
	}
	e.org.ResetCalls()
	if got, err := cs.Reconcile(ctx, since); err != nil || got != n {
		t.Fatalf("second Reconcile = %d, %v", got, err)
	}
	if w := e.org.Calls()["PATCH composite/sobjects"]; w != 0 {
		t.Errorf("a second pass wrote %d times; nothing had changed", w)
	}
}
