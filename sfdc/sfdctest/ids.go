package sfdctest

import "strings"

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newID builds an 18-character Salesforce Id: the object's 3-character key
// prefix, a 3-character pod/instance part, a 9-character base-62 sequence,
// and the case-safe checksum suffix. Ids look real enough that clients
// validating Salesforce Id shape accept them.
func newID(prefix string, seq uint64) string {
	var body [9]byte
	for i := 8; i >= 0; i-- {
		body[i] = base62[seq%62]
		seq /= 62
	}
	id15 := prefix + "8c0" + string(body[:])
	return id15 + idChecksum(id15)
}

// idChecksum is the 3-character suffix that makes a 15-character Id case
// insensitive: one bit per upper-case letter in each 5-character chunk.
func idChecksum(id15 string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	var out [3]byte
	for chunk := range 3 {
		n := 0
		for i := range 5 {
			c := id15[chunk*5+i]
			if c >= 'A' && c <= 'Z' {
				n |= 1 << i
			}
		}
		out[chunk] = alphabet[n]
	}
	return string(out[:])
}

// canonicalID returns the 18-character form of s, or false if s is not a
// well-formed 15- or 18-character Id (alphanumeric, with a matching
// checksum for the 18-character form).
func canonicalID(s string) (string, bool) {
	if len(s) != 15 && len(s) != 18 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(base62, rune(s[i])) {
			return "", false
		}
	}
	sum := idChecksum(s[:15])
	if len(s) == 18 && !strings.EqualFold(s[15:], sum) {
		return "", false
	}
	return s[:15] + sum, true
}
