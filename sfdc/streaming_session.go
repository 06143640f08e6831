package sfdc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// session is one Bayeux session: {cookie jar, clientId, advice, last reply
// time} (ref §6.1).
type session struct {
	s        *Stream
	hc       *http.Client
	url      string
	creds    Credentials
	clientID string
	replay   bool // handshake announced the replay extension

	reconnect string
	interval  time.Duration
	hold      time.Duration

	lastOK atomic.Int64 // unix nanos of the last successful reply (watchdog)
	paused atomic.Bool  // deliberate waits do not count as silence
}

func (ss *session) touch() { ss.lastOK.Store(time.Now().UnixNano()) }

// wait sleeps d without tripping the watchdog.
func (ss *session) wait(ctx context.Context, d time.Duration) bool {
	ss.paused.Store(true)
	ok := sleepCtx(ctx, d)
	ss.touch()
	ss.paused.Store(false)
	return ok
}

// mergeAdvice applies the fields a reply carries and keeps the rest: a
// reply without advice (Salesforce sends those, ref §3.2) changes nothing.
func (ss *session) mergeAdvice(a *wireAdvice) {
	if a == nil {
		return
	}
	if a.Reconnect != "" {
		ss.reconnect = a.Reconnect
	}
	if a.Interval != nil {
		ss.interval = time.Duration(*a.Interval * float64(time.Millisecond))
	}
	if a.Timeout != nil && *a.Timeout >= 0 {
		ss.hold = time.Duration(*a.Timeout * float64(time.Millisecond))
	}
}

func (s *Stream) credentials(ctx context.Context) (Credentials, error) {
	if s.reauth {
		c, err := s.cfg.Auth.Reauthenticate(ctx, s.stale)
		if err != nil {
			return Credentials{}, err
		}
		s.reauth = false
		return c, nil
	}
	return s.cfg.Auth.Credentials(ctx)
}

func (s *Stream) session(ctx context.Context) (end SessionEnd) {
	creds, err := s.credentials(ctx)
	if err != nil {
		return SessionEnd{Cause: CauseAuth, Err: fmt.Errorf("salesforce login for the stream: %w", err)}
	}
	if creds.InstanceURL == "" {
		return SessionEnd{Cause: CauseHandshakeFailed, Err: errors.New("salesforce credentials carry no instance URL")}
	}
	jar, _ := cookiejar.New(nil) // a new jar per session (ref §3.1, cometd-nodejs-client#4)
	ss := &session{
		s:         s,
		hc:        &http.Client{Transport: s.base, Jar: jar, CheckRedirect: s.redirect},
		url:       strings.TrimSuffix(creds.InstanceURL, "/") + "/cometd/" + s.version,
		creds:     creds,
		reconnect: "retry",
		hold:      defaultHoldTimeout,
	}
	ss.touch()
	s.refusal.Store(false)

	sctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ss.watchdog(sctx, cancel)
	}()
	defer func() {
		s.subbed.Store(false)
		cancel(nil)
		wg.Wait()
		if ss.clientID == "" {
			return
		}
		// Leave politely when shutting down or abandoning a live session:
		// orphaned clients count against the concurrent-client allocation
		// until they time out (ref §3.2, EMP #37). A server that already
		// forgot the client, or a refused token, makes it pointless.
		switch {
		case ctx.Err() != nil, end.Cause == CauseWatchdog, end.Cause == CauseOverflow,
			end.Cause == CauseSubscribeFailed, end.Cause == CauseBusy, end.Cause == CauseLimit:
			ss.disconnect(context.WithoutCancel(ctx))
		}
	}()
	fail := func(cause Cause, err error) SessionEnd {
		if c := context.Cause(sctx); errors.Is(c, errWatchdog) && ctx.Err() == nil {
			return SessionEnd{Cause: CauseWatchdog, Err: err, Connected: end.Connected}
		}
		if cause == CauseAuth {
			s.reauth, s.stale = true, creds
		}
		return SessionEnd{Cause: cause, Err: err, Connected: end.Connected}
	}

	if cause, err := ss.handshake(sctx); err != nil {
		return fail(cause, err)
	}
	for _, ch := range s.channels {
		if cause, err := ss.subscribe(sctx, ch); err != nil {
			return fail(cause, err)
		}
	}
	s.subbed.Store(true)
	s.log.Info("salesforce stream subscribed", zap.Strings("channels", s.channels), zap.Bool("replay", ss.replay))
	if s.cfg.Watchdog <= ss.hold && !s.warnedHold.Swap(true) {
		s.log.Warn("stream watchdog is not longer than the server's advice.timeout; quiet sessions will be rebuilt needlessly",
			zap.Duration("watchdog", s.cfg.Watchdog), zap.Duration("advice_timeout", ss.hold))
	}

	cause, connected, err := ss.connectLoop(sctx)
	end.Connected = connected
	return fail(cause, err)
}

// watchdog rebuilds a session that has been silent too long (ref §3.9):
// no successful handshake, subscribe or connect reply for cfg.Watchdog.
func (ss *session) watchdog(ctx context.Context, cancel context.CancelCauseFunc) {
	limit := ss.s.cfg.Watchdog
	tick := max(limit/8, 5*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if ss.paused.Load() {
				continue
			}
			if time.Since(time.Unix(0, ss.lastOK.Load())) > limit {
				cancel(errWatchdog)
				return
			}
		}
	}
}

// httpStatusError is a Bayeux POST answered with a non-200 status.
type httpStatusError struct {
	status int
	body   string
}

func (e *httpStatusError) Error() string {
	return fmt.Sprintf("salesforce cometd: HTTP %d: %s", e.status, e.body)
}

// exchange POSTs one message (ref §3.1: one message per request) and
// returns the reply array.
func (ss *session) exchange(ctx context.Context, msg map[string]any, timeout time.Duration) ([]bayeuxReply, error) {
	msg["id"] = strconv.FormatInt(ss.s.nextID.Add(1), 10)
	body, err := json.Marshal([]any{msg})
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, ss.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", ss.s.scheme+" "+ss.creds.AccessToken)
	resp, err := ss.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes+1))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &httpStatusError{status: resp.StatusCode, body: excerpt(data)}
	}
	if len(data) > maxReplyBytes {
		return nil, fmt.Errorf("salesforce cometd: reply larger than %d bytes", maxReplyBytes)
	}
	var replies []bayeuxReply
	if err := json.Unmarshal(data, &replies); err != nil {
		return nil, fmt.Errorf("salesforce cometd: reply is not a Bayeux message array: %w (%s)", err, excerpt(data))
	}
	return replies, nil
}

// disconnect ends the session politely, best effort.
func (ss *session) disconnect(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, disconnectTimeout)
	defer cancel()
	msg := map[string]any{"channel": metaDisconnect, "clientId": ss.clientID}
	if _, err := ss.exchange(ctx, msg, disconnectTimeout); err != nil {
		ss.s.log.Debug("salesforce cometd disconnect failed", zap.Error(err))
	}
}
