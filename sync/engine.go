package sync

import (
	"cmp"
	"context"
	"time"

	"go.uber.org/zap"
)

// Queue is what the engine needs from the durable store (sync/store
// implements it on SQLite and PostgreSQL): the work queue, the stream's
// checkpoints, cross-replica locks, the send ledger and parked callbacks.
type Queue interface {
	Ledger
	Parking
	Handle(kind string, fn JobHandler) error
	Periodic(kind string, interval time.Duration, runOnStart bool) error
	Enqueue(ctx context.Context, jobs ...Job) error
	EnqueueAndCheckpoint(ctx context.Context, jobs []Job, channel string, replayID int64) error
	Checkpoint(ctx context.Context, channel string) (replayID int64, ok bool, err error)
	CheckpointTime(ctx context.Context, channel string) (at time.Time, ok bool, err error)
	ResetCheckpoint(ctx context.Context, channel string) error
	Lock(ctx context.Context, key string) (unlock func(), err error)
}

// EngineOptions are the engine's settings, filled by cmd/switchboard from
// configuration, and the hooks through which the outside packages (sfdc,
// twilio, metrics) take part without sync importing them.
type EngineOptions struct {
	DefaultChannel     string             // twilio.default_channel
	DefaultRegion      string             // engine.default_region
	DefaultAccountSID  string             // twilio.account_sid, for polls of Tasks without one
	StatusCallback     string             // server.public_url + /twilio/status
	MaxConcurrentSends int                // twilio.max_concurrency
	SenderRate         map[string]float64 // twilio.sender_rates
	MergeFields        []string           // engine.merge_fields
	SweepInterval      time.Duration      // engine.sweep_interval
	StatusPollAfter    time.Duration      // engine.status_poll_after
	APIBudget          float64            // engine.api_budget, a fraction of the org's daily calls

	// TaskChannel and ConversationChannel are the PushTopic channels whose
	// notifications become send and conversation jobs (SPEC §2).
	TaskChannel, ConversationChannel string
	// StartID tells this process's sweep jobs from a killed one's (see
	// StartSweep).
	StartID string
	// JobTimeout is the store's job timeout. A job's Twilio call is
	// cancelled at it, so an intent older than twice it belongs to no
	// running job (the margin covers a create Twilio still completes), and
	// a job with less than half of it left does not start a create.
	JobTimeout time.Duration

	// BatchWindow is how long Salesforce reads and writes wait to fill a
	// batch (25 ms by default); WriteWindow that of Task write-backs
	// (200 ms by default); StatusWindow that of status callbacks (1 s by
	// default: a status lands a second later at no cost, and a message's
	// sent and delivered then share one write; SPEC §3 only asks that it
	// never moves backwards).
	BatchWindow, WriteWindow, StatusWindow time.Duration
	// PollInterval is how often the status poller runs (1 min by default).
	PollInterval time.Duration
	// OutageRetry is the least wait before a job that met a Salesforce
	// outage runs again (5 s by default, up to twice that with jitter).
	OutageRetry time.Duration
	// Now, if set, is the clock the inbound engine's memory of recent
	// messages ages by.
	Now func() time.Time

	// Retryable says whether an error is a transient Salesforce failure
	// (sfdc.IsRetryable); nil: none is.
	Retryable func(error) bool
	// APIUsage is the org's daily API calls used and allowed, as last
	// reported (Sforce-Limit-Info); nil: no budget applies.
	APIUsage func() (used, limit int)
	// Describe turns a Twilio error code into Error_Description__c text.
	Describe func(code int) string
	// DecodeInbound and DecodeStatus read a queued webhook (its payload is
	// the form Twilio posted); an error dead-letters the job.
	DecodeInbound func(Job) (InboundMessage, error)
	DecodeStatus  func(Job) (StatusUpdate, error)
	// ObserveJob, if set, hears every job's kind, duration and outcome;
	// OnInbound every inbound message written.
	ObserveJob func(kind string, took time.Duration, err error)
	OnInbound  func()
}

// setDefault gives a setting its default when it is unset: zero, or for a
// number below zero, which no setting means ("" for a string).
func setDefault[T cmp.Ordered](v *T, def T) {
	var zero T
	if *v <= zero {
		*v = def
	}
}

func (o *EngineOptions) defaults() {
	setDefault(&o.StatusWindow, time.Second)
	setDefault(&o.PollInterval, time.Minute)
	setDefault(&o.OutageRetry, 5*time.Second)
}

// threadLockKey names the store lock held while conversations are found or
// created (OutboundConfig.ThreadLock).
const threadLockKey = "switchboard/conversations"

// Engine is the sidecar's engine: its workers, linked to one another, and
// the job handlers registered on the queue.
type Engine struct {
	opts  EngineOptions
	queue Queue
	log   *zap.Logger

	Outbound      *Outbound
	Inbound       *Inbound
	Callbacks     *Callbacks
	Poller        *Poller
	Conversations *Conversations
}

// NewEngine builds the workers, links them and registers every job kind
// (and the periodic sweep and poll) on queue. Nothing runs until the
// queue starts.
func NewEngine(opts EngineOptions, org Org, tw Messenger, queue Queue, log *zap.Logger) (*Engine, error) {
	opts.defaults()
	if log == nil {
		log = zap.NewNop()
	}
	e := &Engine{opts: opts, queue: queue, log: log}
	// The links: a callback for a SID this process is about to record
	// waits instead of parking; once outbound records a SID, what was
	// parked under it is applied; a 21610 refusal is an opt-out; inbound
	// finds conversations through outbound's directory.
	e.Callbacks = NewCallbacks(CallbacksConfig{
		BatchWindow: opts.StatusWindow, Describe: opts.Describe,
		Unrecorded: func(sid string) bool { return e.Outbound != nil && e.Outbound.Unrecorded(sid) },
	}, org, queue, log.Named("callbacks"))
	consent := NewConsent(org, log.Named("consent"), opts.BatchWindow)
	e.Outbound = NewOutbound(OutboundConfig{
		DefaultChannel:     opts.DefaultChannel,
		DefaultRegion:      opts.DefaultRegion,
		StatusCallback:     opts.StatusCallback,
		BatchWindow:        opts.BatchWindow,
		WriteWindow:        opts.WriteWindow,
		MaxConcurrentSends: opts.MaxConcurrentSends,
		SenderRate:         opts.SenderRate,
		MergeFields:        opts.MergeFields,
		IntentGrace:        2 * opts.JobTimeout,
		MinSendTime:        opts.JobTimeout / 2,
		OnRecorded:         func(ctx context.Context, sid string) error { return e.Callbacks.ApplyParked(ctx, []string{sid}) },
		OnOptOut:           consent.OptOut,
		ThreadLock:         func(ctx context.Context) (func(), error) { return queue.Lock(ctx, threadLockKey) },
		ResolveLock:        func(ctx context.Context, group string) (func(), error) { return queue.Lock(ctx, "resolve:"+group) },
	}, org, tw, queue, log.Named("outbound"))
	e.Inbound = NewInbound(InboundConfig{DefaultRegion: opts.DefaultRegion, BatchWindow: opts.BatchWindow, Now: opts.Now},
		org, e.Outbound.Directory(), consent, log.Named("inbound"))
	e.Conversations = NewConversations(org, log.Named("conversations"), opts.BatchWindow, e.Inbound)
	e.Poller = NewPoller(PollerConfig{Age: opts.StatusPollAfter, DefaultAccountSID: opts.DefaultAccountSID},
		org, tw, e.Callbacks, log.Named("poller"))
	if err := e.registerJobs(org); err != nil {
		return nil, err
	}
	return e, nil
}

// StartSweep queues the start's sweep, which is also the crash recovery
// (Outbound.Send resolves what the ledger left). A killed process leaves
// its jobs "running" until the store's rescue returns them (seconds: once
// the dead process's heartbeat is older than the store's LivenessWindow and
// the attempt older than its JobTimeout). Until then their keys would
// swallow this start's sweep and its send jobs, so both carry this
// process's StartID.
func (e *Engine) StartSweep(ctx context.Context) error {
	return e.queue.Enqueue(ctx, Job{Kind: KindSweep, Key: "start:" + e.opts.StartID})
}

// Recover resolves the sends a previous run left (Outbound.Recover); a
// failure is logged only, since the queue's sweeps resolve them too.
func (e *Engine) Recover(ctx context.Context) {
	n, err := e.Outbound.Recover(ctx, e.opts.MaxConcurrentSends)
	if err != nil {
		e.log.Warn("recovering the sends a previous run left; the queue will", zap.Error(err))
	} else if n > 0 {
		e.log.Info("recovered the sends a previous run left", zap.Int("tasks", n))
	}
}

// registerJobs maps each job kind to its worker.
func (e *Engine) registerJobs(org Org) error {
	handlers := map[string]JobHandler{
		KindSend: func(ctx context.Context, j Job) error {
			id, err := decodeSend(j)
			if err != nil {
				return err
			}
			return e.Outbound.Send(ctx, id)
		},
		KindInbound: func(ctx context.Context, j Job) error {
			msg, err := e.opts.DecodeInbound(j)
			if err != nil {
				return &PermanentError{Err: err}
			}
			if err := e.Inbound.Handle(ctx, msg); err != nil {
				return err
			}
			if e.opts.OnInbound != nil {
				e.opts.OnInbound()
			}
			return nil
		},
		KindStatus: func(ctx context.Context, j Job) error {
			u, err := e.opts.DecodeStatus(j)
			if err != nil {
				return &PermanentError{Err: err}
			}
			return e.Callbacks.Handle(ctx, u)
		},
		KindConversation: func(ctx context.Context, j Job) error {
			id, err := decodeConversation(j)
			if err != nil {
				return err
			}
			return e.Conversations.Handle(ctx, id)
		},
		// The sweep is also crash recovery: a Task whose send was cut off
		// (ledger intent, or sent but not written back) is still Pending,
		// so its new send job resolves the ledger entry (Outbound.Send).
		KindSweep: func(ctx context.Context, _ Job) error {
			if e.overBudget() {
				e.log.Warn("skipping this sweep: the org is over engine.api_budget of its daily API calls")
				return nil
			}
			n, err := Sweep(ctx, org, 1000, e.enqueueSends)
			if n > 0 {
				e.log.Info("sweep queued pending tasks", zap.Int("tasks", n))
			}
			return err
		},
		KindReconcile: func(ctx context.Context, j Job) error {
			since, err := decodeReconcile(j)
			if err != nil {
				return err
			}
			n, err := e.Conversations.Reconcile(ctx, since)
			e.log.Info("reconciled conversations changed during a stream gap", zap.Int("conversations", n), zap.Time("since", since))
			return err
		},
		KindPoll: func(ctx context.Context, _ Job) error {
			if e.overBudget() {
				e.log.Warn("skipping this status poll: the org is over engine.api_budget of its daily API calls")
				return nil
			}
			_, err := e.Poller.Poll(ctx)
			return err
		},
	}
	for kind, h := range handlers {
		if err := e.queue.Handle(kind, e.outageTolerant(h)); err != nil {
			return err
		}
	}
	for _, p := range []struct {
		kind  string
		every time.Duration
	}{{KindSweep, e.opts.SweepInterval}, {KindPoll, e.opts.PollInterval}} {
		if err := e.queue.Periodic(p.kind, p.every, true); err != nil {
			return err
		}
	}
	return nil
}
