package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/switchboard/switchboard/config"
	"github.com/switchboard/switchboard/sfdc"
	sbsync "github.com/switchboard/switchboard/sync"
	"github.com/switchboard/switchboard/sync/store"
	"github.com/switchboard/switchboard/twilio"
)

// Job kinds of the work queue, besides the webhook kinds in server.go.
const (
	kindSend         = "send"
	kindConversation = "conversation"
	kindSweep        = "sweep"
	kindPoll         = "poll"
	// kindReconcile re-reads conversations changed during a stream gap.
	kindReconcile = "reconcile"
)

// jobKinds are every kind the daemon handles.
var jobKinds = []string{kindSend, kindInbound, kindStatus, kindConversation, kindSweep, kindPoll, kindReconcile}

// threadLockKey names the store lock held while conversations are found or
// created (OutboundConfig.ThreadLock).
const threadLockKey = "switchboard/conversations"

// reconcileMargin is how far before the last checkpointed event a
// reconciliation starts: the event's arrival is our clock, LastModifiedDate
// is Salesforce's, and the event may have waited in the stream.
const reconcileMargin = 10 * time.Minute

// reconcilePayload is a reconcile job's payload.
type reconcilePayload struct {
	Since time.Time `json:"since"` // conversations changed since then are re-read
}

// reconcileFallback is how far back a reconciliation looks when there is
// no checkpoint to start from: Salesforce keeps events at most 72 hours,
// so a gap with no checkpoint covers no more than that.
const reconcileFallback = 72 * time.Hour

// The PushTopic channels the sidecar subscribes to (SPEC §2; not
// SwitchboardChat, which is the chat components').
var (
	channelTasks         = "/topic/" + sfdc.TopicTasks
	channelConversations = "/topic/" + sfdc.TopicConversations
	streamChannels       = []string{channelTasks, channelConversations}
)

// tuning holds what tests, the demo and benchmarks change beyond the
// configuration keys: batch windows, store timings, the listener.
type tuning struct {
	// Listener, if set, is used instead of listening on server.listen.
	Listener net.Listener
	// Store overrides store options (zero fields keep the defaults).
	Store store.Options
	// BatchWindow is how long Salesforce reads and writes wait to fill a
	// batch (25 ms by default).
	BatchWindow time.Duration
	// WriteWindow is the batch window of Task write-backs (200 ms by
	// default) and StatusWindow that of status callbacks (1 s by default).
	WriteWindow, StatusWindow time.Duration
	// PollInterval is how often the status poller runs (1 min by default).
	PollInterval time.Duration
	// StreamRetryMin shortens the stream's backoff between sessions (tests).
	StreamRetryMin time.Duration
	// RefusalLogEvery is how often each cause of refused webhooks is
	// logged (a minute by default).
	RefusalLogEvery time.Duration
	// OutageRetry is the least wait before a job that met a Salesforce
	// outage runs again (5 s by default, up to twice that with jitter).
	OutageRetry time.Duration
	// Now, if set, is the clock the inbound engine's memory of recent
	// messages ages by, so a test can move it instead of sleeping.
	Now func() time.Time
}

func (t tuning) statusWindow() time.Duration {
	if t.StatusWindow <= 0 {
		return time.Second
	}
	return t.StatusWindow
}

// Main is the daemon: every part built from configuration and wired, so an
// end-to-end test runs the real program in-process against the simulators
// (STYLE: the wtf Main pattern).
type Main struct {
	cfg *config.Config
	log *zap.Logger
	tun tuning

	auth    *sfdc.Auth
	client  *sfdc.Client
	org     sbsync.Org // the engine's view of client
	stream  *sfdc.Stream
	tw      *twilio.Accounts
	store   *store.Store
	out     *sbsync.Outbound
	startID string // tells this process's sweep jobs from a killed one's (Run)
	in      *sbsync.Inbound
	cb      *sbsync.Callbacks
	poller  *sbsync.Poller
	convs   *sbsync.Conversations
	metrics *metrics

	// instance and started identify this process's Switchboard_Status__c
	// row.
	instance string
	started  time.Time

	ln        net.Listener
	httpSrv   *http.Server
	addr      atomic.Value // string: the listener's address once serving
	adminLn   net.Listener // nil when server.admin_listen is off
	adminSrv  *http.Server
	adminAddr atomic.Value  // string: the operator listener's address once serving
	opened    chan struct{} // closed once every part is built
}

// NewMain builds the daemon from validated configuration. Nothing is
// contacted until Run.
func NewMain(cfg *config.Config, log *zap.Logger, tun tuning) *Main {
	started := time.Now()
	return &Main{cfg: cfg, log: log, tun: tun, metrics: newMetrics(), opened: make(chan struct{}),
		started: started, instance: instanceID(started), startID: strconv.FormatInt(started.UnixNano(), 36)}
}

// Addr is the HTTP listener's address once Run has bound it.
func (m *Main) Addr() string {
	a, _ := m.addr.Load().(string)
	return a
}

// AdminAddr is the operator listener's address once Run has bound it ("" when
// server.admin_listen is off).
func (m *Main) AdminAddr() string {
	a, _ := m.adminAddr.Load().(string)
	return a
}

// Run opens the store, starts the webhook listener, the workers and the
// stream, and blocks until ctx ends; then it drains (bounded by
// shutdownGrace) and returns. Webhooks are served before Salesforce is
// reached, so a Salesforce outage at start never becomes a Twilio timeout.
func (m *Main) Run(ctx context.Context) error {
	if err := m.open(ctx); err != nil {
		m.closeAll()
		return err
	}
	close(m.opened)
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRun()
	g, gctx := errgroup.WithContext(runCtx)

	if err := m.store.Start(runCtx); err != nil {
		m.closeAll()
		return fmt.Errorf("starting the work queue: %w", err)
	}
	// The start's sweep is also the crash recovery (Outbound.Send resolves
	// what the ledger left). A killed process leaves its jobs "running"
	// until River's rescuer returns them: RescueStuckJobsAfter, checked
	// every 30 s on the leader (dependencies.md §1.3). Until then their
	// keys would swallow this start's sweep and its send jobs, so both
	// carry this process's start.
	if err := m.store.Enqueue(runCtx, store.Job{Kind: kindSweep, Key: "start:" + m.startID}); err != nil {
		m.log.Warn("queueing the start's sweep; the periodic one will run it", zap.Error(err))
	}
	g.Go(func() error {
		if err := m.httpSrv.Serve(m.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http listener: %w", err)
		}
		return nil
	})
	if m.adminLn != nil {
		g.Go(func() error {
			if err := m.adminSrv.Serve(m.adminLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("operator listener: %w", err)
			}
			return nil
		})
	}
	streamCtx, stopStream := context.WithCancel(gctx)
	defer stopStream()
	streamDone := make(chan struct{})
	g.Go(func() error {
		defer close(streamDone)
		err := m.stream.Run(streamCtx)
		if err != nil && streamCtx.Err() == nil {
			return fmt.Errorf("salesforce stream: %w", err)
		}
		return nil
	})
	heartbeatDone := make(chan struct{})
	go func() {
		defer close(heartbeatDone)
		m.runHeartbeat(streamCtx)
	}()
	g.Go(func() error {
		n, err := m.out.Recover(gctx, m.cfg.Twilio.MaxConcurrency)
		if err != nil {
			m.log.Warn("recovering the sends a previous run left; the queue will", zap.Error(err))
		} else if n > 0 {
			m.log.Info("recovered the sends a previous run left", zap.Int("tasks", n))
		}
		return nil
	})
	m.log.Info("switchboard running", zap.String("listen", m.Addr()), zap.String("admin_listen", cmp.Or(m.AdminAddr(), config.AdminOff)), zap.String("store", m.store.Backend()),
		zap.String("public_url", m.cfg.Server.PublicURL), zap.String("instance", m.instance))

	var runErr error
	select {
	case <-ctx.Done():
	case <-gctx.Done():
		// A part failed on its own; report it after draining the rest.
	}
	m.log.Info("shutting down: draining in-flight work")
	drain, cancelDrain := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancelDrain()
	// Stop hearing new work first (the stream sends /meta/disconnect), then
	// stop taking webhooks, then let running jobs finish.
	stopStream()
	select {
	case <-streamDone:
	case <-drain.Done():
	}
	<-heartbeatDone
	if err := m.httpSrv.Shutdown(drain); err != nil {
		m.log.Warn("http shutdown", zap.Error(err))
	}
	if m.adminSrv != nil {
		if err := m.adminSrv.Shutdown(drain); err != nil {
			m.log.Warn("operator listener shutdown", zap.Error(err))
		}
	}
	if err := m.store.Close(drain); err != nil {
		m.log.Warn("closing the store", zap.Error(err))
	}
	stopRun()
	if err := g.Wait(); err != nil {
		runErr = err
	}
	m.tw.Close()
	return runErr
}

// shutdownGrace bounds the drain on SIGTERM: below Kubernetes' default
// 30 s termination grace period, so the process exits on its own.
const shutdownGrace = 20 * time.Second

func (m *Main) closeAll() {
	if m.store != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = m.store.Close(ctx)
		cancel()
	}
	if m.ln != nil {
		_ = m.ln.Close()
	}
	if m.adminLn != nil {
		_ = m.adminLn.Close()
	}
	if m.tw != nil {
		m.tw.Close()
	}
}

// open builds every part and binds the listener.
func (m *Main) open(ctx context.Context) error {
	cfg := m.cfg
	sf := cfg.Salesforce
	auth, client, hc, err := newSalesforce(cfg, m.log, m.metrics.observeLimits)
	if err != nil {
		return err
	}
	m.auth, m.client = auth, client
	// PageSize 1,000 (Twilio's most, ref §2.5): recovery after a crash
	// lists each (recipient, sender) group once, however many sends it
	// resolves.
	m.tw, err = twilio.NewAccounts(cfg.Twilio.Accounts, twilio.Options{BaseURL: cfg.Twilio.APIBaseURL, PageSize: 1000})
	if err != nil {
		return fmt.Errorf("twilio: %w", err)
	}

	sopts := m.tun.Store
	sopts.Logger = m.log.Named("store")
	m.store, err = store.Open(ctx, cfg.Store.URL, sopts)
	if err != nil {
		return err
	}

	// One adapter for the whole engine: it packs concurrent calls from
	// every batcher into shared /composite requests.
	m.org = m.client.Org()
	org := m.org
	window := m.tun.BatchWindow
	messenger := m.metrics.countingMessenger(m.tw.Messenger())
	// Status callbacks wait longest for company: a status lands a second
	// later at no cost, and a message's sent and delivered then share one
	// write (SPEC §3 only asks that it never moves backwards).
	m.cb = sbsync.NewCallbacks(sbsync.CallbacksConfig{
		BatchWindow: m.tun.statusWindow(), Describe: twilio.ErrorDescription,
		Unrecorded: func(sid string) bool { return m.out != nil && m.out.Unrecorded(sid) },
	}, org, m.store, m.log.Named("callbacks"))
	consent := sbsync.NewConsent(org, m.log.Named("consent"), window)
	m.out = sbsync.NewOutbound(sbsync.OutboundConfig{
		DefaultChannel:     cfg.Twilio.DefaultChannel,
		DefaultRegion:      cfg.Engine.DefaultRegion,
		StatusCallback:     cfg.Server.PublicURL + "/twilio/status",
		BatchWindow:        window,
		WriteWindow:        m.tun.WriteWindow,
		MaxConcurrentSends: cfg.Twilio.MaxConcurrency,
		SenderRate:         cfg.Twilio.SenderRates,
		MergeFields:        cfg.Engine.MergeFields,
		IntentGrace:        2 * jobTimeout(m.tun.Store),
		MinSendTime:        jobTimeout(m.tun.Store) / 2,
		OnRecorded:         func(ctx context.Context, sid string) error { return m.cb.ApplyParked(ctx, []string{sid}) },
		OnOptOut:           consent.OptOut,
		ThreadLock: func(ctx context.Context) (func(), error) {
			return m.store.Lock(ctx, threadLockKey)
		},
		ResolveLock: func(ctx context.Context, group string) (func(), error) {
			return m.store.Lock(ctx, "resolve:"+group)
		},
	}, org, messenger, m.store, m.log.Named("outbound"))
	m.in = sbsync.NewInbound(sbsync.InboundConfig{DefaultRegion: cfg.Engine.DefaultRegion, BatchWindow: window, Now: m.tun.Now},
		org, m.out.Directory(), consent, m.log.Named("inbound"))
	m.convs = sbsync.NewConversations(org, m.log.Named("conversations"), window, m.in)
	m.poller = sbsync.NewPoller(sbsync.PollerConfig{Age: cfg.Engine.StatusPollAfter, DefaultAccountSID: cfg.Twilio.AccountSID},
		org, messenger, m.cb, m.log.Named("poller"))

	if err := m.registerJobs(); err != nil {
		return err
	}

	m.stream, err = sfdc.NewStream(sfdc.StreamConfig{
		Auth: m.auth, APIVersion: sf.APIVersion, HTTPClient: hc, Logger: m.log.Named("stream"),
		Channels:   streamChannels,
		ReplayFrom: m.replayFrom,
		Handle:     m.handleEvents,
		OnGap:      m.onGap,
		RetryMin:   m.tun.StreamRetryMin,
	})
	if err != nil {
		return err
	}
	m.metrics.watch(m.stream, m.store, m.client, m.cb)

	ws := &webhookServer{
		publicURL: cfg.Server.PublicURL, accounts: cfg.Twilio.Accounts, verify: twilio.ValidateSignature,
		queue: webhookStore{m.store}, ready: m.ready, log: m.log.Named("http"), metrics: m.metrics,
		refusals: newRefusalLog(m.log.Named("http"), m.tun.RefusalLogEvery),
	}
	m.httpSrv = newHTTPServer(ws.handler())
	m.ln = m.tun.Listener
	if m.ln == nil {
		m.ln, err = net.Listen("tcp", cfg.Server.Listen)
		if err != nil {
			return fmt.Errorf("server.listen %s: %w", cfg.Server.Listen, err)
		}
	}
	m.addr.Store(m.ln.Addr().String())
	if cfg.Server.AdminListen != "" {
		m.adminSrv = newHTTPServer(ws.adminHandler())
		if m.adminLn, err = net.Listen("tcp", cfg.Server.AdminListen); err != nil {
			return fmt.Errorf("server.admin_listen %s: %w", cfg.Server.AdminListen, err)
		}
		m.adminAddr.Store(m.adminLn.Addr().String())
	}
	return nil
}

// jobTimeout is the store's job timeout. A job's Twilio call is cancelled
// at it, so an intent older than twice it belongs to no running job (the
// margin covers a create Twilio still completes), and a job with less than
// half of it left does not start a create.
func jobTimeout(o store.Options) time.Duration {
	if o.JobTimeout <= 0 {
		return store.DefaultJobTimeout
	}
	return o.JobTimeout
}

// Subscribed reports whether Run has built everything and the stream is
// subscribed to every PushTopic. Safe to call from any goroutine; once it
// is true, the parts of m may be read.
func (m *Main) Subscribed() bool {
	select {
	case <-m.opened:
		return m.stream.Subscribed()
	default:
		return false
	}
}

// ready is /readyz: org authenticated and stream subscribed (a subscribed
// stream implies a valid session), store writable.
func (m *Main) ready(ctx context.Context) error {
	if !m.stream.Subscribed() {
		return errors.New("the Salesforce stream is not subscribed yet (org login or PushTopics: run switchboard doctor)")
	}
	if err := m.store.Writable(ctx); err != nil {
		return fmt.Errorf("store not writable: %w", err)
	}
	return nil
}

// registerJobs maps each job kind to the engine.
func (m *Main) registerJobs() error {
	org := m.org
	handlers := map[string]store.Handler{
		kindSend: func(ctx context.Context, j store.Job) error {
			var p struct {
				TaskID string `json:"task_id"`
			}
			if err := json.Unmarshal(j.Payload, &p); err != nil || p.TaskID == "" {
				return &sbsync.PermanentError{Err: fmt.Errorf("send job %q has no task id", j.Key)}
			}
			return m.out.Send(ctx, p.TaskID)
		},
		kindInbound: func(ctx context.Context, j store.Job) error {
			form, err := formFromPayload(j.Payload)
			if err != nil {
				return &sbsync.PermanentError{Err: err}
			}
			msg, err := twilio.ParseInbound(form)
			if err != nil {
				return &sbsync.PermanentError{Err: err}
			}
			if err := m.in.Handle(ctx, inboundMessage(msg, j)); err != nil {
				return err
			}
			m.metrics.inbound.Inc()
			return nil
		},
		kindStatus: func(ctx context.Context, j store.Job) error {
			form, err := formFromPayload(j.Payload)
			if err != nil {
				return &sbsync.PermanentError{Err: err}
			}
			sc, err := twilio.ParseStatus(form)
			if err != nil {
				return &sbsync.PermanentError{Err: err}
			}
			return m.cb.Handle(ctx, statusUpdate(sc, j))
		},
		kindConversation: func(ctx context.Context, j store.Job) error {
			var p struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(j.Payload, &p); err != nil || p.ID == "" {
				return &sbsync.PermanentError{Err: fmt.Errorf("conversation job %q has no conversation id", j.Key)}
			}
			return m.convs.Handle(ctx, p.ID)
		},
		// The sweep is also crash recovery: a Task whose send was cut off
		// (ledger intent, or sent but not written back) is still Pending,
		// so its new send job resolves the ledger entry (Outbound.Send).
		kindSweep: func(ctx context.Context, _ store.Job) error {
			if m.overBudget() {
				m.log.Warn("skipping this sweep: the org is over engine.api_budget of its daily API calls")
				return nil
			}
			n, err := sbsync.Sweep(ctx, org, 1000, m.enqueueSends)
			if n > 0 {
				m.log.Info("sweep queued pending tasks", zap.Int("tasks", n))
			}
			return err
		},
		kindReconcile: func(ctx context.Context, j store.Job) error {
			var p reconcilePayload
			if err := json.Unmarshal(j.Payload, &p); err != nil || p.Since.IsZero() {
				return &sbsync.PermanentError{Err: fmt.Errorf("reconcile job %q has no start time", j.Key)}
			}
			n, err := m.convs.Reconcile(ctx, p.Since)
			m.log.Info("reconciled conversations changed during a stream gap", zap.Int("conversations", n), zap.Time("since", p.Since))
			return err
		},
		kindPoll: func(ctx context.Context, _ store.Job) error {
			if m.overBudget() {
				m.log.Warn("skipping this status poll: the org is over engine.api_budget of its daily API calls")
				return nil
			}
			_, err := m.poller.Poll(ctx)
			return err
		},
	}
	for kind, h := range handlers {
		if err := m.store.Handle(kind, m.outageTolerant(h)); err != nil {
			return err
		}
	}
	pollEvery := m.tun.PollInterval
	if pollEvery <= 0 {
		pollEvery = time.Minute
	}
	for _, p := range []struct {
		kind  string
		every time.Duration
	}{{kindSweep, m.cfg.Engine.SweepInterval}, {kindPoll, pollEvery}} {
		if err := m.store.Periodic(p.kind, p.every, true); err != nil {
			return err
		}
	}
	return nil
}

// outageTolerant turns a transient Salesforce failure (503, row locks,
// network; the client has already retried it a few times) into a snooze
// that uses no attempt: an outage of any length delays work but never
// dead-letters a message (SPEC §3 "Nothing is lost").
func (m *Main) outageTolerant(h store.Handler) store.Handler {
	base := m.tun.OutageRetry
	if base <= 0 {
		base = 5 * time.Second
	}
	return func(ctx context.Context, j store.Job) (err error) {
		start := time.Now()
		defer func() { m.metrics.observeJob(j.Kind, time.Since(start), err) }()
		err = h(ctx, j)
		if err == nil || sbsync.IsPermanent(err) || !sfdc.IsRetryable(err) {
			return err
		}
		var re *sbsync.RetryError
		if errors.As(err, &re) {
			return err
		}
		after := base + rand.N(base)
		m.log.Warn("salesforce unavailable; the job will run again", zap.String("kind", j.Kind),
			zap.String("key", j.Key), zap.Duration("after", after), zap.Error(err))
		return &sbsync.RetryError{After: after, Err: err}
	}
}

// overBudget: the org has used more than engine.api_budget of its daily
// calls, so background work (sweeps, polls) yields to sends and replies.
func (m *Main) overBudget() bool {
	l := m.client.Limits()
	return l.Max > 0 && float64(l.Used) >= m.cfg.Engine.APIBudget*float64(l.Max)
}

// enqueueSends queues one send job per Pending transition found by a sweep.
func (m *Main) enqueueSends(ctx context.Context, tasks []sbsync.PendingTask) error {
	jobs := make([]store.Job, len(tasks))
	for i, t := range tasks {
		jobs[i] = sendJob(t.ID, "sweep:"+m.startID+":"+t.Key())
	}
	return m.store.Enqueue(ctx, jobs...)
}

func sendJob(taskID, key string) store.Job {
	b, _ := json.Marshal(map[string]string{"task_id": taskID})
	return store.Job{Kind: kindSend, Key: key, Payload: b}
}

// replayFrom is the stored checkpoint of channel, or -1 (new events only)
// on a first start: the sweep at start covers what came before.
func (m *Main) replayFrom(ctx context.Context, channel string) (int64, error) {
	id, ok, err := m.store.Checkpoint(ctx, channel)
	if err != nil || !ok {
		return -1, err
	}
	return id, nil
}

// handleEvents turns notifications into jobs and stores them together with
// the channel's checkpoint, in one transaction: the checkpoint is never
// ahead of what is durably queued (SPEC §3 "Nothing is lost").
func (m *Main) handleEvents(ctx context.Context, channel string, events []sfdc.Event) error {
	jobs := make([]store.Job, 0, len(events))
	var last int64
	for _, ev := range events {
		last = max(last, ev.ReplayID)
		var rec struct {
			ID string `json:"Id"`
		}
		if err := json.Unmarshal(ev.SObject, &rec); err != nil || rec.ID == "" {
			m.log.Warn("notification without a record Id; ignored", zap.String("channel", channel), zap.Int64("replay_id", ev.ReplayID))
			continue
		}
		// The key carries the replay id: the same notification delivered
		// twice is one job, while a Task set back to Pending is a new one.
		key := rec.ID + "@" + strconv.FormatInt(ev.ReplayID, 10)
		switch channel {
		case channelTasks:
			if ev.Type == "deleted" {
				continue
			}
			jobs = append(jobs, sendJob(rec.ID, key))
		case channelConversations:
			b, _ := json.Marshal(map[string]string{"id": rec.ID})
			jobs = append(jobs, store.Job{Kind: kindConversation, Key: key, Payload: b})
		}
	}
	m.metrics.events.WithLabelValues(channel).Add(float64(len(events)))
	return m.store.EnqueueAndCheckpoint(ctx, jobs, channel, last)
}

// onGap: notifications may have been missed. For Tasks, a sweep finds
// every Pending one; for conversations, every one changed since the last
// event we have is reconciled. The stale checkpoint is dropped so a
// restart does not trip over it again.
func (m *Main) onGap(ctx context.Context, channel, reason string) {
	m.log.Warn("stream gap: notifications may have been missed", zap.String("channel", channel), zap.String("reason", reason))
	since := time.Now().Add(-reconcileFallback)
	if at, ok, err := m.store.CheckpointTime(ctx, channel); err == nil && ok {
		since = at.Add(-reconcileMargin)
	}
	key := "gap:" + strconv.FormatInt(time.Now().UnixNano(), 10)
	var job store.Job
	switch channel {
	case channelTasks:
		job = store.Job{Kind: kindSweep, Key: key}
	case channelConversations:
		b, err := json.Marshal(reconcilePayload{Since: since})
		if err != nil {
			m.log.Error("encoding a reconciliation job", zap.Error(err))
			return
		}
		job = store.Job{Kind: kindReconcile, Key: key, Payload: b}
	}
	// Queued before the checkpoint goes: a crash in between leaves the
	// checkpoint, and the next start finds the same gap again.
	if job.Kind != "" {
		if err := m.store.Enqueue(ctx, job); err != nil {
			// The checkpoint stays: the next start is refused the same
			// replay id and tries again (and the periodic sweep covers Tasks).
			m.log.Error("queueing the catch-up after a stream gap", zap.String("kind", job.Kind), zap.Error(err))
			return
		}
	}
	if err := m.store.ResetCheckpoint(ctx, channel); err != nil {
		m.log.Warn("resetting the checkpoint", zap.String("channel", channel), zap.Error(err))
	}
}

// webhookStore adapts the store to the webhook server's queue.
type webhookStore struct{ s *store.Store }

func (w webhookStore) EnqueueWebhook(ctx context.Context, kind, key string, form url.Values) error {
	b, err := formPayload(form)
	if err != nil {
		return err
	}
	return w.s.Enqueue(ctx, store.Job{Kind: kind, Key: key, Payload: b})
}

// inboundMessage maps a parsed webhook to the engine's message.
func inboundMessage(in twilio.Inbound, j store.Job) sbsync.InboundMessage {
	urls := make([]string, len(in.Media))
	for i, md := range in.Media {
		urls[i] = md.URL
	}
	return sbsync.InboundMessage{
		SID: in.MessageSID, AccountSID: in.AccountSID, From: in.From, To: in.To,
		MessagingServiceSID: in.MessagingServiceSID, Body: in.Body, MediaURLs: urls,
		// Its arrival, not when this attempt runs: a retry must neither
		// look newer than a later STOP nor unlike its own Task (Inbound.Handle).
		OptOutType: in.OptOutType, ReceivedAt: j.CreatedAt,
	}
}

// statusUpdate maps a parsed status callback to the engine's update.
func statusUpdate(sc twilio.StatusCallback, j store.Job) sbsync.StatusUpdate {
	return sbsync.StatusUpdate{SID: sc.MessageSID, AccountSID: sc.AccountSID, Status: sc.Status,
		ErrorCode: sc.ErrorCode, At: j.RunAt}
}
