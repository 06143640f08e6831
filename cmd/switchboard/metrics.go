package main

import (
	"context"
	"errors"
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
	m.reg.MustRegister(m.webhooks, m.webhookAck, m.sends, m.sendTime, m.inbound, m.events, m.apiUsed, m.apiMax)
	return m
}

func (m *metrics) observeLimits(l sfdc.Limits) {
	m.apiUsed.Set(float64(l.Used))
	m.apiMax.Set(float64(l.Max))
}

// watch registers collectors read at scrape time: the stream's counters
// and the queue's depth.
func (m *metrics) watch(s *sfdc.Stream, st *store.Store) {
	m.reg.MustRegister(&streamCollector{s: s}, &queueCollector{s: st})
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
		ch <- prometheus.MustNewConstMetric(reconnectsDesc, prometheus.CounterValue, float64(n), cause)
	}
	sub := 0.0
	if c.s.Subscribed() {
		sub = 1
	}
	ch <- prometheus.MustNewConstMetric(subscribedDesc, prometheus.GaugeValue, sub)
}

type queueCollector struct{ s *store.Store }

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueDesc }
func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	depth, err := c.s.QueueDepth(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDesc, err)
		return
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
