package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"
	"go.uber.org/zap"
)

// The shared suite: every test that calls eachBackend runs against SQLite
// on a real temp file and against the real PostgreSQL at 127.0.0.1:5432
// (user postgres, trust auth), in a database created for this run and
// dropped at the end; each test gets its own schema in it.

const pgAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&connect_timeout=3"

var (
	pgBase    string // URL of this run's database, "" when PostgreSQL is unreachable
	pgProblem string
	schemaSeq atomic.Int64
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	drop := setupPostgres()
	code := m.Run()
	drop()
	if code == 0 {
		// Every test closed its stores: River, the pgx pools and the WAL
		// syncer must have stopped all their goroutines.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func setupPostgres() (drop func()) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgAdminURL)
	if err != nil {
		pgProblem = fmt.Sprintf("PostgreSQL at 127.0.0.1:5432 is unreachable (%v)", err)
		return func() {}
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("sbstore_test_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		pgProblem = fmt.Sprintf("cannot create a test database: %v", err)
		return func() {}
	}
	pgBase = "postgres://postgres@127.0.0.1:5432/" + name + "?sslmode=disable"
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, pgAdminURL)
		if err != nil {
			fmt.Fprintln(os.Stderr, "dropping the test database:", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintln(os.Stderr, "dropping the test database:", err)
		}
	}
}

// needPostgres skips (locally) or fails (CI=true) when PostgreSQL is down.
func needPostgres(t testing.TB) {
	t.Helper()
	if pgBase != "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; CI=true requires it", pgProblem)
	}
	t.Skipf("%s; skipping the PostgreSQL run (start it with pg_ctlcluster 15 main start)", pgProblem)
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

// postgresURL returns a URL whose search_path is a fresh schema.
func postgresURL(t testing.TB) string {
	t.Helper()
	needPostgres(t)
	name := strings.Trim(nonWord.ReplaceAllString(strings.ToLower(t.Name()), "_"), "_")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	schema := fmt.Sprintf("t%d_%s", schemaSeq.Add(1), name)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgBase)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	return pgBase + "&search_path=" + schema
}

func sqliteURL(t testing.TB) string {
	return "sqlite://" + filepath.Join(t.TempDir(), "store.db")
}

// eachBackend runs fn as parallel subtests, once per backend.
func eachBackend(t *testing.T, fn func(t *testing.T, url string)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, sqliteURL(t))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, postgresURL(t))
	})
}

// testOptions are fast settings; SB_STORE_LOG=1 shows the logs.
func testOptions() Options {
	log := zap.NewNop()
	if os.Getenv("SB_STORE_LOG") != "" {
		log, _ = zap.NewDevelopment()
	}
	return Options{
		Logger:            log,
		MaxWorkers:        50,
		RetryBase:         20 * time.Millisecond,
		RetryMax:          200 * time.Millisecond,
		FetchCooldown:     5 * time.Millisecond,
		FetchPollInterval: 20 * time.Millisecond,
		riverTestOnly:     true,
	}
}

func openStore(t testing.TB, url string, o Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, o)
	if err != nil {
		t.Fatalf("Open(%s): %v", url, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func start(t testing.TB, s *Store) {
	t.Helper()
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// jobStates counts kind's rows in River's table by state.
func jobStates(t testing.TB, s *Store, kind string) map[string]int {
	t.Helper()
	r, err := s.eng.q().query(context.Background(), `SELECT CAST(state AS TEXT), COUNT(*) FROM river_job WHERE kind = ? GROUP BY state`, kind)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := map[string]int{}
	for r.Next() {
		var st string
		var n int
		if err := r.Scan(&st, &n); err != nil {
			t.Fatal(err)
		}
		out[st] = n
	}
	return out
}

// jobKeys returns the keys of kind's jobs in the given states (all if none).
func jobKeys(t testing.TB, s *Store, kind string, states ...string) map[string]int {
	t.Helper()
	q := `SELECT args FROM river_job WHERE kind = ?`
	args := []any{kind}
	if len(states) > 0 {
		q += ` AND CAST(state AS TEXT) IN (` + placeholders(len(states)) + `)`
		for _, st := range states {
			args = append(args, st)
		}
	}
	r, err := s.eng.q().query(context.Background(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := map[string]int{}
	for r.Next() {
		var raw []byte
		if err := r.Scan(&raw); err != nil {
			t.Fatal(err)
		}
		var a jobArgs
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatal(err)
		}
		out[a.Key]++
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
