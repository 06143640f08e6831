package sfdctest

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The CometD side of the simulated org: Bayeux 1.0 long polling on
// /cometd/<version> as Salesforce runs it for PushTopics (ref §3). State is
// one mutex-guarded registry of clients and one replay log per channel; a
// client holds only a cursor per subscription, so memory per client is
// bounded no matter how far behind it is.

const (
	defaultHold             = 110 * time.Second // ref §3.3 socket timeout
	defaultReconnectTimeout = 40 * time.Second  // ref §3.3 reconnect timeout
	defaultRetention        = 24 * time.Hour    // ref §3.5 PushTopic retention
	// defaultClientLimit is the Developer Edition allocation (ref §3.8),
	// the FAKE default of ref §3.9. The daily delivered-events allocation
	// has no default (unlimited): long benchmarks and demos on one org
	// would otherwise run into it; tests set it with DailyEventLimit.
	defaultClientLimit = 20
	// maxCometdBody is Salesforce's POST body cap (ref §3.1).
	maxCometdBody = 32768
	// maxEventsPerReply bounds one /meta/connect reply so a client that is
	// far behind drains the log in pages rather than one huge body.
	maxEventsPerReply = 1000
	// maxReplyEventBytes also bounds a reply by size (events with large
	// field values), well under the 10 MiB clients are told to accept
	// (ref §5.6 maxMessageSize); one event is always sent.
	maxReplyEventBytes = 1 << 20
	// minStreamingVersion: durable replay needs /cometd/37.0+ (ref §3.1).
	minStreamingVersion = 37
)

// The error strings of ref §3.6. Observed `error` values carry no trailing
// period even where the documentation table shows one.
const (
	errUnknownClient   = "403::Unknown client"
	errNoHandshake     = "403::Client has not completed handshake"
	errAuthInvalid     = "401::Authentication invalid"
	errNoAuth          = "401::Request requires authentication"
	errHandshakeDenied = "403::Handshake denied"
	errConcurrentLimit = "403::Organization concurrent user limit exceeded"
	errDailyLimit      = "403::Organization total events daily limit exceeded"
	errRestricted      = "403::Restricted channel"
	errNoChannel       = "400::Channel name not specified"
	errLeadingSlash    = "400::Channel subscriptions must start with a leading '/'"
	// busyReason is spelled as in the JSON example of ref §3.6 (two spaces
	// after the first period); clients should match the "503::" prefix.
	busyReason = "503::Server is too busy.  Please try your request again later."
)

func errNoCookie(clientID string) string {
	return "400::Client " + clientID + " has established a session, but no BAYEUX_BROWSER cookie present"
}

func errNoSuchChannel(ch string) string {
	return "400::The channel you requested to subscribe to doesn't exist {" + ch + "}"
}

// errInvalidReplay is the observed string of ref §3.5 (EMP issue #14), with
// its two spaces after the first period.
func errInvalidReplay(id string) string {
	return "400::The replayId {" + id + "} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events."
}

func errReplayNotInMap(ch, rendered string) string {
	return "400::The replayId for channel {" + ch + "} wasn't found using the provided replay ID map {" + rendered + "}. Ensure that the channel name you provided in the replay map is valid and matches the channel name used for subscribing."
}

func errVersionMissing() string {
	return fmt.Sprintf("400::API version in the URI is mandatory. URI format: '/cometd/%d.0'", maxAPIVersion)
}

func errVersionUnsupported() string {
	return fmt.Sprintf("400::Unsupported API version. Only API versions '%d.0' and later are supported. URI format: '/cometd/%d.0'", minStreamingVersion, maxAPIVersion)
}

// goneReason says why a client left the registry, which decides what its
// held /meta/connect answers.
type goneReason int

const (
	present      goneReason = iota
	expired                 // forgotten by the server: 403::Unknown client
	disconnected            // the client sent /meta/disconnect
	pushedOut               // server-sent /meta/disconnect (PushDisconnect)
)

// bayeuxState is the CometD server: the client registry, the replay logs
// and the streaming knobs, all under mu. A held connect waits on its own
// wake channel with mu released.
type bayeuxState struct {
	org  *Org
	now  func() time.Time
	done chan struct{}

	mu       sync.Mutex
	closed   bool
	clients  map[string]*cometClient
	browsers map[string]bool // BAYEUX_BROWSER values handed out
	logs     map[string]*replayLog

	hold, reconnectTimeout, retention time.Duration
	step                              int64
	shuffle                           bool
	busy                              int
	noCookieCheck                     bool
	clientLimit, dailyLimit           int
	dayStart                          time.Time
	dayCount                          int
	handshakes                        int
	delivered                         map[string]int
}

// cometClient is one Bayeux session (clientId).
type cometClient struct {
	id, browser string
	subs        map[string]*subscription // by subscription string, filter included
	connected   bool                     // its first /meta/connect was answered
	lastReply   time.Time                // start of the reconnect window
	gen         int                      // bumped by every /meta/connect
	holding     int                      // gen of the held connect, 0 when none
	wake        chan struct{}            // cap 1: events, supersession, removal
	gone        goneReason
	pushDisc    bool // PushDisconnect is pending for this client
}

func (c *cometClient) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func newBayeuxState(o *Org) *bayeuxState {
	return &bayeuxState{
		org: o, now: time.Now, done: make(chan struct{}),
		clients: map[string]*cometClient{}, browsers: map[string]bool{}, logs: map[string]*replayLog{},
		hold: defaultHold, reconnectTimeout: defaultReconnectTimeout, retention: defaultRetention, step: 1,
		clientLimit: defaultClientLimit, delivered: map[string]int{},
	}
}

// close ends every held long poll; Org.Close calls it before closing the
// listener, whose Close waits for handlers.
func (b *bayeuxState) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		close(b.done)
	}
}

// publish appends a PushTopic notification to channel's replay log, wakes
// the held connects of its subscribers, and returns the replay id. rest.go
// calls it in commit order.
func (b *bayeuxState) publish(channel, eventType string, sobject map[string]any) int64 {
	sob, err := json.Marshal(sobject)
	if err != nil {
		// Values come from the store (strings, numbers, bools, nil) or
		// from a test's Publish; anything else is a bug in the caller.
		panic(fmt.Sprintf("sfdctest: publish on %s: sobject does not encode as JSON: %v", channel, err))
	}
	typ, _ := json.Marshal(eventType)

	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	lg := b.logLocked(channel)
	lg.prune(now.Add(-b.retention))
	step := b.step
	if step < 0 {
		step = 1 + mrand.Int64N(-step) // ref §3.9 FAKE: "step by random 1–5"
	}
	id := lg.lastID + step
	lg.lastID = id
	var data bytes.Buffer
	data.Grow(len(sob) + 96)
	data.WriteString(`{"event":{"createdDate":"`)
	data.WriteString(now.UTC().Format("2006-01-02T15:04:05.000Z"))
	data.WriteString(`","replayId":`)
	data.WriteString(strconv.FormatInt(id, 10))
	data.WriteString(`,"type":`)
	data.Write(typ)
	data.WriteString(`},"sobject":`)
	data.Write(sob)
	data.WriteString(`}`)
	lg.events = append(lg.events, logEvent{id: id, at: now, data: data.Bytes()})
	lg.published++
	// A filtered subscriber is woken too; its connect checks the filter
	// and keeps holding if nothing matched.
	for s := range lg.subs {
		s.client.signal()
	}
	return id
}

func (o *Org) registerBayeux(mux *http.ServeMux) {
	mux.HandleFunc("/cometd/", o.bayeux.serve)
	mux.HandleFunc("/cometd", o.bayeux.serve)
}

// inMsg is one Bayeux message from a client. id is kept raw so it is echoed
// exactly (ref §3.6: a number in one example, a string elsewhere).
type inMsg struct {
	Channel                  string                     `json:"channel"`
	ClientID                 string                     `json:"clientId"`
	ID                       json.RawMessage            `json:"id"`
	Subscription             json.RawMessage            `json:"subscription"`
	ConnectionType           string                     `json:"connectionType"`
	SupportedConnectionTypes []string                   `json:"supportedConnectionTypes"`
	Ext                      map[string]json.RawMessage `json:"ext"`
}

// outMsg is a reply message. Only the fields a reply needs are set.
type outMsg struct {
	Channel                  string          `json:"channel"`
	ClientID                 string          `json:"clientId,omitempty"`
	ID                       json.RawMessage `json:"id,omitempty"`
	Subscription             json.RawMessage `json:"subscription,omitempty"`
	Successful               bool            `json:"successful"`
	Error                    string          `json:"error,omitempty"`
	Advice                   map[string]any  `json:"advice,omitempty"`
	Ext                      map[string]any  `json:"ext,omitempty"`
	Version                  string          `json:"version,omitempty"`
	MinimumVersion           string          `json:"minimumVersion,omitempty"`
	SupportedConnectionTypes []string        `json:"supportedConnectionTypes,omitempty"`
	Reestablish              *bool           `json:"reestablish,omitempty"`
}

func replyTo(m *inMsg) *outMsg {
	return &outMsg{Channel: m.Channel, ClientID: m.ClientID, ID: m.ID}
}

func (b *bayeuxState) retryAdvice() map[string]any {
	return map[string]any{"reconnect": "retry", "interval": 0, "timeout": b.hold.Milliseconds()}
}

var (
	adviceNone      = map[string]any{"reconnect": "none", "interval": 0}
	adviceHandshake = map[string]any{"interval": 0, "reconnect": "handshake"}
)

// response collects the reply array of one HTTP request.
type response struct {
	parts [][]byte
}

func (r *response) add(m *outMsg) {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // outMsg holds only encodable values
	}
	r.parts = append(r.parts, b)
}

func (r *response) addRaw(b []byte) { r.parts = append(r.parts, b) }

func (r *response) write(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	n := 2
	for _, p := range r.parts {
		n += len(p) + 1
	}
	buf := make([]byte, 0, n)
	buf = append(buf, '[')
	for i, p := range r.parts {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, p...)
	}
	buf = append(buf, ']')
	_, _ = w.Write(buf)
}

func (b *bayeuxState) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "CometD accepts POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCometdBody+1))
	if err != nil {
		return
	}
	if len(body) > maxCometdBody {
		// ref §3.1: 413 Maximum Request Size Exceeded.
		(&response{parts: [][]byte{[]byte(`{"successful":false,"error":"413::Maximum Request Size Exceeded"}`)}}).write(w, http.StatusRequestEntityTooLarge)
		return
	}
	msgs, perr := parseMessages(body, r.Header.Get("Content-Type"))
	if perr != "" {
		res := &response{}
		res.add(&outMsg{Error: "400::" + perr})
		res.write(w, http.StatusBadRequest)
		return
	}
	if e := versionError(r.URL.Path); e != "" {
		res := &response{}
		for _, m := range msgs {
			out := replyTo(m)
			out.Error = e
			res.add(out)
		}
		res.write(w, http.StatusBadRequest)
		return
	}
	tok := cometdToken(r)
	var browser string
	if ck, err := r.Cookie("BAYEUX_BROWSER"); err == nil {
		browser = ck.Value
	}
	res := &response{}
	for _, m := range msgs {
		b.handle(w, r, m, tok, browser, res)
	}
	res.write(w, http.StatusOK)
}

// parseMessages accepts a JSON array of messages or a single message, as a
// JSON body or as the form field "message" (ref §3.1).
func parseMessages(body []byte, contentType string) ([]*inMsg, string) {
	if mt, _, _ := mime.ParseMediaType(contentType); mt == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("message") == "" {
			return nil, "a form-encoded request needs a JSON 'message' field"
		}
		body = []byte(form.Get("message"))
	}
	body = bytes.TrimSpace(body)
	var msgs []*inMsg
	switch {
	case len(body) > 0 && body[0] == '[':
		if err := json.Unmarshal(body, &msgs); err != nil {
			return nil, "the request body is not a JSON array of Bayeux messages: " + err.Error()
		}
	case len(body) > 0 && body[0] == '{':
		var m inMsg
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, "the request body is not a Bayeux message: " + err.Error()
		}
		msgs = []*inMsg{&m}
	default:
		return nil, "the request body must be a JSON array of Bayeux messages"
	}
	if len(msgs) == 0 {
		return nil, "the request holds no Bayeux message"
	}
	for _, m := range msgs {
		if m == nil {
			return nil, "a Bayeux message must be a JSON object, not null"
		}
	}
	return msgs, ""
}

// versionError checks /cometd/<version>[/<meta type>] (CometD clients may
// append the message type to the URL).
func versionError(path string) string {
	rest := strings.Trim(strings.TrimPrefix(path, "/cometd"), "/")
	ver, tail, _ := strings.Cut(rest, "/")
	if ver == "" {
		return errVersionMissing()
	}
	switch tail {
	case "", "handshake", "connect", "subscribe", "unsubscribe", "disconnect":
	default:
		return errVersionUnsupported()
	}
	n, err := strconv.ParseFloat(ver, 64)
	if err != nil || !strings.Contains(ver, ".") || n < minStreamingVersion || n > maxAPIVersion || n != float64(int(n)) {
		return errVersionUnsupported()
	}
	return ""
}

// cometdToken reads the access token: "Bearer" or "OAuth" scheme, or the
// raw token as EMP-Connector sends it (ref §3.1).
func cometdToken(r *http.Request) string {
	if t := bearer(r); t != "" {
		return t
	}
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h != "" && !strings.Contains(h, " ") {
		return h
	}
	return ""
}

func (b *bayeuxState) handle(w http.ResponseWriter, r *http.Request, m *inMsg, tok, browser string, res *response) {
	out := replyTo(m)
	if m.Channel == "" {
		out.Error = errNoChannel
		res.add(out)
		return
	}
	if b.takeBusy() {
		b.busyReply(m, out)
		res.add(out)
		return
	}
	if !strings.HasPrefix(m.Channel, "/meta/") {
		// Salesforce clients only receive; publishing to a topic is refused.
		out.Error = errRestricted
		res.add(out)
		return
	}
	if tok == "" || !b.org.tokens.check(tok) {
		reason := errAuthInvalid
		if tok == "" {
			reason = errNoAuth
		}
		authFailure(m, out, reason)
		res.add(out)
		return
	}
	if m.Channel == "/meta/handshake" {
		b.handshake(w, m, browser, out)
		res.add(out)
		return
	}
	switch m.Channel {
	case "/meta/connect", "/meta/subscribe", "/meta/unsubscribe", "/meta/disconnect":
	default:
		out.Error = "400::Unknown meta channel {" + m.Channel + "}"
		res.add(out)
		return
	}
	c, e := b.lookup(m.ClientID, browser)
	if e != "" {
		out.Error = e
		if e == errUnknownClient || e == errNoHandshake {
			out.Advice = adviceHandshake
		}
		if m.Channel == "/meta/subscribe" || m.Channel == "/meta/unsubscribe" {
			out.Subscription = m.Subscription
		}
		res.add(out)
		return
	}
	switch m.Channel {
	case "/meta/connect":
		b.connect(r, m, c, tok, res)
	case "/meta/subscribe":
		b.subscribe(m, c, out)
		res.add(out)
	case "/meta/unsubscribe":
		b.unsubscribe(m, c, out)
		res.add(out)
	case "/meta/disconnect":
		b.mu.Lock()
		b.removeLocked(c, disconnected)
		b.mu.Unlock()
		out.Successful = true
		res.add(out)
	}
}

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
