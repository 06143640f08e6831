package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// querier runs the store's own SQL, written once with ? placeholders, on
// either backend, inside or outside a transaction.
type querier interface {
	exec(ctx context.Context, q string, args ...any) (int64, error)
	query(ctx context.Context, q string, args ...any) (rows, error)
}

type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// inserter inserts River jobs in the transaction it belongs to.
type inserter func(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)

// engine is everything the store needs from River and the database. River's
// client is generic over the driver's transaction type (*sql.Tx for SQLite,
// pgx.Tx for PostgreSQL); riverEngine hides that.
type engine interface {
	q() querier
	tx(ctx context.Context, fn func(q querier, insert inserter) error) error
	insert(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	jobList(ctx context.Context, p *river.JobListParams) (*river.JobListResult, error)
	periodic() *river.PeriodicJobBundle
	start(ctx context.Context) error
	stop(ctx context.Context) error
	stopAndCancel(ctx context.Context) error
	close() error
	// nowSQL is the backend's expression for River's "now" timestamp.
	nowSQL() string
	// durable returns once what was committed before the call survives a
	// power loss (a no-op where every commit already does).
	durable(ctx context.Context) error
	// lock holds a lock named key across every process sharing the
	// database until unlock (see Store.Lock).
	lock(ctx context.Context, key string) (unlock func(), err error)
	// releaseOwnRunning returns to the queue the jobs this client left
	// "running" (see Store.Close).
	releaseOwnRunning(ctx context.Context) (int64, error)
	// rescueStuck returns to the queue, due now, the running jobs whose
	// attempt started more than startedBefore ago and whose worker has not
	// written a heartbeat within liveness, both by the database's clock
	// (see Store.rescueLoop).
	rescueStuck(ctx context.Context, startedBefore, liveness time.Duration) (int64, error)
	// heartbeat records, by the database's clock, that this client is
	// alive; dropHeartbeat removes its row (a clean stop).
	heartbeat(ctx context.Context) error
	dropHeartbeat(ctx context.Context) error
	// dropStaleHeartbeats deletes the rows of clients silent for longer
	// than olderThan: processes that were killed.
	dropStaleHeartbeats(ctx context.Context, olderThan time.Duration) (int64, error)
}

type riverEngine[TTx any] struct {
	client   *river.Client[TTx]
	base     querier
	begin    func(ctx context.Context) (TTx, querier, error)
	commit   func(ctx context.Context, tx TTx) error
	rollback func(ctx context.Context, tx TTx) error
	closeDB  func() error
	now      string
	syncWAL  func(ctx context.Context) error // nil: commits are durable already
	// locker backs lock; nil: one process owns the database (SQLite), and
	// an in-process mutex per key is the whole story.
	locker func(ctx context.Context, key string) (func(), error)
	local  keyedMutex
	// lockSlots bounds the locker's holders and waiters at once: each keeps
	// a pool connection, and a holder's work needs another, so with the
	// whole pool held no holder could work (TestLockHoldersLeaveConnectionsForWork).
	lockSlots chan struct{}
	// lastAttemptBy is the backend's SQL for "the last client that
	// attempted the job", compared with this client's ID.
	lastAttemptBy string
	// ago is the backend's SQL for "now less a duration", with one
	// placeholder that agoArg fills.
	ago    string
	agoArg func(time.Duration) any
	// beat runs the heartbeat and the rescue; nil: base.
	beat execer
}

// execer runs one statement written with ? placeholders.
type execer interface {
	exec(ctx context.Context, q string, args ...any) (int64, error)
}

func (e *riverEngine[TTx]) beatQ() execer {
	if e.beat != nil {
		return e.beat
	}
	return e.base
}

func (e *riverEngine[TTx]) q() querier { return e.base }

func (e *riverEngine[TTx]) tx(ctx context.Context, fn func(q querier, insert inserter) error) error {
	tx, q, err := e.begin(ctx)
	if err != nil {
		return err
	}
	ins := func(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
		return e.client.InsertManyTx(ctx, tx, params)
	}
	if err := fn(q, ins); err != nil {
		// A cancelled ctx must not leave the transaction (and, on SQLite,
		// the only connection) hanging.
		_ = e.rollback(context.WithoutCancel(ctx), tx)
		return err
	}
	return e.commit(ctx, tx)
}

func (e *riverEngine[TTx]) insert(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	return e.client.InsertMany(ctx, params)
}

func (e *riverEngine[TTx]) jobList(ctx context.Context, p *river.JobListParams) (*river.JobListResult, error) {
	return e.client.JobList(ctx, p)
}

func (e *riverEngine[TTx]) periodic() *river.PeriodicJobBundle { return e.client.PeriodicJobs() }
func (e *riverEngine[TTx]) start(ctx context.Context) error    { return e.client.Start(ctx) }
func (e *riverEngine[TTx]) stop(ctx context.Context) error     { return e.client.Stop(ctx) }
func (e *riverEngine[TTx]) stopAndCancel(ctx context.Context) error {
	return e.client.StopAndCancel(ctx)
}
func (e *riverEngine[TTx]) lock(ctx context.Context, key string) (func(), error) {
	// In-process first: goroutines of one replica queue here instead of
	// each holding a database connection while it waits.
	unlockLocal, err := e.local.lock(ctx, key)
	if err != nil || e.locker == nil {
		return unlockLocal, err
	}
	select {
	case e.lockSlots <- struct{}{}:
	case <-ctx.Done():
		unlockLocal()
		return nil, fmt.Errorf("locking %q: %w", key, ctx.Err())
	}
	unlockDB, err := e.locker(ctx, key)
	if err != nil {
		<-e.lockSlots
		unlockLocal()
		return nil, err
	}
	var once gosync.Once
	return func() { once.Do(func() { unlockDB(); <-e.lockSlots; unlockLocal() }) }, nil
}

func (e *riverEngine[TTx]) releaseOwnRunning(ctx context.Context) (int64, error) {
	// As River's own snooze does: back to available, the attempt not
	// counted.
	return e.base.exec(ctx, `UPDATE river_job SET state = 'available', attempt = CASE WHEN attempt > 0 THEN attempt - 1 ELSE 0 END, scheduled_at = `+
		e.now+` WHERE state = 'running' AND `+e.lastAttemptBy+` = ?`, e.clientID())
}

func (e *riverEngine[TTx]) rescueStuck(ctx context.Context, startedBefore, liveness time.Duration) (int64, error) {
	// The attempt stays counted, as River's rescuer counts it: a job that
	// kills its process every time still ends as a dead letter. At its
	// last attempt it is left to River's rescuer, which discards it. A job
	// without attempted_by (none is fetched that way) has no live worker.
	// This client's own jobs are never taken: it is alive, whatever its
	// heartbeat row says after waiting behind other writes.
	return e.beatQ().exec(ctx, `UPDATE river_job SET state = 'available', scheduled_at = `+e.now+
		` WHERE state = 'running' AND attempted_at < `+e.ago+` AND attempt < max_attempts
		AND COALESCE(`+e.lastAttemptBy+`, '') <> ?
		AND NOT EXISTS (SELECT 1 FROM sb_clients c WHERE c.client_id = `+e.lastAttemptBy+`
			AND c.heartbeat_at >= `+e.ago+`)`, e.agoArg(startedBefore), e.clientID(), e.agoArg(liveness))
}

func (e *riverEngine[TTx]) heartbeat(ctx context.Context) error {
	_, err := e.beatQ().exec(ctx, `INSERT INTO sb_clients (client_id, heartbeat_at) VALUES (?, `+e.now+`)
		ON CONFLICT (client_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`, e.clientID())
	return err
}

func (e *riverEngine[TTx]) dropHeartbeat(ctx context.Context) error {
	_, err := e.beatQ().exec(ctx, `DELETE FROM sb_clients WHERE client_id = ?`, e.clientID())
	return err
}

func (e *riverEngine[TTx]) dropStaleHeartbeats(ctx context.Context, olderThan time.Duration) (int64, error) {
	return e.base.exec(ctx, `DELETE FROM sb_clients WHERE heartbeat_at < `+e.ago, e.agoArg(olderThan))
}

func (e *riverEngine[TTx]) clientID() string { return e.client.ID() }

func (e *riverEngine[TTx]) close() error   { return e.closeDB() }
func (e *riverEngine[TTx]) nowSQL() string { return e.now }
func (e *riverEngine[TTx]) durable(ctx context.Context) error {
	if e.syncWAL == nil {
		return nil
	}
	return e.syncWAL(ctx)
}

// sqlQuerier adapts *sql.DB and *sql.Tx.
type sqlQuerier struct {
	db interface {
		ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	}
}

func (s sqlQuerier) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s sqlQuerier) query(ctx context.Context, q string, args ...any) (rows, error) {
	r, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

// pgxQuerier adapts *pgxpool.Pool and pgx.Tx, rewriting ? to $n.
type pgxQuerier struct {
	db interface {
		Exec(ctx context.Context, q string, args ...any) (pgconn.CommandTag, error)
		Query(ctx context.Context, q string, args ...any) (pgx.Rows, error)
	}
}

func (p pgxQuerier) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := p.db.Exec(ctx, rebind(q), args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (p pgxQuerier) query(ctx context.Context, q string, args ...any) (rows, error) {
	r, err := p.db.Query(ctx, rebind(q), args...)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// rebind turns ? placeholders into PostgreSQL's $1, $2, ... The store's SQL
// has no ? inside string literals.
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
