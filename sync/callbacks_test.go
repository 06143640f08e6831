package sync_test

import (
	"context"
	"errors"
	"fmt"
	gosync "sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	sbsync "github.com/switchboard/switchboard/sync"
)

// memParking is an in-memory Parking, as sync/store keeps it durably.
type memParking struct {
	mu     gosync.Mutex
	parked map[string][][]byte
	parks  int
}

func newMemParking() *memParking { return &memParking{parked: map[string][][]byte{}} }

func (p *memParking) Park(_ context.Context, sid string, payload []byte, expires time.Time) error {
	if expires.IsZero() {
		return errors.New("park without expiry")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.parked[sid] = append(p.parked[sid], payload)
	p.parks++
	return nil
}

func (p *memParking) TakeParked(_ context.Context, sids []string) (map[string][][]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string][][]byte{}
	for _, s := range sids {
		if v, ok := p.parked[s]; ok {
			out[s] = v
			delete(p.parked, s)
		}
	}
	return out, nil
}

func (p *memParking) count(sid string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.parked[sid])
}

func describe(code int) string { return fmt.Sprintf("%d — message filtered by the carrier", code) }

func (e *simEnv) outboundTask(t *testing.T, sid, status string) string {
	t.Helper()
	fields := map[string]any{"Subject": "SMS to +14155550100", "Message_Type__c": "Outbound", "Message_Status__c": status,
		"Message_Send_Date__c": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}
	if sid != "" {
		fields["Message_Sid__c"] = sid
	}
	return e.insert(t, "Task", fields)
}

func (e *simEnv) task(t *testing.T, id string) map[string]any {
	t.Helper()
	r, ok := e.org.Get("Task", id)
	if !ok {
		t.Fatalf("task %s missing", id)
	}
	return r
}

func callbacks(e *simEnv, park sbsync.Parking, log *zap.Logger) *sbsync.Callbacks {
	return sbsync.NewCallbacks(sbsync.CallbacksConfig{BatchWindow: 10 * time.Millisecond, Describe: describe}, e.eng, park, log)
}

func TestCallbacksNeverMoveBackwards(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	sid := newSID("SM")
	id := e.outboundTask(t, sid, "Queued")
	cb := callbacks(e, nil, nil)
	at := time.Now()
	if err := cb.Handle(ctx, sbsync.StatusUpdate{SID: sid, Status: "delivered", At: at}); err != nil {
		t.Fatal(err)
	}
	if err := cb.Handle(ctx, sbsync.StatusUpdate{SID: sid, Status: "sent", At: at.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := cb.Handle(ctx, sbsync.StatusUpdate{SID: sid, Status: "undelivered", ErrorCode: 30003, At: at.Add(2 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	r := e.task(t, id)
	if r["Message_Status__c"] != "Delivered" || r["Error_Description__c"] != nil {
		t.Fatalf("after delivered, sent, undelivered: %v %v; want Delivered without an error", r["Message_Status__c"], r["Error_Description__c"])
	}
	if r["Message_Status_Check_Date__c"] == nil {
		t.Fatal("check date not set")
	}

	// Failed with an error code gets the description.
	sid2 := newSID("SM")
	id2 := e.outboundTask(t, sid2, "Sent")
	if err := cb.Handle(ctx, sbsync.StatusUpdate{SID: sid2, Status: "failed", ErrorCode: 30007, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if r := e.task(t, id2); r["Message_Status__c"] != "Failed" || r["Error_Description__c"] != "30007 — message filtered by the carrier" {
		t.Fatalf("failed: %v %v", r["Message_Status__c"], r["Error_Description__c"])
	}

	// The same (SID, status) again does no Salesforce work.
	calls := e.org.TotalCalls()
	if err := cb.Handle(ctx, sbsync.StatusUpdate{SID: sid2, Status: "failed", ErrorCode: 30007, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if n := e.org.TotalCalls() - calls; n != 0 {
		t.Fatalf("duplicate callback made %d calls", n)
	}

	// A Task the sidecar rejected (Error) or a user canceled keeps its status.
	sid3 := newSID("SM")
	id3 := e.outboundTask(t, sid3, "Canceled")
	if err := cb.Handle(ctx, sbsync.StatusUpdate{SID: sid3, Status: "delivered", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if r := e.task(t, id3); r["Message_Status__c"] != "Canceled" {
		t.Fatalf("canceled task moved to %v", r["Message_Status__c"])
	}
}

func TestCallbacksCoalesceAndBatch(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	cb := sbsync.NewCallbacks(sbsync.CallbacksConfig{BatchWindow: 50 * time.Millisecond, Describe: describe}, e.eng, nil, nil)
	const n = 150
	sids := make([]string, n)
	ids := make([]string, n)
	for i := range sids {
		sids[i] = newSID("SM")
		ids[i] = e.outboundTask(t, sids[i], "Queued")
	}
	e.org.ResetCalls()
	var wg gosync.WaitGroup
	errs := make(chan error, 3*n)
	at := time.Now()
	for i, sid := range sids {
		for k, st := range []string{"sending", "sent", "delivered"} {
			wg.Go(func() {
				errs <- cb.Handle(ctx, sbsync.StatusUpdate{SID: sid, Status: st, At: at.Add(time.Duration(i*3+k) * time.Millisecond)})
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	calls := e.org.Calls()
	t.Logf("%d callbacks for %d messages: %v", 3*n, n, calls)
	// 450 callbacks fill three batches at most (200 each): one read and one
	// write apiece, whatever the scheduling.
	if calls["GET query"] > 3 || calls["PATCH composite/sobjects"] > 3 || e.org.TotalCalls() > 6 {
		t.Fatalf("calls %v, want ≤ 3 reads and ≤ 3 writes", calls)
	}
	for _, id := range ids {
		if r := e.task(t, id); r["Message_Status__c"] != "Delivered" {
			t.Fatalf("task %s is %v, want Delivered", id, r["Message_Status__c"])
		}
	}

	// sent and delivered in one window: one write, of Delivered.
	sid := newSID("SM")
	id := e.outboundTask(t, sid, "Queued")
	e.org.ResetCalls()
	for _, st := range []string{"sent", "delivered"} {
		wg.Go(func() {
			if err := cb.Handle(ctx, sbsync.StatusUpdate{SID: sid, Status: st, At: time.Now()}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if c := e.org.Calls(); c["PATCH composite/sobjects"] != 1 || c["GET query"] != 1 {
		t.Fatalf("sent+delivered in one window: %v, want one read and one write", c)
	}
	if r := e.task(t, id); r["Message_Status__c"] != "Delivered" {
		t.Fatalf("status %v", r["Message_Status__c"])
	}
}

func TestCallbackBeforeSIDIsParkedThenApplied(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	park := newMemParking()
	cb := callbacks(e, park, nil)
	sid := newSID("SM")
	for _, st := range []string{"sent", "delivered"} {
		err := cb.Handle(ctx, sbsync.StatusUpdate{SID: sid, Status: st, At: time.Now()})
		var re *sbsync.RetryError
		if !errors.As(err, &re) || re.After <= 0 {
			t.Fatalf("callback for an unknown SID: %v, want a RetryError (parked)", err)
		}
	}
	if park.count(sid) != 2 {
		t.Fatalf("%d parked, want 2", park.count(sid))
	}
	// The outbound engine writes the SID (with Twilio's 201 status), then
	// calls ApplyParked.
	id := e.outboundTask(t, sid, "Queued")
	if err := cb.ApplyParked(ctx, []string{sid}); err != nil {
		t.Fatal(err)
	}
	if r := e.task(t, id); r["Message_Status__c"] != "Delivered" {
		t.Fatalf("after ApplyParked: %v, want Delivered", r["Message_Status__c"])
	}
	if park.count(sid) != 0 {
		t.Fatal("applied callbacks still parked")
	}
	// The parked jobs' reruns find the Task and are done.
	if err := cb.Handle(ctx, sbsync.StatusUpdate{SID: sid, Status: "sent", At: time.Now()}); err != nil {
		t.Fatalf("rerun after apply: %v", err)
	}

	// ApplyParked for a SID whose Task is still missing parks it again.
	other := newSID("SM")
	_ = cb.Handle(ctx, sbsync.StatusUpdate{SID: other, Status: "sent", At: time.Now()})
	if err := cb.ApplyParked(ctx, []string{other}); err != nil || park.count(other) != 1 {
		t.Fatalf("ApplyParked without a Task: %v, %d parked; want it parked again", err, park.count(other))
	}
	// The rerun of the job applies it and collects what is parked.
	id2 := e.outboundTask(t, other, "Queued")
	if err := cb.Handle(ctx, sbsync.StatusUpdate{SID: other, Status: "sent", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if r := e.task(t, id2); r["Message_Status__c"] != "Sent" || park.count(other) != 0 {
		t.Fatalf("rerun: %v, %d parked", r["Message_Status__c"], park.count(other))
	}
}

func TestParkedCallbackExpiresAsPermanentError(t *testing.T) {
	e := newSimEnv(t)
	core, logs := observer.New(zap.ErrorLevel)
	park := newMemParking()
	cb := sbsync.NewCallbacks(sbsync.CallbacksConfig{BatchWindow: 5 * time.Millisecond, ParkTTL: time.Minute}, e.eng, park, zap.New(core))
	sid := newSID("SM")
	err := cb.Handle(context.Background(), sbsync.StatusUpdate{SID: sid, Status: "delivered", At: time.Now().Add(-2 * time.Minute)})
	if !sbsync.IsPermanent(err) {
		t.Fatalf("expired callback: %v, want a permanent error", err)
	}
	if logs.FilterMessageSnippet("expired").Len() != 1 {
		t.Fatalf("expiry not logged: %v", logs.All())
	}
	if park.count(sid) != 0 {
		t.Fatal("expired callback parked")
	}
}

func TestCallbackBadInput(t *testing.T) {
	e := newSimEnv(t)
	cb := callbacks(e, newMemParking(), nil)
	for name, u := range map[string]sbsync.StatusUpdate{
		"malformed SID":  {SID: "SM123", Status: "sent"},
		"empty SID":      {Status: "sent"},
		"unknown status": {SID: newSID("SM"), Status: "exploded"},
	} {
		if err := cb.Handle(context.Background(), u); !sbsync.IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent error", name, err)
		}
	}
	if n := e.org.TotalCalls(); n != 0 {
		t.Fatalf("bad input made %d Salesforce calls", n)
	}
}
