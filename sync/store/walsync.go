package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
)

// walSyncer is a group commit for SQLite in WAL mode with
// synchronous=NORMAL. NORMAL writes each commit into the -wal file without
// fsync: durable against a process crash, not a power loss. The writes whose
// loss would break SPEC §3 (an enqueue that acknowledges a Twilio webhook, a
// send intent before Twilio is called) call sync after they commit; sync
// fsyncs the -wal file once for every caller that arrived while the previous
// fsync ran, so 200 concurrent handlers share a few fsyncs instead of each
// holding the only connection through its own (what synchronous=FULL does).
//
// Why this is enough: a commit has been write()n to the -wal file when
// COMMIT returns, and an fsync of the file (through any descriptor) makes it
// durable. If a checkpoint moved the frames into the database file
// meanwhile, SQLite fsynced that file before the -wal could be reused
// (NORMAL still syncs at checkpoints). Recovery stops at the first frame
// whose cumulative checksum fails, so an fsync never exposes a later commit
// without the earlier ones.
type walSyncer struct {
	db, wal string
	reqs    chan chan error
	stop    chan struct{}
	done    chan struct{}
	fsyncs  atomic.Int64 // for tests: how many batches were synced
}

func newWALSyncer(dbPath string) *walSyncer {
	w := &walSyncer{db: dbPath, wal: dbPath + "-wal",
		reqs: make(chan chan error, 1024), stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

// sync returns once everything committed before the call is on disk.
func (w *walSyncer) sync(ctx context.Context) error {
	ch := make(chan error, 1)
	select {
	case <-w.stop:
		return ErrClosed
	default:
	}
	select {
	case w.reqs <- ch:
	case <-w.stop:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-ch:
		return err
	case <-w.done:
		return ErrClosed
	case <-ctx.Done():
		// The commit happened; only its durability is unconfirmed.
		return fmt.Errorf("waiting for the commit to reach the disk: %w", ctx.Err())
	}
}

func (w *walSyncer) loop() {
	defer close(w.done)
	dirSynced := false
	for {
		var batch []chan error
		select {
		case ch := <-w.reqs:
			batch = append(batch, ch)
		case <-w.stop:
			return
		}
		// Everyone who queued up while the last fsync ran shares this one;
		// all of them committed before it starts.
	drain:
		for {
			select {
			case ch := <-w.reqs:
				batch = append(batch, ch)
			default:
				break drain
			}
		}
		w.fsyncs.Add(1)
		err := fsyncFile(w.wal)
		if errors.Is(err, fs.ErrNotExist) {
			// No -wal (checkpointed and removed): the data is in the
			// database file.
			err = fsyncFile(w.db)
		}
		if err == nil && !dirSynced {
			// The -wal file's directory entry, created by SQLite without a
			// directory fsync.
			if err = fsyncFile(filepath.Dir(w.db)); err == nil {
				dirSynced = true
			}
		}
		if err != nil {
			err = fmt.Errorf("%w: fsync of the SQLite journal: %v", ErrUnavailable, err)
		}
		for _, ch := range batch {
			ch <- err
		}
	}
}

func (w *walSyncer) close() {
	close(w.stop)
	<-w.done
}

func fsyncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
