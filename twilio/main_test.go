package twilio_test

import (
	"testing"

	"go.uber.org/goleak"
)

// twilio-go leaks a goroutine and a connection per error response unless
// the transport closes the body (deps §3); every test here must end with no
// goroutine left behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
