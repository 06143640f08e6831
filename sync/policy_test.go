package sync_test

import (
	"context"
	"encoding/json"
	"errors"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc"
	sbsync "github.com/switchboard/switchboard/sync"
)

// jobLog records what EngineOptions.ObserveJob hears.
type jobLog struct {
	mu   gosync.Mutex
	runs []jobRun
}

type jobRun struct {
	kind string
	err  error
}

func (l *jobLog) observe(kind string, _ time.Duration, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runs = append(l.runs, jobRun{kind, err})
}

func (l *jobLog) of(kind string) []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []error
	for _, r := range l.runs {
		if r.kind == kind {
			out = append(out, r.err)
		}
	}
	return out
}

func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
	}
}

// Over engine.api_budget, the sweep yields: it queues no send; under it,
// the same Pending Task is sent.
func TestEngineSweepYieldsOverTheAPIBudget(t *testing.T) {
	var used atomic.Int64
	used.Store(95)
	jobs := &jobLog{}
	e := newEngineEnv(t, sbsync.EngineOptions{MaxConcurrentSends: 4, APIBudget: 0.9, ObserveJob: jobs.observe,
		APIUsage: func() (int, int) { return int(used.Load()), 100 }})
	ctx := context.Background()
	e.pendingTask(t, "+14155550100", "hello")
	if err := e.store.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// The periodic sweep runs at start.
	waitFor(t, 10*time.Second, "the start's sweep", func() bool { return len(jobs.of(sbsync.KindSweep)) == 1 })
	time.Sleep(300 * time.Millisecond)
	if n := len(jobs.of(sbsync.KindSend)); n != 0 || len(e.twilio.Messages()) != 0 {
		t.Fatalf("over the budget: %d send jobs, %d messages at Twilio; want none", n, len(e.twilio.Messages()))
	}
	used.Store(10)
	if err := e.engine.StartSweep(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the Task sent once under the budget", func() bool { return len(e.twilio.Messages()) == 1 })
}

// A Salesforce outage snoozes a job (a *RetryError, no attempt used) and
// the job completes once Salesforce is back; an error that is not an
// outage is returned as it is.
func TestEngineOutageSnoozesTheJob(t *testing.T) {
	jobs := &jobLog{}
	e := newEngineEnv(t, sbsync.EngineOptions{MaxConcurrentSends: 4, ObserveJob: jobs.observe,
		Retryable: sfdc.IsRetryable, OutageRetry: 50 * time.Millisecond})
	ctx := context.Background()
	conv := e.insert(t, "Conversation__c", map[string]any{"Status__c": "Open", "Channel__c": e.chanID, "Message_Recipient__c": "+14155550100"})
	if err := e.store.Start(ctx); err != nil {
		t.Fatal(err)
	}
	e.org.SetUnavailable(time.Second)
	obj, _ := json.Marshal(map[string]string{"Id": conv})
	if err := e.engine.HandleEvents(ctx, "/topic/SwitchboardConversations", []sbsync.StreamEvent{{ReplayID: 1, Type: "updated", SObject: obj}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the conversation job to complete", func() bool {
		runs := jobs.of(sbsync.KindConversation)
		return len(runs) > 0 && runs[len(runs)-1] == nil
	})
	runs := jobs.of(sbsync.KindConversation)
	var re *sbsync.RetryError
	if len(runs) < 2 || !errors.As(runs[0], &re) || re.After < 50*time.Millisecond || re.After >= 100*time.Millisecond {
		t.Fatalf("runs during the outage: %v; want a RetryError after 50-100 ms, then success", runs)
	}

	// A permanent error (a job with no conversation id) is not snoozed.
	if err := e.store.Enqueue(ctx, sbsync.Job{Kind: sbsync.KindConversation, Key: "bad", Payload: []byte(`{}`), MaxAttempts: 1}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the bad job to fail", func() bool {
		for _, err := range jobs.of(sbsync.KindConversation) {
			if sbsync.IsPermanent(err) {
				return true
			}
		}
		return false
	})
}
