package main

// Benchmarks of the whole daemon against both simulators over loopback.
// Each prints its figures with b.ReportMetric; run them once each:
//
//	go test -run '^$' -bench . -benchtime 1x ./cmd/switchboard
//
// SB_BENCH_SF_LATENCY and SB_BENCH_TWILIO_LATENCY (Go durations) add a
// delay to every Salesforce REST call and every Twilio API call; both are
// zero ("instant simulators") by default. SB_BENCH_STORE_URL selects the
// store (a fresh SQLite file by default; a postgres:// URL must name an
// empty database).

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
	sbsync "github.com/switchboard/switchboard/sync"
	"github.com/switchboard/switchboard/sync/store"
	"github.com/switchboard/switchboard/twilio"
)

func benchLatency(name string) time.Duration {
	d, _ := time.ParseDuration(os.Getenv(name))
	return d
}

// benchWorld is a world and a daemon with the simulators' latency set.
func benchWorld(b *testing.B, customers int, tun tuning, extraEnv ...string) (*simWorld, *daemon, []string) {
	b.Helper()
	w := newWorld(b, simOptions{})
	convs := make([]string, customers)
	for i := range convs {
		convs[i] = w.newConversation(b, fmt.Sprintf("+1415556%04d", i))
	}
	tun.PollInterval = time.Hour // background polling is not measured
	d := startDaemon(b, w, os.Getenv("SB_BENCH_STORE_URL"), tun, extraEnv...)
	time.Sleep(300 * time.Millisecond) // the start-up sweep and recovery
	w.Org.SetLatency(benchLatency("SB_BENCH_SF_LATENCY"))
	w.Twilio.SetLatency(benchLatency("SB_BENCH_TWILIO_LATENCY"))
	w.Org.ResetCalls()
	return w, d, convs
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p)
	return s[i]
}

// sendLatencies is, per Task, the time from its insert to Twilio's create.
func sendLatencies(w *simWorld, inserted map[string]time.Time) []time.Duration {
	var out []time.Duration
	for _, m := range w.Twilio.Messages() {
		if at, ok := inserted[m.Body]; ok {
			out = append(out, m.DateCreated.Sub(at))
		}
	}
	return out
}

func waitAllDelivered(b *testing.B, w *simWorld, n int, limit time.Duration) {
	b.Helper()
	sfdctest.Eventually(b, limit, "every task delivered", func() bool {
		done := 0
		for _, r := range w.Org.Records("Task") {
			if str(r["Message_Status__c"]) == "Delivered" {
				done++
			}
		}
		return done >= n
	})
	_ = w.Twilio.Settle(context.Background())
	time.Sleep(200 * time.Millisecond) // late write-backs are counted too
}

// BenchmarkOutboundBurst: 1,000 Pending Tasks at once. Reports messages/s
// (first insert to last Twilio create), insert→create latency, and
// Salesforce calls per message including every status write-back.
func BenchmarkOutboundBurst(b *testing.B) {
	for range b.N {
		const n = 1000
		w, _, convs := benchWorld(b, 300, e2eTuning())
		inserted := make(map[string]time.Time, n)
		start := time.Now()
		for i := range n {
			body := fmt.Sprintf("Burst %d", i)
			inserted[body] = time.Now()
			w.pendingTask(b, map[string]any{"Conversation__c": convs[i%len(convs)], "Description": body})
		}
		sfdctest.Eventually(b, 120*time.Second, "1,000 creates", func() bool { return len(w.Twilio.Messages()) >= n })
		var last time.Time
		for _, m := range w.Twilio.Messages() {
			if m.DateCreated.After(last) {
				last = m.DateCreated
			}
		}
		lat := sendLatencies(w, inserted)
		waitAllDelivered(b, w, n, 120*time.Second)
		calls := w.Org.TotalCalls()
		b.ReportMetric(float64(n)/last.Sub(start).Seconds(), "msg/s")
		b.ReportMetric(float64(percentile(lat, .5).Milliseconds()), "p50-ms")
		b.ReportMetric(float64(percentile(lat, .99).Milliseconds()), "p99-ms")
		b.ReportMetric(float64(calls)/n, "sf-calls/msg")
		b.Logf("burst of %d: %v Salesforce calls by route", n, w.Org.Calls())
		w.Close()
	}
}

// BenchmarkOutboundSteady: 100 messages/s for 5 s. Reports insert→create
// latency p50/p99 and Salesforce calls per message.
func BenchmarkOutboundSteady(b *testing.B) {
	for range b.N {
		const rate, seconds = 100, 5
		w, _, convs := benchWorld(b, 100, e2eTuning())
		inserted := map[string]time.Time{}
		tick := time.NewTicker(time.Second / rate)
		for i := range rate * seconds {
			<-tick.C
			body := fmt.Sprintf("Steady %d", i)
			inserted[body] = time.Now()
			w.pendingTask(b, map[string]any{"Conversation__c": convs[i%len(convs)], "Description": body})
		}
		tick.Stop()
		waitAllDelivered(b, w, rate*seconds, 60*time.Second)
		lat := sendLatencies(w, inserted)
		b.ReportMetric(float64(percentile(lat, .5).Milliseconds()), "p50-ms")
		b.ReportMetric(float64(percentile(lat, .99).Milliseconds()), "p99-ms")
		b.ReportMetric(float64(w.Org.TotalCalls())/float64(rate*seconds), "sf-calls/msg")
		w.Close()
	}
}

// BenchmarkOutboundSingle: one message at a time, each delivered before
// the next. Reports Salesforce calls per message when nothing can batch.
func BenchmarkOutboundSingle(b *testing.B) {
	for range b.N {
		const n = 10
		w, _, convs := benchWorld(b, n, e2eTuning())
		for i := range n {
			w.pendingTask(b, map[string]any{"Conversation__c": convs[i], "Description": fmt.Sprintf("Single %d", i)})
			waitAllDelivered(b, w, i+1, 30*time.Second)
		}
		b.ReportMetric(float64(w.Org.TotalCalls())/n, "sf-calls/msg")
		w.Close()
	}
}

// BenchmarkQueued10k: 10,000 Tasks queued behind a slow Twilio. Reports the
// process's peak RSS (simulators included: an upper bound for the daemon).
func BenchmarkQueued10k(b *testing.B) {
	for range b.N {
		const n = 10000
		w, d, convs := benchWorld(b, 500, e2eTuning(), "SWITCHBOARD_TWILIO_MAX_CONCURRENCY=4")
		w.Twilio.SetLatency(500 * time.Millisecond) // ≈ 8 sends/s: the queue only grows
		for i := range n {
			w.pendingTask(b, map[string]any{"Conversation__c": convs[i%len(convs)], "Description": fmt.Sprintf("Queued %d", i)})
		}
		sfdctest.Eventually(b, 60*time.Second, "10,000 jobs queued", func() bool {
			depth, err := d.m.store.QueueDepth(context.Background())
			return err == nil && depth[kindSend].Available+depth[kindSend].Running+depth[kindSend].Scheduled+int64(len(w.Twilio.Messages())) >= n
		})
		b.ReportMetric(float64(peakRSS())/(1<<20), "peak-rss-MB")
		w.Close()
	}
}

// peakRSS is the process's high-water resident set size in bytes.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// signedInbound builds an inbound webhook request signed for the daemon.
func signedInbound(d *daemon, i int) *http.Request {
	u := d.publicURL + "/twilio/inbound"
	form := inboundForm(fmt.Sprintf("SM%032x", i+1), fmt.Sprintf("+1415557%04d", i%300), fmt.Sprintf("Inbound %d", i))
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilio.Signature(simAuthToken, u, form))
	return req
}

// BenchmarkWebhookAcks: 1,000 signed inbound webhooks from 300 numbers,
// 32 at a time, as fast as the daemon acknowledges them (each durably
// stored first). Reports acks/s, the time until every message is a Task,
// and Salesforce calls per inbound message.
func BenchmarkWebhookAcks(b *testing.B) {
	for range b.N {
		const n, conc = 1000, 32
		w, d, _ := benchWorld(b, 0, e2eTuning())
		var next atomic.Int64
		var wg gosync.WaitGroup
		start := time.Now()
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
					resp, err := http.DefaultClient.Do(signedInbound(d, i))
					if err != nil || resp.StatusCode != 200 {
						b.Errorf("webhook %d: %v %v", i, resp, err)
						return
					}
					resp.Body.Close()
				}
			}()
		}
		wg.Wait()
		acked := time.Since(start)
		sfdctest.Eventually(b, 120*time.Second, "every inbound task", func() bool { return len(w.inboundTasks()) >= n })
		b.ReportMetric(float64(n)/acked.Seconds(), "acks/s")
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "all-tasks-ms")
		b.ReportMetric(float64(w.Org.TotalCalls())/n, "sf-calls/inbound")
		w.Close()
	}
}

// BenchmarkWebhookPaced: 500 webhooks/s for 4 s. Reports ack latency p50
// and p99, then the inbound → Task latency and Salesforce calls per inbound
// message (2,000 messages from 300 numbers).
func BenchmarkWebhookPaced(b *testing.B) {
	for range b.N {
		const rate, seconds = 500, 4
		const n = rate * seconds
		w, d, _ := benchWorld(b, 0, e2eTuning())
		acks := make([]time.Duration, n)
		sentAt := make([]time.Time, n)
		var wg gosync.WaitGroup
		tick := time.NewTicker(time.Second / rate)
		for i := range n {
			<-tick.C
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := signedInbound(d, i)
				sentAt[i] = time.Now()
				resp, err := http.DefaultClient.Do(req)
				acks[i] = time.Since(sentAt[i])
				if err != nil || resp.StatusCode != 200 {
					b.Errorf("webhook %d: %v %v", i, resp, err)
					return
				}
				resp.Body.Close()
			}()
		}
		tick.Stop()
		wg.Wait()
		last := sentAt[n-1]
		sfdctest.Eventually(b, 120*time.Second, "every inbound task", func() bool { return len(w.inboundTasks()) >= n })
		landed := time.Since(last)
		b.ReportMetric(float64(percentile(acks, .5).Microseconds())/1000, "ack-p50-ms")
		b.ReportMetric(float64(percentile(acks, .99).Microseconds())/1000, "ack-p99-ms")
		b.ReportMetric(float64(landed.Milliseconds()), "last-inbound-to-task-ms")
		b.ReportMetric(float64(w.Org.TotalCalls())/n, "sf-calls/inbound")
		w.Close()
	}
}

// BenchmarkKillRecovery: a burst of 500 Tasks to one customer from one
// number, with Twilio answering in 40–120 ms, and the daemon SIGKILLed
// while at least 300 sends are in flight (ledger intents). Reports the
// time from the restart until every Task carries its SID, and the Twilio
// list requests the recovery made: all the cut-off sends are one
// (recipient, sender) group, matched against one listing.
func BenchmarkKillRecovery(b *testing.B) {
	for range b.N {
		const n = 500
		w := newWorld(b, simOptions{})
		w.Twilio.SetLatencyRange(40*time.Millisecond, 120*time.Millisecond)
		addr := freePort(b)
		storeURL := "sqlite://" + filepath.Join(b.TempDir(), "switchboard.db")
		admin := freePort(b)
		env := append(w.environ("http://"+addr, storeURL), "SWITCHBOARD_SERVER_LISTEN="+addr, "SWITCHBOARD_SERVER_ADMIN_LISTEN="+admin)
		conv := w.newConversation(b, "+14155557000")
		child := startChild(b, env)
		waitReady(b, admin, 30*time.Second)
		ids := make([]string, n)
		for i := range ids {
			ids[i] = w.pendingTask(b, map[string]any{"Conversation__c": conv, "Description": fmt.Sprintf("Recovery message %d", i)})
		}
		sfdctest.Eventually(b, 60*time.Second, "the burst under way", func() bool { return len(w.Twilio.Messages()) >= 60 })
		child.kill(b)
		atKill := len(w.Twilio.Messages())

		st, err := store.Open(context.Background(), storeURL, store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		open, err := st.UnresolvedSends(context.Background(), 0)
		st.Close(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		intents := 0
		for _, e := range open {
			if e.State == sbsync.LedgerIntent {
				intents++
			}
		}
		if intents < 300 {
			b.Fatalf("only %d intents in flight at the kill (%d messages at Twilio); the benchmark needs ≥ 300", intents, atKill)
		}

		lists := w.Twilio.Stats().Lists
		restart := time.Now()
		child = startChild(b, env)
		w.waitAllSent(b, 120*time.Second, ids)
		recovery := time.Since(restart)
		lists = w.Twilio.Stats().Lists - lists
		child.kill(b)
		w.checkEachSentOnce(b, "Recovery message %d", n)
		b.ReportMetric(recovery.Seconds(), "recovery-s")
		b.ReportMetric(float64(lists), "twilio-lists")
		b.ReportMetric(float64(intents), "intents-at-kill")
		b.Logf("kill -9 with %d intents in flight (%d of %d messages at Twilio): every task sent and written back %.1f s after the restart, with %d Twilio list requests",
			intents, atKill, n, recovery.Seconds(), lists)
		w.Close()
	}
}
