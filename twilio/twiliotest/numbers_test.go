package twiliotest_test

import (
	"net/http"
	"testing"
	"time"
)

// TestNumberAndServiceJSON checks the wire shapes twilio-go decodes: the
// 2010 number list (RFC 2822 dates, capabilities object, null next page)
// and the v1 service (ISO 8601 dates, null for unset URLs), with the
// setters reflected and other accounts' resources hidden.
func TestNumberAndServiceJSON(t *testing.T) {
	s := newServer(t)
	s.SetInboundURL("https://sidecar.example.com/twilio/inbound")
	code, body := do(t, s, http.MethodGet, "/2010-04-01/Accounts/"+acct+"/IncomingPhoneNumbers.json?PhoneNumber=%2B15017122661", acct, tok, nil)
	if code != http.StatusOK {
		t.Fatalf("list: %d %v", code, body)
	}
	nums, _ := body["incoming_phone_numbers"].([]any)
	if len(nums) != 1 || body["next_page_uri"] != nil {
		t.Fatalf("list of one number: %v", body)
	}
	n := nums[0].(map[string]any)
	if n["phone_number"] != num || n["sms_url"] != "https://sidecar.example.com/twilio/inbound" || n["sms_method"] != "POST" ||
		n["status_callback"] != "" || n["friendly_name"] != "(501) 712-2661" {
		t.Fatalf("number: %v", n)
	}
	if _, err := time.Parse(time.RFC1123Z, n["date_created"].(string)); err != nil {
		t.Fatalf("date_created is not RFC 2822: %v", err)
	}
	if caps, _ := n["capabilities"].(map[string]any); caps["sms"] != true {
		t.Fatalf("capabilities: %v", n["capabilities"])
	}
	if code, one := do(t, s, http.MethodGet, "/2010-04-01/Accounts/"+acct+"/IncomingPhoneNumbers/"+n["sid"].(string)+".json", acct, tok, nil); code != http.StatusOK || one["sid"] != n["sid"] {
		t.Fatalf("fetch by sid: %d %v", code, one)
	}
	// A wildcard pattern matches both of the account's numbers.
	if _, all := do(t, s, http.MethodGet, "/2010-04-01/Accounts/"+acct+"/IncomingPhoneNumbers.json?PhoneNumber=%2B150171226*", acct, tok, nil); len(all["incoming_phone_numbers"].([]any)) != 2 {
		t.Fatalf("wildcard: %v", all)
	}
	if err := s.SetNumberURLs(num, "https://x.example/sms", "https://x.example/cb"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetNumberURLs("+19995550000", "https://x.example/sms", ""); err == nil {
		t.Fatal("SetNumberURLs on an unknown number must fail")
	}
	_, body = do(t, s, http.MethodGet, "/2010-04-01/Accounts/"+acct+"/IncomingPhoneNumbers.json?PhoneNumber=%2B15017122661", acct, tok, nil)
	if n := body["incoming_phone_numbers"].([]any)[0].(map[string]any); n["sms_url"] != "https://x.example/sms" || n["status_callback"] != "https://x.example/cb" {
		t.Fatalf("after SetNumberURLs: %v", n)
	}
	if code, _ := do(t, s, http.MethodGet, "/2010-04-01/Accounts/"+acct+"/IncomingPhoneNumbers.json", acct, "wrong", nil); code != http.StatusUnauthorized {
		t.Fatalf("bad token: %d", code)
	}

	code, svc := do(t, s, http.MethodGet, "/v1/Services/"+mg, acct, tok, nil)
	if code != http.StatusOK || svc["sid"] != mg || svc["inbound_request_url"] != "https://sidecar.example.com/twilio/inbound" ||
		svc["status_callback"] != nil || svc["use_inbound_webhook_on_number"] != false {
		t.Fatalf("service: %d %v", code, svc)
	}
	if _, err := time.Parse(time.RFC3339, svc["date_created"].(string)); err != nil {
		t.Fatalf("service date_created is not ISO 8601: %v", err)
	}
	if err := s.SetServiceURLs(mg, "", "https://x.example/status", true); err != nil {
		t.Fatal(err)
	}
	_, svc = do(t, s, http.MethodGet, "/v1/Services/"+mg, acct, tok, nil)
	if svc["inbound_request_url"] != nil || svc["status_callback"] != "https://x.example/status" || svc["use_inbound_webhook_on_number"] != true {
		t.Fatalf("service after SetServiceURLs: %v", svc)
	}
	if code, _ := do(t, s, http.MethodGet, "/v1/Services/MG99999999999999999999999999999999", acct, tok, nil); code != http.StatusNotFound {
		t.Fatalf("unknown service: %d", code)
	}
}
