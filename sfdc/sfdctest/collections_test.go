package sfdctest_test

import (
	"net/http"
	"testing"
)

// TestCollectionUpdateRefusesAnIDTwice: an sObject Collections update that
// names one record twice (as 18 and as 15 characters, too) is refused as a
// whole, nothing of it written, on its own and as a composite subrequest;
// the composite's other subrequests still run.
func TestCollectionUpdateRefusesAnIDTwice(t *testing.T) {
	a := newAPI(t)
	one := a.create("Task", map[string]any{"Subject": "one"})
	two := a.create("Task", map[string]any{"Subject": "two"})
	upd := func(id, subject string) map[string]any {
		return map[string]any{"attributes": map[string]any{"type": "Task"}, "id": id, "Subject": subject}
	}
	subject := func(id string) any {
		rec, _ := a.org.Get("Task", id)
		return rec["Subject"]
	}

	for _, dup := range []string{one, one[:15]} {
		for _, allOrNone := range []bool{false, true} {
			r := a.do(http.MethodPatch, v+"/composite/sobjects", map[string]any{"allOrNone": allOrNone,
				"records": []any{upd(one, "first"), upd(two, "other"), upd(dup, "second")}})
			if msg := wantErr(t, r, 400, "INVALID_BATCH_REQUEST"); msg != "Duplicate id in list: "+one {
				t.Errorf("message %q, want %q", msg, "Duplicate id in list: "+one)
			}
			if subject(one) != "one" || subject(two) != "two" {
				t.Fatalf("a refused collection wrote: %v, %v", subject(one), subject(two))
			}
		}
	}

	out := a.composite(false,
		sub(http.MethodPatch, "/composite/sobjects", "dup", map[string]any{"records": []any{upd(two, "x"), upd(two, "y")}}),
		sub(http.MethodPatch, "/composite/sobjects", "ok", map[string]any{"records": []any{upd(one, "renamed")}}))
	if got := out.CompositeResponse[0]; got.HTTPStatusCode != 400 || errCode(got.Body) != "INVALID_BATCH_REQUEST" {
		t.Errorf("duplicate subrequest: %d %v", got.HTTPStatusCode, got.Body)
	}
	if got := out.CompositeResponse[1]; got.HTTPStatusCode != 200 || subject(one) != "renamed" || subject(two) != "two" {
		t.Errorf("other subrequest: %d %v; one %v, two %v", got.HTTPStatusCode, got.Body, subject(one), subject(two))
	}

	// The same record in the next request is no duplicate.
	r := a.do(http.MethodPatch, v+"/composite/sobjects", map[string]any{"records": []any{upd(one, "again")}})
	if r.status != 200 || subject(one) != "again" {
		t.Errorf("a single update after the refusal: %d %s", r.status, r.body)
	}
}
