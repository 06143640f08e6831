package twiliotest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/twilio/twiliotest"
)

const (
	acct = "AC0123456789abcdef0123456789abcdef"
	tok  = "0123456789abcdef0123456789abcdef"
	num  = "+15017122661"
	mg   = "MG0123456789abcdef0123456789abcdef"
	mgN  = "+15017122663"
	cust = "+15558675310"
)

func newServer(t *testing.T) *twiliotest.Server {
	t.Helper()
	s := twiliotest.Start(t, twiliotest.Options{Accounts: map[string]string{acct: tok}})
	if err := s.AddNumber(acct, num); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMessagingService(acct, mg, mgN); err != nil {
		t.Fatal(err)
	}
	return s
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// do sends a raw request the way twilio-go would and decodes the JSON answer.
func do(t *testing.T, s *twiliotest.Server, method, path, user, pass string, form url.Values) (int, map[string]any) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, s.URL()+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %v", method, path, err)
	}
	return resp.StatusCode, m
}

const messages = "/2010-04-01/Accounts/" + acct + "/Messages.json"

func TestAuth(t *testing.T) {
	s := newServer(t)
	for name, c := range map[string]struct{ user, pass string }{
		"none": {"", ""}, "wrong token": {acct, "nope"}, "unknown account": {"AC" + strings.Repeat("1", 32), tok},
	} {
		st, m := do(t, s, "GET", messages, c.user, c.pass, nil)
		if st != 401 || m["code"] != float64(20003) || m["status"] != float64(401) || m["more_info"] != "https://www.twilio.com/docs/errors/20003" {
			t.Errorf("%s: %d %v", name, st, m)
		}
	}
	if err := s.AddAccount("AC"+strings.Repeat("2", 32), "tok2"); err != nil {
		t.Fatal(err)
	}
	// Valid credentials of another account than the path's.
	if st, m := do(t, s, "GET", messages, "AC"+strings.Repeat("2", 32), "tok2", nil); st != 403 || m["code"] != float64(20003) {
		t.Errorf("other account: %d %v", st, m)
	}
	if err := s.AddAccount("AC-1", "x"); err == nil {
		t.Error("non-alphanumeric account accepted")
	}
}

func TestCreateValidation(t *testing.T) {
	s := newServer(t)
	s.OptOut(cust, num)
	media := url.Values{"To": {"+15550001"}, "From": {num}}
	for i := range 11 {
		media.Add("MediaUrl", fmt.Sprintf("https://e.com/%d.jpg", i))
	}
	for name, c := range map[string]struct {
		form url.Values
		code int
	}{
		"missing To":                {url.Values{"From": {num}, "Body": {"x"}}, 21604},
		"invalid To":                {url.Values{"To": {"5551234"}, "From": {num}, "Body": {"x"}}, 21211},
		"no sender":                 {url.Values{"To": {cust}, "Body": {"x"}}, 21603},
		"no body or media":          {url.Values{"To": {cust}, "From": {num}}, 21602},
		"1601 chars":                {url.Values{"To": {"+15550001"}, "From": {num}, "Body": {strings.Repeat("é", 1601)}}, 21617},
		"11 media":                  {media, 21623},
		"From not ours":             {url.Values{"To": {"+15550001"}, "From": {"+15559999999"}, "Body": {"x"}}, 21606},
		"unknown service":           {url.Values{"To": {"+15550001"}, "MessagingServiceSid": {"MG" + strings.Repeat("9", 32)}, "Body": {"x"}}, 21703},
		"opted out":                 {url.Values{"To": {cust}, "From": {num}, "Body": {"x"}}, 21610},
		"WhatsApp sender not ours":  {url.Values{"To": {"whatsapp:+15550001"}, "From": {"whatsapp:+15559999999"}, "Body": {"x"}}, 63007},
		"SMS number to WhatsApp":    {url.Values{"To": {"whatsapp:+15550001"}, "From": {num}, "Body": {"x"}}, 21910},
		"WhatsApp to an SMS number": {url.Values{"To": {"+15550001"}, "From": {"whatsapp:" + num}, "Body": {"x"}}, 21910},
	} {
		st, m := do(t, s, "POST", messages, acct, tok, c.form)
		if st != 400 || m["code"] != float64(c.code) || m["status"] != float64(400) || m["message"] == "" {
			t.Errorf("%s: %d %v, want 400 %d", name, st, m, c.code)
		}
	}
	// 1600 characters is the limit, not over it.
	if st, m := do(t, s, "POST", messages, acct, tok, url.Values{"To": {"+15550001"}, "From": {num}, "Body": {strings.Repeat("é", 1600)}}); st != 201 {
		t.Errorf("1600 chars: %d %v", st, m)
	}
	// WhatsApp: both addresses with "whatsapp:", from a number of the account.
	if st, m := do(t, s, "POST", messages, acct, tok, url.Values{"To": {"whatsapp:+15550001"}, "From": {"whatsapp:" + num}, "Body": {"x"}}); st != 201 ||
		m["from"] != "whatsapp:"+num || m["to"] != "whatsapp:+15550001" {
		t.Errorf("whatsapp: %d %v", st, m)
	}
	if st := s.Stats(); st.Rejected != 12 || st.Created != 2 || st.CreateRequests != 14 {
		t.Errorf("stats %+v", st)
	}
}

// The JSON types twilio-go decodes strictly (ref §0.3).
func TestMessageJSONTypes(t *testing.T) {
	s := newServer(t)
	s.SetStepDelay(time.Hour)
	st, m := do(t, s, "POST", messages, acct, tok, url.Values{"To": {cust}, "From": {num}, "Body": {"hi"}, "MediaUrl": {"https://e.com/a.jpg"}})
	if st != 201 {
		t.Fatalf("%d %v", st, m)
	}
	sid, _ := m["sid"].(string)
	if !strings.HasPrefix(sid, "MM") || len(sid) != 34 {
		t.Errorf("sid %q", sid)
	}
	for k, want := range map[string]any{"num_segments": "1", "num_media": "1", "price": nil, "error_code": nil, "error_message": nil,
		"date_sent": nil, "status": "queued", "direction": "outbound-api", "api_version": "2010-04-01", "account_sid": acct,
		"uri": "/2010-04-01/Accounts/" + acct + "/Messages/" + sid + ".json", "price_unit": "USD"} {
		if m[k] != want {
			t.Errorf("%s = %#v, want %#v", k, m[k], want)
		}
	}
	if _, err := time.Parse(time.RFC1123Z, m["date_created"].(string)); err != nil {
		t.Errorf("date_created: %v", err)
	}
	if sub, _ := m["subresource_uris"].(map[string]any); sub["media"] != "/2010-04-01/Accounts/"+acct+"/Messages/"+sid+"/Media.json" {
		t.Errorf("subresource_uris %v", m["subresource_uris"])
	}
	st, m = do(t, s, "POST", messages, acct, tok, url.Values{"To": {cust}, "MessagingServiceSid": {mg}, "Body": {"hi"}})
	if st != 201 || m["status"] != "accepted" || m["num_segments"] != "0" || m["messaging_service_sid"] != mg {
		t.Errorf("service send: %d %v", st, m)
	}
	if st, m := do(t, s, "GET", "/2010-04-01/Accounts/"+acct+"/Messages/SM"+strings.Repeat("0", 32)+".json", acct, tok, nil); st != 404 || m["code"] != float64(20404) {
		t.Errorf("unknown sid: %d %v", st, m)
	}
}

func TestListFiltersAndPaging(t *testing.T) {
	now := time.Date(2024, 1, 2, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := twiliotest.Start(t, twiliotest.Options{Accounts: map[string]string{acct: tok}, Now: clock})
	if err := s.AddNumber(acct, num); err != nil {
		t.Fatal(err)
	}
	for day := range 3 {
		mu.Lock()
		now = time.Date(2024, 1, 2+day, 10, 0, 0, 0, time.UTC)
		mu.Unlock()
		for i := range 3 {
			do(t, s, "POST", messages, acct, tok, url.Values{"To": {cust}, "From": {num}, "Body": {fmt.Sprintf("d%d m%d", day, i)}})
		}
		do(t, s, "POST", messages, acct, tok, url.Values{"To": {"+15550009999"}, "From": {num}, "Body": {"other"}})
		if err := s.Settle(ctxT(t)); err != nil { // sent → date_sent set
			t.Fatal(err)
		}
	}
	count := func(q url.Values) (int, []string) {
		n := 0
		var bodies []string
		path := messages + "?" + q.Encode()
		for path != "" {
			st, m := do(t, s, "GET", path, acct, tok, nil)
			if st != 200 {
				t.Fatalf("%s: %d %v", path, st, m)
			}
			for _, it := range m["messages"].([]any) {
				n++
				bodies = append(bodies, it.(map[string]any)["body"].(string))
			}
			path, _ = m["next_page_uri"].(string)
		}
		return n, bodies
	}
	if n, b := count(url.Values{"To": {cust}, "PageSize": {"2"}}); n != 9 || b[0] != "d2 m2" {
		t.Errorf("To filter, paged: %d %v (want newest first)", n, b)
	}
	if n, _ := count(url.Values{"DateSent>": {"2024-01-03"}}); n != 8 {
		t.Errorf("DateSent> date: %d", n)
	}
	if n, _ := count(url.Values{"DateSent<": {"2024-01-03"}, "To": {cust}}); n != 6 {
		t.Errorf("DateSent< date (inclusive day): %d", n)
	}
	if n, _ := count(url.Values{"DateSent": {"2024-01-03"}}); n != 4 {
		t.Errorf("DateSent exact day: %d", n)
	}
	if n, _ := count(url.Values{"DateSent>": {"2024-01-03T10:00:00Z"}, "DateSent<": {"2024-01-03T10:00:00Z"}, "To": {cust}}); n != 3 {
		t.Errorf("RFC 3339 window: %d", n)
	}
	if st, m := do(t, s, "GET", messages+"?DateSent%3E=yesterday", acct, tok, nil); st != 400 {
		t.Errorf("bad date: %d %v", st, m)
	}
}

type hook struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []url.Values
	ids []string
}

func newHook(t *testing.T) *hook {
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		h.mu.Lock()
		h.got = append(h.got, r.PostForm)
		h.ids = append(h.ids, r.Header.Get("I-Twilio-Idempotency-Token"))
		h.mu.Unlock()
		w.WriteHeader(204)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) statuses() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var s []string
	for _, v := range h.got {
		s = append(s, v.Get("MessageStatus"))
	}
	return strings.Join(s, ",")
}

func send(t *testing.T, s *twiliotest.Server, to, cb string) {
	t.Helper()
	if st, m := do(t, s, "POST", messages, acct, tok, url.Values{"To": {to}, "From": {num}, "Body": {"x"}, "StatusCallback": {cb}}); st != 201 {
		t.Fatalf("%d %v", st, m)
	}
	if err := s.Settle(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

func TestCallbackKnobs(t *testing.T) {
	s := newServer(t)
	h := newHook(t)
	send(t, s, cust, h.srv.URL)
	if got := h.statuses(); got != "sending,sent,delivered" {
		t.Fatalf("plain: %s", got)
	}

	h = newHook(t)
	s.ReorderCallbacks(true)
	send(t, s, cust, h.srv.URL)
	if got := h.statuses(); got != "delivered,sent,sending" {
		t.Fatalf("reordered: %s", got)
	}
	s.ReorderCallbacks(false)

	h = newHook(t)
	s.DuplicateCallbacks(true)
	send(t, s, cust, h.srv.URL)
	if got := h.statuses(); got != "sending,sending,sent,sent,delivered,delivered" || h.ids[0] != h.ids[1] || h.ids[0] == h.ids[2] {
		t.Fatalf("duplicated: %s %v", got, h.ids)
	}
	s.DuplicateCallbacks(false)

	h = newHook(t)
	s.DropCallbacks(2)
	send(t, s, cust, h.srv.URL)
	if got := h.statuses(); got != "delivered" {
		t.Fatalf("dropped 2: %s", got)
	}
	dropped := 0
	for _, c := range s.Callbacks() {
		if c.Dropped {
			dropped++
		}
	}
	if dropped != 2 {
		t.Fatalf("%d recorded as dropped", dropped)
	}

	h = newHook(t)
	s.SetOutcome("+15550007777", "failed", 30007)
	send(t, s, "+15550007777", h.srv.URL)
	if got := h.statuses(); got != "failed" || h.got[0].Get("ErrorCode") != "30007" {
		t.Fatalf("failed: %s %v", got, h.got)
	}
	h = newHook(t)
	s.SetOutcome("+15550008888", "sent", 0)
	send(t, s, "+15550008888", h.srv.URL)
	if got := h.statuses(); got != "sending,sent" {
		t.Fatalf("no DLR: %s", got)
	}

	h = newHook(t)
	s.CallbackDelay(30 * time.Millisecond)
	start := time.Now()
	send(t, s, cust, h.srv.URL)
	if el := time.Since(start); el < 90*time.Millisecond || h.statuses() != "sending,sent,delivered" {
		t.Fatalf("delayed: %v %s", el, h.statuses())
	}
}

func TestOptOutByInbound(t *testing.T) {
	s := newServer(t)
	h := newHook(t)
	s.SetInboundURL(h.srv.URL)
	create := func(form url.Values) float64 {
		st, m := do(t, s, "POST", messages, acct, tok, form)
		if st == 201 {
			return 0
		}
		return m["code"].(float64)
	}
	viaNum := url.Values{"To": {cust}, "From": {num}, "Body": {"x"}}
	viaMG := url.Values{"To": {cust}, "MessagingServiceSid": {mg}, "Body": {"x"}}
	// STOP to a plain number blocks that number only.
	if _, err := s.SendInbound(ctxT(t), twiliotest.Inbound{From: cust, To: num, Body: " sToP "}); err != nil {
		t.Fatal(err)
	}
	if c := create(viaNum); c != 21610 {
		t.Fatalf("after STOP: %v", c)
	}
	if c := create(viaMG); c != 0 {
		t.Fatalf("other sender after STOP: %v", c)
	}
	if got := h.got[0]; got.Get("OptOutType") != "" || got.Get("Body") != " sToP " {
		t.Fatalf("OptOutType without a Messaging Service: %v", got)
	}
	if _, err := s.SendInbound(ctxT(t), twiliotest.Inbound{From: cust, To: num, Body: "start"}); err != nil {
		t.Fatal(err)
	}
	if c := create(viaNum); c != 0 {
		t.Fatalf("after START: %v", c)
	}
	// Not a keyword: "Stop please".
	s.SendInbound(ctxT(t), twiliotest.Inbound{From: cust, To: num, Body: "Stop please"})
	if c := create(viaNum); c != 0 {
		t.Fatalf("after 'Stop please': %v", c)
	}
	// STOP to a service number blocks the whole service, with OptOutType.
	if _, err := s.SendInbound(ctxT(t), twiliotest.Inbound{From: cust, To: mgN, Body: "UNSUBSCRIBE"}); err != nil {
		t.Fatal(err)
	}
	if c := create(viaMG); c != 21610 {
		t.Fatalf("service after STOP: %v", c)
	}
	if c := create(url.Values{"To": {cust}, "From": {mgN}, "Body": {"x"}}); c != 21610 {
		t.Fatalf("service number after STOP: %v", c)
	}
	if got := h.got[len(h.got)-1]; got.Get("OptOutType") != "STOP" || got.Get("MessagingServiceSid") != mg {
		t.Fatalf("inbound STOP to a service: %v", got)
	}
	s.OptIn(cust, mg)
	if c := create(viaMG); c != 0 {
		t.Fatalf("after OptIn: %v", c)
	}
	if _, err := s.SendInbound(ctxT(t), twiliotest.Inbound{From: cust, To: "+15550000000", Body: "x"}); err == nil {
		t.Fatal("inbound to a number of no account accepted")
	}
}

func TestFaultKnobs(t *testing.T) {
	s := newServer(t)
	form := url.Values{"To": {cust}, "From": {num}, "Body": {"x"}}
	s.Fail429(1)
	if st, m := do(t, s, "POST", messages, acct, tok, form); st != 429 || m["code"] != float64(20429) {
		t.Fatalf("429: %d %v", st, m)
	}
	s.CreatedBut500(1)
	if st, m := do(t, s, "POST", messages, acct, tok, form); st != 500 {
		t.Fatalf("created-but-500: %d %v", st, m)
	}
	if len(s.Messages()) != 1 {
		t.Fatal("created-but-500 did not create")
	}
	s.Fail5xx(1, true)
	req, _ := http.NewRequest("GET", s.URL()+messages, nil)
	req.SetBasicAuth(acct, tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(b), "<html>") {
		t.Fatalf("html 5xx: %d %s", resp.StatusCode, b)
	}
	s.DropAfterCreate(1)
	req, _ = http.NewRequest("POST", s.URL()+messages, strings.NewReader(form.Encode()))
	req.SetBasicAuth(acct, tok)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("dropped connection answered %d", resp.StatusCode)
	}
	if len(s.Messages()) != 2 {
		t.Fatal("drop-after-create did not create")
	}
	if st := s.Stats(); st.Faults != 4 || st.Created != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCloseIsPrompt(t *testing.T) {
	s := twiliotest.Start(t, twiliotest.Options{Accounts: map[string]string{acct: tok}, StepDelay: time.Hour})
	s.AddNumber(acct, num)
	for range 5 {
		do(t, s, "POST", messages, acct, tok, url.Values{"To": {cust}, "From": {num}, "Body": {"x"}, "StatusCallback": {"http://127.0.0.1:1/cb"}})
	}
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close blocked on pending lifecycles")
	}
}

func TestSetStatusWithoutCallback(t *testing.T) {
	s := newServer(t)
	s.SetStepDelay(time.Hour)
	h := newHook(t)
	st, m := do(t, s, "POST", messages, acct, tok, url.Values{"To": {cust}, "From": {num}, "Body": {"x"}, "StatusCallback": {h.srv.URL}})
	if st != 201 {
		t.Fatal(m)
	}
	sid := m["sid"].(string)
	if err := s.SetStatus(sid, "undelivered", 30005); err != nil {
		t.Fatal(err)
	}
	_, f := do(t, s, "GET", "/2010-04-01/Accounts/"+acct+"/Messages/"+sid+".json", acct, tok, nil)
	if f["status"] != "undelivered" || f["error_code"] != float64(30005) || f["date_sent"] == nil {
		t.Fatalf("fetched %v", f)
	}
	if h.statuses() != "" {
		t.Fatalf("callbacks sent: %s", h.statuses())
	}
	if err := s.SetStatus("SMnope", "sent", 0); err == nil {
		t.Fatal("unknown SID accepted")
	}
	sig := twiliotest.Sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", url.Values{
		"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"1234"}, "From": {"+14158675309"}, "To": {"+18005551212"}})
	if sig != "RSOYDt4T1cUTdK1PDd93/VVr8B8=" { // ref §6.2
		t.Fatalf("Sign = %s", sig)
	}
}

func TestNumSegmentsAndReplies(t *testing.T) {
	s := newServer(t)
	for body, want := range map[string]string{
		strings.Repeat("a", 160): "1", strings.Repeat("a", 161): "2", strings.Repeat("a", 152) + "{" + strings.Repeat("a", 10): "2",
		strings.Repeat("ж", 70): "1", strings.Repeat("ж", 135): "3", "😜" + strings.Repeat("1", 133): "3",
	} {
		st, m := do(t, s, "POST", messages, acct, tok, url.Values{"To": {cust}, "From": {num}, "Body": {body}})
		if st != 201 || m["num_segments"] != want {
			t.Errorf("%d chars: num_segments %v, want %s", len([]rune(body)), m["num_segments"], want)
		}
	}
	var answer struct {
		ct, body string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", answer.ct)
		io.WriteString(w, answer.body)
	}))
	defer srv.Close()
	s.SetInboundURL(srv.URL)
	for _, c := range []struct {
		ct, body string
		reply    bool
	}{
		{"text/xml", `<?xml version="1.0" encoding="UTF-8"?><Response/>`, false},
		{"text/plain; charset=utf-8", "OK", true},
		{"text/xml", `<Response><Message>Thanks</Message></Response>`, true},
	} {
		answer.ct, answer.body = c.ct, c.body
		res, err := s.SendInbound(ctxT(t), twiliotest.Inbound{From: cust, To: num, Body: "hi"})
		if err != nil {
			t.Fatal(err)
		}
		if res.WouldReply() != c.reply {
			t.Errorf("%s %q: WouldReply %v", c.ct, c.body, res.WouldReply())
		}
	}
}

// TestServiceMessagesInListings: a Messaging Service send takes its From
// from the service's pool (ref §2.1), and every fetch and listing carries
// messaging_service_sid; a From filter with the MG SID matches nothing,
// because no message is from it.
func TestServiceMessagesInListings(t *testing.T) {
	s := newServer(t)
	st, m := do(t, s, "POST", messages, acct, tok, url.Values{"To": {cust}, "MessagingServiceSid": {mg}, "Body": {"via the pool"}})
	if st != 201 {
		t.Fatalf("%d %v", st, m)
	}
	sid := m["sid"].(string)
	if _, m := do(t, s, "GET", "/2010-04-01/Accounts/"+acct+"/Messages/"+sid+".json", acct, tok, nil); m["from"] != mgN || m["messaging_service_sid"] != mg {
		t.Errorf("fetched: from %v, messaging_service_sid %v", m["from"], m["messaging_service_sid"])
	}
	_, l := do(t, s, "GET", messages+"?To="+url.QueryEscape(cust), acct, tok, nil)
	ms, _ := l["messages"].([]any)
	if len(ms) != 1 || ms[0].(map[string]any)["from"] != mgN || ms[0].(map[string]any)["messaging_service_sid"] != mg {
		t.Errorf("listed: %v", ms)
	}
	if _, l := do(t, s, "GET", messages+"?From="+mg, acct, tok, nil); len(l["messages"].([]any)) != 0 {
		t.Errorf("From=MG… listed %v, want nothing", l["messages"])
	}
}

// TestHoldAfterCreateAndLatencyRange: a held create is listed before its
// answer comes; a latency range delays each request within its bounds.
func TestHoldAfterCreateAndLatencyRange(t *testing.T) {
	s := newServer(t)
	s.HoldAfterCreate(1, 400*time.Millisecond)
	start := time.Now()
	done := make(chan int)
	go func() {
		st, _ := do(t, s, "POST", messages, acct, tok, url.Values{"To": {cust}, "From": {num}, "Body": {"held"}})
		done <- st
	}()
	deadline := time.Now().Add(2 * time.Second)
	for len(s.Messages()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if len(s.Messages()) != 1 || time.Since(start) >= 400*time.Millisecond {
		t.Fatalf("the held message was not created before its answer (%d messages after %s)", len(s.Messages()), time.Since(start))
	}
	if st := <-done; st != 201 || time.Since(start) < 400*time.Millisecond {
		t.Fatalf("held create answered %d after %s", st, time.Since(start))
	}
	s.SetLatencyRange(50*time.Millisecond, 100*time.Millisecond)
	for range 5 {
		start := time.Now()
		do(t, s, "GET", messages, acct, tok, nil)
		if d := time.Since(start); d < 50*time.Millisecond || d > 300*time.Millisecond {
			t.Errorf("request took %s, want 50–100 ms plus overhead", d)
		}
	}
}
