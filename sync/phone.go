package sync

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// ErrInvalidNumber means a string is not a dialable phone number. The
// outbound engine turns it into an Error status on the Task.
var ErrInvalidNumber = errors.New("not a valid phone number")

// whatsappPrefix marks WhatsApp addresses on Twilio ("whatsapp:+1415…").
const whatsappPrefix = "whatsapp:"

// splitWhatsApp separates the "whatsapp:" transport prefix from the number
// behind it. The prefix matches in any case, the one case rule recipientKey
// keys threads by: a user may type "WhatsApp:+1…" into a record.
func splitWhatsApp(addr string) (number string, whatsapp bool) {
	if len(addr) >= len(whatsappPrefix) && strings.EqualFold(addr[:len(whatsappPrefix)], whatsappPrefix) {
		return addr[len(whatsappPrefix):], true
	}
	return addr, false
}

// NormalizeNumber turns a number as a person typed it into E.164, reading
// national formats in defaultRegion (an ISO 3166 code such as "US").
// "(415) 555-0100", "415.555.0100" and "+1 415 555 0100" all become
// "+14155550100". A "whatsapp:" prefix is kept. The number must be valid
// for its region, not merely possible: "555-0100" is rejected.
func NormalizeNumber(raw, defaultRegion string) (string, error) {
	s := strings.TrimSpace(raw)
	prefix := ""
	if number, wa := splitWhatsApp(s); wa {
		prefix, s = whatsappPrefix, strings.TrimSpace(number)
	}
	s = strings.TrimPrefix(s, "tel:")
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidNumber)
	}
	n, err := phonenumbers.Parse(s, strings.ToUpper(defaultRegion))
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrInvalidNumber, raw, err)
	}
	if !phonenumbers.IsValidNumber(n) {
		return "", fmt.Errorf("%w: %q", ErrInvalidNumber, raw)
	}
	return prefix + phonenumbers.Format(n, phonenumbers.E164), nil
}

// SenderKind tells how to treat the From of an inbound message.
type SenderKind int

const (
	SenderPhone        SenderKind = iota // a phone number, normalised to E.164
	SenderShortCode                      // 3–8 digits, e.g. "72345"; kept as is
	SenderAlphanumeric                   // "ACME"; kept as is, cannot be replied to
)

// CustomerAddress normalises the customer side of an inbound message.
// Short codes and alphanumeric senders are returned unchanged with their
// kind, never as an error: a message from them must still be recorded.
func CustomerAddress(raw, defaultRegion string) (string, SenderKind) {
	s := strings.TrimSpace(raw)
	if e164, err := NormalizeNumber(s, defaultRegion); err == nil {
		return e164, SenderPhone
	}
	if s != "" && len(s) <= 8 && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsDigit(r) }) < 0 {
		return s, SenderShortCode
	}
	return s, SenderAlphanumeric
}

// DigitsPattern is a SOQL LIKE pattern that matches a phone field however
// the number was typed: every digit of the national significant number, in
// order, with anything between them ("%4%1%5%5%5%5%0%1%0%0"). Salesforce
// stores phone fields as typed and cannot normalise in SOQL, so the engine
// over-matches with this pattern (one query per object for a whole batch)
// and confirms each candidate with NormalizeNumber. It returns "" for
// anything that is not an E.164 number.
func DigitsPattern(e164 string) string {
	number, _ := splitWhatsApp(e164)
	n, err := phonenumbers.Parse(number, "")
	if err != nil {
		return ""
	}
	nsn := phonenumbers.GetNationalSignificantNumber(n)
	if nsn == "" {
		return ""
	}
	var b strings.Builder
	for _, d := range nsn {
		b.WriteByte('%')
		b.WriteRune(d)
	}
	return b.String()
}

// Keyword is a consent keyword class (twilio.md §7).
type Keyword int

const (
	KeywordNone  Keyword = iota
	KeywordStop          // opt out
	KeywordStart         // opt back in
	KeywordHelp
)

func (k Keyword) String() string {
	return [...]string{"", "STOP", "START", "HELP"}[k]
}

var keywords = map[string]Keyword{
	"STOP": KeywordStop, "STOPALL": KeywordStop, "UNSUBSCRIBE": KeywordStop, "CANCEL": KeywordStop,
	"END": KeywordStop, "QUIT": KeywordStop, "REVOKE": KeywordStop, "OPTOUT": KeywordStop,
	"START": KeywordStart, "YES": KeywordStart, "UNSTOP": KeywordStart,
	"HELP": KeywordHelp, "INFO": KeywordHelp,
}

// ClassifyKeyword reports the keyword class of an inbound body: the whole
// message, trimmed, case-insensitive ("Stop please" is not a keyword), as
// Twilio matches them. optOutType is Twilio's OptOutType parameter, which
// wins when present (Advanced Opt-Out's custom keywords).
func ClassifyKeyword(body, optOutType string) Keyword {
	switch strings.ToUpper(strings.TrimSpace(optOutType)) {
	case "STOP":
		return KeywordStop
	case "START":
		return KeywordStart
	case "HELP":
		return KeywordHelp
	}
	return keywords[strings.ToUpper(strings.TrimSpace(body))]
}

// subject is a message Task's Subject (SPEC §1): "SMS to +14155550100",
// or "WhatsApp from +14155550100" for a WhatsApp address.
func subject(dir, addr string) string {
	if number, wa := splitWhatsApp(addr); wa {
		return "WhatsApp " + dir + " " + number
	}
	return "SMS " + dir + " " + addr
}
