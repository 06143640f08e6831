package twilio

import "unicode/utf16"

// Encoding is how an SMS body travels (ref §8).
type Encoding string

const (
	GSM7 Encoding = "GSM-7"
	UCS2 Encoding = "UCS-2"
)

// GSM 03.38 basic set (1 septet each) and extension table (ESC + char,
// 2 septets), as in Twilio's segment calculator (ref §8).
const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExt   = "\f^{}\\[~]|€"
)

// SegmentInfo is how a body is split into SMS segments.
type SegmentInfo struct {
	Encoding Encoding
	// Units is the length in septets (GSM-7) or UTF-16 code units (UCS-2).
	Units    int
	Segments int
}

// Segments counts the SMS segments of body. One character outside GSM-7
// switches the whole message to UCS-2; a single segment holds 160 septets
// or 70 UCS-2 units, a part of a concatenated message 153 or 67 (6 octets
// go to the UDH). An escape pair or a surrogate pair never straddles two
// segments. Counting is per rune; Twilio's calculator keeps whole grapheme
// clusters together, which differs only for multi-rune emoji sequences.
// An empty body counts as one segment.
func Segments(body string) SegmentInfo {
	gsm := true
	for _, r := range body {
		if gsmSize(r) == 0 {
			gsm = false
			break
		}
	}
	info := SegmentInfo{Encoding: GSM7}
	single, multi := 160, 153
	unit := gsmSize
	if !gsm {
		info.Encoding, single, multi = UCS2, 70, 67
		unit = func(r rune) int { return len(utf16.Encode([]rune{r})) }
	}
	for _, r := range body {
		info.Units += unit(r)
	}
	if info.Units <= single {
		info.Segments = 1
		return info
	}
	n, cur := 1, 0
	for _, r := range body {
		u := unit(r)
		if cur+u > multi {
			n++
			cur = 0
		}
		cur += u
	}
	info.Segments = n
	return info
}

var gsmSeptets = func() map[rune]int {
	m := map[rune]int{}
	for _, r := range gsmBasic {
		m[r] = 1
	}
	for _, r := range gsmExt {
		m[r] = 2
	}
	return m
}()

func gsmSize(r rune) int { return gsmSeptets[r] }
