package sfdctest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Field values in and out: checking and converting what a caller writes to
// the stored form (with the errors of ref §2.8), and rendering it back.

// prepare validates the caller's field values and converts them to stored
// form. Errors are per record, with the codes and messages of ref §2.8.
func (d *db) prepare(o *object, in map[string]any, create bool) (map[string]any, *sfError) {
	out := make(map[string]any, len(in))
	for k, v := range in {
		if k == "attributes" {
			continue
		}
		f := o.field(k)
		if f == nil {
			return nil, badRequest("INVALID_FIELD", []string{k}, "No such column '%s' on sobject of type %s", k, o.Name)
		}
		if (create && !f.Createable) || (!create && !f.Updateable) {
			return nil, badRequest("INVALID_FIELD_FOR_INSERT_UPDATE", []string{f.Name},
				"Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", f.Name)
		}
		sv, err := d.coerce(f, v)
		if err != nil {
			return nil, err
		}
		out[f.Name] = sv
	}
	return out, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "VALUE_STRING"
	case bool:
		return "VALUE_TRUE"
	case float64, int, int64, json.Number:
		return "VALUE_NUMBER"
	case map[string]any:
		return "START_OBJECT"
	case []any:
		return "START_ARRAY"
	}
	return fmt.Sprintf("%T", v)
}

func parseError(f *field, v any) *sfError {
	return badRequest("JSON_PARSER_ERROR", []string{f.Name},
		"Cannot deserialize instance of %s from %s value %v or request may be missing a required field", f.Type, jsonKind(v), v)
}

// coerce converts one incoming value to the stored form of f. Empty strings
// are stored as null, as Salesforce does; phone numbers are stored exactly
// as typed.
func (d *db) coerce(f *field, v any) (any, *sfError) {
	if v == nil {
		if f.Type == tBoolean {
			return false, nil
		}
		return nil, nil
	}
	switch f.Type {
	case tBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, parseError(f, v)
		}
		return b, nil
	case tDouble:
		switch n := v.(type) {
		case float64:
			return n, nil
		case int:
			return float64(n), nil
		case int64:
			return float64(n), nil
		case json.Number:
			x, err := n.Float64()
			if err == nil {
				return x, nil
			}
		}
		return nil, parseError(f, v)
	case tDatetime:
		if t, ok := v.(time.Time); ok {
			return t.UTC().Truncate(time.Millisecond), nil
		}
		s, ok := v.(string)
		if !ok {
			return nil, parseError(f, v)
		}
		if s == "" {
			return nil, nil
		}
		t, err := parseSFTime(s)
		if err != nil {
			return nil, parseError(f, v)
		}
		return t, nil
	case tDate:
		if t, ok := v.(time.Time); ok {
			return t.Format(time.DateOnly), nil
		}
		s, ok := v.(string)
		if !ok {
			return nil, parseError(f, v)
		}
		if s == "" {
			return nil, nil
		}
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return nil, parseError(f, v)
		}
		return s, nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, parseError(f, v)
	}
	if s == "" {
		return nil, nil
	}
	switch f.Type {
	case tReference, tID:
		return d.checkReference(f, s)
	case tPicklist:
		for _, p := range f.Picklist {
			if p == s {
				return s, nil
			}
		}
		return nil, badRequest("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", []string{f.Name},
			"%s: bad value for restricted picklist field: %s", f.Label, s)
	case tEmail:
		at := strings.LastIndexByte(s, '@')
		if at < 1 || !strings.Contains(s[at:], ".") || strings.ContainsAny(s, " ,;") {
			return nil, badRequest("INVALID_EMAIL_ADDRESS", []string{f.Name}, "%s: invalid email address: %s", f.Label, s)
		}
	}
	if n := utf8.RuneCountInString(s); f.Length > 0 && n > f.Length {
		shown := s
		if len(shown) > 40 {
			shown = shown[:40] + "..."
		}
		return nil, badRequest("STRING_TOO_LONG", []string{f.Name}, "%s: data value too large: %s (max length=%d)", f.Label, shown, f.Length)
	}
	return s, nil
}

// checkReference validates a lookup value: a well-formed Id (MALFORMED_ID),
// of an object the field points to (FIELD_INTEGRITY_EXCEPTION), naming a
// live record (INVALID_CROSS_REFERENCE_KEY).
func (d *db) checkReference(f *field, s string) (any, *sfError) {
	id, ok := canonicalID(s)
	if !ok {
		return nil, badRequest("MALFORMED_ID", []string{f.Name}, "%s: id value of incorrect type: %s", f.Label, s)
	}
	t, r := d.lookup(id)
	if t == nil || !refersTo(f, t.obj.Name) {
		return nil, badRequest("FIELD_INTEGRITY_EXCEPTION", []string{f.Name},
			"field integrity exception: unknown (%s: id value of incorrect type: %s)", f.Label, s)
	}
	if r == nil {
		return nil, badRequest("INVALID_CROSS_REFERENCE_KEY", []string{f.Name}, "invalid cross reference id")
	}
	return id, nil
}

func refersTo(f *field, object string) bool {
	for _, to := range f.ReferenceTo {
		if to == object {
			return true
		}
	}
	return false
}

// parseSFTime accepts the datetime forms clients send: Salesforce's own
// "+0000" layout and RFC 3339 with or without fractional seconds.
func parseSFTime(s string) (time.Time, error) {
	for _, layout := range []string{sfTimeLayout, "2006-01-02T15:04:05-0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Truncate(time.Millisecond), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad datetime %q", s)
}

// outValue renders a stored value as REST JSON does.
func outValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(sfTimeLayout)
	}
	return v
}

func sameValue(a, b any) bool {
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb)
	}
	return a == b
}
