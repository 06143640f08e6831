package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Job is a unit of queued work (sync/store keeps it durably).
type Job struct {
	// Kind names the handler ("send", "inbound", ...).
	Kind string
	// Key identifies the work: a job whose Kind and Key match one not yet
	// finished (waiting, scheduled, retrying or running) is not enqueued
	// again. Empty means no de-duplication.
	Key string
	// Payload is the handler's input, JSON (nil is allowed). The handler gets
	// equivalent JSON, not necessarily the same bytes: PostgreSQL stores it as
	// jsonb (whitespace and key order are normalised).
	Payload []byte
	// RunAt delays the job; zero runs it now.
	RunAt time.Time
	// MaxAttempts overrides the store's MaxAttempts for this job when > 0.
	MaxAttempts int

	// Set when the job is handed to a JobHandler.
	ID      int64
	Attempt int // 1 on the first run; snoozes do not count
	// CreatedAt is when the job was enqueued, the same on every attempt
	// (RunAt moves to each retry's time): when a webhook arrived.
	CreatedAt time.Time
}

// JobHandler works one job. nil completes it. An error wrapping
// *RetryError runs it again after RetryError.After without counting an
// attempt (throttling, outages: SPEC §3 says those never fail a message);
// any other error, a panic or the job timeout counts as a failed attempt and
// is retried with jittered exponential backoff until the store's
// MaxAttempts, after which the job is a dead letter. The context is
// cancelled at the job timeout and when the store gives up waiting on Close.
type JobHandler func(ctx context.Context, j Job) error

// Job kinds of the work queue. KindInbound and KindStatus are also the
// webhook kinds: a webhook is queued as its job before it is answered.
const (
	KindSend         = "send"
	KindInbound      = "inbound"
	KindStatus       = "status"
	KindConversation = "conversation"
	KindSweep        = "sweep"
	KindPoll         = "poll"
	// KindReconcile re-reads conversations changed during a stream gap.
	KindReconcile = "reconcile"
)

// JobKinds are every kind the engine handles.
var JobKinds = []string{KindSend, KindInbound, KindStatus, KindConversation, KindSweep, KindPoll, KindReconcile}

// SendJob is the job that sends taskID's Pending transition.
func SendJob(taskID, key string) Job {
	b, _ := json.Marshal(sendPayload{TaskID: taskID})
	return Job{Kind: KindSend, Key: key, Payload: b}
}

type sendPayload struct {
	TaskID string `json:"task_id"`
}

func decodeSend(j Job) (string, error) {
	var p sendPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil || p.TaskID == "" {
		return "", &PermanentError{Err: fmt.Errorf("send job %q has no task id", j.Key)}
	}
	return p.TaskID, nil
}

func conversationJob(id, key string) Job {
	b, _ := json.Marshal(conversationPayload{ID: id})
	return Job{Kind: KindConversation, Key: key, Payload: b}
}

type conversationPayload struct {
	ID string `json:"id"`
}

func decodeConversation(j Job) (string, error) {
	var p conversationPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil || p.ID == "" {
		return "", &PermanentError{Err: fmt.Errorf("conversation job %q has no conversation id", j.Key)}
	}
	return p.ID, nil
}

// reconcilePayload is a reconcile job's payload.
type reconcilePayload struct {
	Since time.Time `json:"since"` // conversations changed since then are re-read
}

func reconcileJob(since time.Time, key string) (Job, error) {
	b, err := json.Marshal(reconcilePayload{Since: since})
	if err != nil {
		return Job{}, err
	}
	return Job{Kind: KindReconcile, Key: key, Payload: b}, nil
}

func decodeReconcile(j Job) (time.Time, error) {
	var p reconcilePayload
	if err := json.Unmarshal(j.Payload, &p); err != nil || p.Since.IsZero() {
		return time.Time{}, &PermanentError{Err: fmt.Errorf("reconcile job %q has no start time", j.Key)}
	}
	return p.Since, nil
}
