package sync

import (
	"context"
	"fmt"
)

// PendingTask is an outbound Task found Pending: the Task and the
// SystemModstamp it had then.
type PendingTask struct {
	ID             string `json:"Id"`
	SystemModstamp string `json:"SystemModstamp"`
}

// Key identifies the job for the work queue: a second sweep that finds the
// same Task still Pending with the same SystemModstamp queues nothing new,
// while a Task changed since gets a new job. Whether that change is a new
// Pending transition is the ledger's decision (SendKey), not the queue's.
func (p PendingTask) Key() string { return p.ID + "@" + p.SystemModstamp }

// sweepQuery is SPEC §3's "sweep query": every Pending outbound Task. The
// Org follows nextRecordsUrl, so a backlog of any size comes back in pages
// of up to 2,000 (ref §2.2), one API call each.
const sweepQuery = "SELECT Id, SystemModstamp FROM Task WHERE " + PendingOutboundWhere + " ORDER BY CreatedDate"

// Sweep finds every Pending outbound Task and hands them to enqueue in
// chunks of at most batch, oldest first. It is how the engine catches what
// the stream missed: at start, after a rejected replay id or a long outage,
// and on an interval. A Task already queued is harmless to hand over again:
// the queue dedupes by Key and the ledger guarantees one send.
func Sweep(ctx context.Context, org Org, batch int, enqueue func(context.Context, []PendingTask) error) (int, error) {
	var tasks []PendingTask
	if err := org.Query(ctx, sweepQuery, &tasks); err != nil {
		return 0, fmt.Errorf("sweep query: %w", err)
	}
	if batch <= 0 {
		batch = 1000
	}
	for start := 0; start < len(tasks); start += batch {
		if err := enqueue(ctx, tasks[start:min(start+batch, len(tasks))]); err != nil {
			return start, fmt.Errorf("queueing swept tasks: %w", err)
		}
	}
	return len(tasks), nil
}
