package store

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

func openCached(t *testing.T) *sql.DB {
	t.Helper()
	c, err := newCachingConnector("file:" + filepath.Join(t.TempDir(), "c.db") + "?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Exec(`CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestStmtCacheReuseNestingAndErrors: a cached statement gives the same
// answers as a fresh one, a second run of the same SQL while rows of the
// first are open runs uncached instead of clobbering them, a failed run
// leaves the statement reusable, and eviction keeps working past the bound.
//
// Long on purpose: the four cases share one cache, whose state each builds on.
func TestStmtCacheReuseNestingAndErrors(t *testing.T) {
	db := openCached(t)
	tx, err := db.BeginTx(bg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if _, err := tx.ExecContext(bg, `INSERT INTO kv (k, v) VALUES (?, ?)`, fmt.Sprintf("k%02d", i), i); err != nil {
			t.Fatal(err)
		}
	}
	// The same INSERT again with a duplicate key: a constraint error, and
	// the statement still works afterwards.
	if _, err := tx.ExecContext(bg, `INSERT INTO kv (k, v) VALUES (?, ?)`, "k00", 0); err == nil {
		t.Fatal("duplicate key inserted")
	}
	if _, err := tx.ExecContext(bg, `INSERT INTO kv (k, v) VALUES (?, ?)`, "k50", 50); err != nil {
		t.Fatalf("insert after a failed run: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	const q = `SELECT k, v FROM kv WHERE v >= ? ORDER BY v`
	outer, err := db.Query(q, 40)
	// (Nesting needs the one connection, so it is tested in a transaction
	// below.)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for outer.Next() {
		var k string
		var v int
		if err := outer.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		if k != fmt.Sprintf("k%02d", v) || v != 40+n {
			t.Fatalf("outer row %d: %s=%d", n, k, v)
		}
		n++
		if n == 3 {
			break // closed half-read: the statement must be reset for reuse
		}
	}
	if err := outer.Close(); err != nil {
		t.Fatal(err)
	}

	tx, err = db.BeginTx(bg, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := tx.QueryContext(bg, q, 45)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Next() {
		t.Fatal("no row")
	}
	b, err := tx.QueryContext(bg, q, 48) // the cached statement is busy with a's rows
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for b.Next() {
		var k string
		var v int
		_ = b.Scan(&k, &v)
		got = append(got, v)
	}
	_ = b.Close()
	var rest []int
	for {
		var k string
		var v int
		if err := a.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		rest = append(rest, v)
		if !a.Next() {
			break
		}
	}
	_ = a.Close()
	if fmt.Sprint(got) != "[48 49 50]" || fmt.Sprint(rest) != "[45 46 47 48 49 50]" {
		t.Fatalf("nested runs of one statement: inner %v, outer %v", got, rest)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	// More distinct statements than the cache holds.
	for i := range stmtCacheSize + 50 {
		var v int
		if err := db.QueryRow(fmt.Sprintf(`SELECT v + %d FROM kv WHERE k = ?`, i), "k01").Scan(&v); err != nil || v != 1+i {
			t.Fatalf("statement %d: %d %v", i, v, err)
		}
	}
	// A schema change under cached statements: SQLite re-prepares them.
	if _, err := db.Exec(`ALTER TABLE kv ADD COLUMN w INTEGER NOT NULL DEFAULT 7`); err != nil {
		t.Fatal(err)
	}
	var k string
	var v int
	if err := db.QueryRow(q, 50).Scan(&k, &v); err != nil || k != "k50" || v != 50 {
		t.Fatalf("after ALTER: %s %d %v", k, v, err)
	}
}
