package store

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	gosync "sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// migrationLock is the advisory lock key that serialises schema migrations
// between replicas starting at once ("sbstore" in ASCII).
const migrationLock int64 = 0x7362_7374_6f72_65

func openPostgres(ctx context.Context, raw string, s *Store) (engine, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error quotes the whole URL, password included.
		return nil, &URLError{URL: raw, Problem: "is not a valid URL; write a % in the password as %25", Err: ErrBadURL}
	}
	if strings.Trim(u.Path, "/") == "" && u.Query().Get("dbname") == "" {
		return nil, &URLError{URL: raw, Problem: "names no database; use postgres://user@host:5432/switchboard", Err: ErrBadURL}
	}
	cfg, err := pgxpool.ParseConfig(raw)
	if err != nil {
		return nil, &URLError{URL: raw, Problem: "cannot be parsed: " + err.Error(), Err: ErrBadURL}
	}
	if !u.Query().Has("pool_max_conns") {
		cfg.MaxConns = s.opts.PostgresMaxConns
	}
	if cfg.MaxConns < 2 {
		return nil, &URLError{URL: raw, Problem: "pool_max_conns must be at least 2: River keeps one connection listening for new jobs", Err: ErrBadURL}
	}
	if !u.Query().Has("connect_timeout") {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, &URLError{URL: raw, Problem: "cannot connect to " + where + ": " + err.Error(), Err: fmt.Errorf("%w: %w", ErrUnavailable, err)}
	}
	fail := func(problem string, err error) (engine, error) {
		pool.Close()
		return nil, &URLError{URL: raw, Problem: problem + ": " + err.Error(), Err: fmt.Errorf("%w: %w", ErrUnavailable, err)}
	}
	if err := pool.Ping(ctx); err != nil {
		return fail("cannot connect to "+where, err)
	}
	driver := riverpgxv5.New(pool)
	if err := migratePostgres(ctx, pool, driver, s); err != nil {
		return fail("migrating the schema", err)
	}
	client, err := river.NewClient(driver, s.riverConfig())
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("creating the River client: %w", err)
	}
	beat := &ownConn{cfg: cfg.ConnConfig.Copy()}
	return &riverEngine[pgx.Tx]{
		beat:   beat,
		client: client,
		base:   pgxQuerier{pool},
		begin: func(ctx context.Context) (pgx.Tx, querier, error) {
			tx, err := pool.Begin(ctx)
			if err != nil {
				return nil, nil, err
			}
			return tx, pgxQuerier{tx}, nil
		},
		commit:        func(ctx context.Context, tx pgx.Tx) error { return tx.Commit(ctx) },
		rollback:      func(ctx context.Context, tx pgx.Tx) error { return tx.Rollback(ctx) },
		closeDB:       func() error { beat.close(); pool.Close(); return nil },
		now:           "now()",
		lastAttemptBy: "attempted_by[array_length(attempted_by, 1)]",
		ago:           "now() - make_interval(secs => ?)",
		agoArg:        func(d time.Duration) any { return d.Seconds() },
		locker:        func(ctx context.Context, key string) (func(), error) { return advisoryLock(ctx, pool, key) },
		// River listens on one connection; of the rest, half at most wait
		// for or hold locks, so holders always find one to work with.
		lockSlots: make(chan struct{}, max(1, (cfg.MaxConns-1)/2)),
	}, nil
}

// ownConn is one connection outside the pool, for the heartbeat and the
// rescue: with MaxWorkers handlers queued for the pool's connections, a
// beat waiting its turn went stale, and the other replicas took over a
// live process's jobs (TestReplicaKilledMidBurst rescued 255 of them).
// It connects on first use and again after any error.
type ownConn struct {
	cfg *pgx.ConnConfig
	mu  gosync.Mutex
	c   *pgx.Conn
}

func (o *ownConn) exec(ctx context.Context, q string, args ...any) (int64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.c == nil {
		c, err := pgx.ConnectConfig(ctx, o.cfg.Copy())
		if err != nil {
			return 0, err
		}
		o.c = c
	}
	tag, err := o.c.Exec(ctx, rebind(q), args...)
	if err != nil {
		// A statement cut off by ctx may leave the session in any state.
		_ = o.c.Close(context.WithoutCancel(ctx))
		o.c = nil
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (o *ownConn) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = o.c.Close(ctx)
		cancel()
		o.c = nil
	}
}

// advisoryLock takes a session advisory lock on a connection of its own,
// held until unlock. A replica that dies loses its session, and PostgreSQL
// releases the lock with it: no lease to expire, nothing to clean up.
func advisoryLock(ctx context.Context, pool *pgxpool.Pool, key string) (func(), error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("locking %q: %w", key, err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(hashtextextended($1, 0))", key); err != nil {
		// A wait cut off by ctx may leave the session in any state: drop it.
		_ = conn.Conn().Close(context.WithoutCancel(ctx))
		conn.Release()
		return nil, fmt.Errorf("locking %q: %w", key, err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock(hashtextextended($1, 0))", key); err != nil {
			// Closing the session releases the lock all the same.
			_ = conn.Conn().Close(ctx)
		}
		conn.Release()
	}, nil
}

// migratePostgres applies River's migrations and the store's tables while
// holding a session advisory lock, so replicas starting together migrate one
// after the other: River's migrator reads the applied versions before its
// transactions and would otherwise race. (River's Postgres migrations cannot
// all share one transaction: 004 adds an enum value later ones use.)
func migratePostgres(ctx context.Context, pool *pgxpool.Pool, driver *riverpgxv5.Driver, s *Store) error {
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: s.riverConfig().Logger})
	if err != nil {
		return err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return err
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLock)
	}()
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return err
	}
	for _, stmt := range ownSchema(postgresTypes) {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", firstLine(stmt), err)
		}
	}
	return nil
}
