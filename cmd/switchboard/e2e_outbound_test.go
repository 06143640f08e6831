package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
	"github.com/switchboard/switchboard/sync/store"
)

// TestRejectedBeforeSending: what each bad Task gets. Every one ends in
// Error with a description a user can act on, and Twilio is never called.
func TestRejectedBeforeSending(t *testing.T) {
	w := newWorld(t, simOptions{})
	inactive, err := w.Org.Insert("Channel__c", map[string]any{
		"Name": "Old number", "Phone_Number__c": "+14155550999", "Channel_Type__c": w.ChannelTypeID, "Active__c": false,
	})
	if err != nil {
		t.Fatal(err)
	}
	// A channel as a user might type its number: Twilio would refuse it
	// as a From (21212), so the sidecar must reject it first.
	typedPhone, err := w.Org.Insert("Channel__c", map[string]any{
		"Name": "Typed number", "Phone_Number__c": "(415) 555-0998", "Channel_Type__c": w.ChannelTypeID, "Active__c": true,
	})
	if err != nil {
		t.Fatal(err)
	}
	optedOut := "+14155550177"
	if _, err := w.Org.Insert("Opt_In__c", map[string]any{
		"UniqueId__c": optedOut + "|" + w.ChannelID, "Phone_Number__c": optedOut, "Channel__c": w.ChannelID, "Active__c": false, "Keyword__c": "STOP",
	}); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, w, "", e2eTuning())

	conv := w.newConversation(t, "+14155550123")
	inactiveConv, err := w.Org.Insert("Conversation__c", map[string]any{"Status__c": "Open", "Channel__c": inactive, "Message_Recipient__c": "+14155550123"})
	if err != nil {
		t.Fatal(err)
	}
	typedConv, err := w.Org.Insert("Conversation__c", map[string]any{"Status__c": "Open", "Channel__c": typedPhone, "Message_Recipient__c": "+14155550123"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		fields map[string]any
		want   string
	}{
		{"empty body", map[string]any{"Conversation__c": conv, "Description": "  "}, "The message body (Description) is empty."},
		{"1,601 characters", map[string]any{"Conversation__c": conv, "Description": strings.Repeat("a", 1601)},
			`The message is 1601 characters long; channel "Support" allows at most 1600.`},
		{"recipient 12", map[string]any{"Conversation__c": w.newConversation(t, "12"), "Description": "hi"}, `The recipient "12" is not a valid phone number.`},
		{"opted out", map[string]any{"Conversation__c": w.newConversation(t, optedOut), "Description": "hi"},
			`The recipient +14155550177 has opted out of channel "Support" (replied STOP)`},
		{"inactive channel", map[string]any{"Conversation__c": inactiveConv, "Description": "hi"}, `Channel "Old number" is not active (Active__c is unchecked).`},
		{"channel number not E.164", map[string]any{"Conversation__c": typedConv, "Description": "hi"},
			`Channel "Typed number" has Phone_Number__c "(415) 555-0998", which is not in E.164 form`},
		{"no conversation, no WhoId", map[string]any{"Description": "hi"}, "no one to send to"},
	}
	ids := make([]string, len(cases))
	for i, c := range cases {
		ids[i] = w.pendingTask(t, c.fields)
	}
	for i, c := range cases {
		sfdctest.Eventually(t, 15*time.Second, c.name+" rejected", func() bool { return str(w.task(t, ids[i])["Message_Status__c"]) == "Error" })
		got := str(w.task(t, ids[i])["Error_Description__c"])
		if !strings.Contains(got, c.want) {
			t.Errorf("%s: Error_Description__c = %q, want it to contain %q", c.name, got, c.want)
		}
	}
	if n := w.Twilio.Stats().CreateRequests; n != 0 {
		t.Errorf("Twilio got %d create requests for rejected tasks", n)
	}
}

// TestSendToWhoIDCreatesTheConversation: a Task with only a WhoId is sent
// to the Contact's number however it was typed, from the default channel,
// and a conversation is created and linked.
func TestSendToWhoIDCreatesTheConversation(t *testing.T) {
	w := newWorld(t, simOptions{})
	contact, err := w.Org.Insert("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "MobilePhone": "(415) 555-0100"})
	if err != nil {
		t.Fatal(err)
	}
	startDaemon(t, w, "", e2eTuning())
	id := w.pendingTask(t, map[string]any{"WhoId": contact, "Description": "Hello Ada"})
	sfdctest.Eventually(t, 15*time.Second, "the task sent", func() bool { return str(w.task(t, id)["Message_Sid__c"]) != "" })
	task := w.task(t, id)
	convID := str(task["Conversation__c"])
	conv, ok := w.Org.Get("Conversation__c", convID)
	if !ok {
		t.Fatalf("task not linked to a conversation: %v", task)
	}
	if str(conv["Message_Recipient__c"]) != "+14155550100" || str(conv["Record_Id__c"]) != contact || str(conv["Channel__c"]) != w.ChannelID ||
		str(conv["OwnerId"]) != w.QueueID {
		t.Errorf("conversation = %v", conv)
	}
	if got := w.messagesTo(); got["+14155550100"] != 1 || len(got) != 1 {
		t.Errorf("messages by recipient = %v", got)
	}
	if str(task["Subject"]) != "SMS to +14155550100" {
		t.Errorf("Subject = %q", task["Subject"])
	}
}

// TestRetryByUser: a Task Twilio refused goes to Failed with the reason;
// set back to Pending by the user, it is a new transition and is sent.
func TestRetryByUser(t *testing.T) {
	w := newWorld(t, simOptions{})
	startDaemon(t, w, "", e2eTuning())
	w.Twilio.SetLandline("+14155550155") // 21614: not a mobile number
	conv := w.newConversation(t, "+14155550155")
	id := w.pendingTask(t, map[string]any{"Conversation__c": conv, "Description": "Try me"})
	sfdctest.Eventually(t, 15*time.Second, "the task failed", func() bool { return str(w.task(t, id)["Message_Status__c"]) == "Failed" })
	if d := str(w.task(t, id)["Error_Description__c"]); !strings.HasPrefix(d, "21614") {
		t.Errorf("Error_Description__c = %q, want the 21614 description", d)
	}

	// The customer's number is fixed; the user retries.
	if err := w.Org.Update("Conversation__c", conv, map[string]any{"Message_Recipient__c": "+14155550156"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Org.Update("Task", id, map[string]any{"Message_Status__c": "Pending"}); err != nil {
		t.Fatal(err)
	}
	sfdctest.Eventually(t, 15*time.Second, "the retried task sent", func() bool { return str(w.task(t, id)["Message_Sid__c"]) != "" })
	if got := w.messagesTo(); got["+14155550156"] != 1 {
		t.Errorf("messages by recipient = %v", got)
	}
}

// TestDuplicateEventAndConcurrentSweep: the same notification delivered
// twice while a sweep runs → one message.
func TestDuplicateEventAndConcurrentSweep(t *testing.T) {
	w := newWorld(t, simOptions{})
	w.Twilio.SetLatency(500 * time.Millisecond) // keep the first send in flight while the duplicates run
	d := startDaemon(t, w, "", e2eTuning())
	conv := w.newConversation(t, "+14155550111")
	id := w.pendingTask(t, map[string]any{"Conversation__c": conv, "Description": "Only once"})
	// The same notification again (as after a replay), and a sweep, at once.
	w.Org.Publish(channelTasks, "updated", map[string]any{"Id": id, "Message_Type__c": "Outbound", "Message_Status__c": "Pending", "Conversation__c": conv})
	if err := d.m.store.Enqueue(context.Background(), store.Job{Kind: kindSweep, Key: "test"}); err != nil {
		t.Fatal(err)
	}
	sfdctest.Eventually(t, 15*time.Second, "the task sent", func() bool { return str(w.task(t, id)["Message_Sid__c"]) != "" })
	time.Sleep(time.Second) // let every duplicate job finish
	if n := len(w.Twilio.Messages()); n != 1 {
		t.Fatalf("%d Twilio messages, want 1", n)
	}
}

// TestThrottledThenSent: 429 on the first 50 creates → all sent, none failed.
func TestThrottledThenSent(t *testing.T) {
	w := newWorld(t, simOptions{})
	w.Twilio.SetRetryAfter(200 * time.Millisecond)
	w.Twilio.Fail429(50)
	startDaemon(t, w, "", e2eTuning())
	ids := make([]string, 60)
	for i := range ids {
		ids[i] = w.pendingTask(t, map[string]any{"Conversation__c": w.newConversation(t, fmt.Sprintf("+1415555%04d", 2000+i)), "Description": fmt.Sprintf("Throttled %d", i)})
	}
	w.waitAllSent(t, 30*time.Second, ids)
	for _, id := range ids {
		if s := str(w.task(t, id)["Message_Status__c"]); s == "Failed" || s == "Error" {
			t.Errorf("task %s is %s: %s", id, s, w.task(t, id)["Error_Description__c"])
		}
	}
	if n := len(w.Twilio.Messages()); n != len(ids) {
		t.Errorf("%d messages for %d tasks", n, len(ids))
	}
	if f := w.Twilio.Stats().Faults; f < 50 {
		t.Errorf("only %d faults injected; the test did not exercise 429s", f)
	}
}

// TestCreatedButServerError: Twilio creates 3 messages but answers 500;
// each is found at Twilio and never sent twice.
func TestCreatedButServerError(t *testing.T) {
	w := newWorld(t, simOptions{})
	w.Twilio.CreatedBut500(3)
	startDaemon(t, w, "", e2eTuning())
	ids := make([]string, 5)
	for i := range ids {
		ids[i] = w.pendingTask(t, map[string]any{"Conversation__c": w.newConversation(t, fmt.Sprintf("+1415555%04d", 3000+i)), "Description": "Same words for everyone"})
	}
	w.waitAllSent(t, 30*time.Second, ids)
	for to, n := range w.messagesTo() {
		if n != 1 {
			t.Errorf("%s got %d messages", to, n)
		}
	}
	if n := len(w.Twilio.Messages()); n != len(ids) {
		t.Errorf("%d messages for %d tasks", n, len(ids))
	}
}

// TestCreatedButServerErrorSameWords: four Tasks say the same words to the
// same customer and two creates answer 500 after creating: the lookup must
// not take another Task's message for its own. Exactly four messages.
func TestCreatedButServerErrorSameWords(t *testing.T) {
	w := newWorld(t, simOptions{})
	w.Twilio.CreatedBut500(2)
	startDaemon(t, w, "", e2eTuning())
	conv := w.newConversation(t, "+14155550222")
	ids := make([]string, 4)
	for i := range ids {
		ids[i] = w.pendingTask(t, map[string]any{"Conversation__c": conv, "Description": "Your appointment is confirmed."})
	}
	w.waitAllSent(t, 60*time.Second, ids)
	w.checkOnePerTask(t, ids, false)
}
