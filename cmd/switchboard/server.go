package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/switchboard/switchboard/config"
)

// maxWebhookBody bounds a webhook body. Twilio's largest form (an MMS with
// ten media URLs and every geographic field) is a few kB; 64 KiB leaves room
// without letting a stranger stream megabytes at the listener.
const maxWebhookBody = 64 << 10

// emptyTwiML answers an inbound message without replying to the customer.
// The content type matters: a text/plain body would be texted back to the
// customer (twilio.md §5.3).
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response/>`

// Webhook kinds, also the queue's job kinds.
const (
	kindInbound = "inbound"
	kindStatus  = "status"
)

// webhookQueue persists an accepted webhook durably before it is answered.
type webhookQueue interface {
	EnqueueWebhook(ctx context.Context, kind, key string, form url.Values) error
}

// signatureCheck reports whether sig is Twilio's signature of (url, form)
// under authToken (twilio.md §6).
type signatureCheck func(url string, form url.Values, sig, authToken string) bool

// readiness reports whether the daemon can do its work: org authenticated,
// stream subscribed, store writable. nil means ready.
type readiness func(ctx context.Context) error

// webhookServer serves Twilio's webhooks, health and metrics on one
// listener (SPEC §4).
type webhookServer struct {
	publicURL string            // server.public_url, without a trailing slash
	accounts  map[string]string // Account SID → auth token
	verify    signatureCheck
	queue     webhookQueue
	ready     readiness
	log       *zap.Logger
	metrics   *metrics
}

func (s *webhookServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/twilio/inbound", s.webhook(kindInbound))
	mux.HandleFunc("/twilio/status", s.webhook(kindStatus))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", s.readyz)
	mux.Handle("/metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	return mux
}

func (s *webhookServer) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.ready(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready:", err)
		return
	}
	fmt.Fprintln(w, "ready")
}

// webhookError is an answer to Twilio (or whoever called) that stores
// nothing.
type webhookError struct {
	status int
	msg    string
}

func (s *webhookServer) webhook(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		form, key, werr := s.accept(kind, w, r)
		if werr == nil {
			// Twilio waits at most 15 s (twilio.md §5.2); the store answers in
			// milliseconds, so a slow store is a fault to report, not to wait on.
			ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
			err := s.queue.EnqueueWebhook(ctx, kind, key, form)
			cancel()
			if err != nil {
				s.log.Error("could not store the webhook; Twilio will use the fallback URL or retry",
					zap.String("kind", kind), config.MessageSID(form.Get("MessageSid")), zap.Error(err))
				werr = &webhookError{http.StatusServiceUnavailable, "could not store the request"}
			}
		}
		if werr != nil {
			s.metrics.webhooks.WithLabelValues(kind, fmt.Sprint(werr.status)).Inc()
			if werr.status == http.StatusMethodNotAllowed {
				w.Header().Set("Allow", http.MethodPost)
			}
			http.Error(w, werr.msg, werr.status)
			return
		}
		s.metrics.webhookAck.WithLabelValues(kind).Observe(time.Since(start).Seconds())
		if kind == kindInbound {
			s.metrics.webhooks.WithLabelValues(kind, "200").Inc()
			w.Header().Set("Content-Type", "text/xml; charset=utf-8")
			_, _ = w.Write([]byte(emptyTwiML))
			return
		}
		s.metrics.webhooks.WithLabelValues(kind, "204").Inc()
		w.WriteHeader(http.StatusNoContent)
	}
}

// accept checks a webhook request and returns its form and queue key.
func (s *webhookServer) accept(kind string, w http.ResponseWriter, r *http.Request) (url.Values, string, *webhookError) {
	if r.Method != http.MethodPost {
		return nil, "", &webhookError{http.StatusMethodNotAllowed, "only POST is accepted"}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxWebhookBody)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, "", &webhookError{http.StatusRequestEntityTooLarge, "request body too large"}
		}
		return nil, "", &webhookError{http.StatusBadRequest, "body is not a form: " + err.Error()}
	}
	// Only the body's parameters are signed as parameters; the query string
	// is part of the signed URL (twilio.md §6.1).
	form := r.PostForm
	sid := form.Get("AccountSid")
	token, known := s.accounts[sid]
	if !known {
		s.log.Warn("webhook from an account that is not configured; refused",
			zap.String("kind", kind), zap.String("account_sid", sid))
		return nil, "", &webhookError{http.StatusForbidden, "unknown account"}
	}
	// Twilio signs the URL it called: server.public_url, not whatever a
	// proxy forwarded to us (twilio.md §6.5).
	signed := s.publicURL + r.URL.Path
	if r.URL.RawQuery != "" {
		signed += "?" + r.URL.RawQuery
	}
	if !s.verify(signed, form, r.Header.Get("X-Twilio-Signature"), token) {
		s.log.Warn("webhook signature does not match; refused (is server.public_url the URL Twilio calls?)",
			zap.String("kind", kind), zap.String("signed_url", signed))
		return nil, "", &webhookError{http.StatusForbidden, "invalid signature"}
	}
	msgSID := form.Get("MessageSid")
	if msgSID == "" {
		msgSID = form.Get("SmsSid")
	}
	if msgSID == "" {
		return nil, "", &webhookError{http.StatusBadRequest, "MessageSid is missing"}
	}
	key := msgSID
	if kind == kindStatus {
		status := strings.ToLower(form.Get("MessageStatus"))
		if status == "" {
			status = strings.ToLower(form.Get("SmsStatus"))
		}
		if status == "" {
			return nil, "", &webhookError{http.StatusBadRequest, "MessageStatus is missing"}
		}
		// One job per (SID, status): a repeated callback is the same job.
		key = msgSID + "@" + status
	}
	return form, key, nil
}

// formPayload is how a webhook form is kept in the queue: the parameters
// exactly as Twilio sent them, so nothing is lost to an early parse.
func formPayload(form url.Values) ([]byte, error) { return json.Marshal(form) }

// formFromPayload reverses formPayload.
func formFromPayload(b []byte) (url.Values, error) {
	var form url.Values
	if err := json.Unmarshal(b, &form); err != nil {
		return nil, fmt.Errorf("stored webhook is not a form: %w", err)
	}
	return form, nil
}
