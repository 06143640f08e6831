// Package store is switchboard's durable state: the work queue, PushTopic
// replay checkpoints, the send ledger and parked status callbacks (SPEC §3
// "Nothing is lost", "Exactly once"). One Store type serves two backends
// behind the same API and the same test suite:
//
//   - sqlite://path (the default, sqlite://switchboard.db): embedded, pure Go
//     (modernc.org/sqlite, no cgo), one node.
//   - postgres://user@host:5432/db?...: several replicas sharing one queue.
//
// The queue is River (github.com/riverqueue/river), pinned at v0.32.0 with
// riversqlite v0.31.0 because that is the newest combination the module proxy
// serves that builds (dependencies.md §1.1). River never leaks out of this
// package: callers see Job, Handler, DeadLetter and plain functions, so River
// can be upgraded (or replaced) here alone. The pin's known defects are
// worked around here, not upstream:
//
//   - InsertMany with the same unique key twice in one batch misreports on
//     SQLite and errors on PostgreSQL (dependencies.md §1.3, §1.4; fixed in
//     River v0.48): Enqueue de-duplicates each batch before inserting.
//   - River's migrator reads the applied versions outside its transaction, so
//     two processes migrating at once could both apply version 1. Open runs
//     the migrations inside one write transaction that is serialised across
//     processes (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL).
//   - River's defaults (50 workers, 100 ms fetch cooldown, 1 s poll, 1 h stuck
//     job rescue) cap throughput at ~500 jobs/s and leave a crashed process's
//     jobs stuck for an hour (dependencies.md §1.2, §1.3). Options sets all of
//     them explicitly. Even then River's rescuer runs only on the elected
//     leader and every 30 s (not configurable in v0.32), so a dead replica's
//     jobs waited 15–45 s; and it judges by a job's age alone, so it also
//     re-runs a live process's job whose completion waits under load.
//     rescueLoop (jobs.go) replaces it for the fast path: every process
//     writes a heartbeat each second (sb_clients, the database's clock;
//     deleted by Close) and takes back only running jobs whose worker, the
//     last client in attempted_by, has been silent for LivenessWindow (3 s)
//     and whose attempt is older than JobTimeout, so the worker's handler
//     was cut off first and the send ledger settles the rest. A dead
//     process's jobs run again within about LivenessWindow + 1 s (measured
//     3.1 s with a 1 s job timeout); a live one's never. River's rescuer
//     stays as the last resort at 10 job timeouts (at least 1 min).
//   - A PostgreSQL advisory lock holds a pool connection for its session,
//     and its holder needs another to work. Holders and waiters of the
//     database lock take at most half the pool, or a burst of one lock per
//     recipient held every connection and each holder waited for one until
//     its job timed out.
//
// SQLite durability. The database runs in WAL mode with busy_timeout and one
// open connection per process (dependencies.md §1.2: more connections without
// WAL+busy_timeout gave SQLITE_BUSY and a failed start). WAL+NORMAL survives
// a process crash (the commit is in the OS page cache) but not a power loss
// or kernel panic, which silently rolls back the last commits: an inbound
// message already acknowledged to Twilio (Twilio does not redeliver), or a
// send intent whose message Twilio already has (the retry would send it
// again). Both break SPEC §3. FULL fsyncs every commit while holding the only
// connection, which measured 428 sends/s through the ledger here, below the
// 1,000/s target. So the default, synchronous=group, runs NORMAL and adds a
// group commit (walsync.go) to the writes that must survive power loss:
// Enqueue, EnqueueAndCheckpoint and a fresh BeginSend return only after an
// fsync of the -wal that concurrent callers share (2,665 sends/s, against
// 2,759 for plain NORMAL). Everything else (job completion, MarkRecorded, ...)
// may be lost to a power cut and is then redone: the job runs again and the
// ledger, whose intent is durable, prevents a second send. The URL can pick
// sqlite://file.db?synchronous=full (every commit) or ?synchronous=normal
// (no fsync; tests, or a disk known to be safe).
//
// Group commit across callers. The daemon runs up to MaxWorkers handlers at
// once and each message costs about 15 small writes; one at a time they
// queued for SQLite's only connection (a block profile showed the time in
// database/sql's conn and BeginTx, the CPU less than half used). So
// concurrent calls of one operation share one transaction (group.go):
// Enqueue (one InsertMany, de-duplicated across callers), BeginSend (one
// INSERT … ON CONFLICT DO NOTHING RETURNING), the ledger transitions, Park
// and TakeParked. A call that finds no flush running starts one at once;
// calls arriving meanwhile go together in the next, each getting its own
// answer after its write committed (and, where durable, was fsynced). A
// failed transaction is retried one item at a time, so a row the database
// rejects fails only its caller. The same profile showed SQLite parsing
// every statement anew; stmtcache.go keeps the prepared ones per
// connection.
//
// Delivery is at least once: a handler may run again after a crash, a job
// timeout or a rescue (dependencies.md §1.3). Effects outside the database
// need their own idempotency, which is what the send ledger is for.
package store
