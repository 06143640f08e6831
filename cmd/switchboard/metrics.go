package main

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the daemon's Prometheus series. Each Main has its own
// registry (no global state), so tests can run several daemons at once.
type metrics struct {
	reg *prometheus.Registry

	webhooks   *prometheus.CounterVec   // kind, code
	webhookAck *prometheus.HistogramVec // kind
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
	m.reg.MustRegister(m.webhooks, m.webhookAck)
	return m
}
