package twilio

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

	"go.uber.org/zap"

	sbsync "github.com/switchboard/switchboard/sync"
)

// maxWebhookBody bounds a webhook body. Twilio's largest form (an MMS with
// ten media URLs and every geographic field) is a few kB; 64 KiB leaves room
// without letting a stranger stream megabytes at the listener.
const maxWebhookBody = 64 << 10

// emptyTwiML answers an inbound message without replying to the customer.
// The content type matters: a text/plain body would be texted back to the
// customer (ref §5.3).
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response/>`

// WebhookQueue persists an accepted webhook durably before it is answered.
// kind is sbsync.KindInbound or sbsync.KindStatus, key the job's
// idempotency key, payload the form as DecodeInbound and DecodeStatus read
// it back.
type WebhookQueue interface {
	EnqueueWebhook(ctx context.Context, kind, key string, payload []byte) error
}

// WebhookOptions configures the webhook handlers.
type WebhookOptions struct {
	// PublicURL is server.public_url: the signed URL is rebuilt from it
	// (ref §6.5).
	PublicURL string
	// Accounts are the configured accounts; a webhook must be signed by one.
	Accounts *Accounts
	Queue    WebhookQueue
	Log      *zap.Logger
	// RefusalLogEvery is how often each kind and cause of refusal is
	// logged at most (a minute by default).
	RefusalLogEvery time.Duration
	// Observe, if set, hears every answer: its kind, HTTP status and the
	// time from the request to the answer (for an accepted webhook, 200 or
	// 204, that includes the durable write). The daemon's metrics use it,
	// so this package needs no Prometheus.
	Observe func(kind string, status int, took time.Duration)
}

// Webhooks serves Twilio's inbound-message and status-callback webhooks:
// it refuses what Twilio would not send, checks the signature with
// (*Accounts).ValidateWebhook, and queues the form durably before it
// answers (SPEC §3).
type Webhooks struct {
	o        WebhookOptions
	refusals *refusalLog
}

// NewWebhooks builds the handlers.
func NewWebhooks(o WebhookOptions) *Webhooks {
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Observe == nil {
		o.Observe = func(string, int, time.Duration) {}
	}
	return &Webhooks{o: o, refusals: newRefusalLog(o.Log, o.RefusalLogEvery)}
}

// Inbound serves the inbound-message webhook (ref §5.3).
func (h *Webhooks) Inbound() http.Handler { return h.handler(sbsync.KindInbound) }

// Status serves the status-callback webhook (ref §5.4).
func (h *Webhooks) Status() http.Handler { return h.handler(sbsync.KindStatus) }

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

func (h *Webhooks) handler(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		form, key, werr := h.accept(kind, w, r)
		if werr == nil {
			werr = h.enqueue(r.Context(), kind, key, form)
		}
		if werr != nil {
			if werr.cause != "" {
				h.refusals.refused(kind, werr.cause, append(werr.fields,
					zap.String("path", clipLog(r.URL.Path)), zap.Int("query_bytes", len(r.URL.RawQuery)),
					zap.String("remote", clipLog(r.RemoteAddr)), zap.Int("status", werr.status))...)
			}
			h.o.Observe(kind, werr.status, time.Since(start))
			if werr.status == http.StatusMethodNotAllowed {
				w.Header().Set("Allow", http.MethodPost)
			}
			http.Error(w, werr.msg, werr.status)
			return
		}
		if kind == sbsync.KindInbound {
			h.o.Observe(kind, http.StatusOK, time.Since(start))
			w.Header().Set("Content-Type", "text/xml; charset=utf-8")
			_, _ = w.Write([]byte(emptyTwiML))
			return
		}
		h.o.Observe(kind, http.StatusNoContent, time.Since(start))
		w.WriteHeader(http.StatusNoContent)
	}
}

// enqueue stores an accepted webhook; a store that fails is answered 503,
// so Twilio uses the fallback URL or retries.
func (h *Webhooks) enqueue(ctx context.Context, kind, key string, form url.Values) *webhookError {
	payload, err := formPayload(form)
	if err == nil {
		// Twilio waits at most 15 s (ref §5.2); the store answers in
		// milliseconds, so a slow store is a fault to report, not to wait on.
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = h.o.Queue.EnqueueWebhook(ctx, kind, key, payload)
		cancel()
	}
	if err != nil {
		h.o.Log.Error("could not store the webhook; Twilio will use the fallback URL or retry",
			zap.String("kind", kind), zap.String("message_sid", form.Get("MessageSid")), zap.Error(err))
		return &webhookError{status: http.StatusServiceUnavailable, msg: "could not store the request"}
	}
	return nil
}

// accept checks a webhook request and returns its form and queue key.
// Everything that can be refused is refused before the queue: a request
// no configured account signed gets 403, a signed one Twilio would not
// send (a field missing, malformed or oversize) gets 400 with the reason,
// which Twilio shows in its debugger, instead of 200 and a dead letter.
func (h *Webhooks) accept(kind string, w http.ResponseWriter, r *http.Request) (url.Values, string, *webhookError) {
	if r.Method != http.MethodPost {
		return nil, "", &webhookError{status: http.StatusMethodNotAllowed, msg: "only POST is accepted", cause: "method",
			fields: []zap.Field{zap.String("method", clipLog(r.Method))}}
	}
	// Messaging webhooks are form-encoded (ref §5.3, §5.4); anything
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
	if werr := h.checkSignature(r); werr != nil {
		return nil, "", werr
	}
	// Only the body's parameters are signed as parameters; the query string
	// is part of the signed URL (ref §6.1).
	form := r.PostForm
	key, err := queueKey(kind, form)
	if err != nil {
		return nil, "", &webhookError{status: http.StatusBadRequest, msg: err.Error(), cause: "invalid_fields",
			fields: []zap.Field{zap.String("reason", clipLog(err.Error())), zap.String("account_sid", form.Get("AccountSid"))}}
	}
	return form, key, nil
}

// checkSignature refuses, with the one 403, a request no configured
// account signed. Twilio signs the URL it called: server.public_url, not
// whatever a proxy forwarded to us (ref §6.5), with the path and query as
// sent.
func (h *Webhooks) checkSignature(r *http.Request) *webhookError {
	sid, err := h.o.Accounts.ValidateWebhook(r, h.o.PublicURL)
	if err == nil {
		return nil
	}
	werr := &webhookError{status: http.StatusForbidden, msg: forbidden, cause: "unknown_account",
		fields: []zap.Field{zap.String("account_sid", clipLog(sid))}}
	if errors.Is(err, ErrBadSignature) {
		// The query is left out: it is the caller's to make long.
		werr.cause = "bad_signature"
		werr.fields = append(werr.fields, zap.String("checked_url", clipLog(strings.TrimSuffix(PublicURL(r, h.o.PublicURL), "?"+r.URL.RawQuery))),
			zap.String("hint", "is server.public_url the URL Twilio calls?"))
	}
	return werr
}

// queueKey parses a signed form and returns its job key: the Message SID
// for an inbound message, SID and status for a status callback, so that
// a repeated callback is the same job.
func queueKey(kind string, form url.Values) (string, error) {
	if kind == sbsync.KindInbound {
		in, err := ParseInbound(form)
		return in.MessageSID, err
	}
	sc, err := ParseStatus(form)
	return sc.MessageSID + "@" + sc.Status, err
}

// logClip bounds what a log line quotes of a request.
const logClip = 200

// clipLog shortens request data quoted in a log line to logClip bytes
// (whole characters, invalid UTF-8 dropped) and says how long it was.
func clipLog(s string) string {
	if len(s) <= logClip {
		return s
	}
	return fmt.Sprintf("%s (%d bytes)", strings.ToValidUTF8(clip(s, logClip), ""), len(s))
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

// DecodeInbound reads an inbound-message webhook as Webhooks queued it.
func DecodeInbound(payload []byte) (Inbound, error) {
	form, err := formFromPayload(payload)
	if err != nil {
		return Inbound{}, err
	}
	return ParseInbound(form)
}

// DecodeStatus reads a status callback as Webhooks queued it.
func DecodeStatus(payload []byte) (StatusCallback, error) {
	form, err := formFromPayload(payload)
	if err != nil {
		return StatusCallback{}, err
	}
	return ParseStatus(form)
}
