package twilio_test

import (
	"strings"
	"testing"

	"github.com/switchboard/switchboard/twilio"
)

// Counts from ref §8, which Twilio's segment calculator agrees with.
func TestSegments(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	cases := []struct {
		name  string
		body  string
		enc   twilio.Encoding
		units int
		segs  int
	}{
		{"empty", "", twilio.GSM7, 0, 1},
		{"160 GSM", a(160), twilio.GSM7, 160, 1},
		{"161 GSM", a(161), twilio.GSM7, 161, 2},
		{"306 GSM", a(306), twilio.GSM7, 306, 2},
		{"307 GSM", a(307), twilio.GSM7, 307, 3},
		{"1600 GSM", a(1600), twilio.GSM7, 1600, 11},
		{"basic set incl. @£$¥ and newline", "@£$¥èéùìòÇ\nØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà", twilio.GSM7, 63, 1},
		{"80 euro signs = 160 septets", strings.Repeat("€", 80), twilio.GSM7, 160, 1},
		{"81 euro signs", strings.Repeat("€", 81), twilio.GSM7, 162, 2},
		{"extension chars count double", "{}[]~|^\\\f€", twilio.GSM7, 20, 1},
		{"escape pair moves to the next part", a(152) + "{" + a(10), twilio.GSM7, 164, 2},
		{"backtick is not GSM", "`" + a(69), twilio.UCS2, 70, 1},
		{"70 UCS-2", strings.Repeat("ж", 70), twilio.UCS2, 70, 1},
		{"71 UCS-2", strings.Repeat("ж", 71), twilio.UCS2, 71, 2},
		{"134 UCS-2", strings.Repeat("ж", 134), twilio.UCS2, 134, 2},
		{"135 UCS-2", strings.Repeat("ж", 135), twilio.UCS2, 135, 3},
		{"one emoji switches everything", "😜" + strings.Repeat("1", 133), twilio.UCS2, 135, 3},
		{"curly quote switches to UCS-2", "it’s " + a(100), twilio.UCS2, 105, 2},
		{"surrogate pair never split", a(66) + "😜" + a(10), twilio.UCS2, 78, 2},
	}
	for _, c := range cases {
		got := twilio.Segments(c.body)
		if got.Encoding != c.enc || got.Units != c.units || got.Segments != c.segs {
			t.Errorf("%s: %+v, want %s units %d segments %d", c.name, got, c.enc, c.units, c.segs)
		}
	}
}
