package sfdc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"testing"
)

func TestParseAPIErrorShapes(t *testing.T) {
	e := parseAPIError("PATCH", "/x", 400, []byte(`[{"fields":["Id"],"message":"bad id","errorCode":"MALFORMED_ID"},{"message":"also","errorCode":"OTHER"}]`))
	if e.Code != "MALFORMED_ID" || e.Message != "bad id" || !slices.Equal(e.Fields, []string{"Id"}) || len(e.More) != 1 || e.More[0].Code != "OTHER" {
		t.Fatalf("array shape: %+v", e)
	}
	e = parseAPIError("GET", "/x", 503, []byte("<html>down for maintenance</html>"))
	if e.Code != "" || e.Message != "<html>down for maintenance</html>" || e.Status != 503 {
		t.Fatalf("html shape: %+v", e)
	}
	if got := e.Error(); got != "salesforce GET /x: HTTP 503: <html>down for maintenance</html>" {
		t.Fatalf("Error() = %q", got)
	}
}

func TestRetryClassification(t *testing.T) {
	api := func(status int, code, msg string) error {
		return fmt.Errorf("wrapped: %w", &APIError{Status: status, Code: code, Message: msg})
	}
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"row lock", api(400, CodeUnableToLockRow, "unable to obtain exclusive access"), true},
		{"503", api(503, "", "unavailable"), true},
		{"502", api(502, "", ""), true},
		{"429", api(429, "", ""), true},
		{"concurrent limit", api(403, CodeRequestLimitExceeded, "ConcurrentPerOrgLongTxn Limit exceeded."), true},
		{"daily limit", api(403, CodeRequestLimitExceeded, "TotalRequests Limit exceeded."), false},
		{"validation", api(400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "nope"), false},
		{"not found", api(404, CodeNotFound, ""), false},
		{"session", fmt.Errorf("%w: %w", ErrSessionInvalid, &APIError{Status: 401, Code: CodeInvalidSession}), false},
		{"login rate limit", &AuthError{Code: "rate_limit_exceeded", Status: 400}, true},
		{"bad grant", &AuthError{Code: "invalid_grant", Status: 400}, false},
		{"network", fmt.Errorf("x: %w", &net.OpError{Op: "dial", Err: errors.New("refused")}), true},
		{"canceled", context.Canceled, false},
		{"locked item", &RecordError{Errors: []FieldError{{Code: CodeUnableToLockRow}}}, true},
		{"invalid item", &RecordError{Errors: []FieldError{{Code: "REQUIRED_FIELD_MISSING"}}}, false},
		{"nil", nil, false},
		{"create outcome unknown", fmt.Errorf("%w: %w", ErrOutcomeUnknown, &APIError{Status: 502}), false},
	}
	for _, c := range cases {
		if got := IsRetryable(c.err); got != c.want {
			t.Errorf("%s: IsRetryable = %v, want %v", c.name, got, c.want)
		}
	}
	if !IsNotFound(api(404, CodeNotFound, "")) || IsNotFound(api(400, "X", "")) || IsNotFound(errors.New("x")) {
		t.Error("IsNotFound misclassifies")
	}
}

func TestParseLimitInfo(t *testing.T) {
	cases := []struct {
		in         string
		used, max_ int
		ok         bool
	}{
		{"api-usage=18/5000", 18, 5000, true},
		{"api-usage=10018/100000; api-bursts=1/750", 10018, 100000, true},
		{"per-app-api-usage=17/250(appName=sample-connected-app); api-usage=3/15000", 3, 15000, true},
		{"", 0, 0, false},
		{"api-usage=abc/5000", 0, 0, false},
		{"api-usage=5", 0, 0, false},
	}
	for _, c := range cases {
		u, m, ok := parseLimitInfo(c.in)
		if u != c.used || m != c.max_ || ok != c.ok {
			t.Errorf("parseLimitInfo(%q) = %d, %d, %v", c.in, u, m, ok)
		}
	}
}

func TestMatchIDsReadsBothShapes(t *testing.T) {
	urls := `["/services/data/v62.0/sobjects/Opt_In__c/a01A","/services/data/v62.0/sobjects/Opt_In__c/a01B"]`
	recs := `[{"attributes":{"url":"/services/data/v62.0/sobjects/Opt_In__c/a01A"}},{"Id":"a01B"}]`
	for _, body := range []string{urls, recs} {
		if got := matchIDs([]byte(body)); !slices.Equal(got, []string{"a01A", "a01B"}) {
			t.Errorf("matchIDs(%s) = %v", body, got)
		}
	}
}
