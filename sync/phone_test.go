package sync

import (
	"errors"
	"testing"
)

func TestNormalizeNumberFormats(t *testing.T) {
	// SPEC §1 External_Channel__c: these are all the same number.
	for _, typed := range []string{
		"+14155550100", "(415) 555-0100", "415-555-0100", "415.555.0100",
		"+1 415 555 0100", "4155550100", " 1 (415) 555-0100 ", "tel:+1-415-555-0100",
	} {
		got, err := NormalizeNumber(typed, "US")
		if err != nil || got != "+14155550100" {
			t.Errorf("NormalizeNumber(%q) = %q, %v", typed, got, err)
		}
	}
	if got, _ := NormalizeNumber("020 7946 0958", "GB"); got != "+442079460958" {
		t.Errorf("GB national: %q", got)
	}
	if got, _ := NormalizeNumber("+44 20 7946 0958", "US"); got != "+442079460958" {
		t.Errorf("international with US default: %q", got)
	}
	if got, _ := NormalizeNumber("whatsapp:+14155550100", "US"); got != "whatsapp:+14155550100" {
		t.Errorf("whatsapp prefix: %q", got)
	}
}

func TestNormalizeNumberRejects(t *testing.T) {
	for _, bad := range []string{"", "12", "555-0100", "hello", "+1 000 000 0000", "whatsapp:"} {
		if got, err := NormalizeNumber(bad, "US"); !errors.Is(err, ErrInvalidNumber) {
			t.Errorf("NormalizeNumber(%q) = %q, %v; want ErrInvalidNumber", bad, got, err)
		}
	}
}

func TestCustomerAddress(t *testing.T) {
	cases := []struct {
		in   string
		want string
		kind SenderKind
	}{
		{"+14155550100", "+14155550100", SenderPhone},
		{"72345", "72345", SenderShortCode},
		{"ACME Corp", "ACME Corp", SenderAlphanumeric},
		{"", "", SenderAlphanumeric},
	}
	for _, c := range cases {
		got, kind := CustomerAddress(c.in, "US")
		if got != c.want || kind != c.kind {
			t.Errorf("CustomerAddress(%q) = %q, %v", c.in, got, kind)
		}
	}
}

func TestDigitsPattern(t *testing.T) {
	if got := DigitsPattern("+14155550100"); got != "%4%1%5%5%5%5%0%1%0%0" {
		t.Errorf("pattern = %q", got)
	}
	if got := DigitsPattern("+442079460958"); got != "%2%0%7%9%4%6%0%9%5%8" {
		t.Errorf("GB pattern = %q", got)
	}
	if got := DigitsPattern("ACME"); got != "" {
		t.Errorf("alphanumeric pattern = %q, want empty", got)
	}
}

func TestClassifyKeyword(t *testing.T) {
	cases := map[string]Keyword{
		"STOP": KeywordStop, " stop ": KeywordStop, "sToP": KeywordStop, "Unsubscribe": KeywordStop,
		"optout": KeywordStop, "REVOKE": KeywordStop, "STOPALL": KeywordStop, "quit\n": KeywordStop,
		"START": KeywordStart, "yes": KeywordStart, "UNSTOP": KeywordStart,
		"HELP": KeywordHelp, "info": KeywordHelp,
		"Stop please": KeywordNone, "OPT OUT": KeywordNone, "STOP ALL": KeywordNone, "": KeywordNone,
	}
	for body, want := range cases {
		if got := ClassifyKeyword(body, ""); got != want {
			t.Errorf("ClassifyKeyword(%q) = %v, want %v", body, got, want)
		}
	}
	if got := ClassifyKeyword("arrêter", "STOP"); got != KeywordStop {
		t.Errorf("OptOutType should win: %v", got)
	}
}

// Twilio's "whatsapp:" channel prefix has one case rule (the finder's
// recipientKey): however it is capitalised, every function reads the same
// number behind it, and NormalizeNumber writes it lower-case.
func TestWhatsAppPrefixOneCaseRule(t *testing.T) {
	bare := DigitsPattern("+14155550100")
	for _, p := range []string{"whatsapp:", "WhatsApp:", "WHATSAPP:"} {
		addr := p + "+14155550100"
		if got, err := NormalizeNumber(addr, "US"); err != nil || got != "whatsapp:+14155550100" {
			t.Errorf("NormalizeNumber(%q) = %q, %v; want whatsapp:+14155550100", addr, got, err)
		}
		if got := DigitsPattern(addr); got != bare {
			t.Errorf("DigitsPattern(%q) = %q, want %q", addr, got, bare)
		}
		if got := subject("from", addr); got != "WhatsApp from +14155550100" {
			t.Errorf("subject(%q) = %q", addr, got)
		}
		if got := bareNumber(addr); got != "+14155550100" {
			t.Errorf("bareNumber(%q) = %q", addr, got)
		}
	}
	for _, addr := range []string{"+14155550100", "whatsapp", "whatsapp+14155550100", "ſhatsapp:+14155550100"} {
		if got := bareNumber(addr); got != addr {
			t.Errorf("bareNumber(%q) = %q, want it unchanged: no prefix", addr, got)
		}
	}
}
