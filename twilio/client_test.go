package twilio_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sbsync "github.com/switchboard/switchboard/sync"
	"github.com/switchboard/switchboard/twilio"
)

func TestSendFetchAndLifecycle(t *testing.T) {
	e := newEnv(t, twilio.Options{})
	ctx := ctxT(t)
	cbURL := e.cb.srv.URL + "/twilio/status"
	before := time.Now().Add(-time.Second)
	m, err := e.tw.Send(ctx, acct1, twilio.SendParams{To: cust, From: num1, Body: "héllo + & = ü", StatusCallback: cbURL})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.SID, "SM") || len(m.SID) != 34 || m.Status != "queued" || m.To != cust || m.From != num1 ||
		m.Body != "héllo + & = ü" || m.AccountSID != acct1 || m.NumSegments != 1 || m.DateCreated.Before(before) || !m.DateSent.IsZero() {
		t.Fatalf("created message = %+v", m)
	}
	settle(t, e.fake)
	f, err := e.tw.Fetch(ctx, acct1, m.SID)
	if err != nil {
		t.Fatal(err)
	}
	if f.SID != m.SID || f.Status != "delivered" || f.DateSent.IsZero() || f.Body != m.Body {
		t.Fatalf("fetched after lifecycle = %+v", f)
	}
	got := e.cb.all()
	var statuses []string
	for _, r := range got {
		statuses = append(statuses, r.Form.Get("MessageStatus"))
		if !twilio.ValidateSignature(r.URL, r.Form, r.Signature, tok1) {
			t.Errorf("callback %s: signature %q does not validate", r.Form.Get("MessageStatus"), r.Signature)
		}
		if r.Form.Get("MessageSid") != m.SID || r.Form.Get("AccountSid") != acct1 {
			t.Errorf("callback form %v", r.Form)
		}
	}
	// No callback for the initial "queued" (ref §4).
	if strings.Join(statuses, ",") != "sending,sent,delivered" {
		t.Fatalf("callback statuses = %v", statuses)
	}
	sc, err := twilio.ParseStatus(got[2].Form)
	if err != nil || sc.Status != "delivered" || sc.RawDlrDoneDate == "" || sc.ErrorCode != 0 {
		t.Fatalf("ParseStatus = %+v, %v", sc, err)
	}
	logged := e.fake.Messages()
	if len(logged) != 1 || logged[0].StatusCallback != cbURL || logged[0].SID != m.SID {
		t.Fatalf("simulator log = %+v", logged)
	}
}

func TestSendViaMessagingService(t *testing.T) {
	e := newEnv(t, twilio.Options{})
	m, err := e.tw.Send(ctxT(t), acct1, twilio.SendParams{To: cust, MessagingServiceSID: mg1, Body: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	// Ref §2.1: "accepted" and num_segments "0" until a sender is chosen.
	if m.Status != "accepted" || m.MessagingServiceSID != mg1 || m.NumSegments != 0 {
		t.Fatalf("message = %+v", m)
	}
}

func TestPermanentErrors(t *testing.T) {
	e := newEnv(t, twilio.Options{})
	e.fake.OptOut(cust, num1)
	e.fake.SetLandline("+15550001111")
	e.fake.BlockRegion("+44")
	cases := []struct {
		name string
		p    twilio.SendParams
		code int
		desc string
	}{
		{"invalid To", twilio.SendParams{To: "5551234", From: num1, Body: "x"}, 21211, "21211 — the 'To' number is not a valid phone number"},
		{"opted out", twilio.SendParams{To: cust, From: num1, Body: "x"}, 21610, "21610 — the recipient has opted out (replied STOP)"},
		{"too long", twilio.SendParams{To: "+15550002222", From: num1, Body: strings.Repeat("a", 1601)}, 21617, "21617 — the message body exceeds 1600 characters"},
		{"From of another account", twilio.SendParams{To: "+15550002222", From: num2, Body: "x"}, 21606, "21606 — the 'From' number is not a message-capable Twilio number of this account"},
		{"landline", twilio.SendParams{To: "+15550001111", From: num1, Body: "x"}, 21614, "21614 — the 'To' number is not a mobile number (landline or invalid)"},
		{"geo permission", twilio.SendParams{To: "+447700900123", From: num1, Body: "x"}, 21408, "21408 — sending to this region is not enabled (Messaging Geo Permissions)"},
		{"unknown messaging service", twilio.SendParams{To: "+15550002222", MessagingServiceSID: "MG" + strings.Repeat("0", 32), Body: "x"}, 21703, "21703 — "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.tw.Send(ctxT(t), acct1, c.p)
			te := twErr(t, err)
			if te.Kind != twilio.KindPermanent || te.Code != c.code || te.HTTPStatus != 400 || !strings.HasPrefix(te.Description, c.desc) {
				t.Fatalf("got %+v", te)
			}
			// Through the engine's port: the same, as *sbsync.SendError.
			_, err = e.tw.Messenger().Send(ctxT(t), acct1, sbsync.Outgoing{To: c.p.To, From: c.p.From, MessagingServiceSID: c.p.MessagingServiceSID, Body: c.p.Body})
			var se *sbsync.SendError
			if !errors.As(err, &se) || se.Kind != sbsync.Permanent || se.Code != c.code || se.Description != te.Description {
				t.Fatalf("Messenger error = %#v", err)
			}
		})
	}
	if n := e.fake.Stats().Created; n != 0 {
		t.Fatalf("%d messages created by rejected sends", n)
	}
}

func TestLocalValidationSendsNothing(t *testing.T) {
	e := newEnv(t, twilio.Options{})
	for _, p := range []twilio.SendParams{{From: num1, Body: "x"}, {To: cust, Body: "x"}, {To: cust, From: num1}} {
		te := twErr(t, func() error { _, err := e.tw.Send(ctxT(t), acct1, p); return err }())
		if te.Kind != twilio.KindPermanent || te.Description == "" {
			t.Fatalf("%+v → %+v", p, te)
		}
	}
	if n := e.fake.Stats().CreateRequests; n != 0 {
		t.Fatalf("%d create requests reached Twilio", n)
	}
}

func TestThrottledIsRetryableWithRetryAfter(t *testing.T) {
	e := newEnv(t, twilio.Options{})
	e.fake.Fail429(3)
	e.fake.SetRetryAfter(2 * time.Second)
	for i := range 3 {
		_, err := e.tw.Messenger().Send(ctxT(t), acct1, sbsync.Outgoing{To: cust, From: num1, Body: "x"})
		var se *sbsync.SendError
		if !errors.As(err, &se) || se.Kind != sbsync.Retryable || se.Code != 20429 || se.RetryAfter != 2*time.Second {
			t.Fatalf("attempt %d: %#v", i, err)
		}
	}
	if _, err := e.tw.Send(ctxT(t), acct1, twilio.SendParams{To: cust, From: num1, Body: "x"}); err != nil {
		t.Fatalf("after the 429s: %v", err)
	}
	if s := e.fake.Stats(); s.Created != 1 || s.CreateRequests != 4 {
		t.Fatalf("stats %+v", s)
	}
}

func TestServerErrors(t *testing.T) {
	e := newEnv(t, twilio.Options{})
	sent, err := e.tw.Send(ctxT(t), acct1, twilio.SendParams{To: cust, From: num1, Body: "x"})
	must(t, err)
	for _, html := range []bool{true, false} {
		e.fake.Fail5xx(1, html)
		te := twErr(t, func() error {
			_, err := e.tw.Send(ctxT(t), acct1, twilio.SendParams{To: cust, From: num1, Body: "y"})
			return err
		}())
		if te.Kind != twilio.KindAmbiguous || te.HTTPStatus < 500 {
			t.Fatalf("create, html=%v: %+v", html, te)
		}
		e.fake.Fail5xx(1, html)
		te = twErr(t, func() error { _, err := e.tw.Fetch(ctxT(t), acct1, sent.SID); return err }())
		if te.Kind != twilio.KindRetryable || te.HTTPStatus < 500 {
			t.Fatalf("fetch, html=%v: %+v", html, te)
		}
		e.fake.Fail5xx(1, html)
		te = twErr(t, func() error { _, err := e.tw.Find(ctxT(t), acct1, twilio.Query{To: cust}); return err }())
		if te.Kind != twilio.KindRetryable {
			t.Fatalf("list, html=%v: %+v", html, te)
		}
	}
	if n := e.fake.Stats().Created; n != 1 {
		t.Fatalf("created %d, want 1 (faulted creates are not processed)", n)
	}
}

func TestCreatedBut500IsResolvedByFind(t *testing.T) {
	for _, queued := range []bool{true, false} {
		t.Run(map[bool]string{true: "still queued", false: "sent"}[queued], func(t *testing.T) {
			e := newEnv(t, twilio.Options{PageSize: 2})
			if queued {
				// date_sent stays null: only the scan by To/From can see it.
				e.fake.SetStepDelay(time.Hour)
			}
			// Noise: other recipients, and an earlier message to cust.
			for _, to := range []string{"+15550003333", cust, "+15550004444"} {
				_, err := e.tw.Send(ctxT(t), acct1, twilio.SendParams{To: to, From: num1, Body: "older"})
				must(t, err)
			}
			intent := time.Now()
			e.fake.CreatedBut500(1)
			_, err := e.tw.Messenger().Send(ctxT(t), acct1, sbsync.Outgoing{To: cust, From: num1, Body: "the one"})
			var se *sbsync.SendError
			if !errors.As(err, &se) || se.Kind != sbsync.Ambiguous {
				t.Fatalf("created-but-500: %#v", err)
			}
			if !queued {
				settle(t, e.fake)
			}
			found, err := e.tw.Messenger().Find(ctxT(t), acct1, sbsync.FindQuery{To: cust, From: num1, After: intent.Add(-time.Minute), Before: intent.Add(time.Minute)})
			must(t, err)
			var match []sbsync.Sent
			for _, f := range found {
				if f.To != cust || f.From != num1 {
					t.Fatalf("Find returned another pair: %+v", f)
				}
				if f.Body == "the one" {
					match = append(match, f)
				}
			}
			if len(match) != 1 || match[0].SID == "" {
				t.Fatalf("found %+v", found)
			}
			want := e.fake.Messages()[3].SID
			if match[0].SID != want {
				t.Fatalf("resolved %s, the simulator created %s", match[0].SID, want)
			}
			// A window after the message finds nothing.
			later, err := e.tw.Find(ctxT(t), acct1, twilio.Query{To: cust, From: num1, After: time.Now().Add(time.Hour), Before: time.Now().Add(2 * time.Hour)})
			if err != nil || len(later) != 0 {
				t.Fatalf("later window: %v, %+v", err, later)
			}
		})
	}
}

func TestFindFollowsPages(t *testing.T) {
	e := newEnv(t, twilio.Options{PageSize: 2})
	start := time.Now().Add(-time.Second)
	for range 7 {
		_, err := e.tw.Send(ctxT(t), acct1, twilio.SendParams{To: cust, From: num1, Body: "page me"})
		must(t, err)
	}
	settle(t, e.fake)
	lists := e.fake.Stats().Lists
	found, err := e.tw.Find(ctxT(t), acct1, twilio.Query{To: cust, From: num1, After: start, Before: time.Now().Add(time.Second)})
	must(t, err)
	if len(found) != 7 {
		t.Fatalf("found %d, want 7", len(found))
	}
	seen := map[string]bool{}
	for _, f := range found {
		seen[f.SID] = true
	}
	if len(seen) != 7 {
		t.Fatalf("duplicates in %+v", found)
	}
	// 4 pages of the window listing at PageSize 2, then the scan.
	if n := e.fake.Stats().Lists - lists; n < 5 {
		t.Fatalf("%d list requests; pages were not followed", n)
	}
}

func TestDroppedConnectionAfterCreateIsAmbiguous(t *testing.T) {
	e := newEnv(t, twilio.Options{})
	e.fake.DropAfterCreate(1)
	te := twErr(t, func() error {
		_, err := e.tw.Send(ctxT(t), acct1, twilio.SendParams{To: cust, From: num1, Body: "x"})
		return err
	}())
	if te.Kind != twilio.KindAmbiguous || te.HTTPStatus != 0 {
		t.Fatalf("%+v", te)
	}
	if n := e.fake.Stats().Created; n != 1 {
		t.Fatalf("created %d", n)
	}
}

func TestConnectionRefusedIsRetryable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	tw, err := twilio.NewAccounts(map[string]string{acct1: tok1}, twilio.Options{BaseURL: "http://" + addr, Timeout: 2 * time.Second})
	must(t, err)
	te := twErr(t, func() error {
		_, err := tw.Send(ctxT(t), acct1, twilio.SendParams{To: cust, From: num1, Body: "x"})
		return err
	}())
	if te.Kind != twilio.KindRetryable || !strings.Contains(te.Description, "not sent") {
		t.Fatalf("%+v", te)
	}
}

func TestDeadlines(t *testing.T) {
	e := newEnv(t, twilio.Options{Timeout: 300 * time.Millisecond})
	sent, err := e.tw.Send(ctxT(t), acct1, twilio.SendParams{To: cust, From: num1, Body: "x"})
	must(t, err)
	e.fake.SetLatency(5 * time.Second)

	start := time.Now()
	te := twErr(t, func() error {
		_, err := e.tw.Send(ctxT(t), acct1, twilio.SendParams{To: cust, From: num1, Body: "y"})
		return err
	}())
	if te.Kind != twilio.KindAmbiguous || !strings.Contains(te.Description, "timed out") {
		t.Fatalf("slow create: %+v", te)
	}
	// The call ended at its deadline, not when the server answered.
	if el := time.Since(start); el >= 5*time.Second {
		t.Fatalf("create took %v despite a 300ms timeout", el)
	}
	te = twErr(t, func() error { _, err := e.tw.Fetch(ctxT(t), acct1, sent.SID); return err }())
	if te.Kind != twilio.KindRetryable {
		t.Fatalf("slow fetch: %+v", te)
	}
	// The caller's context is honoured too (shorter than Timeout).
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	te = twErr(t, func() error { _, err := e.tw.Fetch(ctx, acct1, sent.SID); return err }())
	if te.Kind != twilio.KindRetryable || !strings.Contains(te.Description, "cancelled") {
		t.Fatalf("cancelled fetch: %+v", te)
	}
	// An already-ended context sends nothing.
	reqs := e.fake.Stats().CreateRequests
	te = twErr(t, func() error {
		_, err := e.tw.Send(ctx, acct1, twilio.SendParams{To: cust, From: num1, Body: "z"})
		return err
	}())
	if te.Kind != twilio.KindRetryable || e.fake.Stats().CreateRequests != reqs {
		t.Fatalf("send on a cancelled context: %+v", te)
	}
}

func TestSeveralAccounts(t *testing.T) {
	e := newEnv(t, twilio.Options{})
	m1, err := e.tw.Send(ctxT(t), acct1, twilio.SendParams{To: cust, From: num1, Body: "one"})
	must(t, err)
	m2, err := e.tw.Send(ctxT(t), acct2, twilio.SendParams{To: cust, From: num2, Body: "two"})
	must(t, err)
	if m1.AccountSID != acct1 || m2.AccountSID != acct2 {
		t.Fatalf("accounts %s %s", m1.AccountSID, m2.AccountSID)
	}
	// Each account sees only its own messages.
	if _, err := e.tw.Fetch(ctxT(t), acct2, m1.SID); twErr(t, err).Code != 20404 {
		t.Fatalf("fetching another account's message: %v", err)
	}
	found, err := e.tw.Find(ctxT(t), acct2, twilio.Query{To: cust})
	must(t, err)
	if len(found) != 1 || found[0].SID != m2.SID {
		t.Fatalf("acct2 Find = %+v", found)
	}
	if te := twErr(t, func() error { _, err := e.tw.Fetch(ctxT(t), acct1, "../../Calls"); return err }()); te.Kind != twilio.KindPermanent {
		t.Fatalf("Fetch of a non-SID: %+v", te)
	}
	// Not configured here: permanent, nothing sent.
	other := "AC" + strings.Repeat("9", 32)
	_, err = e.tw.Messenger().Send(ctxT(t), other, sbsync.Outgoing{To: cust, From: num1, Body: "x"})
	var se *sbsync.SendError
	if !errors.As(err, &se) || se.Kind != sbsync.Permanent || !errors.Is(err, twilio.ErrUnknownAccount) {
		t.Fatalf("unknown account: %#v", err)
	}
	if got := e.tw.SIDs(); len(got) != 2 || !e.tw.Has(acct1) || e.tw.Has(other) {
		t.Fatalf("SIDs %v", got)
	}
}

func TestWrongCredentialsAreRetryableConfigErrors(t *testing.T) {
	e := newEnv(t, twilio.Options{})
	bad, err := twilio.NewAccounts(map[string]string{acct1: "wrongtoken"}, twilio.Options{BaseURL: e.fake.URL()})
	must(t, err)
	defer bad.Close()
	must(t, e.tw.Check(ctxT(t), acct1))
	if te := twErr(t, bad.Check(ctxT(t), acct1)); te.Code != 20003 || te.HTTPStatus != 401 {
		t.Fatalf("Check with a wrong token: %+v", te)
	}
	te := twErr(t, func() error {
		_, err := bad.Send(ctxT(t), acct1, twilio.SendParams{To: cust, From: num1, Body: "x"})
		return err
	}())
	if te.Kind != twilio.KindRetryable || te.Code != 20003 || te.HTTPStatus != 401 || !strings.Contains(te.Description, "credentials") {
		t.Fatalf("%+v", te)
	}
}

func TestNewAccountsRejectsBadSettings(t *testing.T) {
	for name, c := range map[string]struct {
		creds map[string]string
		opts  twilio.Options
		want  string
	}{
		"none":    {nil, twilio.Options{}, "no accounts"},
		"bad sid": {map[string]string{"AC123": tok1}, twilio.Options{}, "an account SID of 5 characters is not AC followed by 32 hex digits"},
		// A mistyped SID:TOKEN pair can put the token in the SID's place;
		// the error must not print it.
		"token in the sid": {map[string]string{acct1 + "=s3cretToken": tok1}, twilio.Options{}, "an account SID of 46 characters"},
		"bad token":        {map[string]string{acct1: "tok-with-dash"}, twilio.Options{}, "not alphanumeric"},
		"empty token":      {map[string]string{acct1: ""}, twilio.Options{}, "not alphanumeric"},
		"relative base":    {map[string]string{acct1: tok1}, twilio.Options{BaseURL: "api.twilio.com"}, "absolute"},
	} {
		_, err := twilio.NewAccounts(c.creds, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error prints a token: %v", name, err)
		}
	}
}

// twilio-go never closes the body of an error response (deps §3); the
// transport must. trackingTransport counts bodies opened and closed.
type trackingTransport struct {
	base           http.RoundTripper
	opened, closed atomic.Int32
}

type trackedBody struct {
	io.ReadCloser
	closed *atomic.Int32
	once   sync.Once
}

func (b *trackedBody) Close() error {
	b.once.Do(func() { b.closed.Add(1) })
	return b.ReadCloser.Close()
}

func (t *trackingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err == nil {
		t.opened.Add(1)
		resp.Body = &trackedBody{ReadCloser: resp.Body, closed: &t.closed}
	}
	return resp, err
}

func TestErrorResponseBodiesAreClosed(t *testing.T) {
	var dials atomic.Int32
	tr := &trackingTransport{base: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}}
	e := newEnv(t, twilio.Options{Transport: tr})
	e.fake.Fail429(20)
	e.fake.OptOut(cust, num1)
	for range 20 {
		_, err := e.tw.Send(ctxT(t), acct1, twilio.SendParams{To: cust, From: num1, Body: "x"})
		if twErr(t, err).Kind != twilio.KindRetryable {
			t.Fatal(err)
		}
	}
	e.fake.Fail5xx(10, true)
	for range 10 {
		_, _ = e.tw.Send(ctxT(t), acct1, twilio.SendParams{To: cust, From: num1, Body: "x"})
	}
	for range 10 { // 21610s
		_, _ = e.tw.Send(ctxT(t), acct1, twilio.SendParams{To: cust, From: num1, Body: "x"})
	}
	if o, c := tr.opened.Load(), tr.closed.Load(); o != 40 || c != 40 {
		t.Fatalf("%d error bodies opened, %d closed", o, c)
	}
	if n := dials.Load(); n != 1 {
		t.Fatalf("%d connections for 40 sequential error responses", n)
	}
}

func TestErrorDescription(t *testing.T) {
	for code, want := range map[int]string{
		30007: "30007 — message filtered by the carrier (spam or policy)",
		30003: "30003 — unreachable destination handset (phone off or out of coverage)",
		30005: "30005 — unknown destination handset (the number does not exist any more)",
		30006: "30006 — landline or unreachable carrier",
		30008: "30008 — unknown error from the carrier",
		21610: "21610 — the recipient has opted out (replied STOP)",
		39999: "39999 — Twilio error 39999 (https://www.twilio.com/docs/errors/39999)",
	} {
		if got := twilio.ErrorDescription(code); got != want {
			t.Errorf("ErrorDescription(%d) = %q, want %q", code, got, want)
		}
	}
}

func TestDeliveryFailureReachesFetchAndCallback(t *testing.T) {
	e := newEnv(t, twilio.Options{})
	e.fake.SetOutcome(cust, "undelivered", 30003)
	m, err := e.tw.Send(ctxT(t), acct1, twilio.SendParams{To: cust, From: num1, Body: "x", StatusCallback: e.cb.srv.URL + "/twilio/status"})
	must(t, err)
	settle(t, e.fake)
	f, err := e.tw.Messenger().Fetch(ctxT(t), acct1, m.SID)
	must(t, err)
	if f.Status != "undelivered" || f.ErrorCode != 30003 || f.ErrorMessage == "" {
		t.Fatalf("fetched %+v", f)
	}
	got := e.cb.all()
	last, err := twilio.ParseStatus(got[len(got)-1].Form)
	must(t, err)
	if last.Status != "undelivered" || last.ErrorCode != 30003 {
		t.Fatalf("last callback %+v", last)
	}
}

// TestFindByMessagingService: a message sent through a service has a pool
// number as From; Find by the service finds it, Find by the MG SID as
// From finds nothing (the List API has no service filter, ref §2.5).
func TestFindByMessagingService(t *testing.T) {
	e := newEnv(t, twilio.Options{})
	start := time.Now().Add(-time.Second)
	sent, err := e.tw.Send(ctxT(t), acct1, twilio.SendParams{To: cust, MessagingServiceSID: mg1, Body: "via the service"})
	must(t, err)
	_, err = e.tw.Send(ctxT(t), acct1, twilio.SendParams{To: cust, From: num1, Body: "not via the service"})
	must(t, err)
	found, err := e.tw.Messenger().Find(ctxT(t), acct1, sbsync.FindQuery{To: cust, MessagingServiceSID: mg1, After: start, Before: time.Now().Add(time.Second)})
	must(t, err)
	if len(found) != 1 || found[0].SID != sent.SID || found[0].From != mgNum || found[0].MessagingServiceSID != mg1 {
		t.Fatalf("found %+v, want %s from %s via %s", found, sent.SID, mgNum, mg1)
	}
	byFrom, err := e.tw.Find(ctxT(t), acct1, twilio.Query{To: cust, From: mg1, After: start, Before: time.Now().Add(time.Second)})
	if err != nil || len(byFrom) != 0 {
		t.Fatalf("From=MG…: %v %+v, want nothing", err, byFrom)
	}
}
