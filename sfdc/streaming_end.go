package sfdc

import (
	"errors"
	"time"
)

// Cause says why a Bayeux session ended and a new one (new cookie jar, new
// handshake, every channel re-subscribed) was started, or why a session
// retried inside itself. The values are stable: they label the
// switchboard_stream_reconnects_total metric.
type Cause string

const (
	CauseUnknownClient    Cause = "unknown_client"    // 403::Unknown client (faye: 401:…:Unknown client) or advice handshake
	CauseAuth             Cause = "auth"              // login refused, or 401::Authentication invalid: re-authenticated first
	CauseReplayInvalid    Cause = "replay_invalid"    // stored replay id rejected; resubscribed from -1 (same session)
	CauseBusy             Cause = "busy"              // 503::Server is too busy
	CauseServerDisconnect Cause = "server_disconnect" // server pushed /meta/disconnect (ref §3.2, v64+)
	CauseWatchdog         Cause = "watchdog"          // no successful reply for StreamConfig.Watchdog
	CauseNetwork          Cause = "network"           // transport errors for longer than the 40 s reconnect window
	CauseHandshakeFailed  Cause = "handshake_failed"  // handshake refused for another reason, or unreachable
	CauseSubscribeFailed  Cause = "subscribe_failed"  // a subscribe refused for another reason (e.g. no such topic)
	CauseLimit            Cause = "limit"             // an org allocation is exhausted (ref §3.8)
	CauseAdvice           Cause = "advice"            // unsuccessful connect whose advice says handshake or none
	CauseOverflow         Cause = "overflow"          // the hand-off queue overflowed; rebuilt to replay what was refused
	CauseCookie           Cause = "cookie"            // the server saw no session cookie (ref §3.1); a new jar and handshake
)

// SessionEnd is what StreamConfig.OnSessionEnd is told: why a session
// ended, or (Continued) why it retried inside itself.
type SessionEnd struct {
	Cause Cause
	// Err is what went wrong: the server's Bayeux error (e.g.
	// "403::Unknown client"), the login error (an *AuthError when the token
	// endpoint refused), or the transport error.
	Err error
	// HTTPStatus is the status of a non-200 answer to a Bayeux POST; 0 when
	// the server answered with a Bayeux message, or not at all.
	HTTPStatus int
	// Connected: the session had at least one successful /meta/connect.
	Connected bool
	// Continued: the session goes on (a busy subscribe or connect is
	// retried, a rejected replay id falls back to -1); no new handshake.
	Continued bool
	// Attempt counts the failed sessions (or, when Continued, the retries)
	// in a row, from 1.
	Attempt int
	// Backoff is the wait before the next session or retry.
	Backoff time.Duration
}

// report counts e in Stats().Reconnects and tells OnSessionEnd: one
// place, so the metric and the hook never disagree.
func (s *Stream) report(e SessionEnd) {
	var he *httpStatusError
	if e.HTTPStatus == 0 && errors.As(e.Err, &he) {
		e.HTTPStatus = he.status
	}
	s.count(func(st *StreamStats) { st.Reconnects[e.Cause]++ })
	if s.cfg.OnSessionEnd != nil {
		s.cfg.OnSessionEnd(e)
	}
}
