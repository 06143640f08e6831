package twiliotest

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// Callback is one status callback the server tried to deliver.
type Callback struct {
	URL       string
	Params    url.Values
	Signature string
	// IdempotencyToken is the I-Twilio-Idempotency-Token header; a
	// duplicate delivery reuses it, as a Twilio retry does (ref §5.1).
	IdempotencyToken string
	StatusCode       int   // the receiver's answer, 0 if none
	Err              error // transport error, if any
	Dropped          bool  // suppressed by DropCallbacks: never sent
}

// DropCallbacks makes the next n status callbacks vanish (Twilio gives up on
// them or they are lost): recorded with Dropped, never sent.
func (s *Server) DropCallbacks(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropCallbacks = max(n, 0)
}

// DuplicateCallbacks makes every callback be delivered twice with the same
// idempotency token.
func (s *Server) DuplicateCallbacks(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dupCallbacks = on
}

// ReorderCallbacks holds a message's callbacks until its lifecycle ends and
// then delivers them newest first: "There is no guarantee that the status
// callback requests always arrive … in the order they were sent" (ref §4).
func (s *Server) ReorderCallbacks(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reorder = on
}

// CallbackDelay waits d before delivering each callback.
func (s *Server) CallbackDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cbDelay = d
}

// Callbacks returns every status callback attempted so far, in order.
func (s *Server) Callbacks() []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Callback(nil), s.callbacks...)
}

// plan is the sequence of statuses after the initial one (which never gets
// a callback, ref §4).
func (s *Server) planLocked(m *message) []outcome {
	var steps []outcome
	if m.Status == "accepted" {
		steps = append(steps, outcome{status: "queued"})
	}
	o, ok := s.outcomes[m.To]
	if !ok {
		o = outcome{status: "delivered"}
	}
	switch o.status {
	case "failed":
		return append(steps, o)
	case "sent":
		return append(steps, outcome{status: "sending"}, outcome{status: "sent"})
	default:
		return append(steps, outcome{status: "sending"}, outcome{status: "sent"}, o)
	}
}

func (s *Server) startLifecycleLocked(m *message) {
	steps := s.planLocked(m)
	s.inflight++
	s.wg.Add(1)
	go func() {
		defer s.done()
		var held []Callback
		for _, st := range steps {
			s.mu.Lock()
			d := s.stepDelay
			s.mu.Unlock()
			if !sleep(s.ctx, d) {
				return
			}
			cb, ok := s.transition(m, st)
			if !ok {
				continue
			}
			s.mu.Lock()
			reorder := s.reorder
			s.mu.Unlock()
			if reorder {
				held = append(held, cb)
				continue
			}
			s.deliver(cb)
		}
		for i := len(held) - 1; i >= 0; i-- {
			s.deliver(held[i])
		}
	}()
}

func (s *Server) done() {
	s.mu.Lock()
	s.inflight--
	if s.inflight == 0 {
		s.idle.Broadcast()
	}
	s.mu.Unlock()
	s.wg.Done()
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// transition moves the message to st and builds its callback, if it has a
// StatusCallback URL. Parameters are those of ref §5.4.
func (s *Server) transition(m *message, st outcome) (Callback, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	m.Status, m.DateUpdated = st.status, now
	if st.status == "sent" {
		m.DateSent = now
	}
	if st.code != 0 {
		m.ErrorCode = st.code
	}
	if m.StatusCallback == "" {
		return Callback{}, false
	}
	p := url.Values{
		"AccountSid":    {m.AccountSID},
		"ApiVersion":    {"2010-04-01"},
		"From":          {m.From},
		"To":            {m.To},
		"MessageSid":    {m.SID},
		"SmsSid":        {m.SID},
		"MessageStatus": {st.status},
		"SmsStatus":     {st.status},
	}
	if m.MessagingServiceSID != "" {
		p.Set("MessagingServiceSid", m.MessagingServiceSID)
	}
	if st.code != 0 && (st.status == "failed" || st.status == "undelivered") {
		p.Set("ErrorCode", strconv.Itoa(st.code))
	}
	if st.status == "delivered" || st.status == "undelivered" {
		// Carrier DLR date, YYMMDDhhmm, no time zone (ref §5.4).
		p.Set("RawDlrDoneDate", now.UTC().Format("0601021504"))
	}
	tok := ""
	if a := s.accounts[m.AccountSID]; a != nil {
		tok = a.token
	}
	return Callback{URL: m.StatusCallback, Params: p, Signature: sign(tok, m.StatusCallback, p), IdempotencyToken: s.newSID("")}, true
}

func (s *Server) deliver(cb Callback) {
	s.mu.Lock()
	delay, dup := s.cbDelay, s.dupCallbacks
	drop := s.dropCallbacks > 0
	if drop {
		s.dropCallbacks--
	}
	s.mu.Unlock()
	if drop {
		cb.Dropped = true
		s.record(cb)
		return
	}
	n := 1
	if dup {
		n = 2
	}
	for range n {
		if !sleep(s.ctx, delay) {
			return
		}
		c := cb
		c.StatusCode, c.Err = s.post(c.URL, c.Params, c.Signature, c.IdempotencyToken)
		s.record(c)
	}
}

func (s *Server) record(cb Callback) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callbacks = append(s.callbacks, cb)
}

// post sends a form-encoded webhook the way Twilio's webhook client does
// (headers per ref §5.1 and §6.3) and drains the answer.
func (s *Server) post(target string, p url.Values, sig, idem string) (int, error) {
	resp, body, err := s.postRaw(s.ctx, target, p, sig, idem)
	if err != nil {
		return 0, err
	}
	_ = body
	return resp.StatusCode, nil
}

func (s *Server) postRaw(ctx context.Context, target string, p url.Values, sig, idem string) (*http.Response, []byte, error) {
	// The fragment (connection overrides, ref §5.2) is not sent.
	if i := strings.IndexByte(target, '#'); i >= 0 {
		target = target[:i]
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(p.Encode()))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("Accept", "*/*")
	if sig != "" {
		req.Header.Set("X-Twilio-Signature", sig)
	}
	req.Header.Set("I-Twilio-Idempotency-Token", idem)
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, b, err
}

// sign computes X-Twilio-Signature: base64(HMAC-SHA1(token, URL + sorted
// name+value pairs)), ref §6.1. It is written independently of package
// twilio's validator so each checks the other.
func sign(token, fullURL string, p url.Values) string {
	if i := strings.IndexByte(fullURL, '#'); i >= 0 {
		fullURL = fullURL[:i]
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	mac := hmac.New(sha1.New, []byte(token))
	io.WriteString(mac, fullURL)
	for _, k := range keys {
		vs := append([]string(nil), p[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			io.WriteString(mac, k)
			io.WriteString(mac, v)
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

const gsmChars = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
const gsmExtChars = "\f^{}\\[~]|€"

// segments is num_segments for body (ref §8): GSM-7 160 / 153 per part
// (extension characters take 2 septets and are not split), otherwise UCS-2
// 70 / 67 UTF-16 units (surrogate pairs not split).
func segments(body string) int {
	gsm := true
	for _, r := range body {
		if !strings.ContainsRune(gsmChars, r) && !strings.ContainsRune(gsmExtChars, r) {
			gsm = false
			break
		}
	}
	size := func(r rune) int {
		if !gsm {
			return len(utf16.Encode([]rune{r}))
		}
		if strings.ContainsRune(gsmExtChars, r) {
			return 2
		}
		return 1
	}
	single, multi := 160, 153
	if !gsm {
		single, multi = 70, 67
	}
	total := 0
	for _, r := range body {
		total += size(r)
	}
	if total <= single {
		return 1
	}
	n, cur := 1, 0
	for _, r := range body {
		if u := size(r); cur+u > multi {
			n, cur = n+1, u
		} else {
			cur += u
		}
	}
	return n
}

// SetStatus changes a message's status (and ErrorCode) without sending a
// callback, as when Twilio's callback was lost: only polling (Fetch) sees it.
func (s *Server) SetStatus(sid, status string, errorCode int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.bySID[sid]
	if !ok {
		return fmt.Errorf("twiliotest: no message %s", sid)
	}
	now := s.now()
	m.Status, m.ErrorCode, m.DateUpdated = status, errorCode, now
	if m.DateSent.IsZero() && (status == "sent" || status == "delivered" || status == "undelivered" || status == "read") {
		m.DateSent = now
	}
	return nil
}

// Sign computes X-Twilio-Signature the way the simulator signs its own
// webhooks, for tests that build a webhook by hand.
func Sign(authToken, fullURL string, params url.Values) string {
	return sign(authToken, fullURL, params)
}
