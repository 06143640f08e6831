package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"go.uber.org/zap"

	"github.com/switchboard/switchboard/internal/jitter"
)

// sqliteTarget is a parsed sqlite:// URL.
type sqliteTarget struct {
	path        string // absolute
	synchronous string // the PRAGMA: FULL or NORMAL
	group       bool   // NORMAL plus a group fsync for acknowledged writes
}

func parseSQLiteURL(raw string) (sqliteTarget, error) {
	rest := raw[strings.Index(raw, "://")+3:]
	path, query, _ := strings.Cut(rest, "?")
	if strings.TrimSpace(path) == "" {
		return sqliteTarget{}, &URLError{URL: raw, Problem: "the file path is empty; use sqlite://switchboard.db (relative to the working directory) or sqlite:///var/lib/switchboard/switchboard.db", Err: ErrBadURL}
	}
	t := sqliteTarget{synchronous: "NORMAL", group: true}
	vals, err := url.ParseQuery(query)
	if err != nil {
		return t, &URLError{URL: raw, Problem: "the query string is malformed: " + err.Error(), Err: ErrBadURL}
	}
	for k, v := range vals {
		switch k {
		case "synchronous":
			switch strings.ToLower(v[len(v)-1]) {
			case "group":
				t.synchronous, t.group = "NORMAL", true
			case "full":
				t.synchronous, t.group = "FULL", false
			case "normal":
				t.synchronous, t.group = "NORMAL", false
			default:
				return t, &URLError{URL: raw, Problem: fmt.Sprintf("synchronous=%q is not group, full or normal", v[len(v)-1]), Err: ErrBadURL}
			}
		default:
			return t, &URLError{URL: raw, Problem: fmt.Sprintf("unknown parameter %q; the only one is synchronous=group|full|normal", k), Err: ErrBadURL}
		}
	}
	if strings.HasPrefix(path, "~") {
		return t, &URLError{URL: raw, Problem: "~ is not expanded; give the path relative to the working directory or absolute (sqlite:///home/...)", Err: ErrBadURL}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return t, &URLError{URL: raw, Problem: "the path cannot be made absolute: " + err.Error(), Err: ErrBadURL}
	}
	t.path = abs
	return t, nil
}

// busyTimeout is how long a connection waits for another's lock.
const busyTimeout = 10 * time.Second

// journalMode opens the first connection, which applies the DSN's pragmas,
// and reads the journal mode it got. SQLite answers SQLITE_BUSY without
// calling the busy handler while another process opening the same new file
// at the same moment switches it to WAL (TestConcurrentOpenMigratesOnce
// failed about once in 300 runs), so a busy first connection is retried for
// as long as busy_timeout would have waited.
func journalMode(ctx context.Context, db *sql.DB) (string, error) {
	deadline := time.Now().Add(busyTimeout)
	for attempt := 1; ; attempt++ {
		var mode string
		err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
		var se interface{ Code() int }
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqliteBusy || time.Now().After(deadline) {
			return mode, err
		}
		select {
		case <-ctx.Done():
			return "", err
		case <-time.After(jitter.Backoff(5*time.Millisecond, 200*time.Millisecond, attempt)):
		}
	}
}

// sqliteBusy is SQLITE_BUSY, the primary result code (the low byte of an
// extended code).
const sqliteBusy = 5

func openSQLite(ctx context.Context, raw string, s *Store) (engine, error) {
	t, err := parseSQLiteURL(raw)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(t.path); err == nil && fi.IsDir() {
		return nil, &URLError{URL: raw, Problem: t.path + " is a directory; name a file inside it, e.g. sqlite://" + filepath.Join(t.path, "switchboard.db"), Err: ErrBadURL}
	}
	dir := filepath.Dir(t.path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, &URLError{URL: raw, Problem: "the directory " + dir + " does not exist; create it or choose another path", Err: ErrBadURL}
	}
	// WAL lets readers and the writer overlap and other processes share the
	// file; busy_timeout makes a second writer wait instead of failing with
	// SQLITE_BUSY; _txlock=immediate takes the write lock at BEGIN, so two
	// processes never deadlock upgrading read transactions
	// (dependencies.md §1.2).
	// busy_timeout comes first: switching a new file to WAL needs a lock that
	// a second process opening at the same moment may hold.
	dsn := "file:" + t.path + "?_pragma=busy_timeout(" + strconv.Itoa(int(busyTimeout.Milliseconds())) + ")&_pragma=journal_mode(WAL)&_pragma=synchronous(" +
		t.synchronous + ")&_txlock=immediate"
	connector, err := newCachingConnector(dsn)
	if err != nil {
		return nil, &URLError{URL: raw, Problem: "cannot open the database: " + err.Error(), Err: ErrUnavailable}
	}
	db := sql.OpenDB(connector)
	// River's recommendation, and the setting that gave zero lock errors.
	db.SetMaxOpenConns(1)
	fail := func(problem string, err error) (engine, error) {
		_ = db.Close()
		return nil, &URLError{URL: raw, Problem: problem + ": " + err.Error(), Err: fmt.Errorf("%w: %w", ErrUnavailable, err)}
	}
	mode, err := journalMode(ctx, db)
	if err != nil {
		return fail("cannot open the database file "+t.path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		s.log.Warn("SQLite refused WAL mode (network file system?); writers will block readers",
			zap.String("journal_mode", mode), zap.String("path", t.path))
	}

	driver := riversqlite.New(db)
	if err := migrateSQLite(ctx, db, driver, s); err != nil {
		return fail("migrating the schema", err)
	}
	client, err := river.NewClient(driver, s.riverConfig())
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("creating the River client: %w", err)
	}
	base := sqlQuerier{db}
	closeDB := db.Close
	var syncWAL func(context.Context) error
	if t.group {
		ws := newWALSyncer(t.path)
		syncWAL = ws.sync
		closeDB = func() error { ws.close(); return db.Close() }
	}
	return &riverEngine[*sql.Tx]{
		syncWAL: syncWAL,
		client:  client,
		base:    base,
		begin: func(ctx context.Context) (*sql.Tx, querier, error) {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return nil, nil, err
			}
			return tx, sqlQuerier{tx}, nil
		},
		commit:        func(_ context.Context, tx *sql.Tx) error { return tx.Commit() },
		rollback:      func(_ context.Context, tx *sql.Tx) error { return tx.Rollback() },
		closeDB:       closeDB,
		now:           "datetime('now', 'subsec')",
		lastAttemptBy: "json_extract(attempted_by, '$[#-1]')",
		// River's SQLite times are datetime('now', 'subsec') text, which
		// compares in order only against the same format.
		ago:    "datetime('now', 'subsec', ?)",
		agoArg: func(d time.Duration) any { return fmt.Sprintf("-%.3f seconds", d.Seconds()) },
	}, nil
}

// migrateSQLite applies River's migrations and the store's tables in one
// transaction. With _txlock=immediate, BEGIN takes the database's write lock,
// so a second process opening at the same time waits and then finds
// everything applied.
func migrateSQLite(ctx context.Context, db *sql.DB, driver *riversqlite.Driver, s *Store) error {
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: s.riverConfig().Logger})
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	//nolint:staticcheck // MigrateTx is deprecated because some Postgres migrations cannot share a transaction; River's SQLite migrations 1–6 can, and only a transaction serialises two processes migrating at once.
	if _, err := migrator.MigrateTx(ctx, tx, rivermigrate.DirectionUp, nil); err != nil {
		return err
	}
	for _, stmt := range ownSchema(sqliteTypes) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", firstLine(stmt), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	return nil
}
