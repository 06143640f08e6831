package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/twilio"
)

// Twilio signs the URL it called, as it called it: escapes in the path and
// the query stay as they were sent (twilio.md §6.1), and the handler checks
// the signature with (*twilio.Accounts).ValidateWebhook (ValidateRequest
// over twilio.PublicURL), the same function a library user calls. A
// signature over any other spelling of the URL is refused.
func TestWebhookSignedOverTheURLAsCalled(t *testing.T) {
	w := newWorld(t, simOptions{})
	d := startDaemon(t, w, "", e2eTuning())
	const query = "?note=a%2Fb+c%26d"
	called := d.publicURL + "/twilio/%69nbound" + query // the mux routes it to /twilio/inbound
	for n, c := range []struct {
		name, signed string
		code         int
	}{
		{"signed over the URL called", called, http.StatusOK},
		{"signed over the decoded path", d.publicURL + "/twilio/inbound" + query, http.StatusForbidden},
		{"signed over the decoded query", d.publicURL + "/twilio/%69nbound?note=a/b c&d", http.StatusForbidden},
		{"signed without the query", d.publicURL + "/twilio/%69nbound", http.StatusForbidden},
	} {
		form := inboundForm("SM"+strings.Repeat(string(rune('a'+n)), 32), "+14155550161", "hi")
		resp, body := post(t, called, form, twilio.Signature(simAuthToken, c.signed, form))
		if resp.StatusCode != c.code {
			t.Errorf("%s: %d %q, want %d", c.name, resp.StatusCode, body, c.code)
		}
	}
}
