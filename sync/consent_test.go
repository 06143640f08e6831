package sync_test

import (
	"context"
	"fmt"
	"testing"
	"time"

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
