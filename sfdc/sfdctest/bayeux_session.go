package sfdctest

import (
	"crypto/rand"
	"net/http"
	"slices"
	"strings"
	"time"
)

// A Bayeux client's session: the handshake and the replies that refuse one
// (busy, a bad token), finding, expiring and dropping clients, and the
// long-poll connect with its replies.

func (b *bayeuxState) takeBusy() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.busy > 0 {
		b.busy--
		return true
	}
	return false
}

// busyReply follows ref §3.6: the 503 reason rides in ext.sfdc.failureReason
// next to another error. For handshake and connect the documented JSON
// examples give that other error (403::Handshake denied; 401::Authentication
// invalid, advice none); for the other meta channels no example exists, so
// the 503 string itself is the error.
func (b *bayeuxState) busyReply(m *inMsg, out *outMsg) {
	out.Ext = map[string]any{"sfdc": map[string]any{"failureReason": busyReason}}
	switch m.Channel {
	case "/meta/handshake":
		out.Error = errHandshakeDenied
		out.Advice = map[string]any{"reconnect": "none"}
	case "/meta/connect":
		out.Error = errAuthInvalid
		out.Advice = adviceNone
	default:
		out.Error = busyReason
		out.Subscription = m.Subscription
	}
}

// authFailure shapes a rejected token as ref §3.6 shows it: on handshake
// the reason is in ext.sfdc.failureReason under 403::Handshake denied;
// elsewhere it is the error itself; advice is none either way.
func authFailure(m *inMsg, out *outMsg, reason string) {
	if m.Channel == "/meta/handshake" {
		out.Error = errHandshakeDenied
		out.Ext = map[string]any{"sfdc": map[string]any{"failureReason": reason}}
		out.Advice = map[string]any{"reconnect": "none"}
		return
	}
	out.Error = reason
	out.Advice = adviceNone
	if m.Channel == "/meta/subscribe" || m.Channel == "/meta/unsubscribe" {
		out.Subscription = m.Subscription
	}
}

func (b *bayeuxState) handshake(w http.ResponseWriter, m *inMsg, browser string, out *outMsg) {
	if len(m.SupportedConnectionTypes) > 0 && !slices.Contains(m.SupportedConnectionTypes, "long-polling") {
		out.Error = "400::Invalid connection type {" + strings.Join(m.SupportedConnectionTypes, ",") + "}"
		out.Advice = map[string]any{"reconnect": "none"}
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if b.liveLocked(now) >= b.clientLimit {
		out.Error = errHandshakeDenied
		out.Advice = map[string]any{"reconnect": "none"}
		out.Ext = map[string]any{"sfdc": map[string]any{"failureReason": errConcurrentLimit}, "replay": true, "payload.format": true}
		return
	}
	// One BAYEUX_BROWSER per cookie jar: a client that already holds a
	// cookie this server issued keeps it, as CometD does.
	if !b.browsers[browser] {
		browser = randomID(20)
		b.browsers[browser] = true
		http.SetCookie(w, &http.Cookie{Name: "BAYEUX_BROWSER", Value: browser, Path: "/", HttpOnly: true})
		// A load-balancer stickiness cookie rides along (name UNVERIFIED,
		// ref §3.1); it is set but never required.
		http.SetCookie(w, &http.Cookie{Name: "sfdc-stream", Value: "!" + randomID(24), Path: "/"})
	}
	c := &cometClient{id: randomID(26), browser: browser, subs: map[string]*subscription{}, lastReply: now, wake: make(chan struct{}, 1)}
	b.clients[c.id] = c
	b.handshakes++
	f := false
	out.ClientID = c.id
	out.Successful = true
	out.Version, out.MinimumVersion = "1.0", "1.0"
	out.SupportedConnectionTypes = []string{"long-polling"}
	out.Ext = map[string]any{"replay": true, "payload.format": true}
	out.Advice = b.retryAdvice()
	out.Reestablish = &f
}

// lookup finds a live client and checks its session cookie.
func (b *bayeuxState) lookup(id, browser string) (*cometClient, string) {
	if id == "" {
		return nil, errNoHandshake
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.clients[id]
	if c != nil && b.idleLocked(c, b.now()) {
		b.removeLocked(c, expired)
		c = nil
	}
	if c == nil {
		return nil, errUnknownClient
	}
	if !b.noCookieCheck && browser != c.browser {
		return nil, errNoCookie(id)
	}
	return c, ""
}

// idleLocked: after any reply the client must send its next connect within
// the reconnect timeout or the server drops the session (ref §3.3).
func (b *bayeuxState) idleLocked(c *cometClient, now time.Time) bool {
	return c.holding == 0 && now.Sub(c.lastReply) > b.reconnectTimeout
}

// liveLocked drops idle clients and counts the rest.
func (b *bayeuxState) liveLocked(now time.Time) int {
	for _, c := range b.clients {
		if b.idleLocked(c, now) {
			b.removeLocked(c, expired)
		}
	}
	return len(b.clients)
}

func (b *bayeuxState) removeLocked(c *cometClient, why goneReason) {
	if b.clients[c.id] != c {
		return
	}
	delete(b.clients, c.id)
	for _, s := range c.subs {
		delete(s.log.subs, s)
	}
	c.subs = nil
	c.gone = why
	c.signal()
}

func (b *bayeuxState) connect(r *http.Request, m *inMsg, c *cometClient, tok string, res *response) {
	out := replyTo(m)
	if m.ConnectionType != "" && m.ConnectionType != "long-polling" {
		out.Error = "400::Invalid connection type {" + m.ConnectionType + "}"
		res.add(out)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	c.gen++
	gen := c.gen
	if c.holding != 0 {
		// Bayeux allows one outstanding connect per client: the older one
		// is answered now, empty.
		c.signal()
	}
	if !c.connected {
		// ref §3.2: the first connect after a handshake is answered at once,
		// with advice and without events.
		c.connected = true
		b.answerLocked(c, out, res, nil, true)
		return
	}
	deadline := b.now().Add(b.hold)
	timer := time.NewTimer(b.hold)
	defer timer.Stop()
	timedOut := false
	for {
		if c.gone != present || c.pushDisc {
			b.goneReplyLocked(c, out, res)
			return
		}
		if b.closed || c.gen != gen {
			b.answerLocked(c, out, res, nil, true)
			return
		}
		evs, limited := b.takeLocked(c)
		if limited {
			out.Error = errDailyLimit
			out.Advice = adviceNone
			b.answerLocked(c, out, res, nil, false)
			return
		}
		if len(evs) > 0 || timedOut {
			b.answerLocked(c, out, res, evs, timedOut)
			return
		}
		if b.browserHoldingLocked(c) {
			// CometD holds one long poll per browser: a second client
			// sharing the BAYEUX_BROWSER cookie is answered at once and told
			// to back off (ref §3.2 "multiple-clients" advice; ref §3.1:
			// never share a cookie jar between clients).
			out.Advice = map[string]any{"interval": 2000, "multiple-clients": true, "reconnect": "retry", "timeout": b.hold.Milliseconds()}
			b.answerLocked(c, out, res, nil, false)
			return
		}
		// A fresh channel per held connect, so the signal that supersedes
		// an older connect cannot be eaten by the newer one.
		wake := make(chan struct{}, 1)
		c.wake, c.holding = wake, gen
		b.mu.Unlock()
		ctxDone := false
		select {
		case <-wake:
		case <-timer.C:
			timedOut = true
		case <-b.done:
		case <-r.Context().Done():
			ctxDone = true
		}
		// ref §3.3: the session's authentication is re-validated while
		// connected, so a token revoked during the hold fails the poll.
		authOK := b.org.tokens.check(tok)
		b.mu.Lock()
		if c.holding == gen {
			c.holding = 0
			c.lastReply = b.now()
		}
		if ctxDone {
			return // the client went away; nothing can be written
		}
		if !authOK {
			out.Error = errAuthInvalid
			out.Advice = adviceNone
			res.add(out)
			return
		}
		if !b.now().Before(deadline) {
			timedOut = true
		}
	}
}

// browserHoldingLocked reports whether another client with c's
// BAYEUX_BROWSER cookie has a connect held.
func (b *bayeuxState) browserHoldingLocked(c *cometClient) bool {
	for _, o := range b.clients {
		if o != c && o.browser == c.browser && o.holding != 0 {
			return true
		}
	}
	return false
}

// goneReplyLocked answers the connect of a client that is no longer (or is
// about to stop being) registered.
func (b *bayeuxState) goneReplyLocked(c *cometClient, out *outMsg, res *response) {
	if c.pushDisc && c.gone == present {
		b.removeLocked(c, pushedOut)
	}
	switch c.gone {
	case disconnected:
		out.Successful = true
		out.Advice = map[string]any{"reconnect": "none", "interval": 0}
	case pushedOut:
		// ref §3.2 "Disconnect": a server /meta/disconnect next to the
		// failed connect, the pairing seen in EMP issue #15 (advice none).
		res.add(&outMsg{Channel: "/meta/disconnect", ClientID: c.id, Successful: true})
		out.Error = errUnknownClient
		out.Advice = adviceNone
	default:
		out.Error = errUnknownClient
		out.Advice = adviceHandshake
	}
	res.add(out)
}

// answerLocked writes a connect reply with its events; the ack goes first
// unless ShuffleReplyOrder is on (ref §3.2: order is not guaranteed).
func (b *bayeuxState) answerLocked(c *cometClient, out *outMsg, res *response, evs [][]byte, withAdvice bool) {
	if out.Error == "" {
		out.Successful = true
		if withAdvice {
			out.Advice = b.retryAdvice()
		}
	}
	c.lastReply = b.now()
	if b.shuffle {
		for _, e := range evs {
			res.addRaw(e)
		}
		res.add(out)
		return
	}
	res.add(out)
	for _, e := range evs {
		res.addRaw(e)
	}
}

func randomID(n int) string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	for i := range buf {
		buf[i] = alphabet[int(buf[i])%len(alphabet)]
	}
	return string(buf)
}
