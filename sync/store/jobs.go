package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.uber.org/zap"

	sbsync "github.com/switchboard/switchboard/sync"

	"github.com/switchboard/switchboard/internal/jitter"
)

// Job is a unit of queued work; the engine declares it (sbsync.Job) so
// that sync needs no import of its store.
type Job = sbsync.Job

// Handler works one job (sbsync.JobHandler says what its error means).
type Handler = sbsync.JobHandler

// jobArgs is how a Job is stored in River. Kind is River's job kind (its
// column), so River's tooling and per-kind queries see real kinds; only Key
// takes part in uniqueness.
type jobArgs struct {
	kind    string
	Key     string          `json:"key,omitempty" river:"unique"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

func (a jobArgs) Kind() string { return a.kind }

// uniqueStates are the "not yet finished" states: a finished job (completed,
// dead letter, cancelled) no longer blocks its key.
var uniqueStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled,
}

// kindRE is River's rule for kinds (rivercommon.UserSpecifiedIDOrKindRE),
// checked here so a bad kind fails at Handle/Enqueue with a clear error.
var kindRE = regexp.MustCompile(`\A[\w][\w\-\[\]<>\/.·:+]+\z`)

func checkKind(kind string) error {
	if !kindRE.MatchString(kind) || len(kind) >= 128 {
		return fmt.Errorf("%w: job kind %q must be 2–127 letters, digits or _-[]<>/.·:+ and start with a letter, digit or _", ErrInvalid, kind)
	}
	return nil
}

// Handle registers fn for kind. It must be called before Start.
func (s *Store) Handle(kind string, fn Handler) error {
	if err := checkKind(kind); err != nil {
		return err
	}
	if fn == nil {
		return fmt.Errorf("%w: nil handler for %q", ErrInvalid, kind)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return fmt.Errorf("%w: Handle(%q) after Start", ErrInvalid, kind)
	}
	if _, dup := s.handlers[kind]; dup {
		return fmt.Errorf("%w: a handler for %q is already registered", ErrInvalid, kind)
	}
	s.handlers[kind] = fn
	river.AddWorkerArgs(s.workers, jobArgs{kind: kind}, &worker{s: s, fn: fn})
	return nil
}

// Periodic enqueues a job of kind every interval (and at start if
// runOnStart) on whichever process is River's elected leader, so among
// replicas only one does it. Its Key is "periodic", so a run still waiting or
// running is not doubled. A handler for kind must be registered. Call before
// Start.
func (s *Store) Periodic(kind string, interval time.Duration, runOnStart bool) error {
	if interval <= 0 {
		return fmt.Errorf("%w: periodic %q: interval %s", ErrInvalid, kind, interval)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return fmt.Errorf("%w: Periodic(%q) after Start", ErrInvalid, kind)
	}
	if _, ok := s.handlers[kind]; !ok {
		return fmt.Errorf("%w: periodic %q has no handler; call Handle first", ErrInvalid, kind)
	}
	s.eng.periodic().Add(river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) {
			return jobArgs{kind: kind, Key: "periodic"}, &river.InsertOpts{
				UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates},
			}
		}, &river.PeriodicJobOpts{ID: kind, RunOnStart: runOnStart}))
	return nil
}

// pruneKind is the store's own daily maintenance job.
const pruneKind = "switchboard.store.prune"

// Start starts working jobs. ctx bounds the whole run: cancelling it stops
// the workers abruptly, so stop with Close for a graceful shutdown.
func (s *Store) Start(ctx context.Context) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	s.mu.Lock()
	already := s.started
	s.mu.Unlock()
	if already {
		return fmt.Errorf("%w: Start called twice", ErrInvalid)
	}
	if s.opts.LedgerRetention > 0 {
		if err := s.Handle(pruneKind, s.prune); err != nil {
			return err
		}
		if err := s.Periodic(pruneKind, 24*time.Hour, true); err != nil {
			return err
		}
	}
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return fmt.Errorf("%w: Start called twice", ErrInvalid)
	}
	s.started = true
	s.runCtx.Store(&ctx)
	rctx, cancel := context.WithCancel(ctx)
	s.stopRescue, s.rescueDone = cancel, make(chan struct{}) // for Close, which waits for it
	s.mu.Unlock()
	// Alive before the first job is fetched, so no other process ever
	// sees this client's running jobs without a heartbeat.
	if err := s.eng.heartbeat(ctx); err != nil {
		cancel()
		close(s.rescueDone)
		return fmt.Errorf("recording this process as alive (table sb_clients): %w", err)
	}
	if err := s.eng.start(ctx); err != nil {
		cancel()
		close(s.rescueDone)
		return fmt.Errorf("starting the queue: %w", err)
	}
	go s.rescueLoop(rctx)
	return nil
}

// staleClientsAfter is when the row of a client that stopped without Close
// (SIGKILL, power loss) is deleted; its jobs were taken over long before.
const staleClientsAfter = 24 * time.Hour

// rescueLoop keeps this process's heartbeat and takes over the jobs of a
// process that died: every second, on every process, a running job is put
// back in the queue, due now, when its worker (the last client in
// attempted_by) has written no heartbeat for LivenessWindow AND its attempt
// started more than JobTimeout ago.
//
// Only dead workers: a live process's job can show as running well past
// JobTimeout (a handler that notices its context late, a completion write
// River's completer batches behind others under load), and rescuing it ran
// it again beside itself, which added load and more timeouts (issue 8.5
// follow-up: a herd of 463 rescued live jobs in a 1,000-message burst).
//
// And only after JobTimeout: a worker that is silent but not dead (cut off
// from the database, stalled) had its handler's context cancelled at
// JobTimeout, so its Twilio call is cut off before the job runs elsewhere;
// what remains in doubt is settled by the send ledger, whose intent is
// durable before any call (SPEC §3 "Exactly once").
//
// River's own rescuer does this by age alone, only on the elected leader,
// every 30 s and with the job's backoff; it stays as the last resort at
// RescueStuckJobsAfter (long) and discards jobs at their last attempt.
func (s *Store) rescueLoop(ctx context.Context) {
	defer close(s.rescueDone)
	every := min(time.Second, s.opts.LivenessWindow/3)
	t := time.NewTicker(every)
	defer t.Stop()
	for beat := 1; ; beat++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		bctx, cancel := context.WithTimeout(ctx, s.opts.LivenessWindow)
		err := s.eng.heartbeat(bctx)
		cancel()
		if err != nil {
			// Without our own heartbeat, do not judge others' either:
			// the database is the trouble.
			if ctx.Err() == nil {
				s.log.Warn("writing this process's heartbeat; other replicas take over its jobs if it stays silent",
					zap.Duration("liveness_window", s.opts.LivenessWindow), zap.Error(err))
			}
			continue
		}
		n, err := s.eng.rescueStuck(ctx, s.opts.JobTimeout, s.opts.LivenessWindow)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("returning jobs of a stopped process to the queue", zap.Error(err))
		case n > 0:
			s.log.Warn("jobs of a stopped process returned to the queue", zap.Int64("jobs", n),
				zap.Duration("silent_longer_than", s.opts.LivenessWindow))
		}
		if beat%600 == 0 {
			if _, err := s.eng.dropStaleHeartbeats(ctx, staleClientsAfter); err != nil && ctx.Err() == nil {
				s.log.Warn("deleting heartbeats of processes gone for a day", zap.Error(err))
			}
		}
	}
}

func (s *Store) prune(ctx context.Context, _ Job) error {
	n, err := s.PruneLedger(ctx, s.opts.LedgerRetention)
	if err != nil {
		return err
	}
	m, err := s.DropExpiredParked(ctx, time.Now())
	if err != nil {
		return err
	}
	s.log.Info("pruned the send ledger and parked callbacks", zap.Int64("ledger_entries", n), zap.Int64("parked", m))
	return nil
}

// worker adapts a Handler to River.
type worker struct {
	river.WorkerDefaults[jobArgs]
	s  *Store
	fn Handler
}

func (w *worker) Work(ctx context.Context, rj *river.Job[jobArgs]) error {
	j := Job{Kind: rj.Kind, Key: rj.Args.Key, Payload: []byte(rj.Args.Payload), RunAt: rj.ScheduledAt,
		MaxAttempts: rj.MaxAttempts, ID: rj.ID, Attempt: rj.Attempt, CreatedAt: rj.CreatedAt}
	err := w.fn(ctx, j)
	if err == nil {
		return nil
	}
	var re *sbsync.RetryError
	if errors.As(err, &re) {
		// River's snooze reschedules without using up an attempt (it
		// decrements attempt), so a long Twilio 429 episode never turns a
		// message into a dead letter.
		return river.JobSnooze(max(re.After, 0))
	}
	if ctx.Err() != nil && w.s.stopping() {
		// Interrupted by shutdown, not a failure: run it again at once on
		// the next start.
		return river.JobSnooze(0)
	}
	if sbsync.IsPermanent(err) {
		// No retry can complete it as it stands (a malformed webhook, a
		// callback that waited in vain): a dead letter now, not after
		// MaxAttempts of the same failure. River v0.32 has no "discard now",
		// so it is cancelled; the store counts cancelled jobs as dead
		// letters because it cancels for no other reason.
		return river.JobCancel(err)
	}
	return err
}

// stopping reports a shutdown: Close, or Start's context cancelled.
func (s *Store) stopping() bool {
	if s.closing.Load() {
		return true
	}
	ctx := s.runCtx.Load()
	return ctx != nil && (*ctx).Err() != nil
}

// backoff is River's retry policy: jitter.Backoff, so jobs failing together
// (an outage) do not retry together.
type backoff struct{ base, max time.Duration }

func (b *backoff) NextRetry(j *rivertype.JobRow) time.Time {
	return time.Now().Add(b.delay(j.Attempt))
}

func (b *backoff) delay(attempt int) time.Duration { return jitter.Backoff(b.base, b.max, attempt) }

// EnqueueReport says what Enqueue did.
type EnqueueReport struct {
	Inserted int // new jobs
	Skipped  int // duplicates of an unfinished job, or of another job in the batch
}

// Enqueue stores jobs durably: when it returns nil they survive a crash.
// Jobs whose Kind and Key match an unfinished job are skipped.
func (s *Store) Enqueue(ctx context.Context, jobs ...Job) error {
	_, err := s.EnqueueReport(ctx, jobs...)
	return err
}

// EnqueueReport is Enqueue that also reports what was inserted.
//
// Concurrent calls share one transaction and one fsync (group.go): a burst
// of webhooks becomes one InsertMany. Each caller still gets its own report,
// as if the calls had run one after the other in arrival order.
func (s *Store) EnqueueReport(ctx context.Context, jobs ...Job) (EnqueueReport, error) {
	params, dups, err := s.insertParams(jobs)
	if err != nil || len(params) == 0 {
		return EnqueueReport{Skipped: dups}, err
	}
	if err := s.checkOpen(); err != nil {
		return EnqueueReport{}, err
	}
	r, err := s.enqueues.do(ctx, params)
	if err != nil {
		return EnqueueReport{}, err
	}
	r.Skipped += dups
	return r, nil
}

// enqueueBatch inserts several callers' jobs with one InsertMany. A key
// already taken by an earlier caller of the batch is a skip for the later
// one and is not passed to River again: v0.32 would report it inserted twice
// on SQLite and fail the whole batch on PostgreSQL (dependencies.md §1.3,
// §1.4). River's results are matched back by kind and key, not by position.
func (s *Store) enqueueBatch(ctx context.Context, calls [][]river.InsertManyParams) ([]groupResult[EnqueueReport], bool, error) {
	res := make([]groupResult[EnqueueReport], len(calls))
	owners := map[[2]string]int{}
	var all []river.InsertManyParams
	for i, ps := range calls {
		for _, p := range ps {
			a := p.Args.(jobArgs)
			if a.Key == "" {
				all = append(all, p)
				res[i].out.Inserted++
				continue
			}
			k := [2]string{a.kind, a.Key}
			if _, taken := owners[k]; taken {
				res[i].out.Skipped++
				continue
			}
			owners[k] = i
			all = append(all, p)
			res[i].out.Inserted++
		}
	}
	var out []*rivertype.JobInsertResult
	err := s.eng.tx(ctx, func(_ querier, insert inserter) error {
		var err error
		out, err = insert(ctx, all)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("enqueueing %d jobs: %w", len(all), err)
	}
	for _, x := range out {
		if !x.UniqueSkippedAsDuplicate || x.Job == nil {
			continue
		}
		var a jobArgs
		if err := json.Unmarshal(x.Job.EncodedArgs, &a); err != nil {
			return nil, false, fmt.Errorf("enqueueing %d jobs: reading back job %d: %w", len(all), x.Job.ID, err)
		}
		if i, ok := owners[[2]string{x.Job.Kind, a.Key}]; ok {
			res[i].out.Inserted--
			res[i].out.Skipped++
		}
	}
	// A webhook acknowledges Twilio once its Enqueue returns (SPEC §3).
	return res, true, nil
}

// insertParams validates jobs and drops later duplicates within the batch:
// River v0.32's InsertMany misreports them on SQLite and fails the whole
// batch on PostgreSQL (dependencies.md §1.3, §1.4).
func (s *Store) insertParams(jobs []Job) ([]river.InsertManyParams, int, error) {
	s.mu.Lock()
	registered := len(s.handlers) > 0
	handled := func(k string) bool { _, ok := s.handlers[k]; return ok }
	out := make([]river.InsertManyParams, 0, len(jobs))
	seen := make(map[[2]string]bool, len(jobs))
	dups := 0
	var err error
	for i, j := range jobs {
		if err = checkKind(j.Kind); err != nil {
			err = fmt.Errorf("job %d (key %q): %w", i, j.Key, err)
			break
		}
		if registered && !handled(j.Kind) && j.Kind != pruneKind {
			err = fmt.Errorf("%w: job %d (key %q): no handler is registered for kind %q", ErrInvalid, i, j.Key, j.Kind)
			break
		}
		if j.Payload != nil && !json.Valid(j.Payload) {
			err = fmt.Errorf("%w: job %d (kind %q, key %q): the payload is not valid JSON", ErrInvalid, i, j.Kind, j.Key)
			break
		}
		if j.MaxAttempts < 0 {
			err = fmt.Errorf("%w: job %d (kind %q, key %q): MaxAttempts %d", ErrInvalid, i, j.Kind, j.Key, j.MaxAttempts)
			break
		}
		opts := &river.InsertOpts{MaxAttempts: j.MaxAttempts, ScheduledAt: j.RunAt}
		if j.Key != "" {
			k := [2]string{j.Kind, j.Key}
			if seen[k] {
				dups++
				continue
			}
			seen[k] = true
			opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByState: uniqueStates}
		}
		out = append(out, river.InsertManyParams{
			Args:       jobArgs{kind: j.Kind, Key: j.Key, Payload: json.RawMessage(j.Payload)},
			InsertOpts: opts,
		})
	}
	s.mu.Unlock()
	if err != nil {
		return nil, 0, err
	}
	return out, dups, nil
}

// DeadLetter is a job that used up its attempts (River's "discarded") or
// failed with a permanent error (cancelled at once).
type DeadLetter struct {
	ID        int64
	Kind      string
	Key       string
	Payload   []byte
	Attempts  int
	LastError string
	FailedAt  time.Time
}

// DeadLetters lists up to limit dead letters of kind ("" for all), newest
// first.
func (s *Store) DeadLetters(ctx context.Context, kind string, limit int) ([]DeadLetter, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 10000 {
		return nil, fmt.Errorf("%w: dead letter limit %d is not within 1–10000", ErrInvalid, limit)
	}
	// OrderByTime means finalized_at for discarded jobs. (v0.32's
	// OrderByFinalizedAt rejects a filter of only finalized states: its check
	// is inverted.)
	p := river.NewJobListParams().States(rivertype.JobStateDiscarded, rivertype.JobStateCancelled).
		OrderBy(river.JobListOrderByTime, river.SortOrderDesc).First(limit)
	if kind != "" {
		p = p.Kinds(kind)
	}
	res, err := s.eng.jobList(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("listing dead letters: %w", err)
	}
	out := make([]DeadLetter, 0, len(res.Jobs))
	for _, j := range res.Jobs {
		var a jobArgs
		_ = json.Unmarshal(j.EncodedArgs, &a)
		d := DeadLetter{ID: j.ID, Kind: j.Kind, Key: a.Key, Payload: []byte(a.Payload), Attempts: j.Attempt}
		if n := len(j.Errors); n > 0 {
			d.LastError = j.Errors[n-1].Error
			d.FailedAt = j.Errors[n-1].At
		}
		if j.FinalizedAt != nil {
			d.FailedAt = *j.FinalizedAt
		}
		out = append(out, d)
	}
	return out, nil
}

// Replay puts dead letter id back in the queue with its attempts reset. It
// fails with ErrNotFound if id is not a dead letter and ErrConflict if an
// unfinished job already has its Kind and Key (that job does the work).
func (s *Store) Replay(ctx context.Context, id int64) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	return s.eng.tx(ctx, func(q querier, _ inserter) error { return s.replay(ctx, q, id) })
}

func (s *Store) replay(ctx context.Context, q querier, id int64) error {
	r, err := q.query(ctx, `SELECT unique_key FROM river_job WHERE id = ? AND state IN ('discarded', 'cancelled')`, id)
	if err != nil {
		return fmt.Errorf("replaying dead letter %d: %w", id, err)
	}
	var uk []byte
	found := r.Next()
	if found {
		err = r.Scan(&uk)
	}
	if err == nil {
		err = r.Err()
	}
	r.Close()
	if err != nil {
		return fmt.Errorf("replaying dead letter %d: %w", id, err)
	}
	if !found {
		return fmt.Errorf("%w: dead letter %d", ErrNotFound, id)
	}
	if uk != nil {
		r, err := q.query(ctx, `SELECT id FROM river_job WHERE unique_key = ? AND id <> ?
			AND state IN ('available', 'pending', 'retryable', 'running', 'scheduled')`, uk, id)
		if err != nil {
			return fmt.Errorf("replaying dead letter %d: %w", id, err)
		}
		live := r.Next()
		var other int64
		if live {
			_ = r.Scan(&other)
		}
		r.Close()
		if live {
			return fmt.Errorf("%w: dead letter %d has the same kind and key as unfinished job %d", ErrConflict, id, other)
		}
	}
	// River's JobRetry adds one attempt to a discarded job; a replay after
	// fixing the cause deserves the full budget, so attempt goes back to 0.
	_, err = q.exec(ctx, `UPDATE river_job SET state = 'available', attempt = 0, finalized_at = NULL,
		scheduled_at = `+s.eng.nowSQL()+` WHERE id = ? AND state IN ('discarded', 'cancelled')`, id)
	if err != nil {
		return fmt.Errorf("replaying dead letter %d: %w", id, err)
	}
	return nil
}

// ReplayAll replays every dead letter of kind ("" for all) and returns how
// many went back to the queue; those whose key has an unfinished job are
// left as they are.
func (s *Store) ReplayAll(ctx context.Context, kind string) (int, error) {
	n := 0
	for {
		dls, err := s.DeadLetters(ctx, kind, 1000)
		if err != nil {
			return n, err
		}
		progress := false
		for _, d := range dls {
			err := s.Replay(ctx, d.ID)
			switch {
			case err == nil:
				n++
				progress = true
			case errors.Is(err, ErrConflict), errors.Is(err, ErrNotFound):
			default:
				return n, err
			}
		}
		if !progress || len(dls) < 1000 {
			return n, nil
		}
	}
}

// Depth counts one kind's jobs by state.
type Depth struct {
	Available int64 // ready to run now
	Scheduled int64 // waiting for their time (including snoozed)
	Retryable int64 // failed, waiting for their next attempt
	Running   int64
	Dead      int64 // dead letters
}

// QueueDepth counts unfinished jobs and dead letters per kind, for metrics.
func (s *Store) QueueDepth(ctx context.Context) (map[string]Depth, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	r, err := s.eng.q().query(ctx, `SELECT kind, CAST(state AS TEXT), COUNT(*) FROM river_job
		WHERE state IN ('available', 'pending', 'scheduled', 'retryable', 'running', 'discarded', 'cancelled') GROUP BY kind, state`)
	if err != nil {
		return nil, fmt.Errorf("counting jobs: %w", err)
	}
	defer r.Close()
	out := map[string]Depth{}
	for r.Next() {
		var kind, state string
		var n int64
		if err := r.Scan(&kind, &state, &n); err != nil {
			return nil, fmt.Errorf("counting jobs: %w", err)
		}
		d := out[kind]
		switch rivertype.JobState(state) {
		case rivertype.JobStateAvailable:
			d.Available += n
		case rivertype.JobStateScheduled, rivertype.JobStatePending:
			d.Scheduled += n
		case rivertype.JobStateRetryable:
			d.Retryable += n
		case rivertype.JobStateRunning:
			d.Running += n
		case rivertype.JobStateDiscarded, rivertype.JobStateCancelled:
			d.Dead += n
		}
		out[kind] = d
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("counting jobs: %w", err)
	}
	return out, nil
}
