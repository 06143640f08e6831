package sfdc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
)

func TestCompositeTypedResultsInOneCall(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org)
	ctx := context.Background()
	existing, err := c.Create(ctx, "Task", map[string]any{"Subject": "existing"})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := c.Create(ctx, "Task", map[string]any{"Subject": "gone"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "Task", gone); err != nil {
		t.Fatal(err)
	}
	q, err := c.QuerySubrequest("tasks", "SELECT Id, Subject FROM Task WHERE Subject = 'existing'")
	if err != nil {
		t.Fatal(err)
	}
	create, err := c.CreateSubrequest("create", "Task", []map[string]any{{"Subject": "new 1"}, {"Subject": "new 2"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	update, err := c.UpdateSubrequest("update", "Task", []map[string]any{{"Id": existing, "Subject": "renamed"}, {"Id": gone, "Subject": "gone"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	upsert, err := c.UpsertSubrequest("upsert", "Task", "Message_Sid__c", []map[string]any{{"Message_Sid__c": "SM00000000000000000000000000000009", "Subject": "u"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	bad, _ := c.QuerySubrequest("bad", "SELECT FROM Task")
	org.ResetCalls()
	calls := c.Calls()
	res, err := c.Composite(ctx, false, []Subrequest{q, create, update, upsert, bad})
	if err != nil {
		t.Fatal(err)
	}
	if c.Calls()-calls != 1 || org.Calls()["POST composite"] != 1 || org.TotalCalls() != 1 {
		t.Fatalf("client sent %d requests, org counted %v; want one composite", c.Calls()-calls, org.Calls())
	}
	page, err := res[0].QueryPage()
	if err != nil || page.TotalSize != 1 || len(page.Records) != 1 || !strings.Contains(string(page.Records[0]), existing) {
		t.Fatalf("query subresponse: %+v %v", page, err)
	}
	created, err := res[1].SaveResults()
	if err != nil || len(created) != 2 || !created[0].Success || created[1].ID == "" || res[1].Status != 200 {
		t.Fatalf("create subresponse: %+v %v", created, err)
	}
	updated, err := res[2].SaveResults()
	if err != nil || len(updated) != 2 || !updated[0].Success || updated[1].Success {
		t.Fatalf("update subresponse: %+v %v", updated, err)
	}
	var re *RecordError
	if !errors.As(updated[1].Err(), &re) || re.Errors[0].Code != CodeEntityIsDeleted {
		t.Fatalf("failed item: %v", updated[1].Err())
	}
	upserted, err := res[3].SaveResults()
	if err != nil || !upserted[0].Created {
		t.Fatalf("upsert subresponse: %+v %v", upserted, err)
	}
	if res[4].Err == nil || res[4].Err.Code != "MALFORMED_QUERY" || res[4].Err.Status != 400 || res[4].Status != 400 {
		t.Fatalf("malformed query subresponse: %+v", res[4])
	}
	if _, err := res[4].QueryPage(); !errors.As(err, new(*APIError)) {
		t.Fatalf("QueryPage of a failed subrequest: %v", err)
	}
	if res[4].Err.Path != "/services/data/v62.0/query" || res[4].Err.Method != http.MethodGet {
		t.Fatalf("error names %s %s, want the subrequest's method and path without its query", res[4].Err.Method, res[4].Err.Path)
	}
}

func TestCompositeAllOrNoneHaltsTheOthers(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org)
	good, _ := c.CreateSubrequest("good", "Task", []map[string]any{{"Subject": "kept?"}}, false)
	bad := Subrequest{Method: http.MethodPost, URL: "/services/data/v62.0/sobjects/Task", ReferenceID: "bad", Body: map[string]any{"Message_Status__c": "Bogus"}}
	res, err := c.Composite(context.Background(), true, []Subrequest{good, bad})
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Halted() || res[1].Halted() || res[1].Err.Code != "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" {
		t.Fatalf("allOrNone: %+v / %+v", res[0].Err, res[1].Err)
	}
	if n := len(org.Records("Task")); n != 0 {
		t.Fatalf("%d tasks after a rollback", n)
	}
}

func TestCompositeRefusesWhatSalesforceWould(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org)
	ctx := context.Background()
	q := func(ref string) Subrequest {
		s, _ := c.QuerySubrequest(ref, "SELECT Id FROM Task")
		return s
	}
	get := func(ref string) Subrequest {
		return Subrequest{Method: http.MethodGet, URL: "/services/data/v62.0/sobjects/Task/describe", ReferenceID: ref}
	}
	var tooMany, tooHeavy []Subrequest
	for i := range 26 {
		tooMany = append(tooMany, get(fmt.Sprint("g", i)))
	}
	for i := range 6 {
		tooHeavy = append(tooHeavy, q(fmt.Sprint("q", i)))
	}
	bigRecords := make([]map[string]any, 201)
	for i := range bigRecords {
		bigRecords[i] = map[string]any{"Subject": "x"}
	}
	for name, subs := range map[string][]Subrequest{
		"none":                  nil,
		"26 subrequests":        tooMany,
		"6 queries":             tooHeavy,
		"duplicate referenceId": {q("a"), q("a")},
		"bad referenceId":       {q("a-b")},
		"lower-case method":     {{Method: "get", URL: "/services/data/v62.0/sobjects", ReferenceID: "a"}},
		"absolute url":          {{Method: http.MethodGet, URL: "https://evil.example/services/data/v62.0/sobjects", ReferenceID: "a"}},
	} {
		t.Run(name, func(t *testing.T) {
			before := c.Calls()
			if _, err := c.Composite(ctx, false, subs); err == nil {
				t.Fatal("accepted")
			}
			if c.Calls() != before {
				t.Fatal("a refused composite was sent")
			}
		})
	}
	if _, err := c.CreateSubrequest("big", "Task", bigRecords, false); err == nil || !strings.Contains(err.Error(), "200") {
		t.Fatalf("201 records in one collection subrequest: %v", err)
	}
	if _, err := c.UpdateSubrequest("u", "Task", []map[string]any{{"Subject": "no id"}}, false); err == nil {
		t.Fatal("update record without Id accepted")
	}
	if _, err := c.UpsertSubrequest("u", "Task", "Message_Sid__c", []map[string]any{{"Subject": "no key"}}, false); err == nil {
		t.Fatal("upsert record without its external ID accepted")
	}
	if _, err := c.CreateSubrequest("c", "Task", []map[string]any{}, false); err == nil {
		t.Fatal("empty collection subrequest accepted")
	}
	if _, err := c.QuerySubrequest("q", "  "); err == nil {
		t.Fatal("empty SOQL accepted")
	}
	// 25 subrequests, 5 of them queries, is what Salesforce allows.
	ok := tooHeavy[:5:5]
	for i := range 20 {
		ok = append(ok, get(fmt.Sprint("d", i)))
	}
	res, err := c.Composite(ctx, false, ok)
	if err != nil || len(res) != 25 {
		t.Fatalf("25 subrequests: %d results, %v", len(res), err)
	}
}

func TestCompositeRetriesTheWholeCallNotASubrequest(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org)
	ctx := context.Background()
	q, _ := c.QuerySubrequest("q", "SELECT Id FROM Task")

	// A 503 on the composite itself is retried like any call.
	org.FailNext(http.MethodPost, "/composite", 1, 503, "SERVER_UNAVAILABLE", "Server temporarily unavailable")
	before := c.Calls()
	if res, err := c.Composite(ctx, false, []Subrequest{q}); err != nil || res[0].Err != nil {
		t.Fatalf("after a 503: %v %+v", err, res)
	}
	if n := c.Calls() - before; n != 2 {
		t.Fatalf("%d requests for a 503 then success, want 2", n)
	}

	// An expired session is renewed once and the composite replayed.
	org.ExpireTokens()
	if _, err := c.Composite(ctx, false, []Subrequest{q}); err != nil {
		t.Fatalf("after token expiry: %v", err)
	}

	// A failing subrequest is its owner's answer: the call is not repeated.
	org.FailNext(http.MethodGet, "/query", 1, 400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
	before = c.Calls()
	res, err := c.Composite(ctx, false, []Subrequest{q})
	if err != nil || res[0].Err == nil || res[0].Err.Code != CodeUnableToLockRow || !IsRetryable(res[0].Err) {
		t.Fatalf("locked subrequest: %v %+v", err, res)
	}
	if n := c.Calls() - before; n != 1 {
		t.Fatalf("%d requests, want 1: a subrequest error must not replay the composite", n)
	}

	// A composite that creates is not replayed after an ambiguous failure.
	create, _ := c.CreateSubrequest("c", "Task", []map[string]any{{"Subject": "once"}}, false)
	org.FailNext(http.MethodPost, "/composite", 1, 504, "", "gateway timeout")
	if _, err := c.Composite(ctx, false, []Subrequest{create}); !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("504 on a creating composite: %v, want ErrOutcomeUnknown", err)
	}
}
