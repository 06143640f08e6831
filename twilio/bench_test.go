package twilio_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/twilio"
)

// BenchmarkSend measures creates through twilio-go against the simulator in
// instant mode, status callbacks included; it reports messages per second.
func BenchmarkSend(b *testing.B) {
	e := newEnv(b, twilio.Options{})
	cb := e.cb.srv.URL + "/twilio/status"
	ctx := b.Context()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.tw.Send(ctx, acct1, twilio.SendParams{To: cust, From: num1, Body: "benchmark", StatusCallback: cb}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkValidateSignature(b *testing.B) {
	v := url.Values{"Body": {strings.Repeat("x", 160)}, "From": {cust}, "To": {num1}, "MessageSid": {"SM3558804311501f712c1b4772546a80e0"}, "AccountSid": {acct1}}
	u := "https://sidecar.example.com/twilio/inbound"
	sig := twilio.Signature(tok1, u, v)
	for b.Loop() {
		if !twilio.ValidateSignature(u, v, sig, tok1) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkSegments(b *testing.B) {
	body := strings.Repeat("Hello {world} ", 100)
	for b.Loop() {
		twilio.Segments(body)
	}
}
