package sfdctest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The SOQL tokenizer: identifiers, numbers, date and datetime literals,
// punctuation and string literals with the escapes of ref §2.9; and the
// query error that points at a token's row and column.

type tokKind int

const (
	tkEOF tokKind = iota
	tkIdent
	tkString
	tkNumber
	tkDate
	tkDatetime
	tkPunct
)

type token struct {
	kind tokKind
	text string // source text (the decoded value for strings)
	pat  []patRune
	pos  int
}

// patRune is one character of a string literal for LIKE: wild marks an
// unescaped % or _.
type patRune struct {
	r    rune
	wild bool
}

var (
	datetimeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})`)
	dateRE     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}`)
	numberRE   = regexp.MustCompile(`^-?\d+(\.\d+)?`)
)

type lexer struct {
	src string
	pos int
}

func (q *soqlError) Error() string { return q.code + ": " + q.msg }

// soqlError is a query failure; at is the byte offset Salesforce's message
// points at.
type soqlError struct {
	code string
	msg  string
	at   int
	src  string
}

// sfError renders the error as Salesforce does: the query, a caret under
// the offending token, "ERROR at Row:r:Column:c" and the message.
func (q *soqlError) sfError() *sfError {
	row, col := 1, 1
	lineStart := 0
	for i := 0; i < q.at && i < len(q.src); i++ {
		if q.src[i] == '\n' {
			row++
			col = 1
			lineStart = i + 1
		} else {
			col++
		}
	}
	line := q.src[lineStart:]
	if nl := strings.IndexByte(line, '\n'); nl >= 0 {
		line = line[:nl]
	}
	msg := fmt.Sprintf("\n%s\n%s^\nERROR at Row:%d:Column:%d\n%s", line, strings.Repeat(" ", col-1), row, col, q.msg)
	return badRequest(q.code, nil, "%s", msg)
}

func (l *lexer) errAt(at int, code, format string, args ...any) *soqlError {
	return &soqlError{code: code, msg: fmt.Sprintf(format, args...), at: at, src: l.src}
}

func (l *lexer) tokens() ([]token, *soqlError) {
	var out []token
	for {
		for l.pos < len(l.src) && unicode.IsSpace(rune(l.src[l.pos])) {
			l.pos++
		}
		if l.pos >= len(l.src) {
			return append(out, token{kind: tkEOF, pos: l.pos}), nil
		}
		start := l.pos
		c := l.src[l.pos]
		rest := l.src[l.pos:]
		switch {
		case c == '_' || unicode.IsLetter(rune(c)):
			for l.pos < len(l.src) {
				c := rune(l.src[l.pos])
				if c != '_' && c != '.' && !unicode.IsLetter(c) && !unicode.IsDigit(c) {
					break
				}
				l.pos++
			}
			out = append(out, token{kind: tkIdent, text: l.src[start:l.pos], pos: start})
		case c == '\'':
			t, err := l.stringLit()
			if err != nil {
				return nil, err
			}
			out = append(out, t)
		case datetimeRE.MatchString(rest):
			m := datetimeRE.FindString(rest)
			l.pos += len(m)
			out = append(out, token{kind: tkDatetime, text: m, pos: start})
		case dateRE.MatchString(rest):
			m := dateRE.FindString(rest)
			l.pos += len(m)
			out = append(out, token{kind: tkDate, text: m, pos: start})
		case numberRE.MatchString(rest):
			m := numberRE.FindString(rest)
			l.pos += len(m)
			out = append(out, token{kind: tkNumber, text: m, pos: start})
		default:
			for _, p := range []string{"!=", "<>", "<=", ">=", "=", "<", ">", "(", ")", ","} {
				if strings.HasPrefix(rest, p) {
					l.pos += len(p)
					out = append(out, token{kind: tkPunct, text: p, pos: start})
					break
				}
			}
			if l.pos == start {
				return nil, l.errAt(start, "MALFORMED_QUERY", "unexpected token: '%c'", c)
			}
		}
	}
}

// stringLit decodes a quoted literal with the escapes of ref §2.9; any
// other backslash sequence is an error, as in Salesforce.
func (l *lexer) stringLit() (token, *soqlError) {
	start := l.pos
	l.pos++
	var b strings.Builder
	var pat []patRune
	for {
		if l.pos >= len(l.src) {
			return token{}, l.errAt(start, "MALFORMED_QUERY", "unterminated string literal: %s", l.src[start:])
		}
		r := rune(l.src[l.pos])
		size := 1
		if r >= 0x80 {
			r, size = decodeRune(l.src[l.pos:])
		}
		if r == '\'' {
			l.pos++
			return token{kind: tkString, text: b.String(), pat: pat, pos: start}, nil
		}
		if r != '\\' {
			b.WriteRune(r)
			pat = append(pat, patRune{r: r, wild: r == '%' || r == '_'})
			l.pos += size
			continue
		}
		if l.pos+1 >= len(l.src) {
			return token{}, l.errAt(start, "MALFORMED_QUERY", "unterminated string literal: %s", l.src[start:])
		}
		e := l.src[l.pos+1]
		var out rune
		switch e {
		case 'n', 'N':
			out = '\n'
		case 'r', 'R':
			out = '\r'
		case 't', 'T':
			out = '\t'
		case 'b', 'B':
			out = '\b'
		case 'f', 'F':
			out = '\f'
		case '"', '\'', '\\', '%', '_':
			out = rune(e)
		case 'u':
			if l.pos+6 > len(l.src) {
				return token{}, l.errAt(start, "MALFORMED_QUERY", "Invalid string literal %s. Illegal character sequence '\\u' in string literal.", l.src[start:])
			}
			n, err := strconv.ParseUint(l.src[l.pos+2:l.pos+6], 16, 32)
			if err != nil {
				return token{}, l.errAt(start, "MALFORMED_QUERY", "Invalid string literal %s. Illegal character sequence '\\u%s' in string literal.", l.src[start:], l.src[l.pos+2:l.pos+6])
			}
			b.WriteRune(rune(n))
			pat = append(pat, patRune{r: rune(n)})
			l.pos += 6
			continue
		default:
			end := strings.IndexByte(l.src[l.pos+1:], '\'')
			lit := l.src[start:]
			if end >= 0 {
				lit = l.src[start : l.pos+1+end+1]
			}
			return token{}, l.errAt(start, "MALFORMED_QUERY", "Invalid string literal %s. Illegal character sequence '\\%c' in string literal.", lit, e)
		}
		b.WriteRune(out)
		pat = append(pat, patRune{r: out})
		l.pos += 2
	}
}

func decodeRune(s string) (rune, int) { return utf8.DecodeRuneInString(s) }
