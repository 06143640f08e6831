package sync_test

import (
	"context"
	"errors"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	sbsync "github.com/switchboard/switchboard/sync"
	"github.com/switchboard/switchboard/twilio"
	"github.com/switchboard/switchboard/twilio/twiliotest"
)

// fakeTwilio answers Fetch from a table, counting concurrency. (Send and
// Find are not used by the poller.)
type fakeTwilio struct {
	mu       gosync.Mutex
	statuses map[string]sbsync.Sent
	errs     map[string]error
	fetched  []string
	accounts map[string]string
	inFlight atomic.Int32
	peak     atomic.Int32
}

func (f *fakeTwilio) Send(context.Context, string, sbsync.Outgoing) (sbsync.Sent, error) {
	return sbsync.Sent{}, errors.New("not used")
}

func (f *fakeTwilio) Find(context.Context, string, sbsync.FindQuery) ([]sbsync.Sent, error) {
	return nil, errors.New("not used")
}

func (f *fakeTwilio) Fetch(ctx context.Context, accountSID, sid string) (sbsync.Sent, error) {
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		p := f.peak.Load()
		if n <= p || f.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(2 * time.Millisecond)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fetched = append(f.fetched, sid)
	f.accounts[sid] = accountSID
	if err := f.errs[sid]; err != nil {
		return sbsync.Sent{}, err
	}
	s, ok := f.statuses[sid]
	if !ok {
		return sbsync.Sent{}, &sbsync.SendError{Kind: sbsync.Permanent, Code: 20404, Description: "20404 — not found"}
	}
	return s, nil
}

func TestPollerChecksDueTasks(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	now := time.Now().UTC()
	ts := func(d time.Duration) string { return now.Add(-d).Format(time.RFC3339) }
	conv := e.insert(t, "Conversation__c", map[string]any{"Status__c": "Open", "Channel__c": e.chanID, "Message_Recipient__c": "+14155550100"})
	type seed struct {
		status, sent, checked string
		twilio                string // "" → Twilio does not know it
		code                  int
		wantPolled            bool
		want                  string
	}
	seeds := map[string]seed{
		"sent, checked long ago, now delivered": {status: "Sent", sent: ts(2 * time.Hour), checked: ts(time.Hour), twilio: "delivered", wantPolled: true, want: "Delivered"},
		"queued, never checked":                 {status: "Queued", sent: ts(time.Hour), twilio: "sent", wantPolled: true, want: "Sent"},
		"sending, now failed":                   {status: "Sending", sent: ts(time.Hour), checked: ts(30 * time.Minute), twilio: "failed", code: 30007, wantPolled: true, want: "Failed"},
		"sent, unchanged at Twilio":             {status: "Sent", sent: ts(time.Hour), checked: ts(20 * time.Minute), twilio: "sent", wantPolled: true, want: "Sent"},
		"unknown to Twilio":                     {status: "Sent", sent: ts(time.Hour), checked: ts(20 * time.Minute), wantPolled: true, want: "Sent"},
		"checked recently":                      {status: "Sent", sent: ts(time.Hour), checked: ts(time.Minute), twilio: "delivered", want: "Sent"},
		"sent just now, never checked":          {status: "Queued", sent: ts(time.Minute), twilio: "delivered", want: "Queued"},
		"already delivered":                     {status: "Delivered", sent: ts(time.Hour), checked: ts(time.Hour), twilio: "read", want: "Delivered"},
		"pending (no SID)":                      {status: "Pending", sent: ts(time.Hour), want: "Pending"},
		"sent before the horizon":               {status: "Sent", sent: ts(100 * time.Hour), checked: ts(90 * time.Hour), twilio: "delivered", want: "Sent"},
	}
	tw := &fakeTwilio{statuses: map[string]sbsync.Sent{}, errs: map[string]error{}, accounts: map[string]string{}}
	ids := map[string]string{}
	sids := map[string]string{}
	for name, s := range seeds {
		f := map[string]any{"Subject": name, "Message_Type__c": "Outbound", "Message_Status__c": s.status,
			"Message_Send_Date__c": s.sent, "Conversation__c": conv}
		if s.status != "Pending" {
			sids[name] = newSID("SM")
			f["Message_Sid__c"] = sids[name]
		}
		if s.checked != "" {
			f["Message_Status_Check_Date__c"] = s.checked
		}
		ids[name] = e.insert(t, "Task", f)
		if s.twilio != "" {
			tw.statuses[sids[name]] = sbsync.Sent{SID: sids[name], Status: s.twilio, ErrorCode: s.code}
		}
	}
	// An inbound Task is never polled.
	e.insert(t, "Task", map[string]any{"Subject": "in", "Message_Type__c": "Inbound", "Message_Status__c": "Received",
		"Message_Sid__c": newSID("SM"), "Message_Send_Date__c": ts(time.Hour)})

	cb := callbacks(e, nil, nil)
	p := sbsync.NewPoller(sbsync.PollerConfig{Age: 15 * time.Minute, Concurrency: 2, Rate: 1000}, e.eng, tw, cb, nil)
	before := time.Now().Add(-time.Second)
	n, err := p.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	polled := 0
	for name, s := range seeds {
		r := e.task(t, ids[name])
		if r["Message_Status__c"] != s.want {
			t.Errorf("%s: status %v, want %s", name, r["Message_Status__c"], s.want)
		}
		wasFetched := false
		for _, sid := range tw.fetched {
			wasFetched = wasFetched || sid == sids[name]
		}
		if wasFetched != s.wantPolled {
			t.Errorf("%s: fetched %v, want %v", name, wasFetched, s.wantPolled)
		}
		if s.wantPolled {
			polled++
			checked, _ := r["Message_Status_Check_Date__c"].(string)
			at, err := time.Parse("2006-01-02T15:04:05.000-0700", checked)
			if err != nil || at.Before(before) {
				t.Errorf("%s: check date %q not refreshed", name, checked)
			}
			if tw.accounts[sids[name]] != acctSID {
				t.Errorf("%s: fetched with account %q, want the channel type's", name, tw.accounts[sids[name]])
			}
		}
	}
	if n != polled {
		t.Fatalf("Poll confirmed %d, want %d", n, polled)
	}
	if r := e.task(t, ids["sending, now failed"]); !strings.HasPrefix(r["Error_Description__c"].(string), "30007") {
		t.Fatalf("failed poll error description %v", r["Error_Description__c"])
	}
	if peak := tw.peak.Load(); peak > 2 {
		t.Fatalf("%d fetches in flight, cap is 2", peak)
	}

	// Everything confirmed: the next round finds nothing due.
	tw.fetched = nil
	if n, err := p.Poll(ctx); err != nil || n != 0 || len(tw.fetched) != 0 {
		t.Fatalf("second round: %d, %v, fetched %v; want nothing due", n, err, tw.fetched)
	}
}

func TestPollerReportsFetchFailuresAndRetriesThem(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	sid := newSID("SM")
	id := e.insert(t, "Task", map[string]any{"Subject": "x", "Message_Type__c": "Outbound", "Message_Status__c": "Sent",
		"Message_Sid__c": sid, "Message_Send_Date__c": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)})
	tw := &fakeTwilio{statuses: map[string]sbsync.Sent{sid: {SID: sid, Status: "delivered"}},
		errs:     map[string]error{sid: &sbsync.SendError{Kind: sbsync.Retryable, Err: errors.New("503 from twilio")}},
		accounts: map[string]string{}}
	p := sbsync.NewPoller(sbsync.PollerConfig{DefaultAccountSID: acctSID}, e.eng, tw, callbacks(e, nil, nil), nil)
	n, err := p.Poll(ctx)
	if err == nil || n != 0 || !strings.Contains(err.Error(), "1 of 1") {
		t.Fatalf("Twilio outage: %d, %v; want an error counting the failure", n, err)
	}
	if r := e.task(t, id); r["Message_Status_Check_Date__c"] != nil {
		t.Fatal("check date refreshed though Twilio did not answer")
	}
	if tw.accounts[sid] != acctSID {
		t.Fatalf("no channel: fetched with %q, want the default account", tw.accounts[sid])
	}
	delete(tw.errs, sid)
	if n, err := p.Poll(ctx); err != nil || n != 1 {
		t.Fatalf("after the outage: %d, %v", n, err)
	}
	if r := e.task(t, id); r["Message_Status__c"] != "Delivered" {
		t.Fatalf("status %v, want Delivered", r["Message_Status__c"])
	}
}

// TestPollerAgainstTwilioSimulator polls real Fetch calls (twilio-go through
// the twilio package's Messenger adapter) against twiliotest, for messages
// whose status callbacks were lost.
func TestPollerAgainstTwilioSimulator(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	const token = "0123456789abcdef0123456789abcdef"
	fake := twiliotest.Start(t, twiliotest.Options{Accounts: map[string]string{acctSID: token}})
	if err := fake.AddNumber(acctSID, chanNumber); err != nil {
		t.Fatal(err)
	}
	accts, err := twilio.NewAccounts(map[string]string{acctSID: token}, twilio.Options{BaseURL: fake.URL(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(accts.Close)
	tw := accts.Messenger()
	fake.SetOutcome("+14155550199", "undelivered", 30003)

	conv := e.insert(t, "Conversation__c", map[string]any{"Status__c": "Open", "Channel__c": e.chanID, "Message_Recipient__c": "+14155550100"})
	var ids []string
	for _, to := range []string{"+14155550100", "+14155550101", "+14155550199"} {
		// No StatusCallback: every callback is lost, only polling can tell.
		s, err := tw.Send(ctx, acctSID, sbsync.Outgoing{To: to, From: chanNumber, Body: "hi"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.insert(t, "Task", map[string]any{"Subject": "SMS to " + to, "Message_Type__c": "Outbound",
			"Message_Status__c": "Queued", "Message_Sid__c": s.SID, "Conversation__c": conv,
			"Message_Send_Date__c": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}))
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := fake.Settle(sctx); err != nil {
		t.Fatal(err)
	}
	cb := sbsync.NewCallbacks(sbsync.CallbacksConfig{BatchWindow: 5 * time.Millisecond, Describe: twilio.ErrorDescription}, e.eng, nil, nil)
	p := sbsync.NewPoller(sbsync.PollerConfig{}, e.eng, tw, cb, nil)
	n, err := p.Poll(ctx)
	if err != nil || n != 3 {
		t.Fatalf("Poll = %d, %v; want 3 confirmed", n, err)
	}
	want := []string{"Delivered", "Delivered", "Undelivered"}
	for k, id := range ids {
		r := e.task(t, id)
		if r["Message_Status__c"] != want[k] {
			t.Fatalf("task %d: %v, want %s", k, r["Message_Status__c"], want[k])
		}
	}
	if d, _ := e.task(t, ids[2])["Error_Description__c"].(string); !strings.HasPrefix(d, "30003 — ") {
		t.Fatalf("error description %q, want Twilio's description of 30003", d)
	}
	if got := fake.Stats().Fetches; got != 3 {
		t.Fatalf("%d fetches at Twilio, want 3", got)
	}
}

func TestPollerAppliesInBatches(t *testing.T) {
	e := newSimEnv(t)
	const n = 450
	tw := &fakeTwilio{statuses: map[string]sbsync.Sent{}, errs: map[string]error{}, accounts: map[string]string{}}
	ids := make([]string, n)
	for k := range ids {
		sid := newSID("SM")
		ids[k] = e.insert(t, "Task", map[string]any{"Subject": "x", "Message_Type__c": "Outbound", "Message_Status__c": "Sent",
			"Message_Sid__c": sid, "Message_Send_Date__c": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)})
		tw.statuses[sid] = sbsync.Sent{SID: sid, Status: "delivered"}
	}
	p := sbsync.NewPoller(sbsync.PollerConfig{DefaultAccountSID: acctSID, Concurrency: 32, Rate: 100000}, e.eng, tw,
		sbsync.NewCallbacks(sbsync.CallbacksConfig{BatchWindow: 20 * time.Millisecond}, e.eng, nil, nil), nil)
	e.org.ResetCalls()
	start := time.Now()
	got, err := p.Poll(context.Background())
	if err != nil || got != n {
		t.Fatalf("Poll = %d, %v; want %d", got, err, n)
	}
	c := e.org.Calls()
	t.Logf("polled %d tasks in %s: %v", n, time.Since(start), c)
	// One query for the due Tasks, then per page of 200: one read, one
	// write (some may share a /composite call).
	if n := e.org.TotalCalls(); n > 7 {
		t.Fatalf("%d calls (%v), want at most 4 queries and 3 collection updates", n, c)
	}
	for _, id := range ids {
		if r := e.task(t, id); r["Message_Status__c"] != "Delivered" {
			t.Fatalf("task %s: %v", id, r["Message_Status__c"])
		}
	}
}
