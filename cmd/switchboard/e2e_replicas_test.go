package main

import (
	"context"
	"fmt"
	gosync "sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
	"github.com/switchboard/switchboard/twilio/twiliotest"
)

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
