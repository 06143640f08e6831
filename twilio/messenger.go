package twilio

import (
	"context"
	"errors"

	sbsync "github.com/switchboard/switchboard/sync"
)

// Messenger adapts Accounts to the engine's port. Every error it returns is
// a *sbsync.SendError.
func (a *Accounts) Messenger() sbsync.Messenger { return messenger{a} }

type messenger struct{ a *Accounts }

func (m messenger) Send(ctx context.Context, accountSID string, o sbsync.Outgoing) (sbsync.Sent, error) {
	msg, err := m.a.Send(ctx, accountSID, SendParams{
		To: o.To, From: o.From, MessagingServiceSID: o.MessagingServiceSID,
		Body: o.Body, StatusCallback: o.StatusCallback,
	})
	if err != nil {
		return sbsync.Sent{}, toSendError(err)
	}
	return toSent(msg), nil
}

func (m messenger) Find(ctx context.Context, accountSID string, q sbsync.FindQuery) ([]sbsync.Sent, error) {
	msgs, err := m.a.Find(ctx, accountSID, Query{To: q.To, From: q.From, MessagingServiceSID: q.MessagingServiceSID, After: q.After, Before: q.Before})
	if err != nil {
		return nil, toSendError(err)
	}
	out := make([]sbsync.Sent, len(msgs))
	for i, msg := range msgs {
		out[i] = toSent(msg)
	}
	return out, nil
}

func (m messenger) Fetch(ctx context.Context, accountSID, sid string) (sbsync.Sent, error) {
	msg, err := m.a.Fetch(ctx, accountSID, sid)
	if err != nil {
		return sbsync.Sent{}, toSendError(err)
	}
	return toSent(msg), nil
}

func toSent(m Message) sbsync.Sent {
	return sbsync.Sent{
		SID: m.SID, To: m.To, From: m.From, MessagingServiceSID: m.MessagingServiceSID, Body: m.Body, Status: m.Status,
		ErrorCode: m.ErrorCode, ErrorMessage: m.ErrorMessage,
		DateCreated: m.DateCreated, DateSent: m.DateSent, Segments: m.NumSegments,
	}
}

func toSendError(err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return &sbsync.SendError{Kind: sbsync.Retryable, Description: err.Error(), Err: err}
	}
	return &sbsync.SendError{Kind: e.Kind, Code: e.Code, Description: e.Description, RetryAfter: e.RetryAfter, Err: e}
}
