package sfdc

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// Channels of SPEC §2.
const (
	topicTasks = "/topic/SwitchboardTasks"
	topicConvs = "/topic/SwitchboardConversations"
)

// staticTokens is a TokenSource for servers that accept any token (faye).
// The first Credentials answer can be made unusable to drive re-auth.
type staticTokens struct {
	instance string
	mu       sync.Mutex
	tok      string
	reauths  int
}

func (ts *staticTokens) Credentials(context.Context) (Credentials, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return Credentials{AccessToken: ts.tok, InstanceURL: ts.instance}, nil
}

func (ts *staticTokens) Reauthenticate(_ context.Context, stale Credentials) (Credentials, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if stale.AccessToken == ts.tok {
		ts.reauths++
		ts.tok = fmt.Sprintf("tok-%d", ts.reauths)
	}
	return Credentials{AccessToken: ts.tok, InstanceURL: ts.instance}, nil
}

func (ts *staticTokens) Reauths() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.reauths
}

// streamRecorder collects what a Stream hands to Handle and OnGap.
type streamRecorder struct {
	mu     sync.Mutex
	events map[string][]Event
	gaps   map[string][]string
	calls  int
	fail   int // fail this many Handle calls first
	// check, if set, runs inside Handle under the lock.
	check func(channel string, events []Event) error
}

func newStreamRecorder() *streamRecorder {
	return &streamRecorder{events: map[string][]Event{}, gaps: map[string][]string{}}
}

func (r *streamRecorder) Handle(_ context.Context, ch string, evs []Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail > 0 {
		r.fail--
		return fmt.Errorf("injected store failure")
	}
	if r.check != nil {
		if err := r.check(ch, evs); err != nil {
			return err
		}
	}
	r.events[ch] = append(r.events[ch], evs...)
	return nil
}

func (r *streamRecorder) OnGap(_ context.Context, ch, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gaps[ch] = append(r.gaps[ch], reason)
}

func (r *streamRecorder) count(ch string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events[ch])
}

func (r *streamRecorder) ids(ch string) []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]int64, len(r.events[ch]))
	for i, e := range r.events[ch] {
		out[i] = e.ReplayID
	}
	return out
}

func (r *streamRecorder) gapsFor(ch string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.gaps[ch]...)
}

// runStream starts s.Run in the background; the returned stop cancels it
// and waits for Run to return.
func runStream(t *testing.T, s *Stream) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Errorf("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// streamTestConfig is a StreamConfig with test-sized backoffs.
func streamTestConfig(t *testing.T, auth TokenSource, rec *streamRecorder, channels ...string) StreamConfig {
	return StreamConfig{
		Auth:     auth,
		Logger:   zaptest.NewLogger(t),
		Channels: channels,
		Handle:   rec.Handle,
		OnGap:    rec.OnGap,
		RetryMin: 5 * time.Millisecond, RetryMax: 100 * time.Millisecond, BusyMin: 10 * time.Millisecond,
		RequestTimeout: 5 * time.Second,
	}
}

// strictlyIncreasing reports whether ids strictly increase.
func strictlyIncreasing(ids []int64) error {
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			return fmt.Errorf("replay ids out of order at %d: %d after %d", i, ids[i], ids[i-1])
		}
	}
	return nil
}

func joinGaps(g []string) string { return strings.Join(g, " | ") }
