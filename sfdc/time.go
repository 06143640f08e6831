package sfdc

import (
	"bytes"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/sfdc/soql"
)

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
	parsed, err := soql.ParseTime(string(b[1 : len(b)-1]))
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
	return []byte(`"` + soql.RecordTime(t.Time) + `"`), nil
}
