package twilio

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
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
		f.err.Invalid = append(f.err.Invalid, fmt.Sprintf("%s: %q is not a Twilio SID", name, s))
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
		f.err.Invalid = append(f.err.Invalid, fmt.Sprintf("%s: %q is not a count", name, s))
	}
	return n
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
// (ref §5.1). Errors are *FieldError naming every problem.
func ParseInbound(v url.Values) (Inbound, error) {
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
			f.err.Invalid = append(f.err.Invalid, fmt.Sprintf("ErrorCode: %q is not a number", s))
		}
		sc.ErrorCode = n
	}
	return sc, f.result()
}
