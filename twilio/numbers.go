package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"
	messaging "github.com/twilio/twilio-go/rest/messaging/v1"

	sbsync "github.com/switchboard/switchboard/sync"
)

// ErrNotFound is wrapped by the error of IncomingNumber and
// MessagingService when the account has no such number or service.
var ErrNotFound = errors.New("twilio: no such resource in this account")

// IncomingNumber is how Twilio routes one of the account's phone numbers:
// the IncomingPhoneNumbers resource of the 2010 API.
type IncomingNumber struct {
	SID          string // PN…
	AccountSID   string
	PhoneNumber  string // E.164
	FriendlyName string
	// SMSURL is the "A message comes in" webhook, called with SMSMethod.
	SMSURL, SMSMethod string
	SMSFallbackURL    string
	// SMSApplicationSID, if set, hands messages to a TwiML App (AP…) and
	// Twilio ignores SMSURL.
	SMSApplicationSID string
	// StatusCallback is the number's status callback. On this resource it
	// reports voice calls; message status goes to each message's own
	// StatusCallback (ref §2.1), which switchboard always sets.
	StatusCallback, StatusCallbackMethod string
	SMS                                  bool // the number can receive SMS
}

// MessagingService is the inbound configuration of a Messaging Service
// (messaging v1 Services resource).
type MessagingService struct {
	SID          string // MG…
	AccountSID   string
	FriendlyName string
	// InboundRequestURL receives messages to every sender of the service,
	// with InboundMethod, unless UseInboundWebhookOnNumber hands that to
	// each number's own SMSURL.
	InboundRequestURL, InboundMethod string
	FallbackURL                      string
	UseInboundWebhookOnNumber        bool
	// StatusCallback is the service's default; a message's own
	// StatusCallback overrides it (ref §2.1).
	StatusCallback string
}

// IncomingNumber looks up one of the account's phone numbers by its E.164
// form. A number the account does not have is an *Error wrapping
// ErrNotFound.
func (a *Accounts) IncomingNumber(ctx context.Context, accountSID, e164 string) (IncomingNumber, error) {
	if !sbsync.IsE164(e164) {
		err := fmt.Errorf("%q is not an E.164 phone number like +14155550100", e164)
		return IncomingNumber{}, &Error{Op: OpList, Kind: KindPermanent, Description: err.Error(), Err: err}
	}
	c, cancel, err := a.newCall(ctx, accountSID)
	if err != nil {
		return IncomingNumber{}, unknownAccount(OpList, err)
	}
	defer cancel()
	p := &openapi.ListIncomingPhoneNumberParams{}
	p.SetPhoneNumber(e164)
	// The filter matches partial numbers too (twilio-go docs: "You can
	// specify partial numbers"), so more than one may come back; the exact
	// one is picked below. One page of 20 is plenty for a full number.
	p.SetPageSize(20)
	// PageIncomingPhoneNumber, not the SDK's List/Stream, whose goroutine
	// blocks if the reader stops early (see pages in messages.go).
	resp, err := c.api.PageIncomingPhoneNumber(p, "", "")
	if err != nil {
		return IncomingNumber{}, lookupError(OpList, err, c, "phone number "+e164)
	}
	for _, n := range resp.IncomingPhoneNumbers {
		if str(n.PhoneNumber) != e164 {
			continue
		}
		out := IncomingNumber{
			SID: str(n.Sid), AccountSID: str(n.AccountSid), PhoneNumber: str(n.PhoneNumber), FriendlyName: str(n.FriendlyName),
			SMSURL: str(n.SmsUrl), SMSMethod: str(n.SmsMethod), SMSFallbackURL: str(n.SmsFallbackUrl),
			SMSApplicationSID: str(n.SmsApplicationSid),
			StatusCallback:    str(n.StatusCallback), StatusCallbackMethod: str(n.StatusCallbackMethod),
		}
		if n.Capabilities != nil {
			out.SMS = n.Capabilities.Sms
		}
		return out, nil
	}
	return IncomingNumber{}, &Error{Op: OpList, Kind: KindPermanent, HTTPStatus: http.StatusOK,
		Description: fmt.Sprintf("account %s has no phone number %s", accountSID, e164),
		Err:         fmt.Errorf("%w: phone number %s", ErrNotFound, e164)}
}

// MessagingService fetches a Messaging Service of the account. A service
// that does not exist, or belongs to another account, is an *Error
// wrapping ErrNotFound.
//
// The Services resource lives on messaging.twilio.com, not api.twilio.com.
// With the default base URL (or a regional api.<edge>.<region>.twilio.com)
// the request goes to the matching messaging host; with any other base URL
// (a simulator, a proxy) it goes to that base URL, which then serves
// /v1/Services too.
func (a *Accounts) MessagingService(ctx context.Context, accountSID, serviceSID string) (MessagingService, error) {
	if !sbsync.IsMessagingServiceSID(serviceSID) {
		// It comes from Messaging_Service_Sid__c; never splice anything else
		// into a path.
		err := fmt.Errorf("%q is not a Messaging Service SID (MG followed by 32 hex digits)", serviceSID)
		return MessagingService{}, &Error{Op: OpFetch, Kind: KindPermanent, Description: err.Error(), Err: err}
	}
	c, cancel, err := a.newClient(ctx, accountSID, messagingBase(a.base))
	if err != nil {
		return MessagingService{}, unknownAccount(OpFetch, err)
	}
	defer cancel()
	svc := messaging.NewApiService(c.rh)
	s, err := svc.FetchService(serviceSID)
	if err != nil {
		return MessagingService{}, lookupError(OpFetch, err, c, "Messaging Service "+serviceSID)
	}
	out := MessagingService{
		SID: str(s.Sid), AccountSID: str(s.AccountSid), FriendlyName: str(s.FriendlyName),
		InboundRequestURL: str(s.InboundRequestUrl), InboundMethod: str(s.InboundMethod), FallbackURL: str(s.FallbackUrl),
		StatusCallback: str(s.StatusCallback),
	}
	if s.UseInboundWebhookOnNumber != nil {
		out.UseInboundWebhookOnNumber = *s.UseInboundWebhookOnNumber
	}
	if out.AccountSID != "" && out.AccountSID != accountSID {
		// Twilio scopes the resource by the credentials; a simulator or proxy
		// that does not is still not allowed to hand us another account's.
		return MessagingService{}, &Error{Op: OpFetch, Kind: KindPermanent, HTTPStatus: http.StatusOK,
			Description: fmt.Sprintf("Messaging Service %s belongs to account %s, not %s", serviceSID, out.AccountSID, accountSID),
			Err:         fmt.Errorf("%w: Messaging Service %s", ErrNotFound, serviceSID)}
	}
	return out, nil
}

// messagingBase maps the REST base URL to the Messaging API's host:
// api.twilio.com → messaging.twilio.com, api.<edge>.<region>.twilio.com →
// messaging.<edge>.<region>.twilio.com (the SDK's own host scheme, ref
// §1.2); anything else is an override that serves every API itself.
func messagingBase(base *url.URL) *url.URL {
	h := strings.ToLower(base.Hostname())
	if !strings.HasPrefix(h, "api.") || (h != "api.twilio.com" && !strings.HasSuffix(h, ".twilio.com")) {
		return base
	}
	m := *base
	m.Host = "messaging." + base.Host[len("api."):]
	return &m
}

// lookupError classifies a failed lookup; Twilio's 20404 becomes
// ErrNotFound with a description naming what was looked up (classify's
// own text speaks of messages).
func lookupError(op Op, err error, c *call, what string) *Error {
	e := classify(op, err, c)
	if e.Code == 20404 {
		e.Kind = KindPermanent
		e.Description = "20404 — Twilio has no " + what + " in this account"
		e.Err = fmt.Errorf("%w: %s: %v", ErrNotFound, what, err)
	}
	return e
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
