package sfdc

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
)

// endRecorder keeps what StreamConfig.OnSessionEnd reports.
type endRecorder struct {
	mu   sync.Mutex
	ends []SessionEnd
}

func (r *endRecorder) record(e SessionEnd) {
	r.mu.Lock()
	r.ends = append(r.ends, e)
	r.mu.Unlock()
}

// first returns the first report of cause, if any.
func (r *endRecorder) first(cause Cause) (SessionEnd, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.ends {
		if e.Cause == cause {
			return e, true
		}
	}
	return SessionEnd{}, false
}

// TestStreamReportsSessionEndCauses drives every cause the simulated org can
// produce with its fault knobs and checks the typed report the hook gets:
// doctor and the metrics read these, never log lines.
//
// Long on purpose: one table, a case per cause.
func TestStreamReportsSessionEndCauses(t *testing.T) {
	cases := []struct {
		name  string
		cause Cause
		// start prepares the org and returns the stream's auth and channels.
		start func(t *testing.T, org *sfdctest.Org) (TokenSource, []string, func(*StreamConfig))
		// fault runs once the stream is subscribed (nil: the fault is set
		// before it starts).
		fault     func(org *sfdctest.Org)
		connected bool
		continued bool
		status    int    // HTTP status of the answer, 0 when the reply was a Bayeux message or none came
		errSays   string // in SessionEnd.Err
		check     func(t *testing.T, e SessionEnd)
	}{
		{name: "login refused", cause: CauseAuth,
			start: func(t *testing.T, org *sfdctest.Org) (TokenSource, []string, func(*StreamConfig)) {
				cfg := authConfig(org, FlowClientCredentials)
				cfg.ClientSecret = "wrong"
				return newAuth(t, cfg), []string{topicTasks}, nil
			},
			errSays: "salesforce login for the stream",
			check: func(t *testing.T, e SessionEnd) {
				var ae *AuthError
				if !errors.As(e.Err, &ae) || ae.Code != "invalid_client" {
					t.Errorf("Err %v: want the token endpoint's *AuthError invalid_client", e.Err)
				}
			}},
		{name: "token revoked mid-stream", cause: CauseAuth, fault: func(org *sfdctest.Org) { org.RevokeTokens() },
			connected: true, errSays: "401"},
		{name: "busy handshake", cause: CauseBusy, fault: nil,
			start: func(t *testing.T, org *sfdctest.Org) (TokenSource, []string, func(*StreamConfig)) {
				org.InjectBusy(1)
				return orgAuth(t, org), []string{topicTasks}, nil
			},
			errSays: "503::Server is too busy"},
		{name: "server forgot the client", cause: CauseUnknownClient, fault: func(org *sfdctest.Org) { org.ExpireAllClients() },
			connected: true, errSays: "nknown client"},
		{name: "server pushed disconnect", cause: CauseServerDisconnect, fault: func(org *sfdctest.Org) { org.PushDisconnect() },
			connected: true, errSays: "/meta/disconnect"},
		{name: "daily event allocation", cause: CauseLimit,
			fault: func(org *sfdctest.Org) {
				org.DailyEventLimit(1)
				orgPublish(org, topicTasks, 2)
			},
			connected: true, errSays: "limit"},
		{name: "replay id rejected", cause: CauseReplayInvalid, continued: true,
			start: func(t *testing.T, org *sfdctest.Org) (TokenSource, []string, func(*StreamConfig)) {
				old := orgPublish(org, topicTasks, 2)
				org.InvalidateReplayIDs()
				return orgAuth(t, org), []string{topicTasks}, func(c *StreamConfig) {
					c.ReplayFrom = func(context.Context, string) (int64, error) { return old[0], nil }
				}
			},
			errSays: "replayId"},
		{name: "no such topic", cause: CauseSubscribeFailed,
			start: func(t *testing.T, org *sfdctest.Org) (TokenSource, []string, func(*StreamConfig)) {
				return orgAuth(t, org), []string{"/topic/NoSuchTopic"}, nil
			},
			errSays: "/topic/NoSuchTopic"},
		{name: "handshake answered 404", cause: CauseHandshakeFailed, status: http.StatusNotFound,
			start: func(t *testing.T, org *sfdctest.Org) (TokenSource, []string, func(*StreamConfig)) {
				// A wrong instance path: the org's web server answers 404
				// before any Bayeux handling.
				return &staticTokens{instance: org.URL() + "/not-cometd", tok: org.Session()}, []string{topicTasks}, nil
			},
			errSays: "HTTP 404"},
		{name: "instance unreachable", cause: CauseHandshakeFailed,
			start: func(t *testing.T, _ *sfdctest.Org) (TokenSource, []string, func(*StreamConfig)) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				addr := ln.Addr().String()
				ln.Close()
				return &staticTokens{instance: "http://" + addr, tok: "x"}, []string{topicTasks}, nil
			},
			check: func(t *testing.T, e SessionEnd) {
				var op *net.OpError
				if !errors.As(e.Err, &op) {
					t.Errorf("Err %v: want the dial error", e.Err)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			org := streamOrg(t)
			start := c.start
			if start == nil {
				start = func(t *testing.T, org *sfdctest.Org) (TokenSource, []string, func(*StreamConfig)) {
					return orgAuth(t, org), []string{topicTasks, topicConvs}, nil
				}
			}
			auth, channels, tweak := start(t, org)
			ends := &endRecorder{}
			cfg := streamTestConfig(t, auth, newStreamRecorder(), channels...)
			cfg.OnSessionEnd = ends.record
			// Long enough that each case sees its first end before a retry
			// could bring another cause.
			cfg.RetryMin, cfg.BusyMin = time.Second, time.Second
			if tweak != nil {
				tweak(&cfg)
			}
			s, err := NewStream(cfg)
			if err != nil {
				t.Fatal(err)
			}
			runStream(t, s)
			if c.fault != nil {
				sfdctest.Eventually(t, 5*time.Second, "subscribed", s.Subscribed)
				c.fault(org)
			}
			sfdctest.Eventually(t, 5*time.Second, "a report of "+string(c.cause), func() bool { _, ok := ends.first(c.cause); return ok })
			e, _ := ends.first(c.cause)
			if e.Connected != c.connected || e.Continued != c.continued || e.HTTPStatus != c.status {
				t.Errorf("%+v: want connected %t, continued %t, HTTP status %d", e, c.connected, c.continued, c.status)
			}
			if e.Err == nil || !strings.Contains(e.Err.Error(), c.errSays) {
				t.Errorf("Err %v: want it to say %q", e.Err, c.errSays)
			}
			if e.Attempt < 1 {
				t.Errorf("Attempt %d: want the count of failed sessions in a row (≥ 1)", e.Attempt)
			}
			if c.check != nil {
				c.check(t, e)
			}
			// The metrics count the same reports.
			if n := s.Stats().Reconnects[c.cause]; n < 1 {
				t.Errorf("Stats().Reconnects[%s] = %d after the report", c.cause, n)
			}
		})
	}
}

func orgAuth(t *testing.T, org *sfdctest.Org) TokenSource {
	t.Helper()
	return newAuth(t, authConfig(org, FlowClientCredentials))
}
