package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
	"github.com/switchboard/switchboard/sync/store"
)

// Exactly once (SPEC §3) where it was broken: Messaging Service channels
// after an ambiguous create, Tasks edited while their send is in flight,
// and recovery after a crash (issue 8, parts 1–3).

const (
	simServiceSID = "MG5b7e1c2d3f4a5b6c7d8e9f0a1b2c3d4e"
	simPoolA      = "+14155550001"
	simPoolB      = "+14155550002"
)

// useMessagingService turns the world's channel into a Messaging Service
// channel with a pool of two numbers: Twilio picks the sender, so the
// messages' From is a pool number, never the MG SID (twilio.md §2.1).
func (w *simWorld) useMessagingService(t testing.TB) {
	t.Helper()
	if err := w.Twilio.AddMessagingService(simAccountSID, simServiceSID, simPoolA, simPoolB); err != nil {
		t.Fatal(err)
	}
	if err := w.Org.Update("Channel__c", w.ChannelID, map[string]any{"Phone_Number__c": nil, "Messaging_Service_Sid__c": simServiceSID}); err != nil {
		t.Fatal(err)
	}
}

// checkOnePerTask: every Task carries a distinct SID, Twilio holds exactly
// one message per Task and none on no Task, and, viaService, each went
// through the service from its pool.
func (w *simWorld) checkOnePerTask(t *testing.T, ids []string, viaService bool) {
	t.Helper()
	sids := map[string]bool{}
	for _, id := range ids {
		sids[str(w.task(t, id)["Message_Sid__c"])] = true
	}
	msgs := w.Twilio.Messages()
	if len(msgs) != len(ids) || len(sids) != len(ids) {
		t.Errorf("%d Twilio messages and %d distinct SIDs on %d tasks, want %d and %d", len(msgs), len(sids), len(ids), len(ids), len(ids))
	}
	for _, m := range msgs {
		if !sids[m.SID] {
			t.Errorf("message %s (%q to %s) is on no task", m.SID, m.Body, m.To)
		}
		if viaService && (m.MessagingServiceSID != simServiceSID || (m.From != simPoolA && m.From != simPoolB)) {
			t.Errorf("message %s: from %s via %q, want a pool number via %s", m.SID, m.From, m.MessagingServiceSID, simServiceSID)
		}
	}
}

// TestServiceCreatedButServerError: on a Messaging Service channel, three
// creates make the message and answer 500. The lookup matches the
// service's messages (whose From is a pool number), so five Tasks are
// five messages — not eight.
func TestServiceCreatedButServerError(t *testing.T) {
	w := newWorld(t, simOptions{})
	w.useMessagingService(t)
	w.Twilio.CreatedBut500(3)
	startDaemon(t, w, "", e2eTuning())
	ids := make([]string, 5)
	for i := range ids {
		ids[i] = w.pendingTask(t, map[string]any{"Conversation__c": w.newConversation(t, fmt.Sprintf("+1415555%04d", 3100+i)), "Description": "Same words for everyone"})
	}
	w.waitAllSent(t, 30*time.Second, ids)
	time.Sleep(time.Second) // a second send would come now
	w.checkOnePerTask(t, ids, true)
}

// TestServiceDroppedAfterCreate: the same with the connection closed
// after the create, and four Tasks saying the same words to one customer.
func TestServiceDroppedAfterCreate(t *testing.T) {
	w := newWorld(t, simOptions{})
	w.useMessagingService(t)
	w.Twilio.DropAfterCreate(2)
	startDaemon(t, w, "", e2eTuning())
	conv := w.newConversation(t, "+14155553200")
	ids := make([]string, 4)
	for i := range ids {
		ids[i] = w.pendingTask(t, map[string]any{"Conversation__c": conv, "Description": "Your appointment is confirmed."})
	}
	w.waitAllSent(t, 30*time.Second, ids)
	time.Sleep(time.Second)
	w.checkOnePerTask(t, ids, true)
}

// TestServiceKilledBetweenCreateAndLedger: the daemon is SIGKILLed while
// Twilio holds the answers to creates it has already made, so the ledger
// has intents and Twilio has the messages. After the restart each Task
// has exactly one message.
func TestServiceKilledBetweenCreateAndLedger(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	w := newWorld(t, simOptions{})
	w.useMessagingService(t)
	addr, admin := freePort(t), freePort(t)
	env := append(w.environ("http://"+addr, "sqlite://"+filepath.Join(t.TempDir(), "switchboard.db")),
		"SWITCHBOARD_SERVER_LISTEN="+addr, "SWITCHBOARD_SERVER_ADMIN_LISTEN="+admin, "SWITCHBOARD_ENGINE_SWEEP_INTERVAL=2s")
	child := startChild(t, env)
	waitReady(t, admin, 30*time.Second)

	w.Twilio.HoldAfterCreate(3, time.Minute)
	conv := w.newConversation(t, "+14155553300")
	ids := make([]string, 3)
	for i := range ids {
		ids[i] = w.pendingTask(t, map[string]any{"Conversation__c": conv, "Description": "Held at Twilio"})
	}
	sfdctest.Eventually(t, 15*time.Second, "three messages created at Twilio", func() bool { return len(w.Twilio.Messages()) == 3 })
	child.kill(t)
	child = startChild(t, env)
	t.Cleanup(func() { child.kill(t) })
	w.waitAllSent(t, 60*time.Second, ids)
	time.Sleep(2 * time.Second)
	w.checkOnePerTask(t, ids, true)
}

// pastTheSecond sleeps into the second after t: SystemModstamp has
// second precision (salesforce.md §2.1), and an edit must change it.
func pastTheSecond(t time.Time) {
	time.Sleep(time.Until(t.Truncate(time.Second).Add(time.Second + 50*time.Millisecond)))
}

// editTask changes a Task the way a user, a Flow or an integration does,
// then sends what follows every change of a Pending Task: a sweep and the
// notification again (a replay).
func editTask(t *testing.T, w *simWorld, d *daemon, id string, fields map[string]any) {
	t.Helper()
	if err := w.Org.Update("Task", id, fields); err != nil {
		t.Fatal(err)
	}
	if err := d.m.store.Enqueue(context.Background(), store.Job{Kind: kindSweep, Key: fmt.Sprint("test-sweep-", time.Now().UnixNano())}); err != nil {
		t.Fatal(err)
	}
	rec := w.task(t, id)
	w.Org.Publish(channelTasks, "updated", map[string]any{"Id": id, "Message_Type__c": "Outbound", "Message_Status__c": rec["Message_Status__c"], "Conversation__c": rec["Conversation__c"]})
}

// TestEditDuringSlowCreate: the Task's Subject is edited while Twilio is
// still answering its create → one message, and its SID on the Task.
func TestEditDuringSlowCreate(t *testing.T) {
	w := newWorld(t, simOptions{})
	d := startDaemon(t, w, "", e2eTuning())
	w.Twilio.SetLatency(2500 * time.Millisecond)
	conv := w.newConversation(t, "+14155553400")
	created := time.Now()
	id := w.pendingTask(t, map[string]any{"Conversation__c": conv, "Description": "Slow create"})
	pastTheSecond(created) // the create is at Twilio, waiting for its answer
	editTask(t, w, d, id, map[string]any{"Subject": "SMS to a customer (edited)"})
	w.waitAllSent(t, 15*time.Second, []string{id})
	time.Sleep(3 * time.Second) // a second create would be answered by now
	w.checkOnePerTask(t, []string{id}, false)
}

// TestEditAfterCreateBeforeWriteBack: the edit lands after Twilio answered
// and before the SID is written to the Task (a long write-back window):
// one message, and the Task shows the text that was sent.
func TestEditAfterCreateBeforeWriteBack(t *testing.T) {
	w := newWorld(t, simOptions{})
	tun := e2eTuning()
	tun.WriteWindow = 3 * time.Second
	d := startDaemon(t, w, "", tun)
	conv := w.newConversation(t, "+14155553500")
	created := time.Now()
	id := w.pendingTask(t, map[string]any{"Conversation__c": conv, "Description": "Fast create, slow write-back"})
	sfdctest.Eventually(t, 10*time.Second, "the message at Twilio", func() bool { return len(w.Twilio.Messages()) == 1 })
	pastTheSecond(created)
	if sid := str(w.task(t, id)["Message_Sid__c"]); sid != "" {
		t.Fatalf("the SID %s is already on the Task: the edit would not be in the window", sid)
	}
	editTask(t, w, d, id, map[string]any{"Subject": "SMS to a customer (edited)", "Description": "Too late to change"})
	w.waitAllSent(t, 15*time.Second, []string{id})
	time.Sleep(3 * time.Second) // past another write-back window
	w.checkOnePerTask(t, []string{id}, false)
	if got := str(w.task(t, id)["Description"]); got != "Fast create, slow write-back" {
		t.Errorf("Description = %q, want the text that was sent", got)
	}
}

// TestEditDescriptionWhilePending: the first create fails with a 5xx that
// leaves its outcome unknown, and before anything reaches Twilio the user
// fixes the text. The new text is sent, once; the old one never.
func TestEditDescriptionWhilePending(t *testing.T) {
	w := newWorld(t, simOptions{})
	d := startDaemon(t, w, "", e2eTuning())
	w.Twilio.Fail5xx(1, false)
	id := w.pendingTask(t, map[string]any{"Conversation__c": w.newConversation(t, "+14155553600"), "Description": "Teh old text"})
	created := time.Now()
	sfdctest.Eventually(t, 10*time.Second, "the failed create", func() bool { return w.Twilio.Stats().Faults == 1 })
	pastTheSecond(created)
	editTask(t, w, d, id, map[string]any{"Description": "The new text"})
	w.waitAllSent(t, 30*time.Second, []string{id})
	time.Sleep(2 * time.Second)
	w.checkOnePerTask(t, []string{id}, false)
	if msgs := w.Twilio.Messages(); len(msgs) == 1 && msgs[0].Body != "The new text" {
		t.Errorf("sent %q, want the edited text", msgs[0].Body)
	}
	// The user resets the sent Task to Pending: a new transition, sent once.
	if err := w.Org.Update("Task", id, map[string]any{"Message_Status__c": "Pending", "Description": "Once more"}); err != nil {
		t.Fatal(err)
	}
	resent := time.Now()
	sfdctest.Eventually(t, 30*time.Second, "the resent task", func() bool {
		return len(w.Twilio.Messages()) == 2 && str(w.task(t, id)["Message_Status__c"]) != "Pending"
	})
	pastTheSecond(resent)
	editTask(t, w, d, id, map[string]any{"Subject": "SMS (after the resend)"})
	time.Sleep(2 * time.Second)
	if msgs := w.Twilio.Messages(); len(msgs) != 2 || msgs[1].Body != "Once more" || !strings.HasPrefix(str(w.task(t, id)["Message_Sid__c"]), "SM") ||
		str(w.task(t, id)["Message_Sid__c"]) != msgs[1].SID {
		t.Errorf("after the user's resend: %d messages %+v, task SID %s", len(msgs), msgs, w.task(t, id)["Message_Sid__c"])
	}
}
