package main

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testclock"
	"github.com/switchboard/switchboard/sfdc/sfdctest"
	"github.com/switchboard/switchboard/twilio/twiliotest"
)

// inboundDrained waits until d's queue holds no unfinished inbound job and
// no inbound dead letter.
func inboundDrained(t *testing.T, d *daemon) {
	t.Helper()
	sfdctest.Eventually(t, 15*time.Second, "the inbound queue to drain", func() bool {
		depth, err := d.m.store.QueueDepth(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		q := depth[kindInbound]
		if q.Dead > 0 {
			t.Fatalf("%d inbound dead letters", q.Dead)
		}
		return q.Available+q.Scheduled+q.Retryable+q.Running == 0
	})
}

// consentAndTask is what a replayed message must not change: the
// customer's Opt_In__c, the message's Task and the number of threads.
func (w *simWorld) consentAndTask(t *testing.T, key, sid string) []any {
	t.Helper()
	opt, err := w.Org.Query("SELECT Id, Active__c, Keyword__c, Opt_In_Date_Time__c, Opt_Out_Date_Time__c, LastModifiedDate FROM Opt_In__c WHERE UniqueId__c = '" + key + "'")
	if err != nil {
		t.Fatal(err)
	}
	task, err := w.Org.Query("SELECT Id, Description, Conversation__c, WhoId, Message_Status__c, Message_Send_Date__c, LastModifiedDate, SystemModstamp FROM Task WHERE Message_Sid__c = '" + sid + "'")
	if err != nil {
		t.Fatal(err)
	}
	return []any{opt, task, len(w.Org.Records("Conversation__c"))}
}

// startThenStop has the customer text START, then STOP, through d, and
// returns the START webhook as Twilio posted it.
func startThenStop(t *testing.T, w *simWorld, d *daemon, customer string) *twiliotest.InboundResult {
	t.Helper()
	key := customer + "|" + w.ChannelID
	active := func(want bool) func() bool {
		return func() bool {
			rows, _ := w.Org.Query("SELECT Active__c FROM Opt_In__c WHERE UniqueId__c = '" + key + "'")
			return len(rows) == 1 && rows[0]["Active__c"] == want
		}
	}
	start, err := w.Twilio.SendInbound(context.Background(), twiliotest.Inbound{From: customer, To: simNumber, Body: "START", URL: d.publicURL + "/twilio/inbound"})
	if err != nil || start.StatusCode != 200 {
		t.Fatalf("START: %v %v", start, err)
	}
	sfdctest.Eventually(t, 15*time.Second, "the opt-in", active(true))
	stop, err := w.Twilio.SendInbound(context.Background(), twiliotest.Inbound{From: customer, To: simNumber, Body: "STOP", URL: d.publicURL + "/twilio/inbound"})
	if err != nil || stop.StatusCode != 200 {
		t.Fatalf("STOP: %v %v", stop, err)
	}
	sfdctest.Eventually(t, 15*time.Second, "the opt-out", active(false))
	inboundDrained(t, d)
	return start
}

// TestReplayedStartAfterStopChangesNothing reproduces issue 9 §2 on one
// daemon: the customer's signed START, replayed byte for byte half an hour
// after their STOP (the clock moved, with other customers' traffic in
// between), is answered 200 and changes nothing: they stay opted out, and
// the START's Task keeps its date.
func TestReplayedStartAfterStopChangesNothing(t *testing.T) {
	w := newWorld(t, simOptions{})
	clk := testclock.New(time.Now())
	tun := e2eTuning()
	tun.Now = clk.Now
	d := startDaemon(t, w, "", tun)
	const customer = "+14155550150"
	start := startThenStop(t, w, d, customer)
	before := w.consentAndTask(t, customer+"|"+w.ChannelID, start.MessageSID)

	for i := range 2 {
		clk.Add(15 * time.Minute)
		other, err := w.Twilio.SendInbound(context.Background(), twiliotest.Inbound{From: fmt.Sprintf("+1415555%04d", 160+i), To: simNumber, Body: "hello", URL: d.publicURL + "/twilio/inbound"})
		if err != nil || other.StatusCode != 200 {
			t.Fatalf("other traffic: %v %v", other, err)
		}
		inboundDrained(t, d)
	}
	before[2] = before[2].(int) + 2 // the other customers' threads
	resp, _ := post(t, d.publicURL+"/twilio/inbound", start.Params, start.Signature)
	if resp.StatusCode != 200 {
		t.Fatalf("the replay was answered %d; a signed duplicate is acknowledged so Twilio stops retrying", resp.StatusCode)
	}
	inboundDrained(t, d)
	if after := w.consentAndTask(t, customer+"|"+w.ChannelID, start.MessageSID); !reflect.DeepEqual(after, before) {
		t.Errorf("after a replay of START 30 minutes later:\n got %v\nwant %v", after, before)
	}
}

// TestReplayToAnotherReplicaChangesNothing: two replicas on one PostgreSQL
// store; the customer's START and STOP went through the first. The START,
// delivered again at once to the second replica (which never saw it),
// changes nothing.
func TestReplayToAnotherReplicaChangesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("replica test")
	}
	storeURL := freshPostgres(t)
	w := newWorld(t, simOptions{})
	a := startDaemon(t, w, storeURL, e2eTuning())
	const customer = "+14155550151"
	start := startThenStop(t, w, a, customer)
	before := w.consentAndTask(t, customer+"|"+w.ChannelID, start.MessageSID)
	// The second replica joins the shared queue only now, so it never saw
	// the START; the first stops, so the replay's job can only be the
	// second's (the first still remembers the message).
	b := startDaemon(t, w, storeURL, e2eTuning())
	a.stop(t)
	// Each replica checks signatures against its own public URL here, so
	// the simulated Twilio signs the same message (same MessageSid, body,
	// numbers) for the second one.
	again, err := w.Twilio.SendInbound(context.Background(), twiliotest.Inbound{From: customer, To: simNumber, Body: "START",
		URL: b.publicURL + "/twilio/inbound", Extra: map[string][]string{"MessageSid": {start.MessageSID}, "SmsSid": {start.MessageSID}, "SmsMessageSid": {start.MessageSID}}})
	if err != nil || again.StatusCode != 200 {
		t.Fatalf("the replay to the second replica: %v %v", again, err)
	}
	inboundDrained(t, b)
	if after := w.consentAndTask(t, customer+"|"+w.ChannelID, start.MessageSID); !reflect.DeepEqual(after, before) {
		t.Errorf("after a replay of START to another replica:\n got %v\nwant %v", after, before)
	}
}

// TestConsentFollowsArrivalNotRetries: the customer's STOP cannot be
// recorded at first (Salesforce refuses the Opt_In__c write) and its job
// waits for a retry; meanwhile their START arrives and is recorded. The
// STOP's retry runs last but arrived first, so the customer stays opted
// in: consent is ordered by the messages' own arrival, not by when a job
// ran.
func TestConsentFollowsArrivalNotRetries(t *testing.T) {
	w := newWorld(t, simOptions{})
	tun := e2eTuning()
	tun.Store.RetryBase, tun.Store.RetryMax = 2*time.Second, 4*time.Second
	d := startDaemon(t, w, "", tun)
	const customer = "+14155550152"
	key := customer + "|" + w.ChannelID
	optIn := func() map[string]any {
		rows, _ := w.Org.Query("SELECT Active__c, Keyword__c FROM Opt_In__c WHERE UniqueId__c = '" + key + "'")
		if len(rows) == 1 {
			return rows[0]
		}
		return nil
	}
	w.Org.FailNext("", "Opt_In__c", 1, 400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Consent records are being migrated")
	stop, err := w.Twilio.SendInbound(context.Background(), twiliotest.Inbound{From: customer, To: simNumber, Body: "STOP", URL: d.publicURL + "/twilio/inbound"})
	if err != nil || stop.StatusCode != 200 {
		t.Fatalf("STOP: %v %v", stop, err)
	}
	// The attempt wrote the Task, then failed on the Opt_In__c write.
	sfdctest.Eventually(t, 10*time.Second, "the STOP's first attempt to fail", func() bool {
		depth, err := d.m.store.QueueDepth(context.Background())
		return err == nil && depth[kindInbound].Running == 0 && len(w.inboundTasks()) == 1
	})
	if r := optIn(); r != nil {
		t.Fatalf("the refused write was recorded: %v", r)
	}
	start, err := w.Twilio.SendInbound(context.Background(), twiliotest.Inbound{From: customer, To: simNumber, Body: "START", URL: d.publicURL + "/twilio/inbound"})
	if err != nil || start.StatusCode != 200 {
		t.Fatalf("START: %v %v", start, err)
	}
	sfdctest.Eventually(t, 10*time.Second, "the opt-in", func() bool { r := optIn(); return r != nil && r["Active__c"] == true })
	inboundDrained(t, d) // the STOP's retry has run
	if r := optIn(); r["Active__c"] != true || r["Keyword__c"] != "START" {
		t.Errorf("after the STOP's late retry: %v, want the START to stand", r)
	}
	if n := len(w.inboundTasks()); n != 2 {
		t.Errorf("%d inbound Tasks, want 2", n)
	}
}

// TestRetriedStopStillOptsOut: the STOP's job writes its Task, then fails
// on the Opt_In__c write; its retry finds the Task it wrote (same arrival
// time), so it is not taken for a replay, and records the opt-out.
func TestRetriedStopStillOptsOut(t *testing.T) {
	w := newWorld(t, simOptions{})
	d := startDaemon(t, w, "", e2eTuning())
	const customer = "+14155550153"
	w.Org.FailNext("", "Opt_In__c", 1, 400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Consent records are being migrated")
	stop, err := w.Twilio.SendInbound(context.Background(), twiliotest.Inbound{From: customer, To: simNumber, Body: "STOP", URL: d.publicURL + "/twilio/inbound"})
	if err != nil || stop.StatusCode != 200 {
		t.Fatalf("STOP: %v %v", stop, err)
	}
	sfdctest.Eventually(t, 15*time.Second, "the opt-out", func() bool {
		rows, _ := w.Org.Query("SELECT Active__c FROM Opt_In__c WHERE UniqueId__c = '" + customer + "|" + w.ChannelID + "'")
		return len(rows) == 1 && rows[0]["Active__c"] == false
	})
	inboundDrained(t, d)
	if n := len(w.inboundTasks()); n != 1 {
		t.Errorf("%d inbound Tasks, want 1", n)
	}
}
