package twilio_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/switchboard/switchboard/twilio"
)

// TestIncomingNumber reads a number's routing through twilio-go's
// IncomingPhoneNumbers listing against the simulator: the default (the
// simulator's inbound URL), explicit URLs, a number of another account and
// a malformed number.
func TestIncomingNumber(t *testing.T) {
	e := newEnv(t, twilio.Options{})
	ctx := ctxT(t)
	e.fake.SetInboundURL("https://sidecar.example.com/twilio/inbound")
	n, err := e.tw.IncomingNumber(ctx, acct1, num1)
	must(t, err)
	if n.PhoneNumber != num1 || n.AccountSID != acct1 || len(n.SID) != 34 || n.SID[:2] != "PN" || !n.SMS ||
		n.SMSURL != "https://sidecar.example.com/twilio/inbound" || n.SMSMethod != http.MethodPost || n.StatusCallback != "" {
		t.Fatalf("default routing: %+v", n)
	}
	must(t, e.fake.SetNumberURLs(num1, "https://elsewhere.example.net/sms#rc=2", "https://elsewhere.example.net/voice-status"))
	must(t, e.fake.SetNumberSMSMethod(num1, "get"))
	must(t, e.fake.SetNumberApplication(num1, "AP0123456789abcdef0123456789abcdef"))
	n, err = e.tw.IncomingNumber(ctx, acct1, num1)
	must(t, err)
	if n.SMSURL != "https://elsewhere.example.net/sms#rc=2" || n.SMSMethod != http.MethodGet ||
		n.StatusCallback != "https://elsewhere.example.net/voice-status" || n.SMSApplicationSID != "AP0123456789abcdef0123456789abcdef" {
		t.Fatalf("explicit routing: %+v", n)
	}
	// A prefix of num1 matches num1 and num2's account does not own it: the
	// partial-match filter must not hand back a near miss.
	_, err = e.tw.IncomingNumber(ctx, acct2, num1)
	if !errors.Is(err, twilio.ErrNotFound) {
		t.Fatalf("number of another account: %v", err)
	}
	if _, err := e.tw.IncomingNumber(ctx, acct1, "+1501712266"); !errors.Is(err, twilio.ErrNotFound) {
		t.Fatalf("a prefix of a number is not that number: %v", err)
	}
	if _, err := e.tw.IncomingNumber(ctx, acct1, "4155550100"); err == nil || twErr(t, err).Kind != twilio.KindPermanent {
		t.Fatalf("non-E.164 number: %v", err)
	}
	if e.fake.Stats().Unauthorized != 0 {
		t.Fatalf("lookups were refused: %+v", e.fake.Stats())
	}
}

// TestIncomingNumberErrors: wrong credentials are 20003 (not "not found"),
// an unconfigured account is refused before any request, and a 5xx is
// retryable.
func TestIncomingNumberErrors(t *testing.T) {
	e := newEnv(t, twilio.Options{})
	ctx := ctxT(t)
	bad, err := twilio.NewAccounts(map[string]string{acct1: "wrongtoken0123456789"}, twilio.Options{BaseURL: e.fake.URL()})
	must(t, err)
	defer bad.Close()
	_, err = bad.IncomingNumber(ctx, acct1, num1)
	if te := twErr(t, err); te.Code != 20003 || errors.Is(err, twilio.ErrNotFound) {
		t.Fatalf("wrong token: %+v", te)
	}
	if _, err := e.tw.IncomingNumber(ctx, "AC99999999999999999999999999999999", num1); !errors.Is(err, twilio.ErrUnknownAccount) {
		t.Fatalf("unknown account: %v", err)
	}
	e.fake.Fail5xx(1, true)
	_, err = e.tw.IncomingNumber(ctx, acct1, num1)
	if te := twErr(t, err); te.Kind != twilio.KindRetryable || te.HTTPStatus != 503 {
		t.Fatalf("503: %+v", te)
	}
}

// TestMessagingService fetches a service through twilio-go's messaging v1
// API, routed to the simulator by the base URL override.
func TestMessagingService(t *testing.T) {
	e := newEnv(t, twilio.Options{})
	ctx := ctxT(t)
	e.fake.SetInboundURL("https://sidecar.example.com/twilio/inbound")
	s, err := e.tw.MessagingService(ctx, acct1, mg1)
	must(t, err)
	if s.SID != mg1 || s.AccountSID != acct1 || s.InboundRequestURL != "https://sidecar.example.com/twilio/inbound" ||
		s.InboundMethod != http.MethodPost || s.StatusCallback != "" || s.UseInboundWebhookOnNumber {
		t.Fatalf("default service: %+v", s)
	}
	must(t, e.fake.SetServiceURLs(mg1, "", "https://elsewhere.example.net/status", true))
	s, err = e.tw.MessagingService(ctx, acct1, mg1)
	must(t, err)
	if s.InboundRequestURL != "" || s.StatusCallback != "https://elsewhere.example.net/status" || !s.UseInboundWebhookOnNumber {
		t.Fatalf("explicit service: %+v", s)
	}
	// acct2's credentials cannot see acct1's service.
	if _, err := e.tw.MessagingService(ctx, acct2, mg1); !errors.Is(err, twilio.ErrNotFound) {
		t.Fatalf("service of another account: %v", err)
	}
	if _, err := e.tw.MessagingService(ctx, acct1, "MG00000000000000000000000000000000"); !errors.Is(err, twilio.ErrNotFound) || twErr(t, err).Code != 20404 {
		t.Fatalf("unknown service: %v", err)
	}
	if _, err := e.tw.MessagingService(ctx, acct1, "MG../../Accounts"); err == nil || errors.Is(err, twilio.ErrNotFound) {
		t.Fatalf("malformed SID must be refused before any request: %v", err)
	}
}
