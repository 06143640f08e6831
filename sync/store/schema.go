package store

import (
	"strings"
)

// sqlTypes are the few column types that differ between the backends.
type sqlTypes struct {
	autoID string // an auto-incrementing primary key column
	blob   string
	// stamp holds the database's own "now" (engine.nowSQL) in the form
	// River keeps its times in, so it compares with River's columns and
	// with engine.ago on the database's clock, not a replica's.
	stamp string
}

var (
	sqliteTypes   = sqlTypes{autoID: "INTEGER PRIMARY KEY AUTOINCREMENT", blob: "BLOB", stamp: "TEXT"}
	postgresTypes = sqlTypes{autoID: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", blob: "BYTEA", stamp: "TIMESTAMPTZ"}
)

// ownSchema is the store's tables next to River's. Statements are
// idempotent. Times are Unix nanoseconds (BIGINT) so both backends compare
// them the same way, except sb_clients.heartbeat_at (see sqlTypes.stamp). A later change adds statements at the end; none is ever
// edited.
func ownSchema(t sqlTypes) []string {
	return []string{
		// One row per PushTopic channel: the highest replay id whose event
		// is durably queued.
		`CREATE TABLE IF NOT EXISTS sb_checkpoint (
			channel TEXT PRIMARY KEY,
			replay_id BIGINT NOT NULL,
			updated_at BIGINT NOT NULL)`,
		// One row per Pending transition (sync.SendKey): the send ledger of
		// SPEC §3 "Exactly once".
		`CREATE TABLE IF NOT EXISTS sb_send_ledger (
			send_key TEXT PRIMARY KEY,
			task_id TEXT NOT NULL,
			account_sid TEXT NOT NULL,
			to_number TEXT NOT NULL,
			from_number TEXT NOT NULL,
			body TEXT NOT NULL,
			state TEXT NOT NULL,
			sid TEXT NOT NULL DEFAULT '',
			status TEXT NOT NULL DEFAULT '',
			reason TEXT NOT NULL DEFAULT '',
			created_at BIGINT NOT NULL,
			updated_at BIGINT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS sb_send_ledger_state ON sb_send_ledger (state, updated_at)`,
		// Status callbacks for SIDs no Task carries yet (SPEC §3).
		`CREATE TABLE IF NOT EXISTS sb_parked (
			id ` + t.autoID + `,
			sid TEXT NOT NULL,
			payload ` + t.blob + ` NOT NULL,
			expires_at BIGINT NOT NULL,
			created_at BIGINT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS sb_parked_sid ON sb_parked (sid)`,
		`CREATE INDEX IF NOT EXISTS sb_parked_expires ON sb_parked (expires_at)`,
		// A single row rewritten by Writable.
		`CREATE TABLE IF NOT EXISTS sb_health (id INTEGER PRIMARY KEY, at BIGINT NOT NULL)`,
		// Which entry holds a SID (SIDOwners), and a Task's latest
		// transition (LatestSend).
		`CREATE INDEX IF NOT EXISTS sb_send_ledger_sid ON sb_send_ledger (sid)`,
		`CREATE INDEX IF NOT EXISTS sb_send_ledger_task ON sb_send_ledger (task_id, created_at)`,
		// Keys were TaskID@SystemModstamp[#n] before sync.SendKey. An
		// unresolved entry of that form takes the new key of the Task's
		// first transition, so that the upgraded engine resolves it
		// instead of sending afresh; only where it is the Task's one
		// unresolved old entry and the new key is free. Recorded old
		// entries stay as they are: nothing reads them again.
		`UPDATE sb_send_ledger SET send_key = task_id || '#1'
			WHERE send_key LIKE '%@%' AND state <> 'recorded'
			AND NOT EXISTS (SELECT 1 FROM sb_send_ledger n WHERE n.send_key = sb_send_ledger.task_id || '#1')
			AND (SELECT COUNT(*) FROM sb_send_ledger o WHERE o.task_id = sb_send_ledger.task_id
				AND o.send_key LIKE '%@%' AND o.state <> 'recorded') = 1`,
		// One row per started River client (its ID, as in
		// river_job.attempted_by), rewritten every second while the process
		// lives and deleted by Close: rescueLoop takes over only the jobs
		// of clients without a recent row.
		`CREATE TABLE IF NOT EXISTS sb_clients (
			client_id TEXT PRIMARY KEY,
			heartbeat_at ` + t.stamp + ` NOT NULL)`,
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(l)
}
