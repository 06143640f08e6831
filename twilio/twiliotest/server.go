// Package twiliotest is a simulated Twilio Programmable Messaging API on a
// real loopback listener: the Messages resource (create, fetch, list) with
// the real API's validation errors and JSON types, fault knobs, an
// asynchronous message lifecycle that POSTs signed status callbacks, opt-out
// state, and a sender of signed inbound webhooks. Tests, benchmarks and the
// demo all use it. The behaviour it copies is described in
// shared/reference/twilio.md; §11 there is the checklist it follows.
package twiliotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Options configures a Server. Everything can also be set later with the
// corresponding methods.
type Options struct {
	// Accounts maps Account SID → Auth Token. Both must be alphanumeric:
	// twilio-go refuses anything else before sending (ref §1.2).
	Accounts map[string]string
	// InboundURL is where SendInbound POSTs when Inbound.URL is empty.
	InboundURL string
	// StepDelay is the time between two status transitions of a message
	// (queued → sending → sent → delivered). Zero is instant mode: the whole
	// lifecycle runs right after the create, as fast as callbacks can be sent.
	StepDelay time.Duration
	// Now replaces the clock for the dates the API reports. Nil: time.Now.
	Now func() time.Time
}

// Server is the simulated Twilio. Its methods are safe for concurrent use.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	url  string
	now  func() time.Time
	hc   *http.Client // for callbacks and inbound webhooks
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup // lifecycles and callbacks in flight

	mu       sync.Mutex
	accounts map[string]*account
	services map[string]*service // MG sid → service
	numOwner map[string]string   // E.164 → account SID
	numSvc   map[string]string   // E.164 → MG sid
	routing  routingState        // webhook URLs of numbers and services (numbers.go)
	messages []*message          // every message, in creation order
	bySID    map[string]*message
	optedOut map[optKey]bool
	outcomes map[string]outcome // To → final status
	landline map[string]bool
	blocked  []string // To prefixes without geo permission
	seq      int64

	inboundURL  string
	stepDelay   time.Duration
	latency     time.Duration
	retryAfter  time.Duration
	fail429     int
	fail5xx     int
	fail5xxHTML bool
	created500  int
	dropCreate  int
	latencyHi   time.Duration // with latency: each request waits a random time in [latency, latencyHi]
	holdCreate  int
	holdFor     time.Duration

	dropCallbacks int
	dupCallbacks  bool
	reorder       bool
	cbDelay       time.Duration
	callbacks     []Callback
	inflight      int
	idle          *sync.Cond

	stats Stats
}

type account struct {
	sid, token string
}

type service struct {
	sid, account string
	numbers      []string
	next         int
}

type optKey struct{ customer, scope string }

type outcome struct {
	status string
	code   int
}

// Stats counts what the server was asked to do.
type Stats struct {
	CreateRequests int // every POST to Messages.json, faulted or not
	Created        int // messages actually created
	Rejected       int // creates answered with a 4xx validation error
	Fetches        int
	Lists          int
	Faults         int // requests answered by a fault knob
	Unauthorized   int
}

// New starts a Server on 127.0.0.1 with an ephemeral port.
func New(opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("twiliotest: listen: %w", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{
		ln:         ln,
		url:        "http://" + ln.Addr().String(),
		now:        opts.Now,
		ctx:        ctx,
		stop:       stop,
		accounts:   map[string]*account{},
		services:   map[string]*service{},
		numOwner:   map[string]string{},
		numSvc:     map[string]string{},
		bySID:      map[string]*message{},
		optedOut:   map[optKey]bool{},
		outcomes:   map[string]outcome{},
		landline:   map[string]bool{},
		inboundURL: opts.InboundURL,
		stepDelay:  opts.StepDelay,
		retryAfter: time.Second,
		// Twilio's webhook client gives up after 15 s in total (ref §5.2).
		hc: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 64,
		}},
	}
	s.idle = sync.NewCond(&s.mu)
	if s.now == nil {
		s.now = time.Now
	}
	for sid, tok := range opts.Accounts {
		if err := s.AddAccount(sid, tok); err != nil {
			ln.Close()
			stop()
			return nil, err
		}
	}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serveHTTP), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	go s.srv.Serve(ln)
	return s, nil
}

// URL is the base URL to configure as twilio.api_base_url.
func (s *Server) URL() string { return s.url }

// Close stops the listener, cancels pending lifecycles and callbacks, and
// waits for them to return.
func (s *Server) Close() {
	s.stop()
	s.srv.Close()
	s.wg.Wait()
	s.hc.CloseIdleConnections()
	s.mu.Lock()
	s.idle.Broadcast()
	s.mu.Unlock()
}

func alnum(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

// AddAccount adds (or re-keys) an account.
func (s *Server) AddAccount(sid, token string) error {
	if !strings.HasPrefix(sid, "AC") || !alnum(sid) || !alnum(token) {
		return fmt.Errorf("twiliotest: account %q: SID must be AC… and SID and token alphanumeric (twilio-go refuses others)", sid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[sid] = &account{sid: sid, token: token}
	return nil
}

// AddNumber gives an account a phone number it may send from.
func (s *Server) AddNumber(accountSID, e164 string) error {
	if !validAddress(e164) {
		return fmt.Errorf("twiliotest: %q is not an E.164 number", e164)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.accounts[accountSID] == nil {
		return fmt.Errorf("twiliotest: unknown account %s", accountSID)
	}
	s.numOwner[e164] = accountSID
	return nil
}

// AddMessagingService creates a Messaging Service of the account with a
// sender pool; the numbers are added to the account as well.
func (s *Server) AddMessagingService(accountSID, mgSID string, numbers ...string) error {
	if !strings.HasPrefix(mgSID, "MG") || !alnum(mgSID) {
		return fmt.Errorf("twiliotest: %q is not a Messaging Service SID (MG…)", mgSID)
	}
	for _, n := range numbers {
		if err := s.AddNumber(accountSID, n); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.services[mgSID] = &service{sid: mgSID, account: accountSID, numbers: append([]string(nil), numbers...)}
	for _, n := range numbers {
		s.numSvc[n] = mgSID
	}
	return nil
}

// Token returns an account's auth token (for tests that verify signatures).
func (s *Server) Token(accountSID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.accounts[accountSID]; a != nil {
		return a.token
	}
	return ""
}

// SetInboundURL sets where SendInbound posts by default.
func (s *Server) SetInboundURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inboundURL = u
}

// SetStepDelay sets the time between status transitions; 0 is instant mode.
func (s *Server) SetStepDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stepDelay = d
}

// SetOutcome makes messages to the number end in status ("delivered",
// "undelivered", "failed", or "sent" for a carrier that never sends a
// delivery receipt) with the given ErrorCode (ref §3.2 async codes).
func (s *Server) SetOutcome(to, status string, errorCode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outcomes[to] = outcome{status: status, code: errorCode}
}

// SetLandline makes creates to the number fail with 21614.
func (s *Server) SetLandline(number string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.landline[number] = true
}

// BlockRegion makes creates to numbers starting with prefix (e.g. "+44")
// fail with 21408, as Messaging Geo Permissions do.
func (s *Server) BlockRegion(prefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocked = append(s.blocked, prefix)
}

// OptOut records that customer texted STOP to sender (a number or an MG…
// SID). If the number belongs to a Messaging Service the opt-out covers the
// whole service, as Twilio does (ref §7).
func (s *Server) OptOut(customer, sender string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.optedOut[optKey{customer, s.scopeLocked(sender)}] = true
}

// OptIn undoes OptOut (the customer texted START).
func (s *Server) OptIn(customer, sender string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.optedOut, optKey{customer, s.scopeLocked(sender)})
}

func (s *Server) scopeLocked(sender string) string {
	sender = strings.TrimPrefix(sender, waPrefix)
	if mg, ok := s.numSvc[sender]; ok {
		return mg
	}
	return sender
}

// Stats returns the request counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Messages returns a snapshot of every message the server holds (outbound
// creates and inbound messages), in creation order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		out[i] = m.snapshot()
	}
	return out
}

// Message returns one message by SID.
func (s *Server) Message(sid string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.bySID[sid]
	if !ok {
		return Message{}, false
	}
	return m.snapshot(), true
}

// Settle waits until no lifecycle or callback is in flight (or ctx ends).
func (s *Server) Settle(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.mu.Lock()
		for s.inflight > 0 && ctx.Err() == nil && s.ctx.Err() == nil {
			s.idle.Wait()
		}
		s.mu.Unlock()
		close(done)
	}()
	select {
	case <-done:
		return ctx.Err()
	case <-ctx.Done():
		s.mu.Lock()
		s.idle.Broadcast()
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

func (s *Server) newSID(prefix string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return prefix + hex.EncodeToString(b[:])
}

// sortedNewestFirst returns msgs ordered as Twilio lists them: newest first
// (ref §2.5, UNVERIFIED but what users observe).
func sortedNewestFirst(msgs []*message) []*message {
	out := append([]*message(nil), msgs...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].seq > out[j].seq })
	return out
}
