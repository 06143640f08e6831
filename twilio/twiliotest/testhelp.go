package twiliotest

// TB is the part of testing.TB that Start uses; *testing.T and *testing.B
// satisfy it. twiliotest is linked into the binary (for `switchboard
// demo`), so it does not import package testing.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Start starts a simulated Twilio with opts for a test and closes it when
// the test ends.
func Start(t TB, opts Options) *Server {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatalf("twiliotest: starting the simulated Twilio: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}
