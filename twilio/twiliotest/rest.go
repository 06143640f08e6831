package twiliotest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	mrand "math/rand/v2"
)

// Message is a message as the simulator holds it.
type Message struct {
	SID                 string
	AccountSID          string
	Direction           string // "outbound-api" or "inbound"
	To, From            string
	MessagingServiceSID string
	Body                string
	MediaURLs           []string
	Status              string
	ErrorCode           int
	StatusCallback      string
	NumSegments         int
	DateCreated         time.Time
	DateSent            time.Time // zero until the message is sent
	DateUpdated         time.Time
}

type message struct {
	Message
	seq int64
}

func (m *message) snapshot() Message {
	c := m.Message
	c.MediaURLs = append([]string(nil), m.MediaURLs...)
	return c
}

// apiMessage is the wire shape; the types are the real API's, which
// twilio-go decodes strictly: num_segments, num_media and price are
// strings, error_code an int or null, dates RFC 2822 (ref §0.3, §2.1).
type apiMessage struct {
	AccountSid          string            `json:"account_sid"`
	APIVersion          string            `json:"api_version"`
	Body                string            `json:"body"`
	DateCreated         string            `json:"date_created"`
	DateSent            *string           `json:"date_sent"`
	DateUpdated         string            `json:"date_updated"`
	Direction           string            `json:"direction"`
	ErrorCode           *int              `json:"error_code"`
	ErrorMessage        *string           `json:"error_message"`
	From                *string           `json:"from"`
	MessagingServiceSid *string           `json:"messaging_service_sid"`
	NumMedia            string            `json:"num_media"`
	NumSegments         string            `json:"num_segments"`
	Price               *string           `json:"price"`
	PriceUnit           string            `json:"price_unit"`
	Sid                 string            `json:"sid"`
	Status              string            `json:"status"`
	SubresourceUris     map[string]string `json:"subresource_uris"`
	To                  string            `json:"to"`
	URI                 string            `json:"uri"`
}

func rfc2822(t time.Time) string { return t.UTC().Format(time.RFC1123Z) }

func (m *message) api() apiMessage {
	base := "/2010-04-01/Accounts/" + m.AccountSID + "/Messages/" + m.SID
	a := apiMessage{
		AccountSid:      m.AccountSID,
		APIVersion:      "2010-04-01",
		Body:            m.Body,
		DateCreated:     rfc2822(m.DateCreated),
		DateUpdated:     rfc2822(m.DateUpdated),
		Direction:       m.Direction,
		NumMedia:        strconv.Itoa(len(m.MediaURLs)),
		NumSegments:     strconv.Itoa(m.NumSegments),
		PriceUnit:       "USD",
		Sid:             m.SID,
		Status:          m.Status,
		SubresourceUris: map[string]string{"media": base + "/Media.json"},
		To:              m.To,
		URI:             base + ".json",
	}
	if !m.DateSent.IsZero() {
		d := rfc2822(m.DateSent)
		a.DateSent = &d
	}
	if m.From != "" {
		f := m.From
		a.From = &f
	}
	if m.MessagingServiceSID != "" {
		mg := m.MessagingServiceSID
		a.MessagingServiceSid = &mg
	}
	if m.ErrorCode != 0 {
		c, msg := m.ErrorCode, errorTitles[m.ErrorCode]
		a.ErrorCode, a.ErrorMessage = &c, &msg
	}
	return a
}

var errorTitles = map[int]string{
	30001: "Queue overflow",
	30003: "Unreachable destination handset",
	30004: "Message blocked",
	30005: "Unknown destination handset",
	30006: "Landline or unreachable carrier",
	30007: "Message filtered",
	30008: "Unknown error",
	21610: "Attempt to send to unsubscribed recipient",
}

type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeError sends Twilio's REST error envelope (ref §3.1).
func writeError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, apiError{Code: code, Message: msg, MoreInfo: fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), Status: status})
}

var (
	messagesPath = regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/Messages(?:\.json)?$`)
	messagePath  = regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/Messages/([^/]+?)(?:\.json)?$`)
	e164         = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
)

const waPrefix = "whatsapp:"

// validAddress accepts E.164 and channel addresses (whatsapp:+…), ref §2.1.
func validAddress(s string) bool {
	if i := strings.IndexByte(s, ':'); i > 0 {
		s = s[i+1:]
	}
	return e164.MatchString(s)
}

// wait sleeps d unless the request ends first (false).
func wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	lat := s.latency
	if s.latencyHi > lat {
		lat += time.Duration(mrand.Int64N(int64(s.latencyHi - lat + 1)))
	}
	s.mu.Unlock()
	if !wait(r, lat) {
		return
	}
	var acct, sid string
	collection := false
	if m := messagesPath.FindStringSubmatch(r.URL.Path); m != nil {
		acct, collection = m[1], true
	} else if m := messagePath.FindStringSubmatch(r.URL.Path); m != nil {
		acct, sid = m[1], m[2]
	} else if s.serveRouting(w, r) { // numbers.go: IncomingPhoneNumbers, Messaging Services
		return
	} else {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if !s.authorize(w, r, acct) {
		return
	}
	isCreate := collection && r.Method == http.MethodPost
	if isCreate {
		s.mu.Lock()
		s.stats.CreateRequests++
		s.mu.Unlock()
	}
	if s.injectFault(w) {
		return
	}
	switch {
	case isCreate:
		s.create(w, r, acct)
	case collection && r.Method == http.MethodGet:
		s.list(w, r, acct)
	case !collection && r.Method == http.MethodGet:
		s.fetch(w, r, acct, sid)
	default:
		writeError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
	}
}

// authorize checks HTTP Basic auth (ref §1.2): wrong or missing
// credentials get 401 with code 20003; credentials of another account than
// the path's get 403 (the real status is UNVERIFIED, ref §11).
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, pathAcct string) bool {
	user, pass, ok := r.BasicAuth()
	s.mu.Lock()
	a := s.accounts[user]
	valid := ok && a != nil && a.token == pass
	if !valid || user != pathAcct {
		s.stats.Unauthorized++
	}
	s.mu.Unlock()
	if !valid {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		writeJSON(w, http.StatusUnauthorized, apiError{Code: 20003, Message: "Authenticate", Detail: "Your AccountSid or AuthToken was incorrect.",
			MoreInfo: "https://www.twilio.com/docs/errors/20003", Status: 401})
		return false
	}
	if user != pathAcct {
		writeError(w, http.StatusForbidden, 20003, "Authorization error: these credentials do not grant access to account "+pathAcct)
		return false
	}
	return true
}

// injectFault answers the request with a pending 429 or 5xx fault.
func (s *Server) injectFault(w http.ResponseWriter) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.fail429 > 0:
		s.fail429--
		s.stats.Faults++
		if s.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((s.retryAfter+time.Second-1)/time.Second)))
		}
		// "An API Request that receives an error 429 response is never
		// processed" (ref §3.2, errors/20429).
		writeError(w, http.StatusTooManyRequests, 20429, "Too Many Requests")
		return true
	case s.fail5xx > 0:
		s.fail5xx--
		s.stats.Faults++
		if s.fail5xxHTML {
			// What a load balancer in front of Twilio sends during an
			// incident (ref §3.2, twilio-go issues #130, #229).
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, "<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>\n")
			return true
		}
		writeError(w, http.StatusInternalServerError, 20500, "Internal Server Error")
		return true
	}
	return false
}

// Fail429 makes the next n API requests fail with 429 / 20429, with a
// Retry-After header (see SetRetryAfter).
func (s *Server) Fail429(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail429 = max(n, 0)
}

// SetRetryAfter sets the Retry-After sent with 429s (rounded up to whole
// seconds); 0 sends none. Default 1 s.
func (s *Server) SetRetryAfter(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retryAfter = d
}

// Fail5xx makes the next n API requests fail without being processed:
// 503 with an HTML body if htmlBody, else 500 with Twilio's JSON (20500).
func (s *Server) Fail5xx(n int, htmlBody bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail5xx, s.fail5xxHTML = max(n, 0), htmlBody
}

// CreatedBut500 makes the next n creates create the message (it is listed,
// its lifecycle runs) and then answer 500: the ambiguous case (ref §3.2).
func (s *Server) CreatedBut500(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.created500 = max(n, 0)
}

// DropAfterCreate makes the next n creates create the message and then
// close the connection without a response.
func (s *Server) DropAfterCreate(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropCreate = max(n, 0)
}

// SetLatency delays every API response by d (the request's context still
// ends it early).
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency, s.latencyHi = d, 0
}

// SetLatencyRange delays every API response by a random time in [lo, hi],
// as a real API's latency varies.
func (s *Server) SetLatencyRange(lo, hi time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency, s.latencyHi = lo, max(hi, lo)
}

// HoldAfterCreate makes the next n creates create the message (it is
// listed, its lifecycle runs) and then wait d before answering: the window
// in which a client that dies has a message at Twilio and no SID. The
// client's own timeout or a closed connection still ends the wait.
func (s *Server) HoldAfterCreate(n int, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holdCreate, s.holdFor = max(n, 0), d
}

func (s *Server) reject(w http.ResponseWriter, status, code int, msg string) {
	s.mu.Lock()
	s.stats.Rejected++
	s.mu.Unlock()
	writeError(w, status, code, msg)
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, acct string) {
	if err := r.ParseForm(); err != nil {
		s.reject(w, http.StatusBadRequest, 20001, "Invalid request body: "+err.Error())
		return
	}
	f := r.PostForm
	to, from, mg, body := f.Get("To"), f.Get("From"), f.Get("MessagingServiceSid"), f.Get("Body")
	media := f["MediaUrl"]
	// Checks in the order the real API reports them (ref §11, §3.2).
	switch {
	case to == "":
		s.reject(w, 400, 21604, "A 'To' phone number is required.")
		return
	case !validAddress(to):
		s.reject(w, 400, 21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to))
		return
	case from == "" && mg == "":
		// 21603 is UNVERIFIED (ref §11).
		s.reject(w, 400, 21603, "A 'From' phone number is required.")
		return
	case body == "" && len(media) == 0 && f.Get("ContentSid") == "":
		s.reject(w, 400, 21602, "Message body is required.")
		return
	case utf8.RuneCountInString(body) > 1600:
		s.reject(w, 400, 21617, "The concatenated message body exceeds the 1600 character limit.")
		return
	case len(media) > 10:
		s.reject(w, 400, 21623, "The number of media files exceeds the limit of 10.")
		return
	}
	s.mu.Lock()
	if mg != "" {
		svc := s.services[mg]
		if svc == nil || svc.account != acct {
			s.mu.Unlock()
			// Code per the integrator's brief; the reference lists none for an
			// unknown Messaging Service (UNVERIFIED).
			s.reject(w, 400, 21703, fmt.Sprintf("The Messaging Service Sid %s is invalid.", mg))
			return
		}
		if from == "" {
			if len(svc.numbers) == 0 {
				s.mu.Unlock()
				s.reject(w, 400, 21703, "The Messaging Service does not have a phone number available to send a message.")
				return
			}
			from = svc.numbers[svc.next%len(svc.numbers)]
			svc.next++
		}
	}
	// WhatsApp (ref §10.1): both addresses carry "whatsapp:". Every number
	// of the account is taken to be a registered WhatsApp sender, and a
	// Messaging Service picks its sender in the To's channel.
	toWA := strings.HasPrefix(to, waPrefix)
	if mg != "" && toWA && !strings.HasPrefix(from, waPrefix) && f.Get("From") == "" {
		from = waPrefix + from
	}
	if toWA != strings.HasPrefix(from, waPrefix) {
		s.mu.Unlock()
		s.reject(w, 400, 21910, "Invalid 'From' and 'To' pair. 'From' and 'To' should be of the same channel")
		return
	}
	if owner := s.numOwner[strings.TrimPrefix(from, waPrefix)]; owner != acct {
		s.mu.Unlock()
		if toWA {
			s.reject(w, 400, 63007, "Twilio could not find a Channel with the specified From address")
			return
		}
		s.reject(w, 400, 21606, fmt.Sprintf("The From phone number %s is not a valid, SMS-capable inbound phone number or short code for your account.", from))
		return
	}
	scope := strings.TrimPrefix(from, waPrefix)
	if mg != "" {
		scope = mg
	} else if svc, ok := s.numSvc[strings.TrimPrefix(from, waPrefix)]; ok {
		scope = svc
	}
	optedOut := s.optedOut[optKey{to, scope}]
	landline := s.landline[to]
	blocked := false
	for _, p := range s.blocked {
		blocked = blocked || strings.HasPrefix(strings.TrimPrefix(to, "whatsapp:"), p)
	}
	s.mu.Unlock()
	switch {
	case blocked:
		s.reject(w, 400, 21408, fmt.Sprintf("Permission to send an SMS has not been enabled for the region indicated by the 'To' number: %s.", to))
		return
	case landline:
		s.reject(w, 400, 21614, fmt.Sprintf("'To' number %s is not a valid mobile number", to))
		return
	case optedOut:
		s.reject(w, 400, 21610, "Attempt to send to unsubscribed recipient")
		return
	}

	now := s.now()
	m := &message{Message: Message{
		AccountSID: acct, Direction: "outbound-api", To: to, From: from, MessagingServiceSID: mg,
		Body: body, MediaURLs: append([]string(nil), media...), StatusCallback: f.Get("StatusCallback"),
		DateCreated: now, DateUpdated: now, NumSegments: segments(body),
	}}
	prefix := "SM"
	if len(media) > 0 {
		prefix = "MM"
	}
	m.SID = s.newSID(prefix)
	// Ref §2.1: a Messaging Service send starts "accepted" with
	// num_segments "0" (the sender is not chosen yet); a plain one "queued".
	m.Status = "queued"
	if mg != "" {
		m.Status, m.NumSegments = "accepted", 0
	}
	resp := m.api()
	m.NumSegments = segments(body)

	s.mu.Lock()
	s.seq++
	m.seq = s.seq
	s.messages = append(s.messages, m)
	s.bySID[m.SID] = m
	s.stats.Created++
	fault := ""
	var hold time.Duration
	if s.holdCreate > 0 {
		s.holdCreate--
		hold = s.holdFor
	}
	if s.dropCreate > 0 {
		s.dropCreate--
		s.stats.Faults++
		fault = "drop"
	} else if s.created500 > 0 {
		s.created500--
		s.stats.Faults++
		fault = "500"
	}
	s.startLifecycleLocked(m)
	s.mu.Unlock()

	if !wait(r, hold) {
		return
	}
	switch fault {
	case "drop":
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // closes the connection without a response
	case "500":
		writeError(w, http.StatusInternalServerError, 20500, "Internal Server Error")
		return
	}
	writeJSON(w, http.StatusCreated, resp)
}

func (s *Server) fetch(w http.ResponseWriter, r *http.Request, acct, sid string) {
	s.mu.Lock()
	s.stats.Fetches++
	m, ok := s.bySID[sid]
	var resp apiMessage
	if ok && m.AccountSID == acct {
		resp = m.api()
	}
	s.mu.Unlock()
	if !ok || m.AccountSID != acct {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// parseDateFilter accepts YYYY-MM-DD (GMT, the documented form) and RFC 3339
// (what twilio-go sends), ref §2.5. For a date, lo/hi span the whole day.
func parseDateFilter(v string) (lo, hi time.Time, err error) {
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, t.Add(24*time.Hour - time.Nanosecond), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("%q is neither YYYY-MM-DD nor RFC 3339", v)
	}
	return t, t, nil
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, acct string) {
	q := r.URL.Query() // decodes the percent-encoded "DateSent%3E" keys
	pageSize := 50
	if v := q.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, 400, 20001, "PageSize must be between 1 and 1000")
			return
		}
		pageSize = n
	}
	var after, before, onLo, onHi time.Time
	for key, dst := range map[string]*time.Time{"DateSent>": &after, "DateSent<": &before, "DateSent": &onLo} {
		v := q.Get(key)
		if v == "" {
			continue
		}
		lo, hi, err := parseDateFilter(v)
		if err != nil {
			writeError(w, 400, 20001, "Invalid "+key+": "+err.Error())
			return
		}
		switch key {
		case "DateSent>":
			*dst = lo
		case "DateSent<":
			*dst = hi
		default:
			onLo, onHi = lo, hi
		}
	}
	dateFiltered := !after.IsZero() || !before.IsZero() || !onLo.IsZero()
	page, _ := strconv.Atoi(q.Get("Page"))
	token := q.Get("PageToken")

	s.mu.Lock()
	s.stats.Lists++
	var match []*message
	for _, m := range sortedNewestFirst(s.messages) {
		if m.AccountSID != acct || (q.Get("To") != "" && m.To != q.Get("To")) || (q.Get("From") != "" && m.From != q.Get("From")) {
			continue
		}
		if dateFiltered {
			// Twilio filters on date_sent; a message not sent yet has none.
			ds := m.DateSent.Truncate(time.Second)
			if m.DateSent.IsZero() || (!after.IsZero() && ds.Before(after)) || (!before.IsZero() && ds.After(before)) ||
				(!onLo.IsZero() && (ds.Before(onLo) || ds.After(onHi))) {
				continue
			}
		}
		match = append(match, m)
	}
	start := 0
	if strings.HasPrefix(token, "PA") {
		// PageToken "PA<sid>": the page after that SID (ref §2.5: Twilio's style).
		for i, m := range match {
			if m.SID == token[2:] {
				start = i + 1
				break
			}
		}
	} else if page > 0 {
		start = page * pageSize
	}
	start = min(start, len(match))
	end := min(start+pageSize, len(match))
	items := make([]apiMessage, 0, end-start)
	for _, m := range match[start:end] {
		items = append(items, m.api())
	}
	s.mu.Unlock()

	base := "/2010-04-01/Accounts/" + acct + "/Messages.json"
	filters := url.Values{}
	for _, k := range []string{"To", "From", "DateSent", "DateSent<", "DateSent>"} {
		if v := q.Get(k); v != "" {
			filters.Set(k, v)
		}
	}
	filters.Set("PageSize", strconv.Itoa(pageSize))
	pageURI := func(p int, tok string) string {
		v := url.Values{}
		for k, vs := range filters {
			v[k] = vs
		}
		v.Set("Page", strconv.Itoa(p))
		if tok != "" {
			v.Set("PageToken", tok)
		}
		return base + "?" + v.Encode()
	}
	var next *string
	if end < len(match) {
		n := pageURI(page+1, "PA"+match[end-1].SID)
		next = &n
	}
	var prev *string
	if page > 0 {
		p := pageURI(page-1, "")
		prev = &p
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"end":               start + len(items) - 1,
		"first_page_uri":    pageURI(0, ""),
		"next_page_uri":     next,
		"page":              page,
		"page_size":         pageSize,
		"previous_page_uri": prev,
		"start":             start,
		"uri":               r.URL.RequestURI(),
		"messages":          items,
	})
}
