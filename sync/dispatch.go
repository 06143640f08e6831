package sync

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"go.uber.org/zap"
)

// StreamEvent is one Streaming API notification, as the engine needs it
// (cmd/switchboard adapts sfdc.Event).
type StreamEvent struct {
	ReplayID int64           // opaque, increasing per channel (salesforce.md §3.5)
	Type     string          // created, updated, deleted, undeleted
	SObject  json.RawMessage // the fields the PushTopic selects
}

// reconcileMargin is how far before the last checkpointed event a
// reconciliation starts: the event's arrival is our clock, LastModifiedDate
// is Salesforce's, and the event may have waited in the stream.
const reconcileMargin = 10 * time.Minute

// reconcileFallback is how far back a reconciliation looks when there is
// no checkpoint to start from: Salesforce keeps events at most 72 hours,
// so a gap with no checkpoint covers no more than that.
const reconcileFallback = 72 * time.Hour

// ReplayFrom is the stored checkpoint of channel, or -1 (new events only)
// on a first start: the sweep at start covers what came before.
func (e *Engine) ReplayFrom(ctx context.Context, channel string) (int64, error) {
	id, ok, err := e.queue.Checkpoint(ctx, channel)
	if err != nil || !ok {
		return -1, err
	}
	return id, nil
}

// HandleEvents turns notifications into jobs and stores them together with
// the channel's checkpoint, in one transaction: the checkpoint is never
// ahead of what is durably queued (SPEC §3 "Nothing is lost").
func (e *Engine) HandleEvents(ctx context.Context, channel string, events []StreamEvent) error {
	jobs := make([]Job, 0, len(events))
	var last int64
	for _, ev := range events {
		last = max(last, ev.ReplayID)
		var rec struct {
			ID string `json:"Id"`
		}
		if err := json.Unmarshal(ev.SObject, &rec); err != nil || rec.ID == "" {
			e.log.Warn("notification without a record Id; ignored", zap.String("channel", channel), zap.Int64("replay_id", ev.ReplayID))
			continue
		}
		// The key carries the replay id: the same notification delivered
		// twice is one job, while a Task set back to Pending is a new one.
		key := rec.ID + "@" + strconv.FormatInt(ev.ReplayID, 10)
		switch channel {
		case e.opts.TaskChannel:
			if ev.Type == "deleted" {
				continue
			}
			jobs = append(jobs, SendJob(rec.ID, key))
		case e.opts.ConversationChannel:
			jobs = append(jobs, conversationJob(rec.ID, key))
		}
	}
	return e.queue.EnqueueAndCheckpoint(ctx, jobs, channel, last)
}

// OnGap: notifications may have been missed. For Tasks, a sweep finds
// every Pending one; for conversations, every one changed since the last
// event we have is reconciled. The stale checkpoint is dropped so a
// restart does not trip over it again.
func (e *Engine) OnGap(ctx context.Context, channel, reason string) {
	e.log.Warn("stream gap: notifications may have been missed", zap.String("channel", channel), zap.String("reason", reason))
	since := time.Now().Add(-reconcileFallback)
	if at, ok, err := e.queue.CheckpointTime(ctx, channel); err == nil && ok {
		since = at.Add(-reconcileMargin)
	}
	key := "gap:" + strconv.FormatInt(time.Now().UnixNano(), 10)
	var job Job
	switch channel {
	case e.opts.TaskChannel:
		job = Job{Kind: KindSweep, Key: key}
	case e.opts.ConversationChannel:
		var err error
		if job, err = reconcileJob(since, key); err != nil {
			e.log.Error("encoding a reconciliation job", zap.Error(err))
			return
		}
	}
	// Queued before the checkpoint goes: a crash in between leaves the
	// checkpoint, and the next start finds the same gap again.
	if job.Kind != "" {
		if err := e.queue.Enqueue(ctx, job); err != nil {
			// The checkpoint stays: the next start is refused the same
			// replay id and tries again (and the periodic sweep covers Tasks).
			e.log.Error("queueing the catch-up after a stream gap", zap.String("kind", job.Kind), zap.Error(err))
			return
		}
	}
	if err := e.queue.ResetCheckpoint(ctx, channel); err != nil {
		e.log.Warn("resetting the checkpoint", zap.String("channel", channel), zap.Error(err))
	}
}

// enqueueSends queues one send job per Pending transition found by a sweep.
func (e *Engine) enqueueSends(ctx context.Context, tasks []PendingTask) error {
	jobs := make([]Job, len(tasks))
	for i, t := range tasks {
		jobs[i] = SendJob(t.ID, "sweep:"+e.opts.StartID+":"+t.Key())
	}
	return e.queue.Enqueue(ctx, jobs...)
}
