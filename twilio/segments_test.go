package twilio_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/twilio"
)

// segmentCase is one vector of testdata/segments.json, which the
// switchboardSegments jest test reads too, so the chat's counter and the
// sidecar's agree (a rule exists once, even across two languages).
type segmentCase struct {
	Name     string               `json:"name"`
	Body     [][2]json.RawMessage `json:"body"`
	Encoding twilio.Encoding      `json:"encoding"`
	Units    int                  `json:"units"`
	Segments int                  `json:"segments"`
}

func (c segmentCase) body(t *testing.T) string {
	var b strings.Builder
	for _, p := range c.Body {
		var s string
		var n int
		if err := json.Unmarshal(p[0], &s); err != nil {
			t.Fatalf("%s: text: %v", c.Name, err)
		}
		if err := json.Unmarshal(p[1], &n); err != nil {
			t.Fatalf("%s: times: %v", c.Name, err)
		}
		b.WriteString(strings.Repeat(s, n))
	}
	return b.String()
}

// Counts from ref §8, which Twilio's segment calculator agrees with.
func TestSegments(t *testing.T) {
	raw, err := os.ReadFile("testdata/segments.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors struct {
		Cases []segmentCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &vectors); err != nil {
		t.Fatal(err)
	}
	if len(vectors.Cases) < 19 {
		t.Fatalf("testdata/segments.json holds %d cases, want at least 19", len(vectors.Cases))
	}
	for _, c := range vectors.Cases {
		got := twilio.Segments(c.body(t))
		if got.Encoding != c.Encoding || got.Units != c.Units || got.Segments != c.Segments {
			t.Errorf("%s: %+v, want %s units %d segments %d", c.Name, got, c.Encoding, c.Units, c.Segments)
		}
	}
}
