package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard/switchboard/internal/endpoint"
	"github.com/switchboard/switchboard/sync/store"
	"github.com/switchboard/switchboard/twilio"
)

// maxHeaderBytes bounds the request line and headers (Go's default is
// 1 MB). Twilio's URL is server.public_url plus a path, and its headers
// (signature, user agent, idempotency token) are well under 1 kB.
const maxHeaderBytes = 16 << 10

// newHTTPServer is how every listener of the daemon serves: bounded
// headers and reads, so a slow or oversized request costs little.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, MaxHeaderBytes: maxHeaderBytes}
}

// The webhook paths under server.public_url: where the public listener
// serves Twilio, what doctor expects Twilio to call, and the status
// callback every send names.
const (
	pathInbound = "/twilio/inbound"
	pathStatus  = "/twilio/status"
)

// readiness reports whether the daemon can do its work: org authenticated,
// stream subscribed, store writable. nil means ready.
type readiness func(ctx context.Context) error

// publicHandler serves Twilio's webhooks (twilio.Webhooks) and /healthz on
// the public listener. /readyz and /metrics are on the operator listener
// (adminHandler, SPEC §4): queue depths, API usage and error texts are
// nobody else's business.
func publicHandler(webhooks *twilio.Webhooks) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(pathInbound, webhooks.Inbound())
	mux.Handle(pathStatus, webhooks.Status())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// adminHandler serves the operator endpoints (server.admin_listen).
func adminHandler(ready readiness, m *metrics) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := ready(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready:", err)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	return mux
}

// webhookStore adapts the store to the webhook handlers' queue.
type webhookStore struct{ s *store.Store }

func (w webhookStore) EnqueueWebhook(ctx context.Context, kind, key string, payload []byte) error {
	return w.s.Enqueue(ctx, store.Job{Kind: kind, Key: key, Payload: payload})
}

// isLoopbackHost reports whether host (a name or address, without a port)
// stays on this machine: the one rule, under the name demo and doctor call.
var isLoopbackHost = endpoint.IsLoopback
