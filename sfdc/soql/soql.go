// Package soql builds SOQL text safely: the one literal escaper every query
// in switchboard goes through (ref §2.9 of ../shared/reference/salesforce.md),
// IN lists chunked to keep query URLs short, and Salesforce's datetimes: the
// SOQL literal, the record-body form and the one parser of what Salesforce
// returns. It has no dependencies, so the domain package can use it without
// importing sfdc.
package soql

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// DefaultInListBudget is the URL-encoded length ChunkIn allows an IN list
// when the caller passes no budget: Salesforce recommends query URIs under
// 2,000 characters because the SOQL is expanded server-side (ref §2.1), and
// the rest of a typical query needs a few hundred.
const DefaultInListBudget = 1500

// ErrEmptyInList is returned by InList for no values: `IN ()` is a SOQL
// syntax error (ref §2.9), and no literal stands for "matches nothing"
// without also matching nulls. Skip the query instead.
var ErrEmptyInList = errors.New("soql: IN list needs at least one value")

// Escape escapes s for use inside a single-quoted SOQL string literal
// (ref §2.9). The replacer is single-pass, so escaping the backslash cannot
// re-escape the backslashes it inserts.
func Escape(s string) string { return literalEscaper.Replace(s) }

// EscapeLike escapes s for a LIKE pattern, where % and _ are wildcards and
// \% and \_ their literal forms (ref §2.9). Add the wildcards after escaping.
func EscapeLike(s string) string { return likeEscaper.Replace(s) }

// Quote returns s as a SOQL string literal, quotes included.
func Quote(s string) string { return "'" + Escape(s) + "'" }

// InList returns values as a parenthesised, comma-separated list of SOQL
// string literals for `field IN (…)`.
func InList(values []string) (string, error) {
	if len(values) == 0 {
		return "", ErrEmptyInList
	}
	var b strings.Builder
	b.WriteByte('(')
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(Quote(v))
	}
	b.WriteByte(')')
	return b.String(), nil
}

// ChunkIn splits values, in order, into groups whose InList, once
// URL-encoded into a ?q= parameter, is at most maxLen characters
// (DefaultInListBudget if maxLen <= 0). With 18-character Ids that is about
// 60 Ids per group at the default. A single value too long for the budget
// gets a group of its own rather than being dropped. No group is empty, and
// no values give no groups.
func ChunkIn(values []string, maxLen int) [][]string {
	if maxLen <= 0 {
		maxLen = DefaultInListBudget
	}
	var chunks [][]string
	var cur []string
	size := len(url.QueryEscape("()"))
	for _, v := range values {
		n := len(url.QueryEscape(Quote(v)))
		if len(cur) > 0 {
			n += len(url.QueryEscape(","))
		}
		if len(cur) > 0 && size+n > maxLen {
			chunks = append(chunks, cur)
			cur, size = nil, len(url.QueryEscape("()"))
			n -= len(url.QueryEscape(","))
		}
		cur = append(cur, v)
		size += n
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks
}

// literalEscapes are the reserved characters of ref §2.9 and the control
// characters that have an escape sequence there.
var literalEscapes = []string{
	`\`, `\\`, `'`, `\'`, `"`, `\"`,
	"\n", `\n`, "\r", `\r`, "\t", `\t`, "\b", `\b`, "\f", `\f`,
}

var (
	literalEscaper = strings.NewReplacer(literalEscapes...)
	likeEscaper    = strings.NewReplacer(slices.Concat(literalEscapes, []string{`%`, `\%`, `_`, `\_`})...)
)

// DateTime formats t as a SOQL datetime literal (`CreatedDate > …`): UTC,
// whole seconds, unquoted (ref §2.9). Fractional seconds are not in the
// SOQL grammar, so they are truncated.
func DateTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// Layouts of Salesforce datetimes: responses carry milliseconds and a
// numeric zone without a colon, which time.RFC3339 cannot parse (ref §2.1).
const (
	responseLayout = "2006-01-02T15:04:05.000-0700"
	recordLayout   = "2006-01-02T15:04:05.000Z"
	dateLayout     = "2006-01-02"
)

// RecordTime formats t as a datetime field value in a record body: UTC with
// milliseconds (ref §2.1).
func RecordTime(t time.Time) string { return t.UTC().Format(recordLayout) }

// ParseTime parses a datetime as Salesforce returns it
// ("2024-01-02T03:04:05.000+0000"), falling back to RFC 3339 (what a record
// body or a Flow may carry) and to a bare date ("2024-01-31", midnight UTC).
// The result is in UTC.
func ParseTime(s string) (time.Time, error) {
	for _, layout := range []string{responseLayout, time.RFC3339Nano, dateLayout} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("soql: %q is not a Salesforce datetime (want 2006-01-02T15:04:05.000+0000 or RFC 3339)", s)
}
