package sync

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Org is what the engine needs from Salesforce. sfdc implements it
// ((*Client).Org, sfdc/org_adapter.go); tests use the same adapter against
// the simulated org.
type Org interface {
	// Query runs SOQL, following every page, and decodes the records into
	// dst (a pointer to a slice).
	Query(ctx context.Context, soql string, dst any) error
	// Save writes records through sObject Collections (≤200 per call, the
	// implementation chunks), with allOrNone false: one bad record must not
	// hold back 199 good ones. It returns one result per record, in order.
	Save(ctx context.Context, op SaveOp, object string, records []Record) ([]SaveResult, error)
}

// SaveOp is the collection operation.
type SaveOp struct {
	Kind       SaveKind
	ExtIDField string // for Upsert
}

// SaveKind selects create, update or upsert.
type SaveKind int

const (
	Create SaveKind = iota
	Update
	Upsert
)

// Record is one sObject's fields by API name; Update records carry "Id".
type Record map[string]any

// ErrNotFound is wrapped by an Org error about a record that does not exist
// (deleted, or invisible to the integration user).
var ErrNotFound = errors.New("record not found")

// ErrDuplicate is wrapped by an Org error about a record a create refused
// because another record already holds its unique (External ID) value.
var ErrDuplicate = errors.New("duplicate unique value")

// SaveResult is one record's outcome. Err is nil on success.
type SaveResult struct {
	ID      string
	Created bool
	Err     error
}

// Messenger is what the engine needs from Twilio. twilio implements it
// ((*Accounts).Messenger) and maps Twilio's errors into *SendError.
type Messenger interface {
	Send(ctx context.Context, accountSID string, m Outgoing) (Sent, error)
	// Find lists messages sent to q.To, from q.From or through the
	// Messaging Service q.MessagingServiceSID, created or sent in
	// [q.After, q.Before]: how an ambiguous create is resolved (SPEC §3
	// "Exactly once").
	Find(ctx context.Context, accountSID string, q FindQuery) ([]Sent, error)
	Fetch(ctx context.Context, accountSID, sid string) (Sent, error)
}

// Outgoing is one message to send.
type Outgoing struct {
	To                  string
	From                string // empty when MessagingServiceSID is set
	MessagingServiceSID string
	Body                string
	StatusCallback      string
}

// Sent is a message as Twilio reports it.
type Sent struct {
	SID      string
	To, From string
	// MessagingServiceSID is the service the message went through, if
	// any; From is then the number Twilio picked from its pool.
	MessagingServiceSID string
	Body                string
	Status              string // Twilio's lower-case status
	ErrorCode           int
	ErrorMessage        string
	DateCreated         time.Time
	DateSent            time.Time
	Segments            int // num_segments Twilio billed (0 if unknown)
}

// FindQuery filters Messenger.Find.
type FindQuery struct {
	To string
	// From or MessagingServiceSID: a service's messages carry the pool
	// number Twilio picked as From, never the MG SID (twilio.md §2.1).
	From, MessagingServiceSID string
	After, Before             time.Time
}

// SendErrorKind tells the engine what to do about a failed send.
type SendErrorKind int

const (
	// Retryable: Twilio did not create the message (429, 5xx on a read,
	// a refused connection). Try later; never fail the Task for it.
	Retryable SendErrorKind = iota
	// Ambiguous: the create may have happened (5xx or timeout after the
	// request was written). Look it up before sending again.
	Ambiguous
	// Permanent: the recipient or the request is at fault (21211, 21610,
	// …). Fail the Task with Description.
	Permanent
)

// SendError is a Twilio failure, classified.
type SendError struct {
	Kind        SendErrorKind
	Code        int           // Twilio error code, 0 if none
	Description string        // human-readable, with the code: "21610 — …"
	RetryAfter  time.Duration // from Retry-After, if Twilio sent one
	Err         error
}

func (e *SendError) Error() string {
	if e.Description != "" {
		return e.Description
	}
	return fmt.Sprintf("twilio: %v", e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// OptOutCode is Twilio's "recipient has opted out" error (twilio.md §3.2).
const OptOutCode = 21610

// classifySend returns the *SendError in err, treating anything else (a
// bug, a cancelled context) as retryable: the worst outcome of retrying is a
// delay, the worst of failing is a lost message.
func classifySend(err error) *SendError {
	var se *SendError
	if errors.As(err, &se) {
		return se
	}
	return &SendError{Kind: Retryable, Err: err}
}
