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

func (s *Server) reject(w http.ResponseWriter, status, code int, msg string) {
	s.mu.Lock()
	s.stats.Rejected++
	s.mu.Unlock()
	writeError(w, status, code, msg)
}

// create is POST Messages: the form is checked, the sender chosen and the
// recipient checked in the order the real API reports them (ref §11,
// §3.2); an accepted message is stored, starts its lifecycle, and is
// answered (or not, under a fault knob).
func (s *Server) create(w http.ResponseWriter, r *http.Request, acct string) {
	if err := r.ParseForm(); err != nil {
		s.reject(w, http.StatusBadRequest, 20001, "Invalid request body: "+err.Error())
		return
	}
	f := r.PostForm
	if no := checkCreateForm(f); no != nil {
		s.reject(w, 400, no.code, no.msg)
		return
	}
	to, mg := f.Get("To"), f.Get("MessagingServiceSid")
	s.mu.Lock()
	from, no := s.senderLocked(acct, f)
	if no == nil {
		no = s.recipientRefusalLocked(to, from, mg)
	}
	s.mu.Unlock()
	if no != nil {
		s.reject(w, 400, no.code, no.msg)
		return
	}
	m, resp := s.newOutbound(acct, from, f)
	s.mu.Lock()
	fault, hold := s.storeCreatedLocked(m)
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

// refusal is a create answered 400 with a Twilio error code.
type refusal struct {
	code int
	msg  string
}

// checkCreateForm checks the create form on its own, before any account
// state is read.
func checkCreateForm(f url.Values) *refusal {
	to, from, mg, body := f.Get("To"), f.Get("From"), f.Get("MessagingServiceSid"), f.Get("Body")
	media := f["MediaUrl"]
	switch {
	case to == "":
		return &refusal{21604, "A 'To' phone number is required."}
	case !validAddress(to):
		return &refusal{21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to)}
	case from == "" && mg == "":
		// 21603 is UNVERIFIED (ref §11).
		return &refusal{21603, "A 'From' phone number is required."}
	case body == "" && len(media) == 0 && f.Get("ContentSid") == "":
		return &refusal{21602, "Message body is required."}
	case utf8.RuneCountInString(body) > 1600:
		return &refusal{21617, "The concatenated message body exceeds the 1600 character limit."}
	case len(media) > 10:
		return &refusal{21623, "The number of media files exceeds the limit of 10."}
	}
	return nil
}

// senderLocked returns the From the message goes out with: the form's, or
// the Messaging Service's next number; it must be a number of acct in the
// To's channel.
func (s *Server) senderLocked(acct string, f url.Values) (string, *refusal) {
	to, from, mg := f.Get("To"), f.Get("From"), f.Get("MessagingServiceSid")
	if mg != "" {
		svc := s.services[mg]
		if svc == nil || svc.account != acct {
			// Code per the integrator's brief; the reference lists none for an
			// unknown Messaging Service (UNVERIFIED).
			return "", &refusal{21703, fmt.Sprintf("The Messaging Service Sid %s is invalid.", mg)}
		}
		if from == "" {
			if len(svc.numbers) == 0 {
				return "", &refusal{21703, "The Messaging Service does not have a phone number available to send a message."}
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
		return "", &refusal{21910, "Invalid 'From' and 'To' pair. 'From' and 'To' should be of the same channel"}
	}
	if owner := s.numOwner[strings.TrimPrefix(from, waPrefix)]; owner != acct {
		if toWA {
			return "", &refusal{63007, "Twilio could not find a Channel with the specified From address"}
		}
		return "", &refusal{21606, fmt.Sprintf("The From phone number %s is not a valid, SMS-capable inbound phone number or short code for your account.", from)}
	}
	return from, nil
}

// recipientRefusalLocked refuses a To in a blocked region, a landline, or
// one opted out of the sender's scope (its Messaging Service, if any).
func (s *Server) recipientRefusalLocked(to, from, mg string) *refusal {
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
	switch {
	case blocked:
		return &refusal{21408, fmt.Sprintf("Permission to send an SMS has not been enabled for the region indicated by the 'To' number: %s.", to)}
	case landline:
		return &refusal{21614, fmt.Sprintf("'To' number %s is not a valid mobile number", to)}
	case optedOut:
		return &refusal{21610, "Attempt to send to unsubscribed recipient"}
	}
	return nil
}

// newOutbound builds the accepted message and the answer to its create.
func (s *Server) newOutbound(acct, from string, f url.Values) (*message, apiMessage) {
	body, media, mg := f.Get("Body"), f["MediaUrl"], f.Get("MessagingServiceSid")
	now := s.now()
	m := &message{Message: Message{
		AccountSID: acct, Direction: "outbound-api", To: f.Get("To"), From: from, MessagingServiceSID: mg,
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
	return m, resp
}

// storeCreatedLocked stores m and takes the create fault knobs: how long to
// hold the answer, and whether to drop the connection ("drop") or answer
// 500 ("500") instead.
func (s *Server) storeCreatedLocked(m *message) (fault string, hold time.Duration) {
	s.seq++
	m.seq = s.seq
	s.messages = append(s.messages, m)
	s.bySID[m.SID] = m
	s.stats.Created++
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
	return fault, hold
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

// list is GET Messages: newest first, filtered by To, From and date sent,
// in pages (ref §2.5).
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
	filter, bad := parseListFilter(q)
	if bad != "" {
		writeError(w, 400, 20001, bad)
		return
	}
	page, _ := strconv.Atoi(q.Get("Page"))

	s.mu.Lock()
	s.stats.Lists++
	var match []*message
	for _, m := range sortedNewestFirst(s.messages) {
		if m.AccountSID == acct && filter.keeps(m) {
			match = append(match, m)
		}
	}
	start := pageStart(match, q.Get("PageToken"), page, pageSize)
	end := min(start+pageSize, len(match))
	items := make([]apiMessage, 0, end-start)
	for _, m := range match[start:end] {
		items = append(items, m.api())
	}
	s.mu.Unlock()

	pageURI := listPageURI(acct, q, pageSize)
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

// listFilter is what a list keeps: To, From, and date sent after, before
// or on a day (zero times filter nothing).
type listFilter struct {
	to, from                  string
	after, before, onLo, onHi time.Time
}

// parseListFilter reads the list filters of q, or says which is invalid.
func parseListFilter(q url.Values) (listFilter, string) {
	lf := listFilter{to: q.Get("To"), from: q.Get("From")}
	for key, dst := range map[string]*time.Time{"DateSent>": &lf.after, "DateSent<": &lf.before, "DateSent": &lf.onLo} {
		v := q.Get(key)
		if v == "" {
			continue
		}
		lo, hi, err := parseDateFilter(v)
		if err != nil {
			return listFilter{}, "Invalid " + key + ": " + err.Error()
		}
		switch key {
		case "DateSent>":
			*dst = lo
		case "DateSent<":
			*dst = hi
		default:
			lf.onLo, lf.onHi = lo, hi
		}
	}
	return lf, ""
}

func (lf listFilter) keeps(m *message) bool {
	if (lf.to != "" && m.To != lf.to) || (lf.from != "" && m.From != lf.from) {
		return false
	}
	if lf.after.IsZero() && lf.before.IsZero() && lf.onLo.IsZero() {
		return true
	}
	// Twilio filters on date_sent; a message not sent yet has none.
	ds := m.DateSent.Truncate(time.Second)
	return !(m.DateSent.IsZero() || (!lf.after.IsZero() && ds.Before(lf.after)) || (!lf.before.IsZero() && ds.After(lf.before)) ||
		(!lf.onLo.IsZero() && (ds.Before(lf.onLo) || ds.After(lf.onHi))))
}

// pageStart is where in match the requested page starts: after the SID of
// PageToken "PA<sid>" (ref §2.5: Twilio's style), else at Page × PageSize.
func pageStart(match []*message, token string, page, pageSize int) int {
	start := 0
	if strings.HasPrefix(token, "PA") {
		for i, m := range match {
			if m.SID == token[2:] {
				start = i + 1
				break
			}
		}
	} else if page > 0 {
		start = page * pageSize
	}
	return min(start, len(match))
}

// listPageURI returns the URI of a page of the same list: its filters and
// page size, with page p and token tok.
func listPageURI(acct string, q url.Values, pageSize int) func(p int, tok string) string {
	base := "/2010-04-01/Accounts/" + acct + "/Messages.json"
	filters := url.Values{}
	for _, k := range []string{"To", "From", "DateSent", "DateSent<", "DateSent>"} {
		if v := q.Get(k); v != "" {
			filters.Set(k, v)
		}
	}
	filters.Set("PageSize", strconv.Itoa(pageSize))
	return func(p int, tok string) string {
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
}
