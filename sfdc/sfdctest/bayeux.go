package sfdctest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"mime"
	"net/http"
	"net/url"
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
