package twilio

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Inbound is an inbound-message webhook (ref §5.3).
type Inbound struct {
	MessageSID          string
	AccountSID          string
	MessagingServiceSID string // only when the number is in a Messaging Service
	From, To            string
	Body                string
	NumSegments         int
	Media               []Media
	// OptOutType is STOP, START or HELP when Twilio's Advanced Opt-Out
	// recognised a keyword (ref §7); empty otherwise.
	OptOutType string
	// WhatsApp extras (ref §10.1), empty for SMS.
	ProfileName, WaID string
}

// Media is one MMS attachment. The URL needs the account's Basic auth to
// download (ref §10.2).
type Media struct {
	URL         string
	ContentType string
}

// StatusCallback is a delivery-status webhook (ref §5.4).
type StatusCallback struct {
	MessageSID          string
	AccountSID          string
	MessagingServiceSID string
	From, To            string
	Status              string // MessageStatus, lower-case
	// ErrorCode is set for failed/undelivered (0 otherwise);
	// ErrorDescription(ErrorCode) is the text for Error_Description__c.
	ErrorCode    int
	ErrorMessage string
	// RawDlrDoneDate is the carrier's YYMMDDhhmm, no time zone (ref §5.4).
	RawDlrDoneDate string
}

// FieldError lists what is wrong with a webhook's parameters.
type FieldError struct {
	Missing []string
	Invalid []string // "Name: why"
}

func (e *FieldError) Error() string {
	var parts []string
	if len(e.Missing) > 0 {
		parts = append(parts, "missing "+strings.Join(e.Missing, ", "))
	}
	if len(e.Invalid) > 0 {
		parts = append(parts, "invalid "+strings.Join(e.Invalid, "; "))
	}
	return "twilio webhook: " + strings.Join(parts, "; ")
}

var (
	messageSIDPattern = regexp.MustCompile(`^(SM|MM)[0-9a-fA-F]{32}$`)
	anySIDPattern     = regexp.MustCompile(`^[A-Z]{2}[0-9a-fA-F]{32}$`)
)

// Sizes no genuine webhook exceeds (ref §1.1, §5.3, §5.4). A form over
// them is refused whole, before anything looks at its values, so a signed
// but oversize request never reaches the queue or a log line.
const (
	// maxBodyChars is WhatsApp's 4,096-character text, not Twilio's
	// 1,600-character send limit (ref §1): refusing a long inbound text
	// would lose a customer's message.
	maxBodyChars = 4096
	// maxAddressLen bounds From/To: E.164 is at most 16 bytes and
	// "whatsapp:" adds 9; 64 leaves room for other channel addresses.
	maxAddressLen = 64
	maxSIDLen     = 34 // 2-letter prefix + 32 hex digits (ref §1.1)
	maxURLLen     = 2048
	// maxOtherLen bounds every other parameter (geo fields, WhatsApp
	// extras, ErrorMessage): Twilio adds parameters without notice (ref
	// §5.1), so unknown names are allowed, just not unbounded.
	maxOtherLen = 1024
	// maxParams: an MMS with ten media and every geographic and WhatsApp
	// field has about 60 values.
	maxParams = 100
)

// checkSizes names every value over its size; it quotes none of them.
func checkSizes(v url.Values) *FieldError {
	var e FieldError
	n := 0
	for _, vs := range v {
		n += len(vs)
	}
	if n > maxParams {
		e.Invalid = append(e.Invalid, fmt.Sprintf("%d parameters, more than the %d a Twilio webhook has", n, maxParams))
	}
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, val := range v[name] {
			if msg := oversize(name, val); msg != "" {
				e.Invalid = append(e.Invalid, msg)
				break
			}
		}
		if len(e.Invalid) >= 5 {
			break // enough to say what is wrong; the answer stays short
		}
	}
	if len(e.Invalid) == 0 {
		return nil
	}
	return &e
}

func oversize(name, val string) string {
	limit, what := maxOtherLen, "a Twilio parameter has"
	switch {
	case name == "Body":
		if n := utf8.RuneCountInString(val); n > maxBodyChars {
			return fmt.Sprintf("Body: %d characters, more than the %d a message has", n, maxBodyChars)
		}
		return ""
	case name == "From" || name == "To":
		limit, what = maxAddressLen, "a Twilio address has"
	case strings.HasSuffix(name, "Sid"):
		limit, what = maxSIDLen, "a Twilio SID has"
	case strings.HasPrefix(name, "MediaUrl"):
		limit, what = maxURLLen, "a media URL has"
	}
	if len(name) > maxOtherLen {
		return fmt.Sprintf("a parameter name of %d bytes, more than the %d %s", len(name), maxOtherLen, what)
	}
	if len(val) > limit {
		return fmt.Sprintf("%s: %d bytes, more than the %d %s", name, len(val), limit, what)
	}
	return ""
}

type fields struct {
	v   url.Values
	err FieldError
}

func (f *fields) required(name string) string {
	s := f.v.Get(name)
	if s == "" {
		f.err.Missing = append(f.err.Missing, name)
	}
	return s
}

func (f *fields) sid(name string, pattern *regexp.Regexp, required bool) string {
	var s string
	if required {
		s = f.required(name)
	} else {
		s = f.v.Get(name)
	}
	if s != "" && !pattern.MatchString(s) {
		f.err.Invalid = append(f.err.Invalid, fmt.Sprintf("%s: %q is not a Twilio SID", name, clip(s, maxSIDLen)))
	}
	return s
}

func (f *fields) number(name string) int {
	s := f.v.Get(name)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		f.err.Invalid = append(f.err.Invalid, fmt.Sprintf("%s: %q is not a count", name, clip(s, 20)))
	}
	return n
}

// clip shortens a value quoted in an error to its first n bytes (whole
// characters).
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func (f *fields) result() error {
	if len(f.err.Missing) == 0 && len(f.err.Invalid) == 0 {
		return nil
	}
	e := f.err
	return &e
}

// ParseInbound reads an inbound-message webhook form. MessageSid,
// AccountSid, From and To are required; Body may be empty (an MMS without
// text). Unknown parameters are ignored: Twilio adds new ones without notice
// (ref §5.1), but every value is held to the size Twilio sends at most.
// Errors are *FieldError naming every problem.
func ParseInbound(v url.Values) (Inbound, error) {
	if e := checkSizes(v); e != nil {
		return Inbound{}, e
	}
	f := &fields{v: v}
	in := Inbound{
		MessageSID:          f.sid("MessageSid", messageSIDPattern, true),
		AccountSID:          f.sid("AccountSid", accountSIDPattern, true),
		MessagingServiceSID: f.sid("MessagingServiceSid", anySIDPattern, false),
		From:                f.required("From"),
		To:                  f.required("To"),
		Body:                v.Get("Body"),
		NumSegments:         f.number("NumSegments"),
		OptOutType:          strings.ToUpper(v.Get("OptOutType")),
		ProfileName:         v.Get("ProfileName"),
		WaID:                v.Get("WaId"),
	}
	n := f.number("NumMedia")
	if n > 10 {
		f.err.Invalid = append(f.err.Invalid, fmt.Sprintf("NumMedia: %d is more than Twilio's 10", n))
		n = 0
	}
	for i := range n {
		u := v.Get("MediaUrl" + strconv.Itoa(i))
		if u == "" {
			f.err.Missing = append(f.err.Missing, "MediaUrl"+strconv.Itoa(i))
			continue
		}
		in.Media = append(in.Media, Media{URL: u, ContentType: v.Get("MediaContentType" + strconv.Itoa(i))})
	}
	return in, f.result()
}

// ParseStatus reads a status-callback form. MessageSid, AccountSid and
// MessageStatus (or the deprecated SmsStatus) are required.
func ParseStatus(v url.Values) (StatusCallback, error) {
	if e := checkSizes(v); e != nil {
		return StatusCallback{}, e
	}
	f := &fields{v: v}
	sc := StatusCallback{
		MessageSID:          f.sid("MessageSid", messageSIDPattern, true),
		AccountSID:          f.sid("AccountSid", accountSIDPattern, true),
		MessagingServiceSID: f.sid("MessagingServiceSid", anySIDPattern, false),
		From:                v.Get("From"),
		To:                  v.Get("To"),
		Status:              strings.ToLower(v.Get("MessageStatus")),
		ErrorMessage:        v.Get("ErrorMessage"),
		RawDlrDoneDate:      v.Get("RawDlrDoneDate"),
	}
	if sc.Status == "" {
		sc.Status = strings.ToLower(v.Get("SmsStatus"))
	}
	if sc.Status == "" {
		f.err.Missing = append(f.err.Missing, "MessageStatus")
	}
	if s := v.Get("ErrorCode"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			f.err.Invalid = append(f.err.Invalid, fmt.Sprintf("ErrorCode: %q is not a number", clip(s, 20)))
		}
		sc.ErrorCode = n
	}
	return sc, f.result()
}
