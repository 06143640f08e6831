package sync_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testclock"
	sbsync "github.com/switchboard/switchboard/sync"
)

func optIn(t *testing.T, e *simEnv, key string) map[string]any {
	t.Helper()
	rows := e.query(t, "SELECT UniqueId__c, Active__c, Keyword__c, Phone_Number__c, Channel__c, Opt_In_Date_Time__c, Opt_Out_Date_Time__c FROM Opt_In__c WHERE UniqueId__c = '"+key+"'")
	if len(rows) != 1 {
		t.Fatalf("%d Opt_In__c rows for %s, want 1", len(rows), key)
	}
	return rows[0]
}

func TestInboundStopAndStartKeywords(t *testing.T) {
	e := newSimEnv(t)
	in := e.inbound(nil)
	ctx := context.Background()
	key := sbsync.OptInKey("+14155550100", e.chanID)
	t0 := time.Now().Add(-time.Minute)

	stop := msg("+14155550100", "  sToP ")
	stop.ReceivedAt = t0
	if err := in.Handle(ctx, stop); err != nil {
		t.Fatal(err)
	}
	if r := optIn(t, e, key); r["Active__c"] != false || r["Keyword__c"] != "STOP" || r["Phone_Number__c"] != "+14155550100" ||
		r["Channel__c"] != e.chanID || r["Opt_Out_Date_Time__c"] == nil {
		t.Fatalf("after STOP: %v", r)
	}
	// The keyword is still a message in the thread.
	if rows := e.query(t, "SELECT Id FROM Task WHERE Message_Sid__c = '"+stop.SID+"'"); len(rows) != 1 {
		t.Fatalf("STOP message not recorded as a task")
	}

	start := msg("+14155550100", "unstop")
	start.ReceivedAt = t0.Add(time.Second)
	if err := in.Handle(ctx, start); err != nil {
		t.Fatal(err)
	}
	if r := optIn(t, e, key); r["Active__c"] != true || r["Keyword__c"] != "UNSTOP" || r["Opt_In_Date_Time__c"] == nil {
		t.Fatalf("after START: %v", r)
	}

	// A STOP the queue retried late (it was received before the START)
	// does not opt the customer out again.
	late := msg("+14155550100", "QUIT")
	late.ReceivedAt = t0.Add(500 * time.Millisecond)
	if err := e.inbound(nil).Handle(ctx, late); err != nil {
		t.Fatal(err)
	}
	if r := optIn(t, e, key); r["Active__c"] != true {
		t.Fatalf("a STOP older than the stored START won: %v", r)
	}

	// Not keywords: more than the word, or HELP.
	for _, body := range []string{"stop please", "please cancel", "HELP", "STOP ALL"} {
		m := msg("+14155550100", body)
		if err := in.Handle(ctx, m); err != nil {
			t.Fatal(err)
		}
		if r := optIn(t, e, key); r["Active__c"] != true {
			t.Fatalf("%q changed consent: %v", body, r)
		}
	}

	// Advanced Opt-Out: Twilio's OptOutType decides, the custom word is kept.
	custom := msg("+14155550100", "arret")
	custom.OptOutType = "STOP"
	if err := in.Handle(ctx, custom); err != nil {
		t.Fatal(err)
	}
	if r := optIn(t, e, key); r["Active__c"] != false || r["Keyword__c"] != "ARRET" {
		t.Fatalf("after OptOutType=STOP: %v", r)
	}
}

func TestConsentBatchesAndTwilioOptOut(t *testing.T) {
	e := newSimEnv(t)
	c := sbsync.NewConsent(e.eng, nil, 20*time.Millisecond)
	ctx := context.Background()
	e.org.ResetCalls()
	done := make(chan error, 100)
	now := time.Now()
	for n := range 100 {
		go func() {
			// Numbers 0..49 each get a STOP and a later START in one window;
			// the later one wins and the upsert carries each key once.
			num := fmt.Sprintf("+1415620%04d", n%50)
			done <- c.Record(ctx, sbsync.ConsentChange{Customer: num, ChannelID: e.chanID, Active: n >= 50,
				Keyword: "X", At: now.Add(time.Duration(n) * time.Millisecond)})
		}()
	}
	for range 100 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if calls := e.org.TotalCalls(); calls > 2 {
		t.Fatalf("100 consent changes took %d calls (%v), want one read and one upsert", calls, e.org.Calls())
	}
	rows := e.query(t, "SELECT Active__c FROM Opt_In__c")
	if len(rows) != 50 {
		t.Fatalf("%d Opt_In__c rows, want 50", len(rows))
	}
	for _, r := range rows {
		if r["Active__c"] != true {
			t.Fatalf("the later START lost: %v", r)
		}
	}

	// Twilio 21610 on a send: the outbound engine records an opt-out.
	if err := c.OptOut(ctx, "+14155550100", e.chanID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if r := optIn(t, e, sbsync.OptInKey("+14155550100", e.chanID)); r["Active__c"] != false || r["Keyword__c"] != "21610" {
		t.Fatalf("after 21610: %v", r)
	}
	if err := c.Record(ctx, sbsync.ConsentChange{ChannelID: e.chanID}); !sbsync.IsPermanent(err) {
		t.Fatalf("change without a number: %v, want a permanent error", err)
	}
}

// TestInboundReplayChangesNothing reproduces issue 9 §2: a customer's
// signed START replayed after their STOP — 30 minutes later, when this
// process has forgotten the message, or at once on another replica, which
// never knew it — must leave consent, the Task and the threads as they
// are. A replay is the same MessageSid arriving again, so later.
func TestInboundReplayChangesNothing(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	clk := testclock.New(time.Now())
	in := sbsync.NewInbound(sbsync.InboundConfig{BatchWindow: 10 * time.Millisecond, Now: clk.Now}, e.eng, nil, nil, nil)
	const cust = "+14155550100"
	key := sbsync.OptInKey(cust, e.chanID)
	t0 := time.Now().Add(-2 * time.Minute)
	start, stop := msg(cust, "START"), msg(cust, "STOP")
	start.ReceivedAt, stop.ReceivedAt = t0, t0.Add(time.Minute)
	for _, m := range []sbsync.InboundMessage{start, stop} {
		if err := in.Handle(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	consent := optIn(t, e, key)
	if consent["Active__c"] != false {
		t.Fatalf("after START then STOP: %v", consent)
	}
	taskQ := "SELECT Id, Description, Message_Send_Date__c, Conversation__c, WhoId, Message_Status__c, LastModifiedDate, SystemModstamp FROM Task WHERE Message_Sid__c = '" + start.SID + "'"
	task := e.query(t, taskQ)
	convs := len(e.query(t, "SELECT Id FROM Conversation__c")) + 1 // and the other customer's
	replay := func(name string, h *sbsync.Inbound, at time.Time) {
		t.Helper()
		r := start
		r.ReceivedAt = at
		if err := h.Handle(ctx, r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := optIn(t, e, key); !reflect.DeepEqual(got, consent) {
			t.Errorf("%s: Opt_In__c = %v, want it unchanged: %v", name, got, consent)
		}
		if got := e.query(t, taskQ); !reflect.DeepEqual(got, task) {
			t.Errorf("%s: the Task is now %v, want it unchanged: %v", name, got, task)
		}
		if n := len(e.query(t, "SELECT Id FROM Conversation__c")); n != convs {
			t.Errorf("%s: %d conversations, want %d", name, n, convs)
		}
	}
	// Half an hour of other customers' traffic: this process forgets.
	for range 2 {
		clk.Add(15 * time.Minute)
		if err := in.Handle(ctx, msg("+14155550199", "hi")); err != nil {
			t.Fatal(err)
		}
	}
	replay("replayed 30 minutes later", in, clk.Now())
	replay("replayed at once to another replica", e.inbound(nil), time.Now())
	// An agent closed the thread since: the replay opens no new one.
	if err := e.org.Update("Conversation__c", task[0]["Conversation__c"].(string), map[string]any{"Status__c": "Closed"}); err != nil {
		t.Fatal(err)
	}
	task = e.query(t, taskQ)
	replay("replayed after its thread was closed", e.inbound(nil), time.Now())
}

// TestInboundRetryFinishesWhatItStarted: a job that created its Task and
// then failed before recording the keyword (Salesforce refused the
// Opt_In__c write) is retried with the message's own arrival time, and the
// retry records the keyword: only a different delivery of the message is a
// replay.
func TestInboundRetryFinishesWhatItStarted(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	in := e.inbound(nil)
	const cust = "+14155550101"
	stop := msg(cust, "STOP")
	e.org.FailNext("", "Opt_In__c", 1, 400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "not now")
	if err := in.Handle(ctx, stop); err == nil {
		t.Fatal("the first attempt succeeded although the Opt_In__c write was refused")
	}
	if rows := e.query(t, "SELECT Id FROM Task WHERE Message_Sid__c = '"+stop.SID+"'"); len(rows) != 1 {
		t.Fatalf("%d Tasks after the first attempt, want 1", len(rows))
	}
	if err := in.Handle(ctx, stop); err != nil {
		t.Fatal(err)
	}
	if r := optIn(t, e, sbsync.OptInKey(cust, e.chanID)); r["Active__c"] != false || r["Keyword__c"] != "STOP" {
		t.Fatalf("after the retry: %v", r)
	}
}
