package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// SendParams is one outbound message.
type SendParams struct {
	To string
	// From, or MessagingServiceSID to let Twilio pick a sender (ref §2.1).
	From                string
	MessagingServiceSID string
	Body                string
	MediaURLs           []string
	// StatusCallback is server.public_url + /twilio/status.
	StatusCallback string
}

// Message is a message as Twilio reports it.
type Message struct {
	SID                 string
	AccountSID          string
	To, From            string
	MessagingServiceSID string
	Body                string
	Status              string // lower-case Twilio status (ref §4)
	Direction           string
	ErrorCode           int
	ErrorMessage        string
	NumSegments         int
	NumMedia            int
	Price, PriceUnit    string
	DateCreated         time.Time
	DateSent            time.Time // zero until Twilio sent it
	DateUpdated         time.Time
}

// Query filters Find: messages From→To whose send (or, before it is sent,
// creation) time is in [After, Before]. From may be empty (a Messaging
// Service send whose sender Twilio chose); MessagingServiceSID then keeps
// only that service's messages.
type Query struct {
	To, From            string
	MessagingServiceSID string
	After, Before       time.Time
}

// Send creates a message. Errors are *Error.
func (a *Accounts) Send(ctx context.Context, accountSID string, p SendParams) (Message, error) {
	if err := p.validate(); err != nil {
		return Message{}, &Error{Op: OpCreate, Kind: KindPermanent, Description: err.Error(), Err: err}
	}
	if err := ctx.Err(); err != nil {
		return Message{}, &Error{Op: OpCreate, Kind: KindRetryable, Description: "not sent: " + err.Error(), Err: err}
	}
	c, cancel, err := a.newCall(ctx, accountSID)
	if err != nil {
		return Message{}, unknownAccount(OpCreate, err)
	}
	defer cancel()
	params := &openapi.CreateMessageParams{}
	params.SetTo(p.To)
	if p.From != "" {
		params.SetFrom(p.From)
	}
	if p.MessagingServiceSID != "" {
		params.SetMessagingServiceSid(p.MessagingServiceSID)
	}
	if p.Body != "" {
		params.SetBody(p.Body)
	}
	if len(p.MediaURLs) > 0 {
		params.SetMediaUrl(p.MediaURLs)
	}
	if p.StatusCallback != "" {
		params.SetStatusCallback(p.StatusCallback)
	}
	m, err := c.api.CreateMessage(params)
	if err != nil {
		return Message{}, classify(OpCreate, err, c)
	}
	out, err := convert(m)
	if err != nil || out.SID == "" {
		// 2xx but unreadable: Twilio has the message and we don't know its SID.
		if err == nil {
			err = errors.New("create answered without a message SID")
		}
		return Message{}, &Error{Op: OpCreate, Kind: KindAmbiguous, HTTPStatus: int(c.state.status.Load()),
			Description: "Twilio accepted the request but its answer was unreadable: " + err.Error(), Err: err}
	}
	return out, nil
}

func (p SendParams) validate() error {
	switch {
	case p.To == "":
		return errors.New("no recipient (To)")
	case p.From == "" && p.MessagingServiceSID == "":
		return errors.New("no sender: From or MessagingServiceSID is required")
	case p.Body == "" && len(p.MediaURLs) == 0:
		return errors.New("empty message: Body or MediaURLs is required")
	}
	return nil
}

// Fetch reads one message by SID (ref §2.2).
func (a *Accounts) Fetch(ctx context.Context, accountSID, sid string) (Message, error) {
	if !messageSIDPattern.MatchString(sid) {
		// It comes from Message_Sid__c; never splice anything else into a path.
		err := fmt.Errorf("%q is not a Twilio message SID (SM… or MM…)", sid)
		return Message{}, &Error{Op: OpFetch, Kind: KindPermanent, Description: err.Error(), Err: err}
	}
	c, cancel, err := a.newCall(ctx, accountSID)
	if err != nil {
		return Message{}, unknownAccount(OpFetch, err)
	}
	defer cancel()
	m, err := c.api.FetchMessage(sid, nil)
	if err != nil {
		return Message{}, classify(OpFetch, err, c)
	}
	out, err := convert(m)
	if err != nil {
		return Message{}, &Error{Op: OpFetch, Kind: KindRetryable, Description: "unreadable message from Twilio: " + err.Error(), Err: err}
	}
	return out, nil
}

// Check proves that the account's credentials work by listing one message
// (for doctor and readiness checks). Errors are *Error; a Code of 20003
// means the SID or token is wrong.
func (a *Accounts) Check(ctx context.Context, accountSID string) error {
	c, cancel, err := a.newCall(ctx, accountSID)
	if err != nil {
		return unknownAccount(OpList, err)
	}
	defer cancel()
	p := &openapi.ListMessageParams{}
	p.SetPageSize(1)
	if _, err := c.api.PageMessage(p, "", ""); err != nil {
		return classify(OpList, err, c)
	}
	return nil
}

// Find lists the messages matching q, newest first, following pages. It is
// how an ambiguous create is resolved (SPEC §3 "Exactly once").
//
// It reads two listings and merges them: the DateSent window (ref §2.5),
// and a scan by To/From alone that stops at the first message created
// before q.After (lists are newest first). The second is needed because
// date_sent stays null until Twilio actually sends (ref §2.1: a fresh
// create has "date_sent": null), so a message still queued is invisible to
// a DateSent filter — exactly the message an ambiguous create may have left.
func (a *Accounts) Find(ctx context.Context, accountSID string, q Query) ([]Message, error) {
	if q.To == "" {
		err := errors.New("Find needs a recipient (To)")
		return nil, &Error{Op: OpList, Kind: KindPermanent, Description: err.Error(), Err: err}
	}
	c, cancel, err := a.newCall(ctx, accountSID)
	if err != nil {
		return nil, unknownAccount(OpList, err)
	}
	defer cancel()
	seen := map[string]bool{}
	var out []Message
	keep := func(m Message) {
		t := m.DateSent
		if t.IsZero() {
			t = m.DateCreated
		}
		// Twilio may round the filter to whole days (ref §2.5); apply the
		// window here too, at RFC 2822's one-second precision.
		if (!q.After.IsZero() && t.Before(q.After.Truncate(time.Second))) || (!q.Before.IsZero() && t.After(q.Before)) || seen[m.SID] {
			return
		}
		// The List API has no MessagingServiceSid filter (ref §2.5: To,
		// From, DateSent, PageSize only), and a service's messages carry
		// the pool number Twilio picked as From (ref §2.1), so the service
		// is matched on the listed resources' messaging_service_sid.
		if q.MessagingServiceSID != "" && m.MessagingServiceSID != q.MessagingServiceSID {
			return
		}
		seen[m.SID] = true
		out = append(out, m)
	}

	base := func() *openapi.ListMessageParams {
		p := &openapi.ListMessageParams{}
		p.SetTo(q.To)
		if q.From != "" {
			p.SetFrom(q.From)
		}
		p.SetPageSize(a.pageSize)
		return p
	}
	windowed := base()
	if !q.After.IsZero() {
		windowed.SetDateSentAfter(q.After.UTC().Truncate(time.Second))
	}
	if !q.Before.IsZero() {
		windowed.SetDateSentBefore(q.Before.UTC().Add(time.Second - 1).Truncate(time.Second))
	}
	if err := a.pages(c, windowed, func(m Message) bool { keep(m); return true }); err != nil {
		return nil, err
	}
	if err := a.pages(c, base(), func(m Message) bool {
		if !q.After.IsZero() && m.DateCreated.Before(q.After.Truncate(time.Second)) {
			return false
		}
		keep(m)
		return true
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// pages reads a listing page by page (PageMessage rather than the SDK's
// StreamMessage, whose goroutine blocks forever if the reader stops early)
// until each returns false, there is no next page, or MaxPages.
func (a *Accounts) pages(c *call, p *openapi.ListMessageParams, each func(Message) bool) error {
	token, page := "", ""
	for range a.maxPages {
		resp, err := c.api.PageMessage(p, token, page)
		if err != nil {
			return classify(OpList, err, c)
		}
		for i := range resp.Messages {
			m, err := convert(&resp.Messages[i])
			if err != nil {
				return &Error{Op: OpList, Kind: KindRetryable, Description: "unreadable message list from Twilio: " + err.Error(), Err: err}
			}
			if !each(m) {
				return nil
			}
		}
		if resp.NextPageUri == nil || *resp.NextPageUri == "" {
			return nil
		}
		next, err := url.Parse(*resp.NextPageUri)
		if err != nil {
			return &Error{Op: OpList, Kind: KindRetryable, Description: "bad next_page_uri from Twilio", Err: err}
		}
		token, page = next.Query().Get("PageToken"), next.Query().Get("Page")
		if token == "" && page == "" {
			return nil
		}
	}
	return nil
}

func convert(m *openapi.ApiV2010Message) (Message, error) {
	s := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	out := Message{
		SID: s(m.Sid), AccountSID: s(m.AccountSid), To: s(m.To), From: s(m.From),
		MessagingServiceSID: s(m.MessagingServiceSid), Body: s(m.Body), Status: s(m.Status),
		Direction: s(m.Direction), ErrorMessage: s(m.ErrorMessage), Price: s(m.Price), PriceUnit: s(m.PriceUnit),
	}
	if m.ErrorCode != nil {
		out.ErrorCode = *m.ErrorCode
	}
	var err error
	num := func(p *string, dst *int) {
		if p == nil || *p == "" || err != nil {
			return
		}
		n, e := strconv.Atoi(*p)
		if e != nil {
			err = fmt.Errorf("%q is not a number", *p)
		}
		*dst = n
	}
	num(m.NumSegments, &out.NumSegments)
	num(m.NumMedia, &out.NumMedia)
	date := func(p *string, dst *time.Time) {
		if p == nil || *p == "" || err != nil {
			return
		}
		// RFC 2822 in GMT (ref §1.2).
		t, e := time.Parse(time.RFC1123Z, *p)
		if e != nil {
			err = fmt.Errorf("date %q: %w", *p, e)
		}
		*dst = t
	}
	date(m.DateCreated, &out.DateCreated)
	date(m.DateSent, &out.DateSent)
	date(m.DateUpdated, &out.DateUpdated)
	return out, err
}
