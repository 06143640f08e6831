package sfdc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/switchboard/switchboard/internal/endpoint"
	"github.com/switchboard/switchboard/internal/jitter"
)

const (
	defaultWatchdog  = 150 * time.Second // ref §3.9 / §6.1: "> 2.5 min ⇒ rebuild"
	defaultQueueSize = 10000
	defaultBatchMax  = 500
	// reconnectWindow is Salesforce's 40 s reconnect timeout (ref §3.3):
	// after that long without a reply the server has dropped the client, so
	// retrying connect is pointless and a new handshake is due (ref §3.7).
	reconnectWindow = 40 * time.Second
	// connectMargin is added to advice.timeout for the /meta/connect HTTP
	// deadline, EMP-Connector's maxNetworkDelay (ref §3.1, §5.6).
	connectMargin = 15 * time.Second
	// defaultHoldTimeout is Salesforce's advice.timeout (ref §3.3), used
	// until the server advises otherwise.
	defaultHoldTimeout = 110 * time.Second
	// maxReplyBytes follows EMP-Connector's advice of a 10 MB buffer (ref §5.6).
	maxReplyBytes       = 10 << 20
	minDurableVersion   = 37.0 // durable replay needs /cometd/37.0+ (ref §3.5)
	disconnectTimeout   = 5 * time.Second
	defaultRequestLimit = 30 * time.Second
)

// Event is one PushTopic notification (ref §3.4).
type Event struct {
	Channel     string          // the bare channel, e.g. "/topic/SwitchboardTasks"
	ReplayID    int64           // opaque, increasing per channel (ref §3.5)
	Type        string          // created, updated, deleted, undeleted
	CreatedDate time.Time       // zero if the server sent none
	SObject     json.RawMessage // the fields the PushTopic selects (or a platform event's payload)
}

// StreamConfig configures a Stream. Zero values select the defaults noted.
type StreamConfig struct {
	// Auth is the same TokenSource the REST client uses; a 401 on the
	// stream re-authenticates through it, single-flight with REST.
	Auth TokenSource
	// APIVersion selects the endpoint <instance>/cometd/<version>; "62.0"
	// by default, at least 37.0 (durable replay, ref §3.5).
	APIVersion string
	// HTTPClient supplies the transport only. The stream sets its own
	// per-request deadlines (a long poll is held up to advice.timeout, far
	// beyond a typical client Timeout) and a new cookie jar per session.
	HTTPClient *http.Client
	Logger     *zap.Logger
	// AuthScheme is the Authorization scheme: "OAuth" by default, as sent
	// by Camel and jsforce (ref §3.1; "Bearer" is documented too).
	AuthScheme string
	// Channels to subscribe, e.g. "/topic/SwitchboardTasks".
	Channels []string
	// ReplayFrom gives the replay id to start each channel from: the stored
	// checkpoint, -1 (new events only) or -2 (all retained events). It is
	// called once per channel when Run starts. Nil means -1.
	ReplayFrom func(ctx context.Context, channel string) (int64, error)
	// Handle receives events in replay order per channel, on the stream's
	// consumer goroutine, never on the long-poll goroutine. It returns nil
	// only once the events are durably stored; only then does the stream
	// resubscribe from after them. An error is retried with backoff until
	// it succeeds or Run's context ends; events are never dropped.
	Handle func(ctx context.Context, channel string, events []Event) error
	// OnGap is told, on the consumer goroutine and in order with the
	// events, that notifications may have been missed on channel: the
	// stored replay id was rejected, the stream had to resubscribe from -1,
	// the server does not replay, or a notification was unreadable. The
	// caller sweeps (SPEC §3 "Nothing is lost"). Nil means log only.
	OnGap func(ctx context.Context, channel string, reason string)
	// OnSessionEnd is told why each session ended, and of the busy retries
	// and replay-id fallbacks inside one (SessionEnd.Continued), on the
	// stream's own goroutine: it must not block. Stats().Reconnects counts
	// the same reports. Nil means log only.
	OnSessionEnd func(SessionEnd)
	// Watchdog rebuilds a session with no successful reply for this long
	// (150 s by default; ref §3.9). Keep it above advice.timeout (110 s).
	Watchdog time.Duration
	// QueueSize bounds the events waiting for Handle (10,000 by default).
	QueueSize int
	// RetryMin and RetryMax bound the jittered exponential backoff between
	// failed sessions and failed Handle calls (1 s and 2 min by default).
	RetryMin, RetryMax time.Duration
	// BusyMin is the first backoff after 503::Server is too busy or an
	// exhausted allocation; Salesforce asks for "a few minutes" (ref §3.7).
	// 30 s by default, doubling up to RetryMax.
	BusyMin time.Duration
	// RequestTimeout bounds handshake, subscribe and disconnect requests
	// (30 s by default); connects get advice.timeout + 15 s.
	RequestTimeout time.Duration
}

// StreamStats is a snapshot of a Stream's counters.
type StreamStats struct {
	// Reconnects counts the OnSessionEnd reports by cause: sessions
	// ended, and (Continued) busy retries and replay-id fallbacks made
	// inside a session.
	Reconnects   map[Cause]int64
	Handshakes   int64 // successful handshakes
	Delivered    int64 // events Handle accepted
	Duplicates   int64 // events dropped because their replay id was already queued or handled
	Gaps         int64 // gap notices (OnGap calls)
	Refused      int64 // events refused by a full queue (recovered by replay)
	HandleErrors int64 // failed Handle calls (each was retried)
	Queued       int   // events waiting for Handle now
}

// Stream is a CometD long-polling client for PushTopics (ref §3, modelled
// on EMP-Connector §5.6 with the fixes §5.9 asks for).
//
// Each session has its own cookie jar, clientId and advice. After every
// handshake every channel is re-subscribed from the replay id after the
// last event Handle durably accepted, and every subscribe reply is checked.
//
// Backpressure: the long-poll goroutine never waits for Handle. Events go
// into a queue bounded by QueueSize; when it is full, the poller keeps
// polling (so Salesforce does not expire the session after its 40 s
// reconnect window, ref §3.3) but refuses further events. Once Handle has
// drained the queue to half, the session is rebuilt and every channel
// re-subscribed from its last handled replay id, so Salesforce redelivers
// what was refused (24 h retention, ref §3.5). Where replay cannot cover the
// refusal (resuming from -1, or a server without the replay extension),
// the consumer gets a gap notice instead. Memory is therefore bounded by
// QueueSize events plus one reply.
type Stream struct {
	cfg      StreamConfig
	log      *zap.Logger
	version  string
	scheme   string
	channels []string // as given (may carry a filter)
	base     http.RoundTripper
	redirect func(*http.Request, []*http.Request) error
	q        *handoff

	running    atomic.Bool
	nextID     atomic.Int64
	subbed     atomic.Bool
	refusal    atomic.Bool // the queue refused events since the last session start
	warnedHold atomic.Bool

	mu    sync.Mutex
	chans map[string]*chanState // by bare channel
	stats StreamStats
	// deliveredAtRefusal is stats.Delivered when the queue first refused
	// events in the current session.
	deliveredAtRefusal int64

	// auth state across sessions; only the Run goroutine touches it
	reauth bool
	stale  Credentials
}

// chanState is what the stream remembers about one channel across sessions.
type chanState struct {
	subscription string // as subscribed (with filter)
	// resume is the replay id to subscribe from: the caller's checkpoint,
	// then the last id Handle accepted in the current epoch.
	resume int64
	// queued is the highest replay id put in the queue in this epoch; ids
	// at or below it are duplicates (a resubscribe replays from resume).
	queued int64
	// epoch changes when Salesforce rejects the replay id: ids of the old
	// epoch no longer count for resume.
	epoch int
	// subscribedOnce: a later subscribe from -1 may have missed events.
	subscribedOnce bool
}

var (
	errWatchdog   = errors.New("sfdc: stream watchdog: no successful reply in time")
	errOverflowed = errors.New("sfdc: stream hand-off queue overflowed")
)

// NewStream validates cfg. It does not contact the org.
func NewStream(cfg StreamConfig) (*Stream, error) {
	var problems []error
	if cfg.Auth == nil {
		problems = append(problems, errors.New("sfdc: StreamConfig.Auth is required (the *Auth the REST client uses)"))
	}
	if cfg.Handle == nil {
		problems = append(problems, errors.New("sfdc: StreamConfig.Handle is required"))
	}
	version := cfg.APIVersion
	if version == "" {
		version = DefaultAPIVersion
	}
	if !endpoint.APIVersionRE.MatchString(version) {
		problems = append(problems, fmt.Errorf("sfdc: streaming API version %q is not of the form 62.0", version))
	} else if v, _ := strconv.ParseFloat(version, 64); v < minDurableVersion {
		problems = append(problems, fmt.Errorf("sfdc: streaming API version %s has no durable replay; use 37.0 or later", version))
	}
	if len(cfg.Channels) == 0 {
		problems = append(problems, errors.New("sfdc: StreamConfig.Channels is empty"))
	}
	s := &Stream{cfg: cfg, version: version, chans: map[string]*chanState{}}
	for _, ch := range cfg.Channels {
		ch = strings.TrimSuffix(ch, "/")
		b := baseChannel(ch)
		switch {
		case !strings.HasPrefix(ch, "/") || len(b) < 2:
			problems = append(problems, fmt.Errorf("sfdc: stream channel %q must start with '/' (e.g. /topic/SwitchboardTasks)", ch))
			continue
		case strings.HasPrefix(b, "/meta/"):
			problems = append(problems, fmt.Errorf("sfdc: stream channel %q is a Bayeux meta channel", ch))
			continue
		case s.chans[b] != nil:
			problems = append(problems, fmt.Errorf("sfdc: stream channel %q listed twice", b))
			continue
		}
		s.channels = append(s.channels, ch)
		s.chans[b] = &chanState{subscription: ch, resume: -1, queued: -1}
	}
	if cfg.Watchdog < 0 || cfg.QueueSize < 0 || cfg.RetryMin < 0 || cfg.RetryMax < 0 || cfg.BusyMin < 0 || cfg.RequestTimeout < 0 {
		problems = append(problems, errors.New("sfdc: StreamConfig durations and sizes must not be negative"))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	s.log = cfg.Logger
	if s.log == nil {
		s.log = zap.NewNop()
	}
	s.log = s.log.With(zap.String("component", "sfdc.stream"))
	s.scheme = cfg.AuthScheme
	if s.scheme == "" {
		s.scheme = "OAuth"
	}
	if s.cfg.Watchdog == 0 {
		s.cfg.Watchdog = defaultWatchdog
	}
	if s.cfg.QueueSize == 0 {
		s.cfg.QueueSize = defaultQueueSize
	}
	if s.cfg.RetryMin == 0 {
		s.cfg.RetryMin = time.Second
	}
	if s.cfg.RetryMax == 0 {
		s.cfg.RetryMax = 2 * time.Minute
	}
	if s.cfg.RetryMax < s.cfg.RetryMin {
		s.cfg.RetryMax = s.cfg.RetryMin
	}
	if s.cfg.BusyMin == 0 {
		s.cfg.BusyMin = 30 * time.Second
	}
	if s.cfg.RequestTimeout == 0 {
		s.cfg.RequestTimeout = defaultRequestLimit
	}
	s.base = http.DefaultTransport
	if cfg.HTTPClient != nil {
		if cfg.HTTPClient.Transport != nil {
			s.base = cfg.HTTPClient.Transport
		}
		s.redirect = cfg.HTTPClient.CheckRedirect
	}
	s.q = newHandoff(s.cfg.QueueSize)
	s.stats.Reconnects = map[Cause]int64{}
	return s, nil
}

// Subscribed reports whether every channel is subscribed in the live
// session (for /readyz).
func (s *Stream) Subscribed() bool { return s.subbed.Load() }

// Stats returns a snapshot of the counters.
func (s *Stream) Stats() StreamStats {
	s.mu.Lock()
	st := s.stats
	st.Reconnects = make(map[Cause]int64, len(s.stats.Reconnects))
	for k, v := range s.stats.Reconnects {
		st.Reconnects[k] = v
	}
	s.mu.Unlock()
	st.Queued = s.q.held()
	return st
}

func (s *Stream) count(f func(*StreamStats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

// Run streams until ctx is done, then sends /meta/disconnect and returns
// nil once the consumer has stopped (no Handle call runs after Run
// returns; events still queued are not handed over, and the next start
// replays them from the caller's checkpoint). It returns an error only if
// it cannot start: a second Run, or a ReplayFrom checkpoint that is not a
// replay id. Failures while streaming are retried forever with backoff and
// show in Stats and Subscribed, never as a return.
func (s *Stream) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("sfdc: Stream.Run called twice")
	}
	if err := s.loadCheckpoints(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.consume(ctx)
	}()
	defer wg.Wait()

	failures := 0 // sessions in a row that never got a successful connect
	for ctx.Err() == nil {
		end := s.session(ctx)
		if ctx.Err() != nil {
			break
		}
		if end.Connected {
			failures = 0
		}
		failures++
		end.Attempt = failures
		end.Backoff = s.sessionBackoff(end.Cause, failures)
		lvl := s.log.Warn
		if failures == 1 && (end.Cause == CauseServerDisconnect || end.Cause == CauseOverflow) {
			lvl = s.log.Info
		}
		lvl("salesforce stream session ended; starting a new one",
			zap.String("cause", string(end.Cause)), zap.Error(end.Err), zap.Duration("backoff", end.Backoff), zap.Int("attempt", failures))
		s.report(end)
		delay := end.Backoff
		if !sleepCtx(ctx, delay) {
			break
		}
	}
	return nil
}

// loadCheckpoints asks ReplayFrom for every channel, retrying a failing
// store with backoff: a store that is briefly down must not stop the daemon.
func (s *Stream) loadCheckpoints(ctx context.Context) error {
	if s.cfg.ReplayFrom == nil {
		return nil
	}
	for _, ch := range s.channels {
		b := baseChannel(ch)
		for attempt := 1; ; attempt++ {
			id, err := s.cfg.ReplayFrom(ctx, b)
			if err == nil {
				if id < -2 {
					return fmt.Errorf("sfdc: ReplayFrom(%s) = %d: a replay id is -2, -1 or a stored id ≥ 0 (ref §3.5)", b, id)
				}
				s.mu.Lock()
				st := s.chans[b]
				st.resume = id
				if id >= 0 {
					st.queued = id
				}
				s.mu.Unlock()
				break
			}
			d := s.backoff(s.cfg.RetryMin, attempt)
			s.log.Warn("reading the stream checkpoint failed; retrying", zap.String("channel", b), zap.Error(err), zap.Duration("backoff", d))
			if !sleepCtx(ctx, d) {
				return ctx.Err()
			}
		}
	}
	return nil
}

// sessionBackoff: the first reconnect after a session-level event the
// server asked for (unknown client, disconnect push, re-auth) is
// immediate; repeated failures back off exponentially with jitter, and busy
// or limit answers start from BusyMin (ref §3.7).
func (s *Stream) sessionBackoff(cause Cause, failures int) time.Duration {
	switch cause {
	case CauseBusy, CauseLimit:
		return s.backoff(s.cfg.BusyMin, failures)
	case CauseUnknownClient, CauseServerDisconnect, CauseAuth, CauseOverflow, CauseWatchdog:
		if failures <= 1 {
			return 0
		}
		return s.backoff(s.cfg.RetryMin, failures-1)
	}
	return s.backoff(s.cfg.RetryMin, failures)
}

// backoff is min·2^(attempt-1), capped at RetryMax, with "equal jitter"
// (half fixed, half random) so replicas do not reconnect in lockstep.
func (s *Stream) backoff(min time.Duration, attempt int) time.Duration {
	return jitter.Backoff(min, s.cfg.RetryMax, attempt)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
