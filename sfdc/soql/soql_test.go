package soql

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestQuoteEscapesEveryReservedCharacter(t *testing.T) {
	cases := map[string]string{
		"plain":            `'plain'`,
		`O'Brien`:          `'O\'Brien'`,
		`back\slash`:       `'back\\slash'`,
		`\'`:               `'\\\''`,
		`say "hi"`:         `'say \"hi\"'`,
		"a\nb\rc\td\be\ff": `'a\nb\rc\td\be\ff'`,
		"100%_done":        `'100%_done'`, // wildcards are literal outside LIKE
		"ünïcødé ☎":        `'ünïcødé ☎'`,
	}
	for in, want := range cases {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestEscapeLikeAlsoEscapesWildcards(t *testing.T) {
	if got, want := EscapeLike(`50%_off's \`), `50\%\_off\'s \\`; got != want {
		t.Fatalf("EscapeLike = %s, want %s", got, want)
	}
}

// unquote is an independent SOQL literal reader used to check that Quote
// round-trips; it rejects any escape ref §2.9 does not list.
func unquote(lit string) (string, error) {
	if len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' {
		return "", errors.New("not quoted")
	}
	var b strings.Builder
	body := lit[1 : len(lit)-1]
	for i := 0; i < len(body); i++ {
		ch := body[i]
		switch {
		case ch == '\'':
			return "", fmt.Errorf("unescaped quote at %d", i)
		case ch != '\\':
			b.WriteByte(ch)
			continue
		}
		i++
		if i == len(body) {
			return "", errors.New("dangling backslash")
		}
		r, ok := map[byte]byte{'n': '\n', 'r': '\r', 't': '\t', 'b': '\b', 'f': '\f', '"': '"', '\'': '\'', '\\': '\\'}[body[i]]
		if !ok {
			return "", fmt.Errorf("bad escape \\%c", body[i])
		}
		b.WriteByte(r)
	}
	return b.String(), nil
}

func FuzzQuoteRoundTrip(f *testing.F) {
	for _, s := range []string{"", "'", `\`, `\'`, "a\nb", `'; DELETE`, "\x00", `"quoted"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := unquote(Quote(s))
		if err != nil {
			t.Fatalf("Quote(%q) = %s is not a valid literal: %v", s, Quote(s), err)
		}
		if got != s {
			t.Fatalf("round trip of %q gave %q", s, got)
		}
	})
}

func TestInList(t *testing.T) {
	got, err := InList([]string{"001A", "O'Hara"})
	if err != nil || got != `('001A','O\'Hara')` {
		t.Fatalf("InList = %q, %v", got, err)
	}
	if _, err := InList(nil); !errors.Is(err, ErrEmptyInList) {
		t.Fatalf("InList(nil) error = %v, want ErrEmptyInList", err)
	}
}

func TestChunkInKeepsEveryEncodedListWithinBudget(t *testing.T) {
	ids := make([]string, 500)
	for i := range ids {
		ids[i] = fmt.Sprintf("00T5e00000%08d", i) // 18 characters
	}
	chunks := ChunkIn(ids, 0)
	if len(chunks) < 2 {
		t.Fatalf("500 Ids in %d chunk(s); the default budget must split them", len(chunks))
	}
	var all []string
	for _, c := range chunks {
		in, err := InList(c)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(url.QueryEscape(in)); n > DefaultInListBudget {
			t.Errorf("chunk of %d encodes to %d > %d", len(c), n, DefaultInListBudget)
		}
		all = append(all, c...)
	}
	if !slices.Equal(all, ids) {
		t.Fatal("chunks lost, duplicated or reordered values")
	}
	// A full chunk must not have had room for one more Id.
	first, _ := InList(append(slices.Clone(chunks[0]), ids[len(chunks[0])]))
	if len(url.QueryEscape(first)) <= DefaultInListBudget {
		t.Errorf("first chunk of %d stopped early", len(chunks[0]))
	}
}

func TestChunkInEdgeCases(t *testing.T) {
	if got := ChunkIn(nil, 100); got != nil {
		t.Errorf("ChunkIn(nil) = %v, want no chunks", got)
	}
	long := strings.Repeat("x", 50)
	got := ChunkIn([]string{"a", long, "b"}, 20)
	want := [][]string{{"a"}, {long}, {"b"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("oversized value: got %v, want %v", got, want)
	}
}

func TestDateTimeIsUTCWholeSeconds(t *testing.T) {
	in := time.Date(2024, 1, 2, 4, 4, 5, 999_000_000, time.FixedZone("CET", 3600))
	if got, want := DateTime(in), "2024-01-02T03:04:05Z"; got != want {
		t.Fatalf("DateTime = %s, want %s", got, want)
	}
}

// TestParseTime is the one table of Salesforce datetimes: every form the
// former copies (sfdc.ParseTime, sync's parseOrgTime) accepted parses to
// the same instant, in UTC; anything else is an error naming the input.
func TestParseTime(t *testing.T) {
	want := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"2024-01-02T03:04:05.000+0000", want}, // REST and streaming responses (ref §2.1)
		{"2024-01-02T04:04:05.000+0100", want},
		{"2024-01-02T03:04:05Z", want}, // RFC 3339
		{"2024-01-02T03:04:05.000Z", want},
		{"2024-01-02T04:04:05+01:00", want},
		{"2024-01-02T03:04:05.123456789Z", want.Add(123456789)},
		{"2024-01-31", time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)}, // a date field: midnight UTC
	} {
		got, err := ParseTime(c.in)
		if err != nil || !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v; want %v in UTC", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "2024-13-01T00:00:00.000+0000", "1700000000", "2024-01-02 03:04:05"} {
		if got, err := ParseTime(bad); err == nil || !got.IsZero() || !strings.Contains(err.Error(), fmt.Sprintf("%q", bad)) {
			t.Errorf("ParseTime(%q) = %v, %v; want the zero time and an error naming the input", bad, got, err)
		}
	}
	// What RecordTime writes, ParseTime reads back.
	at := time.Date(2024, 1, 2, 4, 4, 5, 678e6, time.FixedZone("CET", 3600))
	if s := RecordTime(at); s != "2024-01-02T03:04:05.678Z" {
		t.Errorf("RecordTime = %s, want UTC with milliseconds", s)
	} else if back, err := ParseTime(s); err != nil || !back.Equal(at) {
		t.Errorf("ParseTime(RecordTime) = %v, %v; want %v", back, err, at)
	}
}
