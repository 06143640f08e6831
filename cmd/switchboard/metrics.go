package main

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/switchboard/switchboard/sfdc"
	sbsync "github.com/switchboard/switchboard/sync"
	"github.com/switchboard/switchboard/sync/store"
)

// metrics are the daemon's Prometheus series. Each Main has its own
// registry (no global state), so tests can run several daemons at once.
type metrics struct {
	reg *prometheus.Registry

	webhooks   *prometheus.CounterVec   // kind, code
	webhookAck *prometheus.HistogramVec // kind
	sends      *prometheus.CounterVec   // result: sent, failed, retried, ambiguous; code
	sendTime   prometheus.Histogram
	inbound    prometheus.Counter
	events     *prometheus.CounterVec // channel
	apiUsed    prometheus.Gauge
	apiMax     prometheus.Gauge
	jobs       *prometheus.CounterVec   // kind, result
	jobTime    *prometheus.HistogramVec // kind
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_webhooks_total",
		Help: "Twilio webhook requests by kind (inbound, status) and HTTP status answered.",
	}, []string{"kind", "code"})
	m.webhookAck = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "switchboard_webhook_ack_seconds",
		Help:    "Time from a webhook request to its acknowledgement, including the durable write.",
		Buckets: []float64{.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"kind"})
	m.sends = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_twilio_sends_total",
		Help: "Twilio create calls by result (sent, failed: refused for good, retried: throttled or down, ambiguous: outcome unknown) and Twilio error code.",
	}, []string{"result", "code"})
	m.sendTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "switchboard_twilio_send_seconds",
		Help:    "Duration of Twilio create calls.",
		Buckets: prometheus.DefBuckets,
	})
	m.inbound = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_inbound_messages_total",
		Help: "Inbound messages taken from the queue for processing.",
	})
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_stream_events_total",
		Help: "PushTopic notifications durably queued, by channel.",
	}, []string{"channel"})
	m.apiUsed = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "switchboard_salesforce_api_calls_used",
		Help: "The org's API calls used in the rolling 24 hours (Sforce-Limit-Info).",
	})
	m.apiMax = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "switchboard_salesforce_api_calls_limit",
		Help: "The org's daily API call limit (Sforce-Limit-Info).",
	})
	m.jobs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_jobs_total",
		Help: "Queue jobs run, by kind (send, inbound, status, conversation, sweep, poll) and result (done, retry: snoozed without using an attempt, failed: will retry, permanent: dead letter).",
	}, []string{"kind", "result"})
	m.jobTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "switchboard_job_seconds",
		Help:    "Duration of queue jobs by kind: for send, from the job's start to the Task's write-back; for inbound, to the Task in Salesforce.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"kind"})
	m.reg.MustRegister(m.webhooks, m.webhookAck, m.sends, m.sendTime, m.inbound, m.events, m.apiUsed, m.apiMax, m.jobs, m.jobTime)
	return m
}

func (m *metrics) observeLimits(l sfdc.Limits) {
	m.apiUsed.Set(float64(l.Used))
	m.apiMax.Set(float64(l.Max))
}

// watch registers collectors read at scrape time: the stream's counters,
// the queue's depth, this process's Salesforce calls and what status
// callbacks did.
func (m *metrics) watch(s *sfdc.Stream, st *store.Store, c *sfdc.Client, cb *sbsync.Callbacks) {
	m.reg.MustRegister(&streamCollector{s: s}, &queueCollector{s: st, kinds: sbsync.JobKinds},
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "switchboard_salesforce_calls_total",
			Help: "Salesforce REST calls this process made (a /composite request is one call, as Salesforce counts it).",
		}, func() float64 { return float64(c.Calls()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "switchboard_callbacks_applied_total",
			Help: "Status updates (callbacks or polls) that moved a Task's Message_Status__c up.",
		}, func() float64 { return float64(cb.Stats().Applied) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "switchboard_callbacks_ignored_total",
			Help: "Status updates that did not rank above the Task's status (late or duplicate) and were not applied.",
		}, func() float64 { return float64(cb.Stats().Ignored) }))
}

// observeJob records one job run.
func (m *metrics) observeJob(kind string, took time.Duration, err error) {
	result := "done"
	var re *sbsync.RetryError
	switch {
	case err == nil:
	case sbsync.IsPermanent(err):
		result = "permanent"
	case errors.As(err, &re):
		result = "retry"
	default:
		result = "failed"
	}
	m.jobs.WithLabelValues(kind, result).Inc()
	if err == nil {
		m.jobTime.WithLabelValues(kind).Observe(took.Seconds())
	}
}

var (
	reconnectsDesc = prometheus.NewDesc("switchboard_stream_reconnects_total",
		"Streaming sessions rebuilt, by cause.", []string{"cause"}, nil)
	subscribedDesc = prometheus.NewDesc("switchboard_stream_subscribed",
		"1 when every PushTopic channel is subscribed.", nil, nil)
	queueDesc = prometheus.NewDesc("switchboard_queue_jobs",
		"Unfinished jobs and dead letters by kind and state (available, scheduled, retryable, running, dead).", []string{"kind", "state"}, nil)
)

type streamCollector struct{ s *sfdc.Stream }

func (c *streamCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- reconnectsDesc
	ch <- subscribedDesc
}
func (c *streamCollector) Collect(ch chan<- prometheus.Metric) {
	for cause, n := range c.s.Stats().Reconnects {
		ch <- prometheus.MustNewConstMetric(reconnectsDesc, prometheus.CounterValue, float64(n), string(cause))
	}
	sub := 0.0
	if c.s.Subscribed() {
		sub = 1
	}
	ch <- prometheus.MustNewConstMetric(subscribedDesc, prometheus.GaugeValue, sub)
}

// queueCollector reports every job kind, with zeros for an idle one, so a
// dashboard's series never vanish.
type queueCollector struct {
	s     *store.Store
	kinds []string
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueDesc }
func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	depth, err := c.s.QueueDepth(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDesc, err)
		return
	}
	for _, k := range c.kinds {
		if _, ok := depth[k]; !ok {
			depth[k] = store.Depth{}
		}
	}
	for kind, d := range depth {
		for state, n := range map[string]int64{"available": d.Available, "scheduled": d.Scheduled,
			"retryable": d.Retryable, "running": d.Running, "dead": d.Dead} {
			ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(n), kind, state)
		}
	}
}

// countingMessenger counts Twilio creates by outcome without the engine
// knowing about Prometheus.
type countingMessenger struct {
	sbsync.Messenger
	m *metrics
}

func (m *metrics) countingMessenger(inner sbsync.Messenger) sbsync.Messenger {
	return countingMessenger{Messenger: inner, m: m}
}

func (c countingMessenger) Send(ctx context.Context, accountSID string, out sbsync.Outgoing) (sbsync.Sent, error) {
	start := time.Now()
	s, err := c.Messenger.Send(ctx, accountSID, out)
	c.m.sendTime.Observe(time.Since(start).Seconds())
	if err == nil {
		c.m.sends.WithLabelValues("sent", "").Inc()
		return s, nil
	}
	result, code := "retried", ""
	var se *sbsync.SendError
	if errors.As(err, &se) {
		switch se.Kind {
		case sbsync.Permanent:
			result = "failed"
		case sbsync.Ambiguous:
			result = "ambiguous"
		}
		if se.Code != 0 {
			code = strconv.Itoa(se.Code)
		}
	}
	c.m.sends.WithLabelValues(result, code).Inc()
	return s, err
}

// observeWebhook records one webhook answer; an accepted one (200, 204)
// also its time to acknowledge, the durable write included.
func (m *metrics) observeWebhook(kind string, status int, took time.Duration) {
	m.webhooks.WithLabelValues(kind, strconv.Itoa(status)).Inc()
	if status == http.StatusOK || status == http.StatusNoContent {
		m.webhookAck.WithLabelValues(kind).Observe(took.Seconds())
	}
}
