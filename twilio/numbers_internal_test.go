package twilio

import (
	"net/url"
	"testing"
)

// TestMessagingBase: the Services resource is on messaging.twilio.com; an
// overridden base URL (simulator, proxy) serves it itself.
func TestMessagingBase(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.twilio.com":              "https://messaging.twilio.com",
		"https://api.dublin.ie1.twilio.com":   "https://messaging.dublin.ie1.twilio.com",
		"http://127.0.0.1:8123":               "http://127.0.0.1:8123",
		"https://twilio-proxy.example.com/tw": "https://twilio-proxy.example.com/tw",
		"https://api.example.com":             "https://api.example.com",
		"https://api.twilio.com.evil.example": "https://api.twilio.com.evil.example",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := messagingBase(u).String(); got != want {
			t.Errorf("messagingBase(%s) = %s, want %s", in, got, want)
		}
	}
}
