package twiliotest

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Inbound is a message a customer texts to one of the accounts' numbers.
type Inbound struct {
	From string // the customer
	To   string // a number added with AddNumber / AddMessagingService
	Body string
	// MediaURLs make it an MMS (NumMedia, MediaUrlN, MediaContentTypeN).
	MediaURLs  []string
	MediaTypes []string // default image/jpeg
	// AccountSID defaults to the account owning To.
	AccountSID string

	// URL overrides the server's inbound URL for this message.
	URL string
	// SignURL, if set, is the URL signed instead of the one posted to (to
	// simulate a proxy in between, or the :443 variant).
	SignURL string
	// AuthToken, if set, signs with this token instead of the account's.
	AuthToken string
	// Unsigned sends no X-Twilio-Signature header.
	Unsigned bool
	// Extra parameters (WhatsApp fields etc.) added as given.
	Extra url.Values
}

// InboundResult is the webhook receiver's answer.
type InboundResult struct {
	StatusCode  int
	ContentType string
	Body        []byte
	MessageSID  string
	Params      url.Values // what was posted
	Signature   string
}

// WouldReply reports whether Twilio would text the customer back because of
// this answer: a 2xx text/plain body is sent as an SMS reply (ref §5.3
// pitfall), and so is a TwiML <Message>.
func (r *InboundResult) WouldReply() bool {
	if r.StatusCode < 200 || r.StatusCode > 299 || len(strings.TrimSpace(string(r.Body))) == 0 {
		return false
	}
	if strings.HasPrefix(r.ContentType, "text/plain") {
		return true
	}
	return strings.Contains(string(r.Body), "<Message")
}

// Opt-out/opt-in/help keywords: whole body, case-insensitive (ref §7;
// surrounding whitespace is trimmed, which is UNVERIFIED).
var (
	stopWords  = map[string]bool{"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true, "END": true, "QUIT": true, "REVOKE": true, "OPTOUT": true}
	startWords = map[string]bool{"START": true, "YES": true, "UNSTOP": true}
	helpWords  = map[string]bool{"HELP": true, "INFO": true}
)

// SendInbound posts a signed inbound-message webhook (ref §5.3) as Twilio
// does when a customer texts: the message is stored, STOP-family bodies opt
// the customer out of the sender (its whole Messaging Service if it has one)
// and START-family bodies opt back in, as Twilio's default handling does;
// OptOutType is set when the number is in a Messaging Service (Advanced
// Opt-Out, ref §7).
func (s *Server) SendInbound(ctx context.Context, in Inbound) (*InboundResult, error) {
	if !validAddress(in.From) {
		return nil, fmt.Errorf("twiliotest: inbound From %q is not a phone number", in.From)
	}
	s.mu.Lock()
	to := strings.TrimPrefix(in.To, waPrefix) // a WhatsApp sender is its number
	acct := in.AccountSID
	if acct == "" {
		acct = s.numOwner[to]
	}
	a := s.accounts[acct]
	if a == nil || s.numOwner[to] != acct {
		s.mu.Unlock()
		return nil, fmt.Errorf("twiliotest: %q is not a number of account %q", in.To, acct)
	}
	target := in.URL
	if target == "" {
		target = s.inboundURL
	}
	if target == "" {
		s.mu.Unlock()
		return nil, fmt.Errorf("twiliotest: no inbound URL configured (Options.InboundURL or Inbound.URL)")
	}
	mg := s.numSvc[to]
	scope := to
	if mg != "" {
		scope = mg
	}
	optType := s.applyKeywordLocked(in.From, scope, in.Body)
	prefix := "SM"
	if len(in.MediaURLs) > 0 {
		prefix = "MM"
	}
	now := s.now()
	m := &message{Message: Message{
		SID: s.newSID(prefix), AccountSID: acct, Direction: "inbound", To: in.To, From: in.From,
		MessagingServiceSID: mg, Body: in.Body, MediaURLs: append([]string(nil), in.MediaURLs...),
		Status: "received", NumSegments: segments(in.Body), DateCreated: now, DateSent: now, DateUpdated: now,
	}}
	s.seq++
	m.seq = s.seq
	s.messages = append(s.messages, m)
	s.bySID[m.SID] = m
	token := a.token
	s.mu.Unlock()

	p := inboundParams(in, m, optType)
	sig := ""
	if !in.Unsigned {
		signURL, tok := target, token
		if in.SignURL != "" {
			signURL = in.SignURL
		}
		if in.AuthToken != "" {
			tok = in.AuthToken
		}
		sig = sign(tok, signURL, p)
	}
	resp, body, err := s.postRaw(ctx, target, p, sig, s.newSID(""))
	if err != nil {
		return nil, fmt.Errorf("twiliotest: posting inbound webhook: %w", err)
	}
	return &InboundResult{StatusCode: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: body,
		MessageSID: m.SID, Params: p, Signature: sig}, nil
}

// applyKeywordLocked applies Twilio's default keyword handling to body
// from a customer of scope (a number or Messaging Service): STOP-family
// opts out, START-family opts back in. It returns the OptOutType.
func (s *Server) applyKeywordLocked(customer, scope, body string) string {
	kw := strings.ToUpper(strings.TrimSpace(body))
	switch {
	case stopWords[kw]:
		s.optedOut[optKey{customer, scope}] = true
		return "STOP"
	case startWords[kw]:
		delete(s.optedOut, optKey{customer, scope})
		return "START"
	case helpWords[kw]:
		return "HELP"
	}
	return ""
}

// inboundParams is the webhook's form for the stored inbound message m
// (ref §5.3).
func inboundParams(in Inbound, m *message, optType string) url.Values {
	p := url.Values{
		"ToCountry": {"US"}, "ToState": {"CA"}, "ToCity": {"SAN BRUNO"}, "ToZip": {"94030"},
		// Geo lookups often fail and Twilio still sends the keys, empty (ref §5.3).
		"FromCountry": {"US"}, "FromState": {"CA"}, "FromCity": {""}, "FromZip": {""},
		"SmsMessageSid": {m.SID}, "SmsSid": {m.SID}, "MessageSid": {m.SID}, "SmsStatus": {"received"},
		"NumMedia": {strconv.Itoa(len(in.MediaURLs))}, "NumSegments": {strconv.Itoa(m.NumSegments)},
		"ReferralNumMedia": {"0"}, "Body": {in.Body}, "To": {in.To}, "From": {in.From},
		"AccountSid": {m.AccountSID}, "ApiVersion": {"2010-04-01"},
	}
	if mg := m.MessagingServiceSID; mg != "" {
		p.Set("MessagingServiceSid", mg)
		if optType != "" {
			p.Set("OptOutType", optType)
		}
	}
	for i, u := range in.MediaURLs {
		ct := "image/jpeg"
		if i < len(in.MediaTypes) && in.MediaTypes[i] != "" {
			ct = in.MediaTypes[i]
		}
		p.Set("MediaUrl"+strconv.Itoa(i), u)
		p.Set("MediaContentType"+strconv.Itoa(i), ct)
	}
	for k, vs := range in.Extra {
		p[k] = vs
	}
	return p
}
