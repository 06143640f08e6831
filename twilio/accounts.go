// Package twilio sends and reads messages through Twilio's Programmable
// Messaging REST API (github.com/twilio/twilio-go, client and
// rest/api/v2010 only), classifies its failures for the engine, validates
// webhook signatures, parses inbound and status webhooks, serves them
// (Webhooks: refuse, check, queue, answer), and counts SMS segments. The wire-level facts it relies on are in
// shared/reference/twilio.md, cited as "ref §N".
package twilio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// DefaultBaseURL is Twilio's REST host (twilio.api_base_url's default).
const DefaultBaseURL = "https://api.twilio.com"

// Options configures Accounts.
type Options struct {
	// BaseURL replaces https://api.twilio.com (twilio.api_base_url), e.g.
	// a twiliotest server's URL. A path prefix is kept.
	BaseURL string
	// Timeout bounds every call (all pages of a Find count as one call)
	// unless the caller's context ends sooner. Default 10 s, twilio-go's
	// own default (ref §9.2).
	Timeout time.Duration
	// Transport carries the requests; default a dedicated clone of
	// http.DefaultTransport.
	Transport http.RoundTripper
	// PageSize for Find; default 50 (Twilio's default, ref §2.5).
	PageSize int
	// MaxPages bounds how many pages one Find reads; default 20.
	MaxPages int
}

// Accounts holds one Twilio client per Account SID. It is safe for
// concurrent use.
type Accounts struct {
	base     *url.URL
	timeout  time.Duration
	rt       http.RoundTripper
	pageSize int
	maxPages int
	accounts map[string]*account
}

type account struct {
	sid   string
	creds *client.Credentials
}

var (
	accountSIDPattern = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	alnumPattern      = regexp.MustCompile(`^[a-zA-Z0-9]+$`)
)

// ErrUnknownAccount is returned for an Account SID that has no credentials
// configured.
var ErrUnknownAccount = errors.New("twilio: no credentials configured for this account")

// NewAccounts builds the clients. creds maps Account SID → Auth Token.
func NewAccounts(creds map[string]string, opts Options) (*Accounts, error) {
	if len(creds) == 0 {
		return nil, errors.New("twilio: no accounts configured (twilio.account_sid / twilio.auth_token)")
	}
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(opts.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("twilio: api_base_url %q must be an absolute http(s) URL", opts.BaseURL)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Transport == nil {
		opts.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if opts.PageSize <= 0 || opts.PageSize > 1000 {
		opts.PageSize = 50
	}
	if opts.MaxPages <= 0 {
		opts.MaxPages = 20
	}
	a := &Accounts{base: base, timeout: opts.Timeout, rt: opts.Transport, pageSize: opts.PageSize,
		maxPages: opts.MaxPages, accounts: map[string]*account{}}
	var problems []string
	sids := make([]string, 0, len(creds))
	for sid := range creds {
		sids = append(sids, sid)
	}
	sort.Strings(sids)
	for _, sid := range sids {
		tok := creds[sid]
		switch {
		case !accountSIDPattern.MatchString(sid):
			// Not quoted: a mistyped SID:TOKEN pair can put the token here.
			problems = append(problems, fmt.Sprintf("an account SID of %d characters is not AC followed by 32 hex digits", len(sid)))
		case !alnumPattern.MatchString(tok):
			// twilio-go refuses non-alphanumeric passwords before sending
			// (21224, ref §1.2); say so now rather than on every send.
			problems = append(problems, fmt.Sprintf("auth token of %s is empty or not alphanumeric", sid))
		default:
			a.accounts[sid] = &account{sid: sid, creds: client.NewCredentials(sid, tok)}
		}
	}
	if len(problems) > 0 {
		return nil, errors.New("twilio: " + strings.Join(problems, "; "))
	}
	return a, nil
}

// SIDs lists the configured accounts.
func (a *Accounts) SIDs() []string {
	out := make([]string, 0, len(a.accounts))
	for sid := range a.accounts {
		out = append(out, sid)
	}
	sort.Strings(out)
	return out
}

// Has reports whether the account is configured.
func (a *Accounts) Has(sid string) bool { return a.accounts[sid] != nil }

// call is one API call: its own twilio-go client whose HTTP requests carry
// the caller's context (the SDK has none, ref §9.2) and record what the
// classifier needs to know.
type call struct {
	api   *openapi.ApiService
	rh    *client.RequestHandler // what api sends through; other SDK services wrap it too
	state *callState
	ctx   context.Context
}

type callState struct {
	wrote    atomic.Bool // a request was fully written to the connection
	status   atomic.Int32
	header   atomic.Pointer[http.Header]
	requests atomic.Int32
}

// newCall is a call to the REST API (api.twilio.com, 2010-04-01).
func (a *Accounts) newCall(ctx context.Context, sid string) (*call, context.CancelFunc, error) {
	c, cancel, err := a.newClient(ctx, sid, a.base)
	if err != nil {
		return nil, nil, err
	}
	c.api = openapi.NewApiService(c.rh)
	return c, cancel, nil
}

// newClient builds one call's twilio-go client for account sid, sending
// to base: the call's deadline is a.timeout, its requests carry the context
// and record the call's state. Its request handler (c.rh) has no Edge or
// Region: the SDK's NewRequestHandler would read them from TWILIO_EDGE and
// TWILIO_REGION and rewrite the host (ref §9.1); the base URL is ours.
func (a *Accounts) newClient(ctx context.Context, sid string, base *url.URL) (*call, context.CancelFunc, error) {
	acct := a.accounts[sid]
	if acct == nil {
		return nil, nil, fmt.Errorf("%w: %s", ErrUnknownAccount, sid)
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	st := &callState{}
	hc := &http.Client{
		Transport: &callTransport{ctx: ctx, base: a.rt, state: st},
		// twilio-go's own client does not follow redirects (ref §9.2); keep
		// that. No http.Client.Timeout: the deadline is the context's, which
		// avoids the SDK's goroutine leak on error responses (deps §3).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c := &client.Client{Credentials: acct.creds, HTTPClient: hc}
	c.SetAccountSid(sid)
	rh := &client.RequestHandler{Client: &baseURLClient{Client: c, base: base}}
	return &call{rh: rh, state: st, ctx: ctx}, cancel, nil
}

// baseURLClient sends the SDK's requests to the configured base URL instead
// of the hard-coded api.twilio.com (ref §9.5 option A), pages included.
type baseURLClient struct {
	*client.Client
	base *url.URL
}

func (c *baseURLClient) SendRequest(method, rawURL string, data url.Values, headers map[string]interface{}, body ...byte) (*http.Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	u.Scheme, u.Host = c.base.Scheme, c.base.Host
	if c.base.Path != "" {
		u.Path = c.base.Path + u.Path
		if u.RawPath != "" {
			u.RawPath = c.base.EscapedPath() + u.RawPath
		}
	}
	return c.Client.SendRequest(method, u.String(), data, headers, body...)
}

type callTransport struct {
	ctx   context.Context
	base  http.RoundTripper
	state *callState
}

func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	st := t.state
	st.requests.Add(1)
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			st.wrote.Store(true)
		}
	}}
	req = req.WithContext(httptrace.WithClientTrace(t.ctx, trace))
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	st.status.Store(int32(resp.StatusCode))
	h := resp.Header
	st.header.Store(&h)
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		// twilio-go never closes the body of an error response, leaking the
		// connection and a goroutine (deps §3). Read it here (bounded) and
		// hand the SDK an in-memory copy.
		b, rerr := io.ReadAll(io.LimitReader(resp.Body, 256<<10))
		resp.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
	}
	return resp, nil
}

// isConnRefused reports a dial failure: nothing reached Twilio.
func isConnRefused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// Close releases idle connections.
func (a *Accounts) Close() {
	if ci, ok := a.rt.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}
