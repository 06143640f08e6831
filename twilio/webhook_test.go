package twilio_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard/switchboard/twilio"
	"github.com/switchboard/switchboard/twilio/twiliotest"
)

// An MMS sent by the simulator, parsed by the receiving handler.
func TestParseInboundFromSimulator(t *testing.T) {
	var mu sync.Mutex
	var got []twilio.Inbound
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !twilio.ValidateRequest(r, "http://"+r.Host, tok1) {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		in, err := twilio.ParseInbound(r.PostForm)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, in)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Response/>`))
	}))
	defer srv.Close()
	e := newEnv(t, twilio.Options{})
	e.fake.SetInboundURL(srv.URL + "/twilio/inbound")
	res, err := e.fake.SendInbound(ctxT(t), twiliotest.Inbound{From: cust, To: mgNum, Body: "",
		MediaURLs: []string{"https://api.twilio.com/a.jpg", "https://api.twilio.com/b.png"}, MediaTypes: []string{"", "image/png"}})
	must(t, err)
	if res.StatusCode != 200 || !strings.HasPrefix(res.ContentType, "text/xml") {
		t.Fatalf("answer %d %s %s", res.StatusCode, res.ContentType, res.Body)
	}
	res, err = e.fake.SendInbound(ctxT(t), twiliotest.Inbound{From: cust, To: mgNum, Body: "stop"})
	must(t, err)
	if len(got) != 2 {
		t.Fatalf("parsed %d", len(got))
	}
	mms := got[0]
	if !strings.HasPrefix(mms.MessageSID, "MM") || mms.AccountSID != acct1 || mms.MessagingServiceSID != mg1 || mms.From != cust || mms.To != mgNum ||
		!reflect.DeepEqual(mms.Media, []twilio.Media{{"https://api.twilio.com/a.jpg", "image/jpeg"}, {"https://api.twilio.com/b.png", "image/png"}}) || mms.OptOutType != "" {
		t.Fatalf("MMS = %+v", mms)
	}
	if stop := got[1]; stop.Body != "stop" || stop.OptOutType != "STOP" || stop.MessageSID != res.MessageSID {
		t.Fatalf("STOP = %+v", stop)
	}
}

func TestParseInboundRejects(t *testing.T) {
	good := url.Values{"MessageSid": {"SM3558804311501f712c1b4772546a80e0"}, "AccountSid": {acct1}, "From": {cust}, "To": {num1}, "Body": {"hi"}, "NumMedia": {"0"}}
	if _, err := twilio.ParseInbound(good); err != nil {
		t.Fatalf("good form: %v", err)
	}
	with := func(k, v string) url.Values {
		c := url.Values{}
		for kk, vv := range good {
			c[kk] = vv
		}
		if v == "" {
			c.Del(k)
		} else {
			c.Set(k, v)
		}
		return c
	}
	for name, c := range map[string]struct {
		v    url.Values
		want string
	}{
		"no MessageSid":         {with("MessageSid", ""), "missing MessageSid"},
		"no From":               {with("From", ""), "missing From"},
		"no To or From":         {func() url.Values { v := with("To", ""); v.Del("From"); return v }(), "missing From, To"},
		"bad AccountSid":        {with("AccountSid", "AC123"), `AccountSid: "AC123" is not a Twilio SID`},
		"bad MessageSid":        {with("MessageSid", "XX3558804311501f712c1b4772546a80e0"), "MessageSid"},
		"NumMedia not a number": {with("NumMedia", "two"), `NumMedia: "two" is not a count`},
		"media URL missing":     {with("NumMedia", "1"), "missing MediaUrl0"},
		"too much media":        {with("NumMedia", "11"), "more than Twilio's 10"},
	} {
		_, err := twilio.ParseInbound(c.v)
		var fe *twilio.FieldError
		if err == nil || !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

func TestParseStatus(t *testing.T) {
	v, _ := url.ParseQuery("AccountSid=AC0123456789abcdef0123456789abcdef&ApiVersion=2010-04-01&ErrorCode=30003&From=%2B15017122661&MessageSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&MessageStatus=undelivered&MessagingServiceSid=MG0123456789abcdef0123456789abcdef&RawDlrDoneDate=2508241201&SmsSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&SmsStatus=undelivered&To=%2B15558675310")
	sc, err := twilio.ParseStatus(v)
	must(t, err)
	want := twilio.StatusCallback{MessageSID: "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", AccountSID: acct1, MessagingServiceSID: mg1,
		From: "+15017122661", To: cust, Status: "undelivered", ErrorCode: 30003, RawDlrDoneDate: "2508241201"}
	if sc != want {
		t.Fatalf("got %+v", sc)
	}
	// Only the deprecated SmsStatus: still understood.
	v.Del("MessageStatus")
	if sc, err := twilio.ParseStatus(v); err != nil || sc.Status != "undelivered" {
		t.Fatalf("SmsStatus only: %+v %v", sc, err)
	}
	for name, c := range map[string]struct {
		v    url.Values
		want string
	}{
		"empty":          {url.Values{}, "missing MessageSid, AccountSid, MessageStatus"},
		"bad ErrorCode":  {url.Values{"MessageSid": {"SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}, "AccountSid": {acct1}, "MessageStatus": {"failed"}, "ErrorCode": {"x"}}, `ErrorCode: "x" is not a number`},
		"bad MessageSid": {url.Values{"MessageSid": {"SM1"}, "AccountSid": {acct1}, "MessageStatus": {"sent"}}, `MessageSid: "SM1"`},
	} {
		if _, err := twilio.ParseStatus(c.v); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

// TestParseRefusesOversizeFields: a field longer than anything Twilio
// sends is refused by name and size, without echoing the value, before any
// other check looks at it.
func TestParseRefusesOversizeFields(t *testing.T) {
	good := url.Values{"MessageSid": {"SM3558804311501f712c1b4772546a80e0"}, "AccountSid": {acct1}, "From": {cust}, "To": {num1}, "Body": {"hi"}, "NumMedia": {"0"}}
	with := func(k, v string) url.Values {
		c := url.Values{}
		for kk, vv := range good {
			c[kk] = vv
		}
		c.Set(k, v)
		return c
	}
	manyParams := with("Body", "x")
	for i := range 120 {
		manyParams.Set(fmt.Sprintf("X%d", i), "y")
	}
	// The largest genuine values pass: a 4,096-character WhatsApp text,
	// a whatsapp: address, ten media URLs.
	whatsapp := with("Body", strings.Repeat("ж", 4096))
	whatsapp.Set("From", "whatsapp:+491511234567")
	whatsapp.Set("NumMedia", "10")
	for i := range 10 {
		whatsapp.Set(fmt.Sprintf("MediaUrl%d", i), "https://api.twilio.com/2010-04-01/Accounts/"+acct1+"/Messages/MM3558804311501f712c1b4772546a80e0/Media/ME3558804311501f712c1b4772546a80e0")
	}
	if _, err := twilio.ParseInbound(whatsapp); err != nil {
		t.Fatalf("largest genuine form: %v", err)
	}
	for name, c := range map[string]struct {
		v    url.Values
		want string
	}{
		"40 KB From":          {with("From", "+1"+strings.Repeat("5", 40<<10)), "From: 40962 bytes, more than the 64 a Twilio address has"},
		"long Body":           {with("Body", strings.Repeat("x", 4097)), "Body: 4097 characters, more than the 4096 a message has"},
		"long MessageSid":     {with("MessageSid", "SM"+strings.Repeat("a", 5000)), "MessageSid: 5002 bytes, more than the 34 a Twilio SID has"},
		"long unknown field":  {with("FromCity", strings.Repeat("x", 2000)), "FromCity: 2000 bytes, more than the 1024"},
		"too many parameters": {manyParams, "126 parameters, more than the 100"},
	} {
		_, err := twilio.ParseInbound(c.v)
		var fe *twilio.FieldError
		if err == nil || !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
		if err != nil && len(err.Error()) > 300 {
			t.Errorf("%s: the error is %d bytes long; it must not echo the value", name, len(err.Error()))
		}
	}
	// Status callbacks are held to the same sizes.
	v := url.Values{"MessageSid": {"SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}, "AccountSid": {acct1}, "MessageStatus": {"sent"}, "To": {strings.Repeat("9", 100)}}
	if _, err := twilio.ParseStatus(v); err == nil || !strings.Contains(err.Error(), "To: 100 bytes") {
		t.Errorf("status with a 100-byte To: %v", err)
	}
	// A malformed SID is quoted, but never more than a SID's worth of it.
	if _, err := twilio.ParseInbound(with("MessageSid", "XX"+strings.Repeat("z", 32))); err == nil || strings.Count(err.Error(), "z") > 34 {
		t.Errorf("bad SID: %v", err)
	}
}
