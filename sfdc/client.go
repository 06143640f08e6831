package sfdc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/switchboard/switchboard/internal/endpoint"
	"github.com/switchboard/switchboard/internal/jitter"
)

// DefaultAPIVersion is the REST and Streaming API version used when
// ClientConfig.APIVersion is empty (SPEC §4 salesforce.api_version).
const DefaultAPIVersion = "62.0"

// maxResponseBytes bounds one response body; a 2,000-record query page of
// wide records is a few MB.
const maxResponseBytes = 64 << 20

// TokenSource is what the client needs from *Auth.
type TokenSource interface {
	Credentials(ctx context.Context) (Credentials, error)
	Reauthenticate(ctx context.Context, stale Credentials) (Credentials, error)
}

// ClientConfig configures a Client. Zero values select the defaults noted.
type ClientConfig struct {
	APIVersion string       // "62.0" by default
	HTTPClient *http.Client // http.DefaultClient by default; give it a Timeout
	Logger     *zap.Logger  // zap.NewNop() by default

	// MaxRetries is how often a transient failure (ref §2.8: row lock,
	// 502/503/504, 429, ConcurrentPerOrgLongTxn, network error) is retried:
	// 0 means 4, negative means never.
	MaxRetries int
	// RetryBaseDelay and RetryMaxDelay bound the jittered exponential
	// backoff between retries (250 ms and 10 s by default).
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration

	// LimitWarnFraction is the share of the daily API quota at which the
	// client logs a warning, once per crossing (0.8 by default).
	LimitWarnFraction float64
	// OnLimits, if set, is called with every Sforce-Limit-Info reading, for
	// metrics. It must not block.
	OnLimits func(Limits)
}

// Client is a Salesforce REST client. It is safe for concurrent use.
type Client struct {
	auth    TokenSource
	hc      *http.Client
	log     *zap.Logger
	version string
	retries int
	base    time.Duration
	maxWait time.Duration
	warnAt  float64
	onLimit func(Limits)

	calls atomic.Int64

	mu        sync.Mutex
	limits    Limits
	overLimit bool
}

// NewClient returns a client that authenticates through auth.
func NewClient(auth TokenSource, cfg ClientConfig) (*Client, error) {
	if auth == nil {
		return nil, errors.New("sfdc: NewClient needs a TokenSource (an *Auth)")
	}
	c := &Client{
		auth: auth, hc: cfg.HTTPClient, log: cfg.Logger, version: cfg.APIVersion,
		retries: cfg.MaxRetries, base: cfg.RetryBaseDelay, maxWait: cfg.RetryMaxDelay,
		warnAt: cfg.LimitWarnFraction, onLimit: cfg.OnLimits,
	}
	if c.version == "" {
		c.version = DefaultAPIVersion
	}
	if !endpoint.APIVersionRE.MatchString(c.version) {
		return nil, fmt.Errorf("sfdc: API version %q is not of the form 62.0", c.version)
	}
	if c.hc == nil {
		c.hc = http.DefaultClient
	}
	if c.log == nil {
		c.log = zap.NewNop()
	}
	switch {
	case c.retries == 0:
		c.retries = 4
	case c.retries < 0:
		c.retries = 0
	}
	if c.base <= 0 {
		c.base = 250 * time.Millisecond
	}
	if c.maxWait <= 0 {
		c.maxWait = 10 * time.Second
	}
	if c.warnAt <= 0 || c.warnAt > 1 {
		c.warnAt = 0.8
	}
	return c, nil
}

// Calls counts HTTP requests the client has sent, retries and replays
// included (Versions too, though Salesforce does not count that one).
func (c *Client) Calls() int64 { return c.calls.Load() }

// request is one logical REST call; send may transmit it several times.
type request struct {
	method string
	path   string // from the instance root, already escaped
	query  url.Values
	body   []byte
	// create marks non-idempotent inserts: replaying one whose first attempt
	// may have reached Salesforce can insert the record twice, so such a
	// request is replayed only when Salesforce provably did not act on it —
	// a dial failure (nothing sent) or an answer that rejects the call.
	create bool
}

type response struct {
	status int
	body   []byte
}

// send performs r with re-authentication (ref §1.9) and retries (ref §2.8).
// A 401 INVALID_SESSION_ID leads to one Reauthenticate and one replay; a
// second 401 is final, so a token the org keeps refusing cannot loop
// (jsforce#1168). Statuses below 400 are returned to the caller.
func (c *Client) send(ctx context.Context, r request) (response, error) {
	reauthed := false
	for attempt := 0; ; {
		creds, err := c.auth.Credentials(ctx)
		if err != nil {
			return response{}, err
		}
		resp, err := c.roundTrip(ctx, creds, r)
		if err != nil {
			if ctx.Err() != nil {
				return response{}, ctx.Err()
			}
			if attempt < c.retries && (!r.create || isDialError(err)) {
				c.log.Debug("salesforce request failed, retrying", zap.String("method", r.method), zap.String("path", r.path), zap.Error(err))
				if err := c.sleep(ctx, attempt); err != nil {
					return response{}, err
				}
				attempt++
				continue
			}
			if r.create && !isDialError(err) {
				return response{}, fmt.Errorf("%w: salesforce %s %s: %w", ErrOutcomeUnknown, r.method, r.path, err)
			}
			return response{}, fmt.Errorf("salesforce %s %s: %w", r.method, r.path, err)
		}
		if resp.status < 400 {
			return resp, nil
		}
		ae := parseAPIError(r.method, r.path, resp.status, resp.body)
		if resp.status == http.StatusUnauthorized {
			// ref §1.9: "This session is not valid for use with the REST API"
			// means the token type or API access is wrong; a new token of the
			// same kind would be refused the same way.
			if reauthed || ae.Code != CodeInvalidSession || strings.Contains(ae.Message, "not valid for use with the REST API") {
				return response{}, fmt.Errorf("%w: %w", ErrSessionInvalid, ae)
			}
			reauthed = true
			if _, err := c.auth.Reauthenticate(ctx, creds); err != nil {
				return response{}, fmt.Errorf("salesforce re-authentication after 401: %w", err)
			}
			continue
		}
		retry := ae.retryable()
		if r.create {
			retry = ae.rejected()
		}
		if retry && attempt < c.retries {
			c.log.Debug("salesforce transient error, retrying", zap.Int("status", ae.Status), zap.String("code", ae.Code), zap.String("path", r.path))
			if err := c.sleep(ctx, attempt); err != nil {
				return response{}, err
			}
			attempt++
			continue
		}
		if r.create && ae.retryable() && !ae.rejected() {
			return response{}, fmt.Errorf("%w: %w", ErrOutcomeUnknown, ae)
		}
		return response{}, ae
	}
}

func (c *Client) roundTrip(ctx context.Context, creds Credentials, r request) (response, error) {
	u := creds.InstanceURL + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Authorization", "Bearer "+creds.AccessToken)
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.calls.Add(1)
	resp, err := c.hc.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	c.observeLimits(resp.Header)
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, body: b}, nil
}

// sleep waits jitter.Backoff before retry attempt+1, so replicas that
// failed together do not retry together.
func (c *Client) sleep(ctx context.Context, attempt int) error {
	t := time.NewTimer(jitter.Backoff(c.base, c.maxWait, attempt+1)) // attempt counts from 0
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// isDialError reports failures that happened before a byte of the request
// left this host.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// dataPath builds /services/data/vXX.X/<segments>, escaping each segment.
func (c *Client) dataPath(segments ...string) string {
	var b strings.Builder
	b.WriteString("/services/data/v" + c.version)
	for _, s := range segments {
		b.WriteString("/" + url.PathEscape(s))
	}
	return b.String()
}

// doJSON sends r with in marshalled as the body (unless nil) and decodes a
// non-empty response body into out (unless nil).
func (c *Client) doJSON(ctx context.Context, r request, in, out any) (int, error) {
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, fmt.Errorf("sfdc: encode %s %s body: %w", r.method, r.path, err)
		}
		r.body = b
	}
	resp, err := c.send(ctx, r)
	if err != nil {
		return 0, err
	}
	if out != nil && len(bytes.TrimSpace(resp.body)) > 0 {
		if err := json.Unmarshal(resp.body, out); err != nil {
			return resp.status, fmt.Errorf("sfdc: decode %s %s response: %w", r.method, r.path, err)
		}
	}
	return resp.status, nil
}

// Version is one entry of GET /services/data/.
type Version struct {
	Label   string `json:"label"`
	URL     string `json:"url"`
	Version string `json:"version"`
}

// Versions lists the API versions the org serves. Salesforce does not count
// this call against the daily limit (ref §2.1), so `doctor` can use it as a
// connectivity check.
func (c *Client) Versions(ctx context.Context) ([]Version, error) {
	var v []Version
	_, err := c.doJSON(ctx, request{method: http.MethodGet, path: "/services/data/"}, nil, &v)
	return v, err
}
