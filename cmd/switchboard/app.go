package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
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

// Job kinds of the work queue (sync/jobkinds.go), named here for the
// tests.
const (
	kindSend    = sbsync.KindSend
	kindSweep   = sbsync.KindSweep
	kindInbound = sbsync.KindInbound
	kindStatus  = sbsync.KindStatus
)

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

// Main is the daemon: every part built from configuration and wired, so an
// end-to-end test runs the real program in-process against the simulators
// (STYLE: the wtf Main pattern).
type Main struct {
	cfg *config.Config
	log *zap.Logger
	tun tuning

	auth    *sfdc.Auth
	client  *sfdc.Client
	stream  *sfdc.Stream
	tw      *twilio.Accounts
	store   *store.Store
	engine  *sbsync.Engine
	startID string // tells this process's sweep jobs from a killed one's (sbsync.Engine.StartSweep)
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
	if err := m.engine.StartSweep(runCtx); err != nil {
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
		m.engine.Recover(gctx)
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
	m.engine, err = sbsync.NewEngine(m.engineOptions(), m.client.Org(), m.metrics.countingMessenger(m.tw.Messenger()),
		m.store, m.log)
	if err != nil {
		return err
	}

	m.stream, err = sfdc.NewStream(sfdc.StreamConfig{
		Auth: m.auth, APIVersion: sf.APIVersion, HTTPClient: hc, Logger: m.log.Named("stream"),
		Channels:   streamChannels,
		ReplayFrom: m.engine.ReplayFrom,
		Handle:     m.handleEvents,
		OnGap:      m.engine.OnGap,
		RetryMin:   m.tun.StreamRetryMin,
	})
	if err != nil {
		return err
	}
	m.metrics.watch(m.stream, m.store, m.client, m.engine.Callbacks)

	webhooks := twilio.NewWebhooks(twilio.WebhookOptions{
		PublicURL: cfg.Server.PublicURL, Accounts: m.tw, Queue: webhookStore{m.store},
		Log: m.log.Named("http"), RefusalLogEvery: m.tun.RefusalLogEvery, Observe: m.metrics.observeWebhook,
	})
	m.httpSrv = newHTTPServer(publicHandler(webhooks))
	m.ln = m.tun.Listener
	if m.ln == nil {
		m.ln, err = net.Listen("tcp", cfg.Server.Listen)
		if err != nil {
			return fmt.Errorf("server.listen %s: %w", cfg.Server.Listen, err)
		}
	}
	m.addr.Store(m.ln.Addr().String())
	if cfg.Server.AdminListen != "" {
		m.adminSrv = newHTTPServer(adminHandler(m.ready, m.metrics))
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

// engineOptions fills the engine's settings from configuration and tuning,
// and hands it what it needs from Salesforce, Twilio and the metrics.
func (m *Main) engineOptions() sbsync.EngineOptions {
	cfg := m.cfg
	return sbsync.EngineOptions{
		DefaultChannel:      cfg.Twilio.DefaultChannel,
		DefaultRegion:       cfg.Engine.DefaultRegion,
		DefaultAccountSID:   cfg.Twilio.AccountSID,
		StatusCallback:      cfg.Server.PublicURL + pathStatus,
		MaxConcurrentSends:  cfg.Twilio.MaxConcurrency,
		SenderRate:          cfg.Twilio.SenderRates,
		MergeFields:         cfg.Engine.MergeFields,
		SweepInterval:       cfg.Engine.SweepInterval,
		StatusPollAfter:     cfg.Engine.StatusPollAfter,
		APIBudget:           cfg.Engine.APIBudget,
		TaskChannel:         channelTasks,
		ConversationChannel: channelConversations,
		StartID:             m.startID,
		JobTimeout:          jobTimeout(m.tun.Store),
		BatchWindow:         m.tun.BatchWindow,
		WriteWindow:         m.tun.WriteWindow,
		StatusWindow:        m.tun.StatusWindow,
		PollInterval:        m.tun.PollInterval,
		OutageRetry:         m.tun.OutageRetry,
		Now:                 m.tun.Now,
		Retryable:           sfdc.IsRetryable,
		APIUsage: func() (int, int) {
			l := m.client.Limits()
			return l.Used, l.Max
		},
		Describe:      twilio.ErrorDescription,
		DecodeInbound: decodeInbound,
		DecodeStatus:  decodeStatus,
		ObserveJob:    m.metrics.observeJob,
		OnInbound:     m.metrics.inbound.Inc,
	}
}

// handleEvents hands the stream's notifications to the engine.
func (m *Main) handleEvents(ctx context.Context, channel string, events []sfdc.Event) error {
	evs := make([]sbsync.StreamEvent, len(events))
	for i, ev := range events {
		evs[i] = sbsync.StreamEvent{ReplayID: ev.ReplayID, Type: ev.Type, SObject: ev.SObject}
	}
	m.metrics.events.WithLabelValues(channel).Add(float64(len(events)))
	return m.engine.HandleEvents(ctx, channel, evs)
}

// decodeInbound reads a queued inbound webhook.
func decodeInbound(j store.Job) (sbsync.InboundMessage, error) {
	msg, err := twilio.DecodeInbound(j.Payload)
	if err != nil {
		return sbsync.InboundMessage{}, err
	}
	return inboundMessage(msg, j), nil
}

// decodeStatus reads a queued status callback.
func decodeStatus(j store.Job) (sbsync.StatusUpdate, error) {
	sc, err := twilio.DecodeStatus(j.Payload)
	if err != nil {
		return sbsync.StatusUpdate{}, err
	}
	return statusUpdate(sc, j), nil
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
