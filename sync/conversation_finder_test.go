package sync_test

import (
	"context"
	"strings"
	gosync "sync"
	"testing"

	sbsync "github.com/switchboard/switchboard/sync"
)

// Both directions find threads through one finder; these tests hold each
// direction to its three rules: the oldest open thread wins, recipients
// compare without case, and a refused create fails only its own key.

// taskThread returns the Conversation__c of the Task recording sid.
func (e *simEnv) taskThread(t *testing.T, sid string) string {
	t.Helper()
	rows := e.query(t, "SELECT Conversation__c FROM Task WHERE Message_Sid__c = '"+sid+"'")
	if len(rows) != 1 {
		t.Fatalf("%d tasks for %s, want 1", len(rows), sid)
	}
	id, _ := rows[0]["Conversation__c"].(string)
	return id
}

func TestFinderOldestOpenThreadWins(t *testing.T) {
	e := newSimEnv(t)
	// Two open threads for one number on one channel (made by hand, or
	// before the lock): created in the same second, so Id breaks the tie.
	oldest := e.insert(t, "Conversation__c", map[string]any{"Status__c": "Open", "Channel__c": e.chanID, "Message_Recipient__c": "+14155550100"})
	e.insert(t, "Conversation__c", map[string]any{"Status__c": "Open", "Channel__c": e.chanID, "Message_Recipient__c": "+14155550100"})

	ids, errs, err := sbsync.NewDirectoryForTest(e.eng).FindOrCreateOutbound(context.Background(),
		[]sbsync.OutboundThread{{ChannelID: e.chanID, Recipient: "+14155550100"}})
	if err != nil || errs[0] != nil {
		t.Fatalf("outbound: %v %v", err, errs)
	}
	if ids[0] != oldest {
		t.Errorf("outbound threaded on %s, want the oldest open thread %s", ids[0], oldest)
	}

	m := msg("+14155550100", "hi")
	if err := e.inbound(nil).Handle(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if got := e.taskThread(t, m.SID); got != oldest {
		t.Errorf("inbound threaded on %s, want the oldest open thread %s", got, oldest)
	}
	if n := len(e.query(t, "SELECT Id FROM Conversation__c")); n != 2 {
		t.Errorf("%d conversations, want the 2 there were", n)
	}
}

func TestFinderRecipientsCompareWithoutCase(t *testing.T) {
	e := newSimEnv(t)
	// A user typed the prefix capitalised; Twilio and NormalizeNumber
	// write it lower-case. SOQL finds the row either way (text compares
	// case-insensitively); the finder must then recognise it.
	wa := e.insert(t, "Conversation__c", map[string]any{"Status__c": "Open", "Channel__c": e.chanID, "Message_Recipient__c": "WhatsApp:+14155550101"})
	acme := e.insert(t, "Conversation__c", map[string]any{"Status__c": "Open", "Channel__c": e.chanID, "Message_Recipient__c": "ACME"})

	ids, errs, err := sbsync.NewDirectoryForTest(e.eng).FindOrCreateOutbound(context.Background(),
		[]sbsync.OutboundThread{{ChannelID: e.chanID, Recipient: "whatsapp:+14155550101"}})
	if err != nil || errs[0] != nil {
		t.Fatalf("outbound: %v %v", err, errs)
	}
	if ids[0] != wa {
		t.Errorf("outbound threaded whatsapp:+14155550101 on %s, want the open thread %s of WhatsApp:+14155550101", ids[0], wa)
	}

	in := e.inbound(nil)
	for _, c := range []struct{ from, want string }{{"whatsapp:+14155550101", wa}, {"Acme", acme}} {
		m := msg(c.from, "hi")
		if err := in.Handle(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		if got := e.taskThread(t, m.SID); got != c.want {
			t.Errorf("inbound from %s threaded on %s, want %s", c.from, got, c.want)
		}
	}

	// Two spellings of a new sender in one batch make one thread.
	var wg gosync.WaitGroup
	sids := make([]string, 2)
	for n, from := range []string{"NEWCO", "NewCo"} {
		m := msg(from, "hello")
		sids[n] = m.SID
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := in.Handle(context.Background(), m); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if a, b := e.taskThread(t, sids[0]), e.taskThread(t, sids[1]); a != b {
		t.Errorf("NEWCO and NewCo threaded on %s and %s, want one thread", a, b)
	}
	if n := len(e.query(t, "SELECT Id FROM Conversation__c")); n != 3 {
		t.Errorf("%d conversations, want 3 (WhatsApp, ACME, NEWCO)", n)
	}
}

func TestFinderRefusedCreateFailsOnlyItsKey(t *testing.T) {
	e := newSimEnv(t)
	// Message_Recipient__c is a Phone field, 40 characters at most: the
	// org refuses this one create with STRING_TOO_LONG.
	long := strings.Repeat("X", 41)
	ids, errs, err := sbsync.NewDirectoryForTest(e.eng).FindOrCreateOutbound(context.Background(), []sbsync.OutboundThread{
		{ChannelID: e.chanID, Recipient: "+14155550102", QueueName: "SMS_Support"},
		{ChannelID: e.chanID, Recipient: long},
		{ChannelID: e.chanID, Recipient: "+14155550103"},
	})
	if err != nil {
		t.Fatalf("outbound: the batch failed as a whole: %v", err)
	}
	if ids[0] == "" || ids[2] == "" || errs[0] != nil || errs[2] != nil {
		t.Errorf("outbound: good keys got %v / %v, want conversations", ids, errs)
	}
	if errs[1] == nil || !strings.Contains(errs[1].Error(), "STRING_TOO_LONG") {
		t.Errorf("outbound: the overlong recipient got %v, want its own STRING_TOO_LONG error", errs[1])
	}
	if rows := e.query(t, "SELECT OwnerId FROM Conversation__c WHERE Id = '"+ids[0]+"'"); len(rows) != 1 || rows[0]["OwnerId"] != e.queueID {
		t.Errorf("outbound: new thread %v, want it owned by the channel's queue %s", rows, e.queueID)
	}

	in := e.inbound(nil)
	froms := []string{"+14155550104", long, "+14155550105"}
	got := make([]error, len(froms))
	sids := make([]string, len(froms))
	var wg gosync.WaitGroup
	for n, from := range froms {
		m := msg(from, "hi")
		sids[n] = m.SID
		wg.Add(1)
		go func() { defer wg.Done(); got[n] = in.Handle(context.Background(), m) }()
	}
	wg.Wait()
	if got[0] != nil || got[2] != nil {
		t.Errorf("inbound: good senders got %v, want recorded", got)
	}
	if got[1] == nil || !strings.Contains(got[1].Error(), "STRING_TOO_LONG") {
		t.Errorf("inbound: the overlong sender got %v, want its own STRING_TOO_LONG error", got[1])
	}
	for _, n := range []int{0, 2} {
		if e.taskThread(t, sids[n]) == "" {
			t.Errorf("inbound: %s's task has no thread", froms[n])
		}
	}
}
