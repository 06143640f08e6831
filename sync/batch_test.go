package sync

import (
	"context"
	"errors"
	"fmt"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
)

func TestBatcherCoalescesBySize(t *testing.T) {
	var calls atomic.Int32
	var sizes gosync.Map
	b := &Batcher[int, string]{
		Max:    200,
		Window: time.Hour, // only size can trigger a flush
		Flush: func(_ context.Context, in []int) ([]string, error) {
			n := calls.Add(1)
			sizes.Store(n, len(in))
			out := make([]string, len(in))
			for i, v := range in {
				out[i] = fmt.Sprint(v * 2)
			}
			return out, nil
		},
	}
	var wg gosync.WaitGroup
	errs := make(chan error, 400)
	for i := range 400 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := b.Do(context.Background(), i)
			if err != nil || got != fmt.Sprint(i*2) {
				errs <- fmt.Errorf("item %d: %q %v", i, got, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if calls.Load() != 2 {
		t.Fatalf("400 items in batches of 200 took %d flushes", calls.Load())
	}
}

func TestBatcherFlushesOnWindow(t *testing.T) {
	var calls atomic.Int32
	b := &Batcher[int, int]{
		Max:    200,
		Window: 20 * time.Millisecond,
		Flush: func(_ context.Context, in []int) ([]int, error) {
			calls.Add(1)
			return in, nil
		},
	}
	var wg gosync.WaitGroup
	for i := range 5 {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = b.Do(context.Background(), i) }()
	}
	wg.Wait()
	if calls.Load() != 1 {
		t.Fatalf("5 items within one window took %d flushes, want 1", calls.Load())
	}
}

func TestBatcherErrorsReachEveryItem(t *testing.T) {
	boom := errors.New("salesforce down")
	b := &Batcher[int, int]{Max: 3, Window: time.Hour, Flush: func(context.Context, []int) ([]int, error) { return nil, boom }}
	short := &Batcher[int, int]{Max: 2, Window: time.Hour, Flush: func(_ context.Context, in []int) ([]int, error) { return in[:1], nil }}
	var wg gosync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := b.Do(context.Background(), i); !errors.Is(err, boom) {
				t.Errorf("item %d: err = %v, want %v", i, err, boom)
			}
		}()
	}
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := short.Do(context.Background(), i); !errors.Is(err, errShortResult) {
				t.Errorf("short flush: err = %v", err)
			}
		}()
	}
	wg.Wait()
}

func TestBatcherCallerContext(t *testing.T) {
	b := &Batcher[int, int]{Max: 10, Window: time.Hour, Flush: func(_ context.Context, in []int) ([]int, error) { return in, nil }}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := b.Do(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

// TestBatcherCoalescesWhileAFlushIsInFlight: items that arrive while a
// Salesforce call is out go together in the next call, instead of one call
// per window.
func TestBatcherCoalescesWhileAFlushIsInFlight(t *testing.T) {
	release := make(chan struct{})
	var sizes []int
	var mu gosync.Mutex
	b := &Batcher[int, int]{
		Max:    200,
		Window: time.Millisecond,
		Flush: func(_ context.Context, in []int) ([]int, error) {
			mu.Lock()
			sizes = append(sizes, len(in))
			first := len(sizes) == 1
			mu.Unlock()
			if first {
				<-release
			}
			return in, nil
		},
	}
	var wg gosync.WaitGroup
	do := func(i int) {
		defer wg.Done()
		if got, err := b.Do(context.Background(), i); err != nil || got != i {
			t.Errorf("item %d: %d %v", i, got, err)
		}
	}
	wg.Add(1)
	go do(0)
	sfdctest.Eventually(t, 5*time.Second, "the first flush", func() bool { mu.Lock(); defer mu.Unlock(); return len(sizes) == 1 })
	for i := 1; i <= 250; i++ {
		wg.Add(1)
		go do(i)
	}
	time.Sleep(20 * time.Millisecond) // many windows pass while the first flush is out
	mu.Lock()
	if len(sizes) != 1 {
		t.Errorf("a second flush started while the first was in flight: %v", sizes)
	}
	mu.Unlock()
	close(release)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) != 3 || sizes[0] != 1 || sizes[1] != 200 || sizes[2] != 50 {
		t.Errorf("flush sizes %v, want [1 200 50]", sizes)
	}
}
