package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	gosync "sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/switchboard/switchboard/config"
	"github.com/switchboard/switchboard/internal/endpoint"
	sbsync "github.com/switchboard/switchboard/sync"
	"github.com/switchboard/switchboard/twilio"
)

// maxWebhookBody bounds a webhook body. Twilio's largest form (an MMS with
// ten media URLs and every geographic field) is a few kB; 64 KiB leaves room
// without letting a stranger stream megabytes at the listener.
const maxWebhookBody = 64 << 10

// maxHeaderBytes bounds the request line and headers (Go's default is
// 1 MB). Twilio's URL is server.public_url plus a path, and its headers
// (signature, user agent, idempotency token) are well under 1 kB.
const maxHeaderBytes = 16 << 10

// newHTTPServer is how every listener of the daemon serves: bounded
// headers and reads, so a slow or oversized request costs little.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, MaxHeaderBytes: maxHeaderBytes}
}

// emptyTwiML answers an inbound message without replying to the customer.
// The content type matters: a text/plain body would be texted back to the
// customer (twilio.md §5.3).
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response/>`

// Webhook kinds, also the queue's job kinds.
const (
	kindInbound = sbsync.KindInbound
	kindStatus  = sbsync.KindStatus
)

// webhookQueue persists an accepted webhook durably before it is answered.
type webhookQueue interface {
	EnqueueWebhook(ctx context.Context, kind, key string, form url.Values) error
}

// readiness reports whether the daemon can do its work: org authenticated,
// stream subscribed, store writable. nil means ready.
type readiness func(ctx context.Context) error

// webhookServer serves Twilio's webhooks and /healthz on the public
// listener, and /readyz and /metrics on the operator listener (SPEC §4):
// queue depths, API usage and error texts are nobody else's business.
type webhookServer struct {
	publicURL string            // server.public_url, without a trailing slash
	accounts  map[string]string // Account SID → auth token
	queue     webhookQueue
	ready     readiness
	log       *zap.Logger
	metrics   *metrics
	refusals  *refusalLog
}

func (s *webhookServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/twilio/inbound", s.webhook(kindInbound))
	mux.HandleFunc("/twilio/status", s.webhook(kindStatus))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// adminHandler serves the operator endpoints (server.admin_listen).
func (s *webhookServer) adminHandler() http.Handler {
	mux := http.NewServeMux()
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
// nothing. cause names it in the log (one line per cause per interval);
// fields say more, each bounded, since whoever called chose them.
type webhookError struct {
	status int
	msg    string
	cause  string
	fields []zap.Field
}

// forbidden is the one answer to a request no configured account signed:
// whether the Account SID is configured or the signature is wrong is told
// to the log, not to the caller.
const forbidden = "the request is not signed by a configured Twilio account"

// unknownAccountToken stands in for the token of an Account SID that is not
// configured, so that refusing it costs the same HMAC as a bad signature
// and its timing does not tell which SIDs are configured either.
const unknownAccountToken = "00000000000000000000000000000000"

// isLoopbackHost reports whether host (a name or address, without a port)
// stays on this machine: the one rule, under the name demo and doctor call.
var isLoopbackHost = endpoint.IsLoopback

// logClip bounds what a log line quotes of a request.
const logClip = 200

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
				werr = &webhookError{status: http.StatusServiceUnavailable, msg: "could not store the request"}
			}
		}
		if werr != nil {
			if werr.cause != "" {
				s.refusals.refused(kind, werr.cause, append(werr.fields,
					zap.String("path", clipLog(r.URL.Path)), zap.Int("query_bytes", len(r.URL.RawQuery)),
					zap.String("remote", clipLog(r.RemoteAddr)), zap.Int("status", werr.status))...)
			}
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
// Everything that can be refused is refused before the queue: a request
// no configured account signed gets 403, a signed one Twilio would not
// send (a field missing, malformed or oversize) gets 400 with the reason,
// which Twilio shows in its debugger, instead of 200 and a dead letter.
func (s *webhookServer) accept(kind string, w http.ResponseWriter, r *http.Request) (url.Values, string, *webhookError) {
	if r.Method != http.MethodPost {
		return nil, "", &webhookError{status: http.StatusMethodNotAllowed, msg: "only POST is accepted", cause: "method",
			fields: []zap.Field{zap.String("method", clipLog(r.Method))}}
	}
	// Messaging webhooks are form-encoded (twilio.md §5.3, §5.4); anything
	// else would parse as an empty form and be refused as unsigned.
	ct := r.Header.Get("Content-Type")
	if mt, _, _ := mime.ParseMediaType(ct); mt != "application/x-www-form-urlencoded" {
		return nil, "", &webhookError{status: http.StatusUnsupportedMediaType, msg: "Twilio's webhooks are application/x-www-form-urlencoded",
			cause: "not_a_form", fields: []zap.Field{zap.String("content_type", clipLog(ct))}}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxWebhookBody)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, "", &webhookError{status: http.StatusRequestEntityTooLarge, msg: "request body too large", cause: "too_large"}
		}
		return nil, "", &webhookError{status: http.StatusBadRequest, msg: "body is not a form: " + err.Error(), cause: "bad_form",
			fields: []zap.Field{zap.String("reason", clipLog(err.Error()))}}
	}
	// Only the body's parameters are signed as parameters; the query string
	// is part of the signed URL (twilio.md §6.1).
	form := r.PostForm
	sid := form.Get("AccountSid")
	token, known := s.accounts[sid]
	if !known {
		token = unknownAccountToken
	}
	// Twilio signs the URL it called: server.public_url, not whatever a
	// proxy forwarded to us (twilio.md §6.5), with the path and query as
	// sent. ValidateRequest is the one check (library users call it too).
	if valid := twilio.ValidateRequest(r, s.publicURL, token); !valid || !known {
		werr := &webhookError{status: http.StatusForbidden, msg: forbidden, cause: "unknown_account",
			fields: []zap.Field{zap.String("account_sid", clipLog(sid))}}
		if known {
			// The query is left out: it is the caller's to make long.
			werr.cause = "bad_signature"
			werr.fields = append(werr.fields, zap.String("checked_url", clipLog(strings.TrimSuffix(twilio.PublicURL(r, s.publicURL), "?"+r.URL.RawQuery))),
				zap.String("hint", "is server.public_url the URL Twilio calls?"))
		}
		return nil, "", werr
	}
	var msgSID, status string
	var err error
	if kind == kindInbound {
		var in twilio.Inbound
		in, err = twilio.ParseInbound(form)
		msgSID = in.MessageSID
	} else {
		var sc twilio.StatusCallback
		sc, err = twilio.ParseStatus(form)
		msgSID, status = sc.MessageSID, sc.Status
	}
	if err != nil {
		return nil, "", &webhookError{status: http.StatusBadRequest, msg: err.Error(), cause: "invalid_fields",
			fields: []zap.Field{zap.String("reason", clipLog(err.Error())), zap.String("account_sid", sid)}}
	}
	if kind == kindStatus {
		// One job per (SID, status): a repeated callback is the same job.
		return form, msgSID + "@" + status, nil
	}
	return form, msgSID, nil
}

// clipLog shortens request data quoted in a log line to logClip bytes.
func clipLog(s string) string {
	if len(s) <= logClip {
		return s
	}
	return fmt.Sprintf("%s… (%d bytes)", strings.ToValidUTF8(s[:logClip], ""), len(s))
}

// refusalLog logs refused webhook requests, at most one line per kind and
// cause per interval, each carrying how many were refused since the last:
// anyone can send requests, and the log must not grow with them.
type refusalLog struct {
	log   *zap.Logger
	every time.Duration

	mu    gosync.Mutex
	lines map[string]*refusalCount
}

type refusalCount struct {
	last       time.Time
	suppressed int
}

func newRefusalLog(log *zap.Logger, every time.Duration) *refusalLog {
	if every <= 0 {
		every = time.Minute
	}
	return &refusalLog{log: log, every: every, lines: map[string]*refusalCount{}}
}

func (l *refusalLog) refused(kind, cause string, fields ...zap.Field) {
	now := time.Now()
	l.mu.Lock()
	c := l.lines[kind+"/"+cause]
	if c == nil {
		c = &refusalCount{}
		l.lines[kind+"/"+cause] = c
	}
	if !c.last.IsZero() && now.Sub(c.last) < l.every {
		c.suppressed++
		l.mu.Unlock()
		return
	}
	n := c.suppressed
	c.last, c.suppressed = now, 0
	l.mu.Unlock()
	l.log.Warn("webhook refused", append([]zap.Field{zap.String("kind", kind), zap.String("cause", cause),
		zap.Int("refused_since_last_line", n), zap.Duration("at_most_one_line_per", l.every)}, fields...)...)
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
