package store

import (
	"context"
	"database/sql/driver"
	"errors"
	gosync "sync"

	"modernc.org/sqlite"
)

// Prepared statement cache for SQLite. modernc's driver parses every
// statement it runs (database/sql's ExecContext/QueryContext on the
// connection prepare, run and finalize): profiled under the send burst,
// sqlite3_prepare was about half the CPU of River's per-row job inserts and a
// fifth of the whole daemon's. The statements are few and repeat (River's
// queries, the store's own), so each connection keeps the ones it ran,
// reset between runs, which is what modernc's own cached-statement path
// does for a *sql.Stmt. SQLite re-prepares a cached statement by itself if
// the schema changes (sqlite3_prepare_v2).

// stmtCacheSize bounds the statements kept per connection. Batched
// statements (one per row count) churn through it; River's and the single-
// row ones stay.
const stmtCacheSize = 256

// cachingConnector wraps modernc's connector (no global driver registration:
// sql.OpenDB takes it directly).
type cachingConnector struct{ inner driver.Connector }

func newCachingConnector(dsn string) (driver.Connector, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return cachingConnector{c}, nil
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return newCachingConn(conn)
}

func (c cachingConnector) Driver() driver.Driver { return c.inner.Driver() }

// sqliteConn is what modernc's connection provides and the cache uses.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
}

var errNotModernc = errors.New("the SQLite driver's connection lacks the context methods the statement cache needs")

func newCachingConn(c driver.Conn) (driver.Conn, error) {
	sc, ok := c.(sqliteConn)
	if !ok {
		_ = c.Close()
		return nil, errNotModernc
	}
	return &cachingConn{inner: sc, stmts: map[string]*cachedStmt{}}, nil
}

type cachingConn struct {
	inner sqliteConn
	mu    gosync.Mutex
	stmts map[string]*cachedStmt
	tick  uint64
}

type cachedStmt struct {
	stmt    driver.Stmt // implements StmtExecContext and StmtQueryContext
	inUse   bool        // rows from it are open
	lastUse uint64
}

type stmtContext interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// acquire returns the cached statement for q, preparing it if needed, or nil
// when it is busy (rows of an earlier run still open) and q must run
// uncached.
func (c *cachingConn) acquire(ctx context.Context, q string) (*cachedStmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tick++
	if cs, ok := c.stmts[q]; ok {
		if cs.inUse {
			return nil, nil
		}
		cs.inUse, cs.lastUse = true, c.tick
		return cs, nil
	}
	st, err := c.inner.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if _, ok := st.(stmtContext); !ok {
		_ = st.Close()
		return nil, nil
	}
	if len(c.stmts) >= stmtCacheSize {
		c.evictLocked()
	}
	cs := &cachedStmt{stmt: st, inUse: true, lastUse: c.tick}
	c.stmts[q] = cs
	return cs, nil
}

func (c *cachingConn) release(cs *cachedStmt) {
	c.mu.Lock()
	cs.inUse = false
	c.mu.Unlock()
}

// evictLocked finalizes the least recently used idle statement.
func (c *cachingConn) evictLocked() {
	var oldest string
	var at uint64
	found := false
	for q, cs := range c.stmts {
		if !cs.inUse && (!found || cs.lastUse < at) {
			oldest, at, found = q, cs.lastUse, true
		}
	}
	if found {
		_ = c.stmts[oldest].stmt.Close()
		delete(c.stmts, oldest)
	}
}

func (c *cachingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.acquire(ctx, q)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.inner.ExecContext(ctx, q, args)
	}
	defer c.release(cs)
	return cs.stmt.(stmtContext).ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.acquire(ctx, q)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.inner.QueryContext(ctx, q, args)
	}
	r, err := cs.stmt.(stmtContext).QueryContext(ctx, args)
	if err != nil {
		c.release(cs)
		return nil, err
	}
	return &cachedRows{Rows: r, release: func() { c.release(cs) }}, nil
}

func (c *cachingConn) Prepare(q string) (driver.Stmt, error) { return c.inner.Prepare(q) }
func (c *cachingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.inner.PrepareContext(ctx, q)
}
func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.inner.BeginTx(context.Background(), driver.TxOptions{})
}
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.inner.BeginTx(ctx, opts)
}

// Close finalizes the cached statements first: SQLite keeps a connection
// with live statements open as a zombie.
func (c *cachingConn) Close() error {
	c.mu.Lock()
	for q, cs := range c.stmts {
		_ = cs.stmt.Close()
		delete(c.stmts, q)
	}
	c.mu.Unlock()
	return c.inner.Close()
}

func (c *cachingConn) Ping(ctx context.Context) error {
	if p, ok := c.inner.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cachingConn) IsValid() bool {
	if v, ok := c.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// cachedRows gives the statement back when the rows are closed.
type cachedRows struct {
	driver.Rows
	release func()
	closed  bool
}

func (r *cachedRows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.Rows.Close()
	r.release()
	return err
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}
