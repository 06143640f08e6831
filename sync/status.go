package sync

import "fmt"

// Status is a Task's Message_Status__c value (SPEC §1).
type Status string

const (
	StatusPending     Status = "Pending"
	StatusQueued      Status = "Queued"
	StatusSending     Status = "Sending"
	StatusSent        Status = "Sent"
	StatusDelivered   Status = "Delivered"
	StatusUndelivered Status = "Undelivered"
	StatusFailed      Status = "Failed"
	StatusRead        Status = "Read"
	StatusReceived    Status = "Received"
	StatusError       Status = "Error"
	StatusCanceled    Status = "Canceled"
	// StatusDraft is a message still being composed (SPEC §1a): never
	// sent, never written by the sidecar, outside the order.
	StatusDraft Status = "Draft"
)

// rank orders outbound statuses: Pending < Queued < Sending < Sent <
// {Delivered, Undelivered, Failed} < Read. Statuses outside the lifecycle
// (Received, Error, Canceled) have no rank.
var rank = map[Status]int{
	StatusPending:     1,
	StatusQueued:      2,
	StatusSending:     3,
	StatusSent:        4,
	StatusDelivered:   5,
	StatusUndelivered: 5,
	StatusFailed:      5,
	StatusRead:        6,
}

// Valid reports whether s is one of the picklist values.
func (s Status) Valid() bool {
	_, ok := rank[s]
	return ok || s == StatusReceived || s == StatusError || s == StatusCanceled || s == StatusDraft
}

// Final reports whether no further delivery update is expected, so the
// status poller can stop asking Twilio about the message.
func (s Status) Final() bool {
	switch s {
	case StatusDelivered, StatusUndelivered, StatusFailed, StatusRead, StatusReceived, StatusError, StatusCanceled:
		return true
	}
	return false
}

// Advances reports whether moving a Task from cur to next is allowed: a
// status never moves backwards, and the three terminal outcomes of equal
// rank do not replace each other (a late "undelivered" after "delivered" is
// noise from the carrier, not news). An unset current status accepts any
// ranked status.
func Advances(cur, next Status) bool {
	n, ok := rank[next]
	if !ok {
		return false
	}
	if cur == "" {
		return true
	}
	c, ok := rank[cur]
	if !ok {
		// Error and Canceled were decided by the sidecar or a user; Twilio
		// callbacks for such a Task would be for an older send.
		return false
	}
	return n > c
}

// FromTwilio maps a Twilio message status (twilio.md §4) to a Task status.
func FromTwilio(s string) (Status, error) {
	switch s {
	case "accepted", "scheduled", "queued":
		return StatusQueued, nil
	case "sending":
		return StatusSending, nil
	case "sent":
		return StatusSent, nil
	case "delivered", "partially_delivered":
		// partially_delivered (some MMS parts arrived) is in Twilio's
		// OpenAPI enum but undocumented (twilio.md §4); the customer got
		// the message, so it counts as delivered.
		return StatusDelivered, nil
	case "undelivered":
		return StatusUndelivered, nil
	case "failed":
		return StatusFailed, nil
	case "read":
		return StatusRead, nil
	case "received", "receiving":
		return StatusReceived, nil
	case "canceled":
		return StatusCanceled, nil
	}
	return "", fmt.Errorf("sync: unknown Twilio message status %q", s)
}
