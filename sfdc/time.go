package sfdc

import (
	"bytes"
	"fmt"
	"time"
)

// Layouts of Salesforce datetimes: responses carry milliseconds and a
// numeric zone without a colon, which time.RFC3339 cannot parse (ref §2.1).
// SOQL literals are soql.DateTime's business.
const (
	responseLayout = "2006-01-02T15:04:05.000-0700"
	requestLayout  = "2006-01-02T15:04:05.000Z"
	dateLayout     = "2006-01-02"
)

// ParseTime parses a datetime as Salesforce sends it
// ("2024-01-02T03:04:05.000+0000"), falling back to RFC 3339 and to a bare
// date ("2024-01-31", midnight UTC).
func ParseTime(s string) (time.Time, error) {
	for _, layout := range []string{responseLayout, time.RFC3339Nano, dateLayout} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("sfdc: %q is not a Salesforce datetime (want 2006-01-02T15:04:05.000+0000 or RFC 3339)", s)
}

// Time is a datetime field value. It decodes Salesforce's response format
// and JSON null (as the zero Time), and encodes as UTC with milliseconds,
// or null when zero, so clearing a field is `Time{}`.
type Time struct{ time.Time }

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("sfdc: datetime must be a JSON string or null, got %s", b)
	}
	parsed, err := ParseTime(string(b[1 : len(b)-1]))
	if err != nil {
		return err
	}
	t.Time = parsed
	return nil
}

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + t.UTC().Format(requestLayout) + `"`), nil
}
