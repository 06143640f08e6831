package sync_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
	sbsync "github.com/switchboard/switchboard/sync"
	"github.com/switchboard/switchboard/sync/store"
	"github.com/switchboard/switchboard/twilio"
	"github.com/switchboard/switchboard/twilio/twiliotest"
)

// engineEnv is NewEngine over the simulated org, the simulated Twilio and a
// SQLite store, all over real sockets and files.
type engineEnv struct {
	*simEnv
	twilio *twiliotest.Server
	store  *store.Store
	engine *sbsync.Engine
}

func newEngineEnv(t *testing.T, opts sbsync.EngineOptions) *engineEnv {
	t.Helper()
	return newEngineEnvOver(t, opts, func(e *simEnv) sbsync.Org { return e.eng })
}

// newEngineEnvOver is newEngineEnv with the engine's Org chosen by org,
// for a fault the simulated org has no knob for.
func newEngineEnvOver(t *testing.T, opts sbsync.EngineOptions, org func(*simEnv) sbsync.Org) *engineEnv {
	t.Helper()
	e := newSimEnv(t)
	const token = "0123456789abcdef0123456789abcdef"
	fake := twiliotest.Start(t, twiliotest.Options{Accounts: map[string]string{acctSID: token}})
	if err := fake.AddNumber(acctSID, chanNumber); err != nil {
		t.Fatal(err)
	}
	accts, err := twilio.NewAccounts(map[string]string{acctSID: token}, twilio.Options{BaseURL: fake.URL(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(accts.Close)
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "store.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = st.Close(ctx)
	})
	opts.BatchWindow, opts.WriteWindow, opts.StatusWindow = 5*time.Millisecond, 5*time.Millisecond, 5*time.Millisecond
	opts.JobTimeout = store.DefaultJobTimeout // the store runs jobs with it
	opts.SweepInterval = time.Hour
	opts.TaskChannel, opts.ConversationChannel = "/topic/SwitchboardTasks", "/topic/SwitchboardConversations"
	opts.Describe = twilio.ErrorDescription
	eng, err := sbsync.NewEngine(opts, org(e), accts.Messenger(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &engineEnv{simEnv: e, twilio: fake, store: st, engine: eng}
}

func (e *engineEnv) pendingTask(t *testing.T, to, body string) string {
	t.Helper()
	conv := e.insert(t, "Conversation__c", map[string]any{"Status__c": "Open", "Channel__c": e.chanID, "Message_Recipient__c": to})
	return e.insert(t, "Task", map[string]any{"Subject": "SMS to " + to, "Message_Type__c": "Outbound",
		"Message_Status__c": "Pending", "Conversation__c": conv, "Description": body})
}

// A status callback that arrives while Twilio's answer to the create is
// still on its way finds no Task with its SID and is parked in the store;
// the engine links outbound to the callbacks, so recording the SID applies
// it at once, without waiting for the parked job's recheck.
func TestEngineAppliesACallbackParkedBeforeTheSIDWasRecorded(t *testing.T) {
	e := newEngineEnv(t, sbsync.EngineOptions{MaxConcurrentSends: 4})
	ctx := context.Background()
	id := e.pendingTask(t, "+14155550100", "hello")
	e.twilio.HoldAfterCreate(1, time.Second)

	done := make(chan error, 1)
	go func() { done <- e.engine.Outbound.Send(ctx, id) }()
	sfdctest.Eventually(t, 5*time.Second, "Twilio to receive the create", func() bool { return len(e.twilio.Messages()) > 0 })
	sid := e.twilio.Messages()[0].SID
	err := e.engine.Callbacks.Handle(ctx, sbsync.StatusUpdate{SID: sid, AccountSID: acctSID, Status: "delivered", At: time.Now()})
	var re *sbsync.RetryError
	if !errors.As(err, &re) {
		t.Fatalf("callback before the SID is on a Task: %v, want it parked (a RetryError)", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := e.task(t, id)
	if r["Message_Sid__c"] != sid || r["Message_Status__c"] != "Delivered" {
		t.Fatalf("task after Send: sid %v status %v; want %s Delivered (the parked callback applied)", r["Message_Sid__c"], r["Message_Status__c"], sid)
	}
	if left, err := e.store.TakeParked(ctx, []string{sid}); err != nil || len(left[sid]) != 0 {
		t.Fatalf("still parked under %s: %v, %v", sid, left, err)
	}
}
