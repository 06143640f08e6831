package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/twilio/twilio-go/client"

	sbsync "github.com/switchboard/switchboard/sync"
)

// Op names the API call that failed.
type Op string

const (
	OpCreate Op = "create"
	OpFetch  Op = "fetch"
	OpList   Op = "list"
)

// Kind is what the caller should do about an error; the engine's own kinds.
type Kind = sbsync.SendErrorKind

const (
	KindRetryable = sbsync.Retryable
	KindAmbiguous = sbsync.Ambiguous
	KindPermanent = sbsync.Permanent
)

// Error is a failed Twilio call, classified (ref §3).
type Error struct {
	Op         Op
	Kind       Kind
	HTTPStatus int // 0 if no response arrived
	Code       int // Twilio error code, 0 if none
	// Message is Twilio's own text, if it sent one.
	Message string
	// Description is for people (Error_Description__c): "21610 — …".
	Description string
	RetryAfter  time.Duration
	Err         error
}

func (e *Error) Error() string {
	return fmt.Sprintf("twilio %s: %s", e.Op, e.Description)
}

func (e *Error) Unwrap() error { return e.Err }

// permanentCodes are the create errors that are the recipient's or the
// request's fault (ref §3.2): retrying the same request cannot succeed.
var permanentCodes = map[int]string{
	21211: "the 'To' number is not a valid phone number",
	21408: "sending to this region is not enabled (Messaging Geo Permissions)",
	21602: "the message has neither a body nor media",
	21603: "no 'From' number was given",
	21604: "no 'To' number was given",
	21606: "the 'From' number is not a message-capable Twilio number of this account",
	21608: "a trial account can only send to verified numbers",
	21610: "the recipient has opted out (replied STOP)",
	21612: "Twilio cannot route a message between this 'To' and 'From'",
	21614: "the 'To' number is not a mobile number (landline or invalid)",
	21617: "the message body exceeds 1600 characters",
	21623: "too many media files (at most 10)",
	21635: "the 'To' number is a landline",
	21658: "a parameter exceeds its character limit",
	21659: "the short code cannot send to the 'To' number's country",
	21703: "the Messaging Service cannot send (unknown, or no sender available)",
	21910: "'From' and 'To' are not the same channel (an SMS number cannot send to WhatsApp, or the reverse)",
	63007: "WhatsApp: the 'From' number is not a WhatsApp sender of this account",
	63016: "WhatsApp: outside the 24-hour window, a template (ContentSid) is required",
}

// deliveryErrors describe the ErrorCode of failed/undelivered messages
// (status callbacks and fetched messages), ref §3.2 "async".
var deliveryErrors = map[int]string{
	21610: "the recipient has opted out (replied STOP)",
	30001: "queue overflow: the sender's queue was full for too long",
	30002: "the Twilio account is suspended",
	30003: "unreachable destination handset (phone off or out of coverage)",
	30004: "message blocked by the recipient or the carrier",
	30005: "unknown destination handset (the number does not exist any more)",
	30006: "landline or unreachable carrier",
	30007: "message filtered by the carrier (spam or policy)",
	30008: "unknown error from the carrier",
	30034: "US A2P 10DLC: the sending number is not registered to a campaign",
	30450: "blocked by SMS Pumping Protection (temporary)",
	63016: "WhatsApp: outside the 24-hour window, a template is required",
}

// configCodes are errors of the sidecar's configuration, not of the message:
// failing every Task for them would be wrong, so they are retried until an
// operator fixes the setting (SPEC §3: only the recipient's fault fails a
// Task).
var configCodes = map[int]string{
	20003: "Twilio rejected the credentials (check the account SID and auth token)",
	20005: "the Twilio account is not active",
	20404: "Twilio does not know this resource (check the account SID and api_base_url)",
	21222: "the account SID contains characters Twilio does not allow",
	21224: "the auth token contains characters Twilio does not allow",
}

// ErrorDescription is a human-readable description of a Twilio error code,
// with the code: "30007 — message filtered by the carrier (spam or policy)".
// Unknown codes still name the code and where to read about it.
func ErrorDescription(code int) string {
	if d, ok := deliveryErrors[code]; ok {
		return fmt.Sprintf("%d — %s", code, d)
	}
	if d, ok := permanentCodes[code]; ok {
		return fmt.Sprintf("%d — %s", code, d)
	}
	if d, ok := configCodes[code]; ok {
		return fmt.Sprintf("%d — %s", code, d)
	}
	return fmt.Sprintf("%d — Twilio error %d (https://www.twilio.com/docs/errors/%d)", code, code, code)
}

func unknownAccount(op Op, err error) *Error {
	// A Channel_Type__c naming an account the sidecar has no token for: the
	// Task can be retried (set back to Pending) once it is configured.
	return &Error{Op: op, Kind: KindPermanent, Description: err.Error() + " (add it to the twilio settings)", Err: err}
}

// classify turns an SDK error into *Error (ref §3.2, §9.4). For a create,
// anything that may have reached Twilio and left no clear answer is
// Ambiguous: the message may exist and must be looked up before resending.
func classify(op Op, err error, c *call) *Error {
	st := c.state
	status := int(st.status.Load())
	e := &Error{Op: op, HTTPStatus: status, Err: err}
	if h := st.header.Load(); h != nil && (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) {
		e.RetryAfter = retryAfter(h.Get("Retry-After"), time.Now())
	}
	var te *client.TwilioRestError
	var v1 *client.RestErrorV1
	switch {
	case errors.As(err, &te):
		e.Code, e.Message = te.Code, te.Message
		if e.HTTPStatus == 0 {
			e.HTTPStatus = te.Status // synthetic (credential check): never sent
		}
	case errors.As(err, &v1):
		// Error-type churn (ref §9.7, twilio-go #320): handle the V1 shape too.
		e.Code, e.Message = v1.Code, v1.Message
		if e.HTTPStatus == 0 {
			e.HTTPStatus = v1.HttpStatusCode
		}
	}
	switch {
	case e.HTTPStatus == http.StatusTooManyRequests || e.Code == 20429:
		// "never processed and is always safe to retry" (ref §3.2).
		e.Kind = KindRetryable
		e.Description = "20429 — Twilio is throttling requests (HTTP 429); retrying later"
		if e.Code == 0 {
			e.Code = 20429
		}
	case e.HTTPStatus >= 500:
		e.Kind = KindRetryable
		if op == OpCreate {
			e.Kind = KindAmbiguous
		}
		e.Description = fmt.Sprintf("Twilio answered HTTP %d", e.HTTPStatus)
		if e.Code != 0 {
			e.Description = fmt.Sprintf("%d — Twilio answered HTTP %d: %s", e.Code, e.HTTPStatus, e.Message)
		}
	case e.HTTPStatus >= 400 && e.Code != 0:
		if d, ok := configCodes[e.Code]; ok || e.HTTPStatus == 401 || e.HTTPStatus == 403 {
			if !ok {
				d = "Twilio refused access"
			}
			e.Kind = KindRetryable
			e.Description = fmt.Sprintf("%d — %s", e.Code, d)
			break
		}
		if op != OpCreate && e.Code == 20404 {
			e.Kind = KindPermanent
			e.Description = "20404 — Twilio has no such message"
			break
		}
		// Any other 4xx with a Twilio code was refused for the request's own
		// sake (ref §3.4: never auto-retry 4xx other than 429).
		e.Kind = KindPermanent
		if d, ok := permanentCodes[e.Code]; ok {
			e.Description = fmt.Sprintf("%d — %s", e.Code, d)
		} else {
			e.Description = fmt.Sprintf("%d — Twilio rejected the message: %s", e.Code, e.Message)
		}
	case e.HTTPStatus >= 400:
		// 4xx without Twilio's JSON: a proxy or gateway, not the Messages API;
		// nothing was created and the message itself is not at fault.
		e.Kind = KindRetryable
		e.Description = fmt.Sprintf("HTTP %d without a Twilio error body (a proxy in the way?)", e.HTTPStatus)
	case e.HTTPStatus >= 300:
		e.Kind = KindRetryable
		if op == OpCreate {
			e.Kind = KindAmbiguous
		}
		e.Description = fmt.Sprintf("Twilio answered with a redirect (HTTP %d)", e.HTTPStatus)
	case e.HTTPStatus >= 200:
		e.Kind = KindRetryable
		if op == OpCreate {
			e.Kind = KindAmbiguous // created, answer unreadable
		}
		e.Description = fmt.Sprintf("Twilio answered HTTP %d with an unreadable body: %v", e.HTTPStatus, err)
	default:
		// No response at all.
		e.Kind = KindRetryable
		sent := st.wrote.Load() && !isConnRefused(err)
		if op == OpCreate && sent {
			e.Kind = KindAmbiguous
		}
		what := "connection failed"
		switch {
		case errors.Is(c.ctx.Err(), context.DeadlineExceeded) || isTimeout(err):
			what = "timed out"
		case errors.Is(c.ctx.Err(), context.Canceled):
			what = "cancelled"
		}
		if sent {
			e.Description = fmt.Sprintf("request sent to Twilio, then %s before an answer: %v", what, err)
		} else {
			e.Description = fmt.Sprintf("request not sent: %s: %v", what, err)
		}
	}
	return e
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// retryAfter parses Retry-After: delay-seconds or an HTTP date (RFC 9110).
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
