package sfdc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/switchboard/switchboard/internal/jitter"
)

// Reconnect causes reported by StreamStats.Reconnects: why a Bayeux session
// ended and a new one (new cookie jar, new handshake, every channel
// re-subscribed) was started.
const (
	CauseUnknownClient    = "unknown_client"    // 403::Unknown client (faye: 401:…:Unknown client) or advice handshake
	CauseAuth             = "auth"              // 401::Authentication invalid: re-authenticated first
	CauseReplayInvalid    = "replay_invalid"    // stored replay id rejected; resubscribed from -1 (same session)
	CauseBusy             = "busy"              // 503::Server is too busy
	CauseServerDisconnect = "server_disconnect" // server pushed /meta/disconnect (ref §3.2, v64+)
	CauseWatchdog         = "watchdog"          // no successful reply for StreamConfig.Watchdog
	CauseNetwork          = "network"           // transport errors for longer than the 40 s reconnect window
	CauseHandshakeFailed  = "handshake_failed"  // handshake refused for another reason, or unreachable
	CauseSubscribeFailed  = "subscribe_failed"  // a subscribe refused for another reason (e.g. no such topic)
	CauseLimit            = "limit"             // an org allocation is exhausted (ref §3.8)
	CauseAdvice           = "advice"            // unsuccessful connect whose advice says handshake or none
	CauseOverflow         = "overflow"          // the hand-off queue overflowed; rebuilt to replay what was refused
	CauseCookie           = "cookie"            // the server saw no session cookie (ref §3.1); a new jar and handshake
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
	// Reconnects counts sessions ended, by Cause*; busy and replay_invalid
	// also count the retries and fallbacks made inside a session.
	Reconnects   map[string]int64
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
	if !apiVersionRE.MatchString(version) {
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
	s.stats.Reconnects = map[string]int64{}
	return s, nil
}

// Subscribed reports whether every channel is subscribed in the live
// session (for /readyz).
func (s *Stream) Subscribed() bool { return s.subbed.Load() }

// Stats returns a snapshot of the counters.
func (s *Stream) Stats() StreamStats {
	s.mu.Lock()
	st := s.stats
	st.Reconnects = make(map[string]int64, len(s.stats.Reconnects))
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
		s.count(func(st *StreamStats) { st.Reconnects[end.cause]++ })
		if end.connected {
			failures = 0
		}
		failures++
		delay := s.sessionBackoff(end.cause, failures)
		lvl := s.log.Warn
		if failures == 1 && (end.cause == CauseServerDisconnect || end.cause == CauseOverflow) {
			lvl = s.log.Info
		}
		lvl("salesforce stream session ended; starting a new one",
			zap.String("cause", end.cause), zap.Error(end.err), zap.Duration("backoff", delay), zap.Int("attempt", failures))
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
func (s *Stream) sessionBackoff(cause string, failures int) time.Duration {
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

// sessionEnd says why a session ended.
type sessionEnd struct {
	cause     string
	err       error
	connected bool // at least one successful /meta/connect
}

// session is one Bayeux session: {cookie jar, clientId, advice, last reply
// time} (ref §6.1).
type session struct {
	s        *Stream
	hc       *http.Client
	url      string
	creds    Credentials
	clientID string
	replay   bool // handshake announced the replay extension

	reconnect string
	interval  time.Duration
	hold      time.Duration

	lastOK atomic.Int64 // unix nanos of the last successful reply (watchdog)
	paused atomic.Bool  // deliberate waits do not count as silence
}

func (ss *session) touch() { ss.lastOK.Store(time.Now().UnixNano()) }

// wait sleeps d without tripping the watchdog.
func (ss *session) wait(ctx context.Context, d time.Duration) bool {
	ss.paused.Store(true)
	ok := sleepCtx(ctx, d)
	ss.touch()
	ss.paused.Store(false)
	return ok
}

// mergeAdvice applies the fields a reply carries and keeps the rest: a
// reply without advice (Salesforce sends those, ref §3.2) changes nothing.
func (ss *session) mergeAdvice(a *wireAdvice) {
	if a == nil {
		return
	}
	if a.Reconnect != "" {
		ss.reconnect = a.Reconnect
	}
	if a.Interval != nil {
		ss.interval = time.Duration(*a.Interval * float64(time.Millisecond))
	}
	if a.Timeout != nil && *a.Timeout >= 0 {
		ss.hold = time.Duration(*a.Timeout * float64(time.Millisecond))
	}
}

func (s *Stream) credentials(ctx context.Context) (Credentials, error) {
	if s.reauth {
		c, err := s.cfg.Auth.Reauthenticate(ctx, s.stale)
		if err != nil {
			return Credentials{}, err
		}
		s.reauth = false
		return c, nil
	}
	return s.cfg.Auth.Credentials(ctx)
}

func (s *Stream) session(ctx context.Context) (end sessionEnd) {
	creds, err := s.credentials(ctx)
	if err != nil {
		return sessionEnd{cause: CauseAuth, err: fmt.Errorf("salesforce login for the stream: %w", err)}
	}
	if creds.InstanceURL == "" {
		return sessionEnd{cause: CauseHandshakeFailed, err: errors.New("salesforce credentials carry no instance URL")}
	}
	jar, _ := cookiejar.New(nil) // a new jar per session (ref §3.1, cometd-nodejs-client#4)
	ss := &session{
		s:         s,
		hc:        &http.Client{Transport: s.base, Jar: jar, CheckRedirect: s.redirect},
		url:       strings.TrimSuffix(creds.InstanceURL, "/") + "/cometd/" + s.version,
		creds:     creds,
		reconnect: "retry",
		hold:      defaultHoldTimeout,
	}
	ss.touch()
	s.refusal.Store(false)

	sctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ss.watchdog(sctx, cancel)
	}()
	defer func() {
		s.subbed.Store(false)
		cancel(nil)
		wg.Wait()
		if ss.clientID == "" {
			return
		}
		// Leave politely when shutting down or abandoning a live session:
		// orphaned clients count against the concurrent-client allocation
		// until they time out (ref §3.2, EMP #37). A server that already
		// forgot the client, or a refused token, makes it pointless.
		switch {
		case ctx.Err() != nil, end.cause == CauseWatchdog, end.cause == CauseOverflow,
			end.cause == CauseSubscribeFailed, end.cause == CauseBusy, end.cause == CauseLimit:
			ss.disconnect(context.WithoutCancel(ctx))
		}
	}()
	fail := func(cause string, err error) sessionEnd {
		if c := context.Cause(sctx); errors.Is(c, errWatchdog) && ctx.Err() == nil {
			return sessionEnd{cause: CauseWatchdog, err: err, connected: end.connected}
		}
		if cause == CauseAuth {
			s.reauth, s.stale = true, creds
		}
		return sessionEnd{cause: cause, err: err, connected: end.connected}
	}

	if cause, err := ss.handshake(sctx); err != nil {
		return fail(cause, err)
	}
	for _, ch := range s.channels {
		if cause, err := ss.subscribe(sctx, ch); err != nil {
			return fail(cause, err)
		}
	}
	s.subbed.Store(true)
	s.log.Info("salesforce stream subscribed", zap.Strings("channels", s.channels), zap.Bool("replay", ss.replay))
	if s.cfg.Watchdog <= ss.hold && !s.warnedHold.Swap(true) {
		s.log.Warn("stream watchdog is not longer than the server's advice.timeout; quiet sessions will be rebuilt needlessly",
			zap.Duration("watchdog", s.cfg.Watchdog), zap.Duration("advice_timeout", ss.hold))
	}

	cause, connected, err := ss.connectLoop(sctx)
	end.connected = connected
	return fail(cause, err)
}

// watchdog rebuilds a session that has been silent too long (ref §3.9):
// no successful handshake, subscribe or connect reply for cfg.Watchdog.
func (ss *session) watchdog(ctx context.Context, cancel context.CancelCauseFunc) {
	limit := ss.s.cfg.Watchdog
	tick := max(limit/8, 5*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if ss.paused.Load() {
				continue
			}
			if time.Since(time.Unix(0, ss.lastOK.Load())) > limit {
				cancel(errWatchdog)
				return
			}
		}
	}
}

// httpStatusError is a Bayeux POST answered with a non-200 status.
type httpStatusError struct {
	status int
	body   string
}

func (e *httpStatusError) Error() string {
	return fmt.Sprintf("salesforce cometd: HTTP %d: %s", e.status, e.body)
}

// exchange POSTs one message (ref §3.1: one message per request) and
// returns the reply array.
func (ss *session) exchange(ctx context.Context, msg map[string]any, timeout time.Duration) ([]bayeuxReply, error) {
	msg["id"] = strconv.FormatInt(ss.s.nextID.Add(1), 10)
	body, err := json.Marshal([]any{msg})
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, ss.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", ss.s.scheme+" "+ss.creds.AccessToken)
	resp, err := ss.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes+1))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &httpStatusError{status: resp.StatusCode, body: excerpt(data)}
	}
	if len(data) > maxReplyBytes {
		return nil, fmt.Errorf("salesforce cometd: reply larger than %d bytes", maxReplyBytes)
	}
	var replies []bayeuxReply
	if err := json.Unmarshal(data, &replies); err != nil {
		return nil, fmt.Errorf("salesforce cometd: reply is not a Bayeux message array: %w (%s)", err, excerpt(data))
	}
	return replies, nil
}

// transportCause maps a failed exchange to a cause.
func transportCause(err error, fallback string) string {
	var he *httpStatusError
	if errors.As(err, &he) {
		switch he.status {
		case http.StatusUnauthorized:
			return CauseAuth
		case http.StatusServiceUnavailable:
			return CauseBusy
		}
	}
	return fallback
}

// classify maps an unsuccessful reply to a cause. Error strings differ
// between servers (faye says 401:…:Unknown client where Salesforce says
// 403::Unknown client, dependencies.md §4), so "Unknown client" is matched
// on its text before codes, and what is left is decided by advice.
func classify(m *bayeuxReply, fallback string) string {
	code, msg := bayeuxError(m.Error)
	frCode, frMsg := bayeuxError(m.failureReason())
	has := func(sub string) bool {
		sub = strings.ToLower(sub)
		return strings.Contains(strings.ToLower(msg), sub) || strings.Contains(strings.ToLower(frMsg), sub)
	}
	switch {
	case has("unknown client"), has("has not completed handshake"):
		// ref §3.6: comes with advice handshake, or none (EMP #15).
		return CauseUnknownClient
	case has("cookie"):
		// ref §3.1: "…has established a session, but no BAYEUX_BROWSER
		// cookie present": the session is unusable; a new one gets a new jar.
		return CauseCookie
	case frCode == 503 || code == 503:
		// ref §3.6: the 401 in error next to a 503 failureReason means the
		// server was too busy to check the token, not that it is bad.
		return CauseBusy
	case code == 401 || frCode == 401:
		return CauseAuth
	case has("limit"):
		return CauseLimit
	case code == 400 && has("replayid") && (has("invalid") || has("wasn't found")):
		return CauseReplayInvalid
	}
	if m.Advice != nil && m.Advice.Reconnect == "handshake" {
		return CauseUnknownClient
	}
	return fallback
}

func findReply(replies []bayeuxReply, channel, subscription string) *bayeuxReply {
	for i := range replies {
		m := &replies[i]
		if m.Channel != channel {
			continue
		}
		if subscription != "" {
			if subs := m.subscriptions(); len(subs) > 0 && !slices.Contains(subs, subscription) {
				continue
			}
		}
		return m
	}
	return nil
}

func (ss *session) handshake(ctx context.Context) (string, error) {
	msg := map[string]any{
		"channel":                  metaHandshake,
		"version":                  "1.0",
		"minimumVersion":           "1.0",
		"supportedConnectionTypes": []string{"long-polling"},
		"ext":                      map[string]any{"replay": true}, // ref §3.2
	}
	replies, err := ss.exchange(ctx, msg, ss.s.cfg.RequestTimeout)
	if err != nil {
		return transportCause(err, CauseHandshakeFailed), fmt.Errorf("salesforce cometd handshake: %w", err)
	}
	m := findReply(replies, metaHandshake, "")
	if m == nil {
		return CauseHandshakeFailed, errors.New("salesforce cometd handshake: no /meta/handshake reply")
	}
	ss.mergeAdvice(m.Advice)
	if !m.Successful {
		return classify(m, CauseHandshakeFailed), fmt.Errorf("salesforce cometd handshake refused: %s", m.describe())
	}
	if m.ClientID == "" {
		return CauseHandshakeFailed, errors.New("salesforce cometd handshake: reply has no clientId")
	}
	if len(m.SupportedConnectionTypes) > 0 && !slices.Contains(m.SupportedConnectionTypes, "long-polling") {
		return CauseHandshakeFailed, fmt.Errorf("salesforce cometd handshake: server offers %v, not long-polling", m.SupportedConnectionTypes)
	}
	ss.clientID, ss.replay = m.ClientID, m.replayAnnounced()
	ss.touch()
	ss.s.count(func(st *StreamStats) { st.Handshakes++ })
	ss.s.deliver(replies)
	return "", nil
}

// subscribe subscribes one channel from its resume point and checks the
// reply (ref §5.9: unchecked resubscribes are how streams go silent).
func (ss *session) subscribe(ctx context.Context, channel string) (string, error) {
	s := ss.s
	b := baseChannel(channel)
	for busy := 1; ; {
		s.mu.Lock()
		st := s.chans[b]
		from, first := st.resume, !st.subscribedOnce
		s.mu.Unlock()

		msg := map[string]any{"channel": metaSubscribe, "clientId": ss.clientID, "subscription": channel}
		if ss.replay {
			msg["ext"] = map[string]any{"replay": map[string]int64{b: from}}
		}
		replies, err := ss.exchange(ctx, msg, s.cfg.RequestTimeout)
		if err != nil {
			return transportCause(err, CauseNetwork), fmt.Errorf("salesforce cometd subscribe %s: %w", channel, err)
		}
		m := findReply(replies, metaSubscribe, channel)
		if m == nil {
			return CauseSubscribeFailed, fmt.Errorf("salesforce cometd subscribe %s: no /meta/subscribe reply", channel)
		}
		if m.Successful {
			ss.touch()
			var reason string
			switch {
			case !ss.replay && (!first || from >= 0):
				reason = "the server does not support the replay extension; events since the last session may be missing"
			case !first && from == -1:
				reason = "resubscribed from -1 (no event handled yet); events between sessions may be missing"
			}
			s.mu.Lock()
			st.subscribedOnce = true
			if reason != "" {
				// Nothing is replayed, so nothing can repeat: forget the
				// dedupe watermark, in case the server numbers afresh.
				st.epoch++
				st.queued = -1
			}
			s.mu.Unlock()
			if reason != "" {
				s.gap(b, reason)
			}
			s.deliver(replies)
			return "", nil
		}
		switch cause := classify(m, CauseSubscribeFailed); cause {
		case CauseReplayInvalid:
			// ref §3.5/§3.7: the stored id is outside retention. Fall back
			// to -1 and have the caller sweep; events of the old epoch still
			// queued are handled but no longer move the resume point.
			s.log.Error("salesforce rejected the stored replay id; resubscribing from -1 and requesting a sweep",
				zap.String("channel", b), zap.Int64("replay_id", from), zap.String("error", m.Error))
			s.count(func(st *StreamStats) { st.Reconnects[CauseReplayInvalid]++ })
			if from == -1 {
				return CauseSubscribeFailed, fmt.Errorf("salesforce cometd subscribe %s from -1 refused: %s", channel, m.describe())
			}
			s.mu.Lock()
			st.epoch++
			st.resume, st.queued = -1, -1
			s.mu.Unlock()
			s.gap(b, fmt.Sprintf("salesforce rejected replay id %d (%s); resubscribed from -1", from, m.Error))
		case CauseBusy:
			// ref §3.7 (Camel): retry the subscribe after a backoff.
			s.count(func(st *StreamStats) { st.Reconnects[CauseBusy]++ })
			d := s.backoff(s.cfg.BusyMin, busy)
			busy++
			s.log.Warn("salesforce stream busy on subscribe; retrying", zap.String("channel", channel), zap.Duration("backoff", d))
			if !ss.wait(ctx, d) {
				return CauseBusy, ctx.Err()
			}
		default:
			return cause, fmt.Errorf("salesforce cometd subscribe %s refused: %s", channel, m.describe())
		}
	}
}

// connectLoop long-polls until the session ends.
func (ss *session) connectLoop(ctx context.Context) (cause string, connected bool, err error) {
	s := ss.s
	lastReply := time.Now()
	netFails, busy := 0, 0
	for {
		if s.drained() {
			return CauseOverflow, connected, errOverflowed
		}
		if ss.interval < 0 {
			return CauseAdvice, connected, fmt.Errorf("salesforce cometd: advice interval %v forbids reconnecting", ss.interval)
		}
		if ss.interval > 0 && !ss.wait(ctx, ss.interval) {
			return CauseNetwork, connected, ctx.Err()
		}
		msg := map[string]any{"channel": metaConnect, "clientId": ss.clientID, "connectionType": "long-polling"}
		replies, err := ss.exchange(ctx, msg, ss.hold+connectMargin)
		if err != nil {
			if ctx.Err() != nil {
				return CauseNetwork, connected, err
			}
			c := transportCause(err, CauseNetwork)
			if c == CauseAuth {
				return c, connected, err
			}
			// ref §3.7: transport errors, 5xx and EOF are retried; after the
			// 40 s reconnect window the server has dropped the client.
			if time.Since(lastReply) > reconnectWindow {
				return c, connected, err
			}
			netFails++
			base := min(s.cfg.RetryMin, 2*time.Second)
			if c == CauseBusy {
				base = s.cfg.BusyMin
			}
			d := s.backoff(base, netFails)
			s.log.Warn("salesforce stream connect failed; retrying", zap.Error(err), zap.Duration("backoff", d))
			if !ss.wait(ctx, d) {
				return CauseNetwork, connected, ctx.Err()
			}
			continue
		}
		lastReply, netFails = time.Now(), 0
		s.deliver(replies)
		ack := findReply(replies, metaConnect, "")
		if ack != nil {
			ss.mergeAdvice(ack.Advice)
		}
		if findReply(replies, metaDisconnect, "") != nil {
			return CauseServerDisconnect, connected, errors.New("salesforce cometd: server sent /meta/disconnect")
		}
		if ack == nil {
			continue // events only; the ack comes with a later reply
		}
		if ack.Successful {
			ss.touch()
			connected, busy = true, 0
			continue
		}
		cause := classify(ack, CauseAdvice)
		err = fmt.Errorf("salesforce cometd connect refused: %s", ack.describe())
		switch cause {
		case CauseUnknownClient, CauseAuth, CauseLimit, CauseCookie:
			return cause, connected, err
		case CauseBusy:
			if ss.reconnect != "retry" {
				return cause, connected, err
			}
			busy++
			d := s.backoff(s.cfg.BusyMin, busy)
			s.count(func(st *StreamStats) { st.Reconnects[CauseBusy]++ })
			s.log.Warn("salesforce stream busy on connect; retrying", zap.Duration("backoff", d))
			if !ss.wait(ctx, d) {
				return cause, connected, ctx.Err()
			}
			continue
		}
		if ss.reconnect == "retry" {
			// Advice says the session lives; the watchdog ends it if the
			// server keeps refusing.
			netFails++
			s.log.Warn("salesforce stream connect unsuccessful; retrying as advised", zap.Error(err))
			if !ss.wait(ctx, s.backoff(min(s.cfg.RetryMin, 2*time.Second), netFails)) {
				return CauseAdvice, connected, ctx.Err()
			}
			continue
		}
		return CauseAdvice, connected, err
	}
}

// disconnect ends the session politely, best effort.
func (ss *session) disconnect(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, disconnectTimeout)
	defer cancel()
	msg := map[string]any{"channel": metaDisconnect, "clientId": ss.clientID}
	if _, err := ss.exchange(ctx, msg, disconnectTimeout); err != nil {
		ss.s.log.Debug("salesforce cometd disconnect failed", zap.Error(err))
	}
}

// deliver queues the events of a reply: per channel, sorted by replay id
// (replies may carry messages in any order, ref §3.2), without ids already
// queued. It never blocks; a full queue refuses and sets s.refusal.
func (s *Stream) deliver(replies []bayeuxReply) {
	type batch struct {
		channel string
		events  []Event
	}
	var batches []*batch
	byCh := map[string]*batch{}
	for i := range replies {
		m := &replies[i]
		if strings.HasPrefix(m.Channel, "/meta/") || len(m.Data) == 0 {
			continue
		}
		ch := baseChannel(m.Channel)
		if _, ok := s.chans[ch]; !ok {
			s.log.Warn("salesforce stream message on a channel not subscribed", zap.String("channel", m.Channel))
			continue
		}
		ev, err := parseEvent(ch, m.Data)
		if err != nil {
			s.log.Error("unreadable salesforce notification", zap.Error(err))
			s.gap(ch, "unreadable notification: "+err.Error())
			continue
		}
		b := byCh[ch]
		if b == nil {
			b = &batch{channel: ch}
			byCh[ch] = b
			batches = append(batches, b)
		}
		b.events = append(b.events, ev)
	}
	for _, b := range batches {
		slices.SortStableFunc(b.events, func(x, y Event) int {
			switch {
			case x.ReplayID < y.ReplayID:
				return -1
			case x.ReplayID > y.ReplayID:
				return 1
			}
			return 0
		})
		s.mu.Lock()
		st := s.chans[b.channel]
		fresh := b.events[:0]
		for _, ev := range b.events {
			if ev.ReplayID > st.queued {
				fresh = append(fresh, ev)
			}
		}
		dups := len(b.events) - len(fresh)
		s.stats.Duplicates += int64(dups)
		if len(fresh) == 0 {
			s.mu.Unlock()
			continue
		}
		// Once refused, refuse the rest of the session too, or later
		// events would overtake the refused ones.
		if s.refusal.Load() || !s.q.push(queueItem{channel: b.channel, epoch: st.epoch, events: fresh}) {
			if !s.refusal.Swap(true) {
				s.deliveredAtRefusal = s.stats.Delivered
				s.log.Warn("salesforce stream hand-off queue full; refusing events until Handle catches up, then replaying",
					zap.Int("queue_size", s.cfg.QueueSize))
			}
			s.stats.Refused += int64(len(fresh))
			s.mu.Unlock()
			continue
		}
		st.queued = fresh[len(fresh)-1].ReplayID
		s.mu.Unlock()
	}
}

// drained reports that the queue refused events in this session and Handle
// has since made progress and emptied it to half: time to rebuild and have
// the refused events replayed. Requiring progress keeps a stuck Handle from
// turning into a handshake loop.
func (s *Stream) drained() bool {
	if !s.refusal.Load() {
		return false
	}
	s.mu.Lock()
	progressed := s.stats.Delivered > s.deliveredAtRefusal
	s.mu.Unlock()
	return progressed && s.q.held() <= s.cfg.QueueSize/2
}

// gap queues a gap notice for channel.
func (s *Stream) gap(channel, reason string) {
	s.mu.Lock()
	epoch := s.chans[channel].epoch
	s.mu.Unlock()
	s.q.push(queueItem{channel: channel, epoch: epoch, gap: reason})
}

// consume runs Handle and OnGap on one goroutine, in queue order.
func (s *Stream) consume(ctx context.Context) {
	for {
		it, ok := s.q.next(ctx, defaultBatchMax)
		if !ok {
			return
		}
		if it.gap != "" {
			s.count(func(st *StreamStats) { st.Gaps++ })
			s.log.Warn("salesforce stream gap: a sweep is needed", zap.String("channel", it.channel), zap.String("reason", it.gap))
			if s.cfg.OnGap != nil {
				s.cfg.OnGap(ctx, it.channel, it.gap)
			}
			continue
		}
		for attempt := 1; ; attempt++ {
			err := s.cfg.Handle(ctx, it.channel, it.events)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			s.count(func(st *StreamStats) { st.HandleErrors++ })
			d := s.backoff(s.cfg.RetryMin, attempt)
			s.log.Error("handling salesforce stream events failed; retrying", zap.String("channel", it.channel),
				zap.Int("events", len(it.events)), zap.Error(err), zap.Duration("backoff", d))
			if !sleepCtx(ctx, d) {
				return
			}
		}
		last := it.events[len(it.events)-1].ReplayID
		s.mu.Lock()
		if st := s.chans[it.channel]; st.epoch == it.epoch && last > st.resume {
			st.resume = last
		}
		s.stats.Delivered += int64(len(it.events))
		s.mu.Unlock()
	}
}
