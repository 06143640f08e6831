package sfdc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
)

// transportCause maps a failed exchange to a cause.
func transportCause(err error, fallback Cause) Cause {
	var he *httpStatusError
	if errors.As(err, &he) {
		switch he.status {
		case http.StatusUnauthorized:
			return CauseAuth
		case http.StatusServiceUnavailable:
			return CauseBusy
		}
	}
	return fallback
}

// classify maps an unsuccessful reply to a cause. Error strings differ
// between servers (faye says 401:…:Unknown client where Salesforce says
// 403::Unknown client, dependencies.md §4), so "Unknown client" is matched
// on its text before codes, and what is left is decided by advice.
func classify(m *bayeuxReply, fallback Cause) Cause {
	code, msg := bayeuxError(m.Error)
	frCode, frMsg := bayeuxError(m.failureReason())
	has := func(sub string) bool {
		sub = strings.ToLower(sub)
		return strings.Contains(strings.ToLower(msg), sub) || strings.Contains(strings.ToLower(frMsg), sub)
	}
	switch {
	case has("unknown client"), has("has not completed handshake"):
		// ref §3.6: comes with advice handshake, or none (EMP #15).
		return CauseUnknownClient
	case has("cookie"):
		// ref §3.1: "…has established a session, but no BAYEUX_BROWSER
		// cookie present": the session is unusable; a new one gets a new jar.
		return CauseCookie
	case frCode == 503 || code == 503:
		// ref §3.6: the 401 in error next to a 503 failureReason means the
		// server was too busy to check the token, not that it is bad.
		return CauseBusy
	case code == 401 || frCode == 401:
		return CauseAuth
	case has("limit"):
		return CauseLimit
	case code == 400 && has("replayid") && (has("invalid") || has("wasn't found")):
		return CauseReplayInvalid
	}
	if m.Advice != nil && m.Advice.Reconnect == "handshake" {
		return CauseUnknownClient
	}
	return fallback
}

func findReply(replies []bayeuxReply, channel, subscription string) *bayeuxReply {
	for i := range replies {
		m := &replies[i]
		if m.Channel != channel {
			continue
		}
		if subscription != "" {
			if subs := m.subscriptions(); len(subs) > 0 && !slices.Contains(subs, subscription) {
				continue
			}
		}
		return m
	}
	return nil
}

func (ss *session) handshake(ctx context.Context) (Cause, error) {
	msg := map[string]any{
		"channel":                  metaHandshake,
		"version":                  "1.0",
		"minimumVersion":           "1.0",
		"supportedConnectionTypes": []string{"long-polling"},
		"ext":                      map[string]any{"replay": true}, // ref §3.2
	}
	replies, err := ss.exchange(ctx, msg, ss.s.cfg.RequestTimeout)
	if err != nil {
		return transportCause(err, CauseHandshakeFailed), fmt.Errorf("salesforce cometd handshake: %w", err)
	}
	m := findReply(replies, metaHandshake, "")
	if m == nil {
		return CauseHandshakeFailed, errors.New("salesforce cometd handshake: no /meta/handshake reply")
	}
	ss.mergeAdvice(m.Advice)
	if !m.Successful {
		return classify(m, CauseHandshakeFailed), fmt.Errorf("salesforce cometd handshake refused: %s", m.describe())
	}
	if m.ClientID == "" {
		return CauseHandshakeFailed, errors.New("salesforce cometd handshake: reply has no clientId")
	}
	if len(m.SupportedConnectionTypes) > 0 && !slices.Contains(m.SupportedConnectionTypes, "long-polling") {
		return CauseHandshakeFailed, fmt.Errorf("salesforce cometd handshake: server offers %v, not long-polling", m.SupportedConnectionTypes)
	}
	ss.clientID, ss.replay = m.ClientID, m.replayAnnounced()
	ss.touch()
	ss.s.count(func(st *StreamStats) { st.Handshakes++ })
	ss.s.deliver(replies)
	return "", nil
}

// subscribe subscribes one channel from its resume point and checks the
// reply (ref §5.9: unchecked resubscribes are how streams go silent).
func (ss *session) subscribe(ctx context.Context, channel string) (Cause, error) {
	s := ss.s
	b := baseChannel(channel)
	for busy := 1; ; {
		s.mu.Lock()
		st := s.chans[b]
		from, first := st.resume, !st.subscribedOnce
		s.mu.Unlock()

		msg := map[string]any{"channel": metaSubscribe, "clientId": ss.clientID, "subscription": channel}
		if ss.replay {
			msg["ext"] = map[string]any{"replay": map[string]int64{b: from}}
		}
		replies, err := ss.exchange(ctx, msg, s.cfg.RequestTimeout)
		if err != nil {
			return transportCause(err, CauseNetwork), fmt.Errorf("salesforce cometd subscribe %s: %w", channel, err)
		}
		m := findReply(replies, metaSubscribe, channel)
		if m == nil {
			return CauseSubscribeFailed, fmt.Errorf("salesforce cometd subscribe %s: no /meta/subscribe reply", channel)
		}
		if m.Successful {
			ss.touch()
			var reason string
			switch {
			case !ss.replay && (!first || from >= 0):
				reason = "the server does not support the replay extension; events since the last session may be missing"
			case !first && from == -1:
				reason = "resubscribed from -1 (no event handled yet); events between sessions may be missing"
			}
			s.mu.Lock()
			st.subscribedOnce = true
			if reason != "" {
				// Nothing is replayed, so nothing can repeat: forget the
				// dedupe watermark, in case the server numbers afresh.
				st.epoch++
				st.queued = -1
			}
			s.mu.Unlock()
			if reason != "" {
				s.gap(b, reason)
			}
			s.deliver(replies)
			return "", nil
		}
		switch cause := classify(m, CauseSubscribeFailed); cause {
		case CauseReplayInvalid:
			// ref §3.5/§3.7: the stored id is outside retention. Fall back
			// to -1 and have the caller sweep; events of the old epoch still
			// queued are handled but no longer move the resume point.
			s.log.Error("salesforce rejected the stored replay id; resubscribing from -1 and requesting a sweep",
				zap.String("channel", b), zap.Int64("replay_id", from), zap.String("error", m.Error))
			s.report(SessionEnd{Cause: CauseReplayInvalid, Continued: from != -1, Attempt: 1,
				Err: fmt.Errorf("salesforce cometd subscribe %s from replayId %d refused: %s", channel, from, m.describe())})
			if from == -1 {
				return CauseSubscribeFailed, fmt.Errorf("salesforce cometd subscribe %s from -1 refused: %s", channel, m.describe())
			}
			s.mu.Lock()
			st.epoch++
			st.resume, st.queued = -1, -1
			s.mu.Unlock()
			s.gap(b, fmt.Sprintf("salesforce rejected replay id %d (%s); resubscribed from -1", from, m.Error))
		case CauseBusy:
			// ref §3.7 (Camel): retry the subscribe after a backoff.
			d := s.backoff(s.cfg.BusyMin, busy)
			s.log.Warn("salesforce stream busy on subscribe; retrying", zap.String("channel", channel), zap.Duration("backoff", d))
			s.report(SessionEnd{Cause: CauseBusy, Continued: true, Attempt: busy, Backoff: d,
				Err: fmt.Errorf("salesforce cometd subscribe %s refused: %s", channel, m.describe())})
			busy++
			if !ss.wait(ctx, d) {
				return CauseBusy, ctx.Err()
			}
		default:
			return cause, fmt.Errorf("salesforce cometd subscribe %s refused: %s", channel, m.describe())
		}
	}
}

// connectLoop long-polls until the session ends.
func (ss *session) connectLoop(ctx context.Context) (cause Cause, connected bool, err error) {
	s := ss.s
	lastReply := time.Now()
	netFails, busy := 0, 0
	for {
		if s.drained() {
			return CauseOverflow, connected, errOverflowed
		}
		if ss.interval < 0 {
			return CauseAdvice, connected, fmt.Errorf("salesforce cometd: advice interval %v forbids reconnecting", ss.interval)
		}
		if ss.interval > 0 && !ss.wait(ctx, ss.interval) {
			return CauseNetwork, connected, ctx.Err()
		}
		msg := map[string]any{"channel": metaConnect, "clientId": ss.clientID, "connectionType": "long-polling"}
		replies, err := ss.exchange(ctx, msg, ss.hold+connectMargin)
		if err != nil {
			if ctx.Err() != nil {
				return CauseNetwork, connected, err
			}
			c := transportCause(err, CauseNetwork)
			if c == CauseAuth {
				return c, connected, err
			}
			// ref §3.7: transport errors, 5xx and EOF are retried; after the
			// 40 s reconnect window the server has dropped the client.
			if time.Since(lastReply) > reconnectWindow {
				return c, connected, err
			}
			netFails++
			base := min(s.cfg.RetryMin, 2*time.Second)
			if c == CauseBusy {
				base = s.cfg.BusyMin
			}
			d := s.backoff(base, netFails)
			s.log.Warn("salesforce stream connect failed; retrying", zap.Error(err), zap.Duration("backoff", d))
			if !ss.wait(ctx, d) {
				return CauseNetwork, connected, ctx.Err()
			}
			continue
		}
		lastReply, netFails = time.Now(), 0
		s.deliver(replies)
		ack := findReply(replies, metaConnect, "")
		if ack != nil {
			ss.mergeAdvice(ack.Advice)
		}
		if findReply(replies, metaDisconnect, "") != nil {
			return CauseServerDisconnect, connected, errors.New("salesforce cometd: server sent /meta/disconnect")
		}
		if ack == nil {
			continue // events only; the ack comes with a later reply
		}
		if ack.Successful {
			ss.touch()
			connected, busy = true, 0
			continue
		}
		cause := classify(ack, CauseAdvice)
		err = fmt.Errorf("salesforce cometd connect refused: %s", ack.describe())
		switch cause {
		case CauseUnknownClient, CauseAuth, CauseLimit, CauseCookie:
			return cause, connected, err
		case CauseBusy:
			if ss.reconnect != "retry" {
				return cause, connected, err
			}
			busy++
			d := s.backoff(s.cfg.BusyMin, busy)
			s.log.Warn("salesforce stream busy on connect; retrying", zap.Duration("backoff", d))
			s.report(SessionEnd{Cause: CauseBusy, Continued: true, Connected: connected, Attempt: busy, Backoff: d, Err: err})
			if !ss.wait(ctx, d) {
				return cause, connected, ctx.Err()
			}
			continue
		}
		if ss.reconnect == "retry" {
			// Advice says the session lives; the watchdog ends it if the
			// server keeps refusing.
			netFails++
			s.log.Warn("salesforce stream connect unsuccessful; retrying as advised", zap.Error(err))
			if !ss.wait(ctx, s.backoff(min(s.cfg.RetryMin, 2*time.Second), netFails)) {
				return CauseAdvice, connected, ctx.Err()
			}
			continue
		}
		return CauseAdvice, connected, err
	}
}
