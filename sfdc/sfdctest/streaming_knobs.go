package sfdctest

import (
	"slices"
	"time"
)

// Streaming API knobs and counters (ref §6.2 "Streaming"). Each changes
// the CometD server's behaviour from the next Bayeux request on.

// Publish appends a raw event to channel's replay log, as if a PushTopic had
// fired, without a REST write, and returns its replay id. eventType is
// created, updated, deleted or undeleted; sobject is the notification's
// field map; a value encoding/json cannot encode is a bug in the test and
// panics. Subscribing still needs an active PushTopic of that name (insert
// the PushTopic record first).
func (o *Org) Publish(channel, eventType string, sobject map[string]any) int64 {
	return o.bayeux.publish(channel, eventType, sobject)
}

// ExpireClient makes the server forget one Bayeux client: its next request,
// and a connect it holds now, get 403::Unknown client with advice
// reconnect:handshake (ref §3.6). An unknown clientID is ignored.
func (o *Org) ExpireClient(clientID string) {
	b := o.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.clients[clientID]; c != nil {
		b.removeLocked(c, expired)
	}
}

// ExpireAllClients is ExpireClient for every live client.
func (o *Org) ExpireAllClients() {
	b := o.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.clients {
		b.removeLocked(c, expired)
	}
}

// RestartStreaming simulates a restart of the streaming server: every
// client, subscription and BAYEUX_BROWSER cookie is forgotten and every
// held connect ends with 403::Unknown client; the replay log survives, as
// the event bus does on a real server.
func (o *Org) RestartStreaming() {
	b := o.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.clients {
		b.removeLocked(c, expired)
	}
	b.browsers = map[string]bool{}
}

// InjectBusy makes the next n Bayeux messages, whatever their channel,
// fail with the 503 "Server is too busy" reason in ext.sfdc.failureReason
// (ref §3.6): handshake → 403::Handshake denied; connect →
// 401::Authentication invalid with advice reconnect:none, as in the
// reference's JSON example; subscribe, unsubscribe, disconnect → the 503
// string as the error. n ≤ 0 clears it.
func (o *Org) InjectBusy(n int) {
	b := o.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	b.busy = max(n, 0)
}

// PushDisconnect makes every live client's held connect, or its next one,
// end with a server /meta/disconnect message beside a failed connect
// (403::Unknown client, advice none), and drops the session: the v64+
// behaviour of ref §3.2 "Disconnect". Clients that handshake afterwards are
// not affected.
func (o *Org) PushDisconnect() {
	b := o.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.clients {
		c.pushDisc = true
		c.signal()
	}
}

// DropCookieCheck(true) stops requiring the BAYEUX_BROWSER cookie after the
// handshake; DropCookieCheck(false) requires it again (the default).
func (o *Org) DropCookieCheck(off bool) {
	b := o.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	b.noCookieCheck = off
}

// SetHoldTimeout sets how long a /meta/connect is held without events
// (default 110 s, ref §3.3) and the advice.timeout the server sends.
// d ≤ 0 restores the default. Connects already held keep their deadline.
func (o *Org) SetHoldTimeout(d time.Duration) {
	b := o.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	if d <= 0 {
		d = defaultHold
	}
	b.hold = d
}

// SetReconnectTimeout sets how long after a reply the server waits for the
// client's next connect before dropping the session (default 40 s, ref
// §3.3). d ≤ 0 restores the default.
func (o *Org) SetReconnectTimeout(d time.Duration) {
	b := o.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	if d <= 0 {
		d = defaultReconnectTimeout
	}
	b.reconnectTimeout = d
}

// SetRetention sets the replay log's retention (default 24 h, ref §3.5).
// Events older than d are dropped at once and their ids become invalid for
// subscribe; a subscriber that had not received them yet never will. d ≤ 0
// restores the default.
func (o *Org) SetRetention(d time.Duration) {
	b := o.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	if d <= 0 {
		d = defaultRetention
	}
	b.retention = d
	cutoff := b.now().Add(-d)
	for _, lg := range b.logs {
		lg.prune(cutoff)
	}
}

// InvalidateReplayIDs makes every replay id issued so far invalid for
// subscribe, as if they had aged out ("stale replay id after 25 h"):
// subscribing with one gets the §3.5 400 error, and -2 replays only events
// published afterwards. Live subscribers still receive what they had not
// yet been sent.
func (o *Org) InvalidateReplayIDs() {
	b := o.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, lg := range b.logs {
		lg.invalidThrough = lg.lastID
	}
}

// SetReplayStep makes replay ids advance by n per event on each channel, so
// ids are not contiguous (ref §3.5). A negative n advances by a random
// 1…-n each time (SetReplayStep(-5): the "random 1–5" of ref §3.9); 0
// restores 1.
func (o *Org) SetReplayStep(n int64) {
	b := o.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	if n == 0 {
		n = 1
	}
	b.step = n
}

// ShuffleReplyOrder(true) puts the /meta/connect ack after the events in a
// reply instead of before them (ref §3.2: order is not guaranteed).
func (o *Org) ShuffleReplyOrder(on bool) {
	b := o.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	b.shuffle = on
}

// ConcurrentClientLimit sets the org's concurrent streaming client
// allocation (default 20, Developer Edition, ref §3.8). A handshake beyond
// it gets 403::Handshake denied with failureReason
// 403::Organization concurrent user limit exceeded. n ≤ 0 removes the limit.
func (o *Org) ConcurrentClientLimit(n int) {
	b := o.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	if n <= 0 {
		n = int(^uint(0) >> 1)
	}
	b.clientLimit = n
}

// DailyEventLimit sets the delivered-events allocation per 24 h, shared by
// all clients (ref §3.8: 50,000 on Developer Edition, 10,000 on free orgs;
// unlimited until set), and starts a new 24 h window. Once used up, a connect with events waiting gets
// 403::Organization total events daily limit exceeded; the events stay in
// the log for replay (ref §3.5). n ≤ 0 removes the limit.
func (o *Org) DailyEventLimit(n int) {
	b := o.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dailyLimit = max(n, 0)
	b.dayStart, b.dayCount = b.now(), 0
}

// Handshakes counts successful handshakes since the org started.
func (o *Org) Handshakes() int {
	b := o.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.handshakes
}

// StreamClients counts live Bayeux clients (handshaken, not disconnected,
// expired or idle past the reconnect timeout).
func (o *Org) StreamClients() int {
	b := o.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.liveLocked(b.now())
}

// StreamClientIDs lists the live clients' clientIds, sorted.
func (o *Org) StreamClientIDs() []string {
	b := o.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	b.liveLocked(b.now())
	ids := make([]string, 0, len(b.clients))
	for id := range b.clients {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// HeldConnects counts /meta/connect requests the server is holding now.
func (o *Org) HeldConnects() int {
	b := o.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, c := range b.clients {
		if c.holding != 0 {
			n++
		}
	}
	return n
}

// Subscribers counts live clients subscribed to channel (filters ignored).
func (o *Org) Subscribers(channel string) int {
	b := o.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	b.liveLocked(b.now())
	lg := b.logs[channel]
	if lg == nil {
		return 0
	}
	seen := map[*cometClient]bool{}
	for s := range lg.subs {
		seen[s.client] = true
	}
	return len(seen)
}

// Delivered counts event messages sent on channel to all clients.
func (o *Org) Delivered(channel string) int {
	b := o.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.delivered[channel]
}

// Published counts events ever published on channel.
func (o *Org) Published(channel string) int {
	b := o.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	if lg := b.logs[channel]; lg != nil {
		return lg.published
	}
	return 0
}

// LastReplayID is the replay id of channel's latest event, 0 if none.
func (o *Org) LastReplayID(channel string) int64 {
	b := o.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	if lg := b.logs[channel]; lg != nil {
		return lg.lastID
	}
	return 0
}

// Retained counts channel's events still in the replay log.
func (o *Org) Retained(channel string) int {
	b := o.bayeux
	b.mu.Lock()
	defer b.mu.Unlock()
	if lg := b.logs[channel]; lg != nil {
		lg.prune(b.now().Add(-b.retention))
		return len(lg.events)
	}
	return 0
}
