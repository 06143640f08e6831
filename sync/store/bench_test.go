package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// Benchmarks print jobs/s. Run with
//
//	go test -run '^$' -bench . -benchtime 5000x ./sync/store/
//
// "sqlite" is the default (synchronous=group), "sqlite-full" and
// "sqlite-normal" the other settings.

type benchBackend struct {
	name string
	url  func(b *testing.B) string
}

func benchBackends() []benchBackend {
	return []benchBackend{
		{"sqlite", func(b *testing.B) string { return sqliteURL(b) }},
		{"sqlite-full", func(b *testing.B) string { return sqliteURL(b) + "?synchronous=full" }},
		{"sqlite-normal", func(b *testing.B) string { return sqliteURL(b) + "?synchronous=normal" }},
		{"postgres", func(b *testing.B) string { return postgresURL(b) }},
	}
}

func benchOptions() Options {
	o := testOptions()
	o.MaxWorkers = 200
	o.FetchCooldown, o.FetchPollInterval = 10*time.Millisecond, 50*time.Millisecond
	return o
}

// BenchmarkEnqueue: one Enqueue call per job (a webhook), or batches of 100
// (a sweep).
func BenchmarkEnqueue(b *testing.B) {
	for _, be := range benchBackends() {
		for _, batch := range []int{1, 100} {
			b.Run(fmt.Sprintf("%s/batch=%d", be.name, batch), func(b *testing.B) {
				s := openStore(b, be.url(b), benchOptions())
				ctx := context.Background()
				b.ResetTimer()
				t0 := time.Now()
				for i := 0; i < b.N; i += batch {
					jobs := make([]Job, 0, batch)
					for j := i; j < min(i+batch, b.N); j++ {
						jobs = append(jobs, Job{Kind: "bench", Key: fmt.Sprintf("k%d", j), Payload: []byte(`{"sid":"SM00000000000000000000000000000000"}`)})
					}
					if err := s.Enqueue(ctx, jobs...); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "jobs/s")
			})
		}
	}
}

// BenchmarkWork: b.N queued jobs worked by 200 handlers. "ledger" handlers
// do what a send does to the store: BeginSend, CompleteSend, MarkRecorded.
func BenchmarkWork(b *testing.B) {
	for _, be := range benchBackends() {
		for _, ledger := range []bool{false, true} {
			name := be.name + "/noop"
			if ledger {
				name = be.name + "/ledger"
			}
			b.Run(name, func(b *testing.B) {
				s := openStore(b, be.url(b), benchOptions())
				ctx := context.Background()
				var done atomic.Int64
				all := make(chan struct{})
				n := int64(b.N)
				if err := s.Handle("bench", func(ctx context.Context, j Job) error {
					if ledger {
						if _, _, err := s.BeginSend(ctx, intent(j.Key)); err != nil {
							return err
						}
						if err := s.CompleteSend(ctx, j.Key, "SM"+j.Key, "queued"); err != nil {
							return err
						}
						if err := s.MarkRecorded(ctx, j.Key); err != nil {
							return err
						}
					}
					if done.Add(1) == n {
						close(all)
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
				for i := 0; i < b.N; i += 1000 {
					jobs := make([]Job, 0, 1000)
					for j := i; j < min(i+1000, b.N); j++ {
						jobs = append(jobs, Job{Kind: "bench", Key: fmt.Sprintf("k%d", j)})
					}
					if err := s.Enqueue(ctx, jobs...); err != nil {
						b.Fatal(err)
					}
				}
				b.ResetTimer()
				t0 := time.Now()
				start(b, s)
				select {
				case <-all:
				case <-time.After(5 * time.Minute):
					b.Fatalf("%d of %d jobs done", done.Load(), n)
				}
				b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "jobs/s")
			})
		}
	}
}

// BenchmarkConcurrent: 200 goroutines each making one call at a time, as
// River's handlers and the webhook server do: "enqueue" is a webhook's
// Enqueue of one job, "ledger" a send's BeginSend + CompleteSend +
// MarkRecorded, "park" a Park + TakeParked. No River workers run, so this
// measures the store's writes alone.
func BenchmarkConcurrent(b *testing.B) {
	for _, be := range benchBackends() {
		for _, op := range []string{"enqueue", "ledger", "park"} {
			b.Run(be.name+"/"+op, func(b *testing.B) {
				s := openStore(b, be.url(b), benchOptions())
				ctx := context.Background()
				var next atomic.Int64
				errs := make(chan error, 200)
				b.ResetTimer()
				t0 := time.Now()
				for range 200 {
					go func() {
						var err error
						for err == nil {
							i := next.Add(1)
							if i > int64(b.N) {
								break
							}
							k := fmt.Sprintf("k%d", i)
							switch op {
							case "enqueue":
								err = s.Enqueue(ctx, Job{Kind: "bench", Key: k, Payload: []byte(`{"sid":"SM00000000000000000000000000000000"}`)})
							case "ledger":
								if _, _, err = s.BeginSend(ctx, intent(k)); err == nil {
									if err = s.CompleteSend(ctx, k, "SM"+k, "queued"); err == nil {
										err = s.MarkRecorded(ctx, k)
									}
								}
							case "park":
								if err = s.Park(ctx, "SM"+k, []byte(`{"MessageStatus":"sent"}`), time.Now().Add(time.Hour)); err == nil {
									_, err = s.TakeParked(ctx, []string{"SM" + k})
								}
							}
						}
						errs <- err
					}()
				}
				for range 200 {
					if err := <-errs; err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), op+"s/s")
			})
		}
	}
}
