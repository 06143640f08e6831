package sync_test

import (
	"context"
	"fmt"
	gosync "sync"
	"testing"
	"time"

	sbsync "github.com/switchboard/switchboard/sync"
)

// BenchmarkInbound records b.N inbound messages from 300 numbers (half of
// them Contacts' mobiles), all in flight at once, against the simulated
// org over loopback; it reports Salesforce calls per message.
func BenchmarkInbound(b *testing.B) {
	e := newSimEnv(b)
	nums := make([]string, 300)
	for n := range nums {
		nums[n] = fmt.Sprintf("+1415620%04d", n)
		if n%2 == 0 {
			e.insert(b, "Contact", map[string]any{"LastName": fmt.Sprint("C", n), "MobilePhone": typedAs(nums[n], n)})
		}
	}
	in := sbsync.NewInbound(sbsync.InboundConfig{BatchWindow: 20 * time.Millisecond}, e.eng, nil, nil, nil)
	e.org.ResetCalls()
	b.ResetTimer()
	var wg gosync.WaitGroup
	for n := range b.N {
		m := msg(nums[n%len(nums)], "bench")
		wg.Go(func() {
			if err := in.Handle(context.Background(), m); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(e.org.TotalCalls())/float64(b.N), "sfcalls/msg")
}

// BenchmarkCallbacks applies b.N status callbacks (sent then delivered for
// b.N/2 messages) and reports Salesforce calls per callback.
func BenchmarkCallbacks(b *testing.B) {
	e := newSimEnv(b)
	cb := sbsync.NewCallbacks(sbsync.CallbacksConfig{BatchWindow: 20 * time.Millisecond}, e.eng, nil, nil)
	sids := make([]string, b.N/2+1)
	for n := range sids {
		sids[n] = newSID("SM")
		e.insert(b, "Task", map[string]any{"Subject": "x", "Message_Type__c": "Outbound", "Message_Status__c": "Queued", "Message_Sid__c": sids[n]})
	}
	e.org.ResetCalls()
	b.ResetTimer()
	var wg gosync.WaitGroup
	for n := range b.N {
		u := sbsync.StatusUpdate{SID: sids[n/2], Status: []string{"sent", "delivered"}[n%2], At: time.Now()}
		wg.Go(func() {
			if err := cb.Handle(context.Background(), u); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(e.org.TotalCalls())/float64(b.N), "sfcalls/callback")
}
