package sync_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc"
	"github.com/switchboard/switchboard/sfdc/sfdctest"
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
	sfdctest.Eventually(t, 10*time.Second, "the start's sweep", func() bool { return len(jobs.of(sbsync.KindSweep)) == 1 })
	time.Sleep(300 * time.Millisecond)
	if n := len(jobs.of(sbsync.KindSend)); n != 0 || len(e.twilio.Messages()) != 0 {
		t.Fatalf("over the budget: %d send jobs, %d messages at Twilio; want none", n, len(e.twilio.Messages()))
	}
	used.Store(10)
	if err := e.engine.StartSweep(ctx); err != nil {
		t.Fatal(err)
	}
	sfdctest.Eventually(t, 10*time.Second, "the Task sent once under the budget", func() bool { return len(e.twilio.Messages()) == 1 })
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
	sfdctest.Eventually(t, 15*time.Second, "the conversation job to complete", func() bool {
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
	sfdctest.Eventually(t, 10*time.Second, "the bad job to fail", func() bool {
		for _, err := range jobs.of(sbsync.KindConversation) {
			if sbsync.IsPermanent(err) {
				return true
			}
		}
		return false
	})
}

// outageOnce is the org with one outage, starting at the first query
// whose SOQL contains soql: the simulated org answers 503 for a while, so
// the error is the real client's after its retries.
type outageOnce struct {
	sbsync.Org
	sim    *sfdctest.Org
	soql   string
	outage time.Duration
	begun  atomic.Bool
}

func (o *outageOnce) Query(ctx context.Context, soql string, dst any) error {
	if strings.Contains(soql, o.soql) && o.begun.CompareAndSwap(false, true) {
		o.sim.SetUnavailable(o.outage)
	}
	return o.Org.Query(ctx, soql, dst)
}

// An outage while a send is prepared (reading the opt-outs, after the Task
// loaded) reaches the policy as an outage: the job is snoozed, using no
// attempt, and the Task is sent once Salesforce is back. Send used to
// replace the cause with a message of its own, so the policy saw no
// outage and the job's only attempt was used up.
func TestEngineOutageWhilePreparingASendSnoozesIt(t *testing.T) {
	jobs := &jobLog{}
	e := newEngineEnvOver(t, sbsync.EngineOptions{MaxConcurrentSends: 4, ObserveJob: jobs.observe,
		Retryable: sfdc.IsRetryable, OutageRetry: 50 * time.Millisecond}, func(s *simEnv) sbsync.Org {
		return &outageOnce{Org: s.eng, sim: s.org, soql: "FROM Opt_In__c", outage: 300 * time.Millisecond}
	})
	ctx := context.Background()
	if err := e.store.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sfdctest.Eventually(t, 10*time.Second, "the start's sweep", func() bool { return len(jobs.of(sbsync.KindSweep)) == 1 })
	id := e.pendingTask(t, "+14155550100", "hello")
	job := sbsync.SendJob(id, "test:"+id)
	job.MaxAttempts = 1 // a failed attempt would be a dead letter
	if err := e.store.Enqueue(ctx, job); err != nil {
		t.Fatal(err)
	}
	sfdctest.Eventually(t, 10*time.Second, "the send job's first run", func() bool { return len(jobs.of(sbsync.KindSend)) > 0 })
	first := jobs.of(sbsync.KindSend)[0]
	var re *sbsync.RetryError
	var ae *sfdc.APIError
	if !errors.As(first, &re) || !errors.As(first, &ae) || ae.Status != 503 {
		t.Fatalf("send during the outage: %v; want a RetryError (snoozed) wrapping the org's 503", first)
	}
	sfdctest.Eventually(t, 10*time.Second, "the Task sent once Salesforce is back", func() bool { return len(e.twilio.Messages()) == 1 })
}
