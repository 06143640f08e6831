package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"go.uber.org/zap"

	"github.com/switchboard/switchboard/config"
	sbsync "github.com/switchboard/switchboard/sync"
)

// Errors callers branch on. Each returned error wraps one of them.
var (
	// ErrBadURL: store.url cannot be used (unknown scheme, empty path, ...).
	ErrBadURL = errors.New("bad store.url")
	// ErrUnavailable: the database cannot be reached or opened.
	ErrUnavailable = errors.New("store unavailable")
	// ErrNotFound: no such ledger entry, dead letter or job.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the operation contradicts the stored state (completing a
	// send that was recorded as failed, replaying a dead letter whose key has
	// a live job, ...).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: a caller passed a value the store cannot accept.
	ErrInvalid = errors.New("invalid")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store closed")
)

// URLError explains why store.url was rejected or the database it names
// could not be opened. Error shows URL with its secrets redacted (all of
// it when it does not parse), so a constructor may pass the raw value.
type URLError struct {
	URL     string
	Problem string
	Err     error // ErrBadURL or ErrUnavailable, possibly wrapping the cause
}

func (e *URLError) Error() string {
	return fmt.Sprintf("store.url (SWITCHBOARD_STORE_URL) %q: %s", config.RedactURL(e.URL), e.Problem)
}

func (e *URLError) Unwrap() error { return e.Err }

// DefaultJobTimeout is Options.JobTimeout's default.
const DefaultJobTimeout = 5 * time.Second

// Options tune the store. The zero value is the production setting.
type Options struct {
	// Logger receives the store's and River's logs (River's through
	// config.Slog). Nil discards them.
	Logger *zap.Logger

	// MaxWorkers is how many handlers run at once in this process. It is
	// high on purpose: handlers mostly wait on Salesforce and Twilio (whose
	// calls the engine caps by itself), and the engine's batchers and the
	// store's group commits coalesce their calls, so more handlers waiting
	// means bigger batches, not more load (default 1000; the 1,000-Task
	// burst measured 630–1,050 msg/s at 200, 1,330–1,470 at 1000).
	MaxWorkers int
	// MaxAttempts is how often a failing job runs before it becomes a dead
	// letter (default 20). RetryError snoozes do not count.
	MaxAttempts int
	// RetryBase and RetryMax bound the jittered exponential backoff between
	// failed attempts: about RetryBase·2^(attempt-1), at most RetryMax
	// (defaults 1 s and 10 min; 20 attempts span about 2.5 h).
	RetryBase, RetryMax time.Duration
	// JobTimeout cancels a handler's context (default 5 s). It must be
	// below RescueStuckJobsAfter. It also bounds how long a dead replica's
	// sends wait: the engine takes over a send intent after twice the job
	// timeout (cmd/switchboard), so 5 s makes that 10 s; a job needs far
	// less (Salesforce and Twilio calls of a few hundred ms, batched).
	JobTimeout time.Duration
	// LivenessWindow is how long a process may go without its heartbeat
	// (written every second) before other processes take over its running
	// jobs whose attempt started more than JobTimeout ago (default 3 s; a
	// dead replica's jobs run again within about LivenessWindow + 1 s, and
	// never before JobTimeout). A live process's jobs are never taken over,
	// however long they run.
	LivenessWindow time.Duration
	// RescueStuckJobsAfter is River's own rescuer, the last resort: on the
	// elected leader, every 30 s, it returns any job running longer than
	// this, live worker or not, and discards those at their last attempt
	// (default 10 × JobTimeout, at least 1 min; River's own default is 1 h).
	// It must be above JobTimeout, and should be far above, since it does
	// not ask whether the worker is alive.
	RescueStuckJobsAfter time.Duration
	// FetchCooldown and FetchPollInterval pace job fetching. SQLite has no
	// LISTEN/NOTIFY, so throughput is capped near MaxWorkers/FetchCooldown
	// (dependencies.md §1.2). Defaults 10 ms and 50 ms.
	FetchCooldown, FetchPollInterval time.Duration
	// CompletedRetention is how long finished jobs are kept (default 24 h);
	// DeadLetterRetention how long dead letters are (default 30 days).
	CompletedRetention, DeadLetterRetention time.Duration
	// LedgerRetention is how long recorded sends are kept before a daily
	// sweep deletes them (default 30 days; negative keeps them forever).
	LedgerRetention time.Duration
	// PostgresMaxConns sizes the PostgreSQL pool unless the URL sets
	// pool_max_conns (default 20: River holds one for LISTEN, and handlers
	// write the ledger concurrently).
	PostgresMaxConns int32

	// riverTestOnly skips River's jittered maintenance start (tests only).
	riverTestOnly bool
}

func (o Options) withDefaults() (Options, error) {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.MaxWorkers <= 0 {
		o.MaxWorkers = 1000
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 20
	}
	def(&o.RetryBase, time.Second)
	def(&o.RetryMax, 10*time.Minute)
	def(&o.JobTimeout, DefaultJobTimeout)
	def(&o.LivenessWindow, 3*time.Second)
	def(&o.RescueStuckJobsAfter, max(10*o.JobTimeout, time.Minute))
	def(&o.FetchCooldown, 10*time.Millisecond)
	def(&o.FetchPollInterval, 50*time.Millisecond)
	def(&o.CompletedRetention, 24*time.Hour)
	def(&o.DeadLetterRetention, 30*24*time.Hour)
	if o.LedgerRetention == 0 {
		o.LedgerRetention = 30 * 24 * time.Hour
	}
	if o.PostgresMaxConns <= 0 {
		o.PostgresMaxConns = 20
	}
	if o.JobTimeout >= o.RescueStuckJobsAfter {
		return o, fmt.Errorf("%w: JobTimeout (%s) must be below RescueStuckJobsAfter (%s), or a job still running would be run a second time",
			ErrInvalid, o.JobTimeout, o.RescueStuckJobsAfter)
	}
	if o.RetryBase > o.RetryMax {
		return o, fmt.Errorf("%w: RetryBase (%s) is above RetryMax (%s)", ErrInvalid, o.RetryBase, o.RetryMax)
	}
	return o, nil
}

// Store is the durable store. It is safe for concurrent use.
type Store struct {
	opts    Options
	log     *zap.Logger
	backend string // "sqlite" or "postgres"
	eng     engine
	workers *river.Workers

	mu       gosync.Mutex
	handlers map[string]Handler
	started  bool
	closed   bool
	closing  atomic.Bool
	runCtx   atomic.Pointer[context.Context] // Start's context

	// Group commits (group.go): concurrent calls of one operation share a
	// transaction.
	enqueues    *groupCommit[[]river.InsertManyParams, EnqueueReport]
	begins      *groupCommit[sbsync.SendIntent, beginResult]
	transitions *groupCommit[transitionCall, struct{}]
	parks       *groupCommit[parkCall, struct{}]
	takes       *groupCommit[[]string, map[string][][]byte]
	// cancelGroups cancels the flushes still running when Close gives up.
	cancelGroups context.CancelFunc
	// stopRescue ends rescueLoop, which closes rescueDone (set by Start).
	stopRescue context.CancelFunc
	rescueDone chan struct{}
}

// groupMax bounds one group commit: enough to take a whole burst of
// MaxWorkers handlers, small enough that one transaction stays short.
const groupMax = 1000

func (s *Store) initGroups() {
	durable := s.eng.durable
	base, cancel := context.WithCancel(context.Background())
	s.cancelGroups = cancel
	s.enqueues = &groupCommit[[]river.InsertManyParams, EnqueueReport]{run: s.enqueueBatch, sync: durable, base: base,
		maxSize: groupMax, size: func(ps []river.InsertManyParams) int { return len(ps) }}
	s.begins = &groupCommit[sbsync.SendIntent, beginResult]{run: s.beginBatch, sync: durable, base: base, maxSize: groupMax}
	s.transitions = &groupCommit[transitionCall, struct{}]{run: s.transitionBatch, base: base, maxSize: groupMax}
	s.parks = &groupCommit[parkCall, struct{}]{run: s.parkBatch, base: base, maxSize: groupMax}
	s.takes = &groupCommit[[]string, map[string][][]byte]{run: s.takeBatch, base: base,
		maxSize: groupMax, size: func(sids []string) int { return len(sids) }}
}

// closeGroups refuses new calls and answers the queued ones; once ctx is
// done, flushes still running are cancelled (their callers get an error, as
// when the database goes away under them).
func (s *Store) closeGroups(ctx context.Context) {
	type closer interface {
		close()
		wait()
	}
	all := []closer{s.enqueues, s.begins, s.transitions, s.parks, s.takes}
	for _, g := range all {
		g.close()
	}
	done := make(chan struct{})
	go func() {
		for _, g := range all {
			g.wait()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.cancelGroups()
		<-done
	}
	s.cancelGroups()
}

// Open opens (creating if needed) the store named by rawURL, the value of
// store.url, and brings its schema up to date. Two processes may open the
// same database at once.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{opts: opts, log: opts.Logger.Named("store"), handlers: map[string]Handler{}}
	s.workers = river.NewWorkers()
	scheme, _, ok := strings.Cut(strings.TrimSpace(rawURL), "://")
	switch {
	case strings.TrimSpace(rawURL) == "":
		return nil, &URLError{Problem: "is empty; set it to sqlite://switchboard.db (embedded) or postgres://user@host:5432/db (several replicas)", Err: ErrBadURL}
	case !ok:
		return nil, &URLError{URL: rawURL, Problem: "has no scheme; use sqlite://" + noSchemeExample(rawURL) + " for a file or postgres://user@host:5432/db", Err: ErrBadURL}
	}
	switch strings.ToLower(scheme) {
	case "sqlite":
		s.backend = "sqlite"
		s.eng, err = openSQLite(ctx, rawURL, s)
	case "postgres", "postgresql":
		s.backend = "postgres"
		s.eng, err = openPostgres(ctx, rawURL, s)
	default:
		return nil, &URLError{URL: rawURL, Problem: fmt.Sprintf("unknown scheme %q; use sqlite:// or postgres://", scheme), Err: ErrBadURL}
	}
	if err != nil {
		return nil, err
	}
	s.initGroups()
	return s, nil
}

// noSchemeExample is rawURL as the sqlite:// path it may have meant, unless
// it looks like user:password@host, which is not repeated.
func noSchemeExample(rawURL string) string {
	if strings.ContainsAny(rawURL, ":@%") {
		return "<path>"
	}
	return rawURL
}

// riverConfig is the River configuration both backends share.
func (s *Store) riverConfig() *river.Config {
	o := s.opts
	return &river.Config{
		CompletedJobRetentionPeriod: o.CompletedRetention,
		DiscardedJobRetentionPeriod: o.DeadLetterRetention,
		CancelledJobRetentionPeriod: o.DeadLetterRetention, // permanent failures are dead letters too
		FetchCooldown:               o.FetchCooldown,
		FetchPollInterval:           o.FetchPollInterval,
		JobTimeout:                  o.JobTimeout,
		Logger:                      slog.New(&quietShutdown{Handler: config.Slog(o.Logger.Named("river")).Handler(), stopping: s.stopping}),
		MaxAttempts:                 o.MaxAttempts,
		Queues:                      map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.MaxWorkers}},
		RescueStuckJobsAfter:        o.RescueStuckJobsAfter,
		RetryPolicy:                 &backoff{base: o.RetryBase, max: o.RetryMax},
		// Kinds are checked by Enqueue against the handlers this process
		// registered, so an enqueue-only process (or one that enqueues before
		// registering) is not refused by River.
		SkipUnknownJobCheck: true,
		TestOnly:            o.riverTestOnly,
		Workers:             s.workers,
	}
}

// Backend is "sqlite" or "postgres".
func (s *Store) Backend() string { return s.backend }

// Writable proves the store accepts a write (for /readyz).
func (s *Store) Writable(ctx context.Context) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	_, err := s.eng.q().exec(ctx, `INSERT INTO sb_health (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at`, time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("%w: writing the health row: %v", ErrUnavailable, err)
	}
	return nil
}

// Close stops fetching jobs, waits for running handlers until ctx is done,
// then cancels those still running (their jobs run again later: a
// cancellation during shutdown is not counted as a failed attempt) and
// closes the database.
func (s *Store) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	started := s.started
	s.mu.Unlock()
	s.closing.Store(true)

	var stopErr error
	if started {
		if err := s.eng.stop(ctx); err != nil {
			s.log.Warn("handlers still running at the shutdown deadline; cancelling them", zap.Error(err))
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			stopErr = s.eng.stopAndCancel(cctx)
			cancel()
			if stopErr != nil {
				stopErr = fmt.Errorf("stopping the queue: %w", stopErr)
			}
		}
	}
	if started && stopErr == nil {
		// Every handler has returned, so no job of this client still runs.
		// River normally records a cut-off job as snoozed (worker.Work),
		// but a hard stop can lose that last write (its completer's final
		// batch), leaving the job "running" until the rescuer counts it as
		// a failed attempt an hour later. Put such jobs back now.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if n, err := s.eng.releaseOwnRunning(rctx); err != nil {
			s.log.Warn("returning jobs cut off by the shutdown to the queue; River's rescuer will", zap.Error(err))
		} else if n > 0 {
			s.log.Info("jobs cut off by the shutdown returned to the queue", zap.Int64("jobs", n))
		}
		cancel()
	}
	if started {
		// The heartbeat went on while handlers finished, so no replica
		// took their jobs; now that none runs, the row goes.
		s.stopRescue()
		<-s.rescueDone
		if stopErr == nil {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := s.eng.dropHeartbeat(rctx); err != nil {
				s.log.Warn("deleting this process's heartbeat; it expires by itself", zap.Error(err))
			}
			cancel()
		}
	}
	// Handlers are done; answer the calls still queued before the
	// database goes away.
	s.closeGroups(ctx)
	if err := s.eng.close(); err != nil && stopErr == nil {
		stopErr = fmt.Errorf("closing the database: %w", err)
	}
	return stopErr
}

func (s *Store) checkOpen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}
