package sfdc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// Salesforce error codes the client and its callers branch on (ref §2.8).
const (
	CodeInvalidSession       = "INVALID_SESSION_ID"
	CodeUnableToLockRow      = "UNABLE_TO_LOCK_ROW"
	CodeRequestLimitExceeded = "REQUEST_LIMIT_EXCEEDED"
	CodeNotFound             = "NOT_FOUND"
	CodeEntityIsDeleted      = "ENTITY_IS_DELETED"
	CodeServerUnavailable    = "SERVER_UNAVAILABLE"
	CodeDuplicateValue       = "DUPLICATE_VALUE"
	CodeRolledBack           = "ALL_OR_NONE_OPERATION_ROLLED_BACK"

	// CodeNotAttempted marks collection items the client never sent because
	// an earlier chunk of an allOrNone request failed (see createMany).
	// It is switchboard's own code, not Salesforce's.
	CodeNotAttempted = "NOT_ATTEMPTED_BY_SWITCHBOARD"
)

// ErrSessionInvalid is wrapped by the error a request returns when the org
// still answers 401 after one re-authentication, or answers 401 with a text
// that re-authenticating cannot fix (ref §1.9). errors.Is finds it; errors.As
// still finds the *APIError underneath.
var ErrSessionInvalid = errors.New("sfdc: salesforce session invalid")

// ErrOutcomeUnknown is wrapped by the error of a create (POST) that failed
// after it may have reached Salesforce: a broken connection, a 502 or a 504.
// The record may exist; replaying the create could insert it twice, so
// IsRetryable is false and the caller should look the record up (or write
// by upsert on an external ID, which is safe to repeat).
var ErrOutcomeUnknown = errors.New("sfdc: create may or may not have been applied")

// APIError is a non-2xx REST response. Salesforce sends a JSON array of
// {message, errorCode, fields} (ref §2.8); Code, Message and Fields come from
// its first element and More holds the rest. A body that is not that shape
// (an HTML 503 page, say) leaves Code empty and puts the text in Message.
type APIError struct {
	Status  int
	Code    string
	Message string
	Fields  []string
	More    []FieldError
	Method  string
	Path    string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "salesforce %s %s: HTTP %d", e.Method, e.Path, e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if len(e.Fields) > 0 {
		fmt.Fprintf(&b, " (fields %s)", strings.Join(e.Fields, ", "))
	}
	return b.String()
}

// ErrorCode is Salesforce's error code ("INVALID_FIELD"), for callers that
// branch on it without importing this package.
func (e *APIError) ErrorCode() string { return e.Code }

// ErrorMessage is Salesforce's own message, without the request.
func (e *APIError) ErrorMessage() string { return e.Message }

// retryable reports the transient failures of ref §2.8 and §6.1: row locks,
// gateway and availability errors, 429, and the concurrent-long-transaction
// limit. The daily limit (TotalRequests) is not: retrying only burns calls.
func (e *APIError) retryable() bool {
	switch e.Code {
	case CodeUnableToLockRow, CodeServerUnavailable:
		return true
	case CodeRequestLimitExceeded:
		return strings.Contains(e.Message, "ConcurrentPerOrgLongTxn")
	}
	switch e.Status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout, http.StatusTooManyRequests:
		return true
	}
	return false
}

// rejected reports failures where Salesforce provably wrote nothing, so even
// a non-idempotent create may be replayed. A 502/504 is not among them: the
// edge gave up waiting, but the core may still have committed the insert.
func (e *APIError) rejected() bool {
	return e.retryable() && e.Status != http.StatusBadGateway && e.Status != http.StatusGatewayTimeout
}

// FieldError is one error of a REST error array or of a collection item.
// Collection items name the code "statusCode", the REST array "errorCode"
// (ref §2.6); both decode into Code.
type FieldError struct {
	Code    string   `json:"statusCode"`
	Message string   `json:"message"`
	Fields  []string `json:"fields,omitempty"`
}

// UnmarshalJSON accepts both spellings of the code key.
func (f *FieldError) UnmarshalJSON(b []byte) error {
	var raw struct {
		StatusCode string   `json:"statusCode"`
		ErrorCode  string   `json:"errorCode"`
		Message    string   `json:"message"`
		Fields     []string `json:"fields"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	f.Code = raw.StatusCode
	if f.Code == "" {
		f.Code = raw.ErrorCode
	}
	f.Message, f.Fields = raw.Message, raw.Fields
	return nil
}

func (f FieldError) String() string {
	if len(f.Fields) == 0 {
		return f.Code + ": " + f.Message
	}
	return fmt.Sprintf("%s: %s (fields %s)", f.Code, f.Message, strings.Join(f.Fields, ", "))
}

// RecordError is a failed item of an sObject Collections request: the
// request as a whole succeeded (HTTP 200) but this record was not saved.
type RecordError struct {
	ID     string
	Errors []FieldError
}

func (e *RecordError) Error() string {
	parts := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		parts[i] = fe.String()
	}
	id := e.ID
	if id == "" {
		id = "(no id)"
	}
	return fmt.Sprintf("salesforce record %s not saved: %s", id, strings.Join(parts, "; "))
}

// retryable: a locked row fails only its own item, and an item rolled back
// or never sent because of a sibling's failure may well succeed alone.
func (e *RecordError) retryable() bool {
	for _, fe := range e.Errors {
		switch fe.Code {
		case CodeUnableToLockRow, CodeRolledBack, CodeNotAttempted:
		default:
			return false
		}
	}
	return len(e.Errors) > 0
}

// MultipleMatchesError is an upsert answered 300 Multiple Choices: the
// external ID value matches several records, so nothing was written (ref §2.5).
type MultipleMatchesError struct {
	Object, Field, Value string
	IDs                  []string
}

func (e *MultipleMatchesError) Error() string {
	return fmt.Sprintf("salesforce upsert %s.%s=%q matches %d records (%s); nothing written",
		e.Object, e.Field, e.Value, len(e.IDs), strings.Join(e.IDs, ", "))
}

// AuthError is an error answer of the OAuth token endpoint, always the
// object {"error","error_description"} (ref §1.8).
type AuthError struct {
	Code        string // e.g. invalid_grant, invalid_client_id
	Description string // e.g. "authentication failure"
	Status      int
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("salesforce login failed: %s: %s (HTTP %d)", e.Code, e.Description, e.Status)
}

// IsNotFound reports whether err says the record, object or external ID
// field does not exist.
func IsNotFound(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status == http.StatusNotFound || ae.Code == CodeNotFound || ae.Code == CodeEntityIsDeleted
	}
	return false
}

// IsRetryable reports whether repeating the same call later may succeed:
// transient REST failures (row locks, 502/503/504, 429, concurrent-request
// limit), collection items that failed only for those reasons, a rate-limited
// login, and network errors. Validation errors, the daily API limit, an
// invalid session and context cancellation are not retryable.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, ErrSessionInvalid) || errors.Is(err, ErrOutcomeUnknown) {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.retryable()
	}
	var re *RecordError
	if errors.As(err, &re) {
		return re.retryable()
	}
	var au *AuthError
	if errors.As(err, &au) {
		return au.Code == "rate_limit_exceeded"
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// parseAPIError builds an *APIError from a REST error body (ref §2.8).
func parseAPIError(method, path string, status int, body []byte) *APIError {
	e := &APIError{Status: status, Method: method, Path: path}
	var items []FieldError
	if err := json.Unmarshal(body, &items); err == nil && len(items) > 0 {
		e.Code, e.Message, e.Fields = items[0].Code, items[0].Message, items[0].Fields
		e.More = items[1:]
		return e
	}
	// Some endpoints (and proxies in front of them) answer with an object or
	// HTML; keep a bounded excerpt for the operator.
	var obj FieldError
	if err := json.Unmarshal(body, &obj); err == nil && obj.Code != "" {
		e.Code, e.Message, e.Fields = obj.Code, obj.Message, obj.Fields
		return e
	}
	e.Message = excerpt(body)
	return e
}

func excerpt(body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
