package sfdc

import (
	"context"
	"encoding/json"
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
	q, err := c.querySubrequest("tasks", "SELECT Id, Subject FROM Task WHERE Subject = 'existing'")
	if err != nil {
		t.Fatal(err)
	}
	create := collectionSub(t, "create", http.MethodPost, c.dataPath("composite", "sobjects"), "Task", []map[string]any{{"Subject": "new 1"}, {"Subject": "new 2"}})
	update := collectionSub(t, "update", http.MethodPatch, c.dataPath("composite", "sobjects"), "Task", []map[string]any{{"Id": existing, "Subject": "renamed"}, {"Id": gone, "Subject": "gone"}})
	upsert := collectionSub(t, "upsert", http.MethodPatch, c.dataPath("composite", "sobjects", "Task", "Message_Sid__c"), "Task", []map[string]any{{"Message_Sid__c": "SM00000000000000000000000000000009", "Subject": "u"}})
	bad, _ := c.querySubrequest("bad", "SELECT FROM Task")
	org.ResetCalls()
	calls := c.Calls()
	res, err := c.composite(ctx, false, []subrequest{q, create, update, upsert, bad})
	if err != nil {
		t.Fatal(err)
	}
	if c.Calls()-calls != 1 || org.Calls()["POST composite"] != 1 || org.TotalCalls() != 1 {
		t.Fatalf("client sent %d requests, org counted %v; want one composite", c.Calls()-calls, org.Calls())
	}
	var page queryPage
	err = json.Unmarshal(res[0].Body, &page)
	if err != nil || res[0].Err != nil || page.TotalSize != 1 || len(page.Records) != 1 || !strings.Contains(string(page.Records[0]), existing) {
		t.Fatalf("query subresponse: %+v %v", page, err)
	}
	created, err := saveResults(res[1])
	if err != nil || len(created) != 2 || !created[0].Success || created[1].ID == "" || res[1].Status != 200 {
		t.Fatalf("create subresponse: %+v %v", created, err)
	}
	updated, err := saveResults(res[2])
	if err != nil || len(updated) != 2 || !updated[0].Success || updated[1].Success {
		t.Fatalf("update subresponse: %+v %v", updated, err)
	}
	var re *RecordError
	if !errors.As(updated[1].Err(), &re) || re.Errors[0].Code != CodeEntityIsDeleted {
		t.Fatalf("failed item: %v", updated[1].Err())
	}
	upserted, err := saveResults(res[3])
	if err != nil || !upserted[0].Created {
		t.Fatalf("upsert subresponse: %+v %v", upserted, err)
	}
	if res[4].Err == nil || res[4].Err.Code != "MALFORMED_QUERY" || res[4].Err.Status != 400 || res[4].Status != 400 {
		t.Fatalf("malformed query subresponse: %+v", res[4])
	}
	if res[4].Err.Path != "/services/data/v62.0/query" || res[4].Err.Method != http.MethodGet {
		t.Fatalf("error names %s %s, want the subrequest's method and path without its query", res[4].Err.Method, res[4].Err.Path)
	}
}

func TestCompositeAllOrNoneHaltsTheOthers(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org)
	good := collectionSub(t, "good", http.MethodPost, c.dataPath("composite", "sobjects"), "Task", []map[string]any{{"Subject": "kept?"}})
	bad := subrequest{Method: http.MethodPost, URL: "/services/data/v62.0/sobjects/Task", ReferenceID: "bad", Body: map[string]any{"Message_Status__c": "Bogus"}}
	res, err := c.composite(context.Background(), true, []subrequest{good, bad})
	if err != nil {
		t.Fatal(err)
	}
	halted := func(r subResponse) bool { return r.Err != nil && r.Err.Code == "PROCESSING_HALTED" }
	if !halted(res[0]) || halted(res[1]) || res[1].Err.Code != "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" {
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
	q := func(ref string) subrequest {
		s, _ := c.querySubrequest(ref, "SELECT Id FROM Task")
		return s
	}
	get := func(ref string) subrequest {
		return subrequest{Method: http.MethodGet, URL: "/services/data/v62.0/sobjects/Task/describe", ReferenceID: ref}
	}
	var tooMany, tooHeavy []subrequest
	for i := range 26 {
		tooMany = append(tooMany, get(fmt.Sprint("g", i)))
	}
	for i := range 6 {
		tooHeavy = append(tooHeavy, q(fmt.Sprint("q", i)))
	}
	for name, subs := range map[string][]subrequest{
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
			if _, err := c.composite(ctx, false, subs); err == nil {
				t.Fatal("accepted")
			}
			if c.Calls() != before {
				t.Fatal("a refused composite was sent")
			}
		})
	}
	if _, err := c.querySubrequest("q", "  "); err == nil {
		t.Fatal("empty SOQL accepted")
	}
	// 25 subrequests, 5 of them queries, is what Salesforce allows.
	ok := tooHeavy[:5:5]
	for i := range 20 {
		ok = append(ok, get(fmt.Sprint("d", i)))
	}
	res, err := c.composite(ctx, false, ok)
	if err != nil || len(res) != 25 {
		t.Fatalf("25 subrequests: %d results, %v", len(res), err)
	}
}

func TestCompositeRetriesTheWholeCallNotASubrequest(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org)
	ctx := context.Background()
	q, _ := c.querySubrequest("q", "SELECT Id FROM Task")

	// A 503 on the composite itself is retried like any call.
	org.FailNext(http.MethodPost, "/composite", 1, 503, "SERVER_UNAVAILABLE", "Server temporarily unavailable")
	before := c.Calls()
	if res, err := c.composite(ctx, false, []subrequest{q}); err != nil || res[0].Err != nil {
		t.Fatalf("after a 503: %v %+v", err, res)
	}
	if n := c.Calls() - before; n != 2 {
		t.Fatalf("%d requests for a 503 then success, want 2", n)
	}

	// An expired session is renewed once and the composite replayed.
	org.ExpireTokens()
	if _, err := c.composite(ctx, false, []subrequest{q}); err != nil {
		t.Fatalf("after token expiry: %v", err)
	}

	// A failing subrequest is its owner's answer: the call is not repeated.
	org.FailNext(http.MethodGet, "/query", 1, 400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
	before = c.Calls()
	res, err := c.composite(ctx, false, []subrequest{q})
	if err != nil || res[0].Err == nil || res[0].Err.Code != CodeUnableToLockRow || !IsRetryable(res[0].Err) {
		t.Fatalf("locked subrequest: %v %+v", err, res)
	}
	if n := c.Calls() - before; n != 1 {
		t.Fatalf("%d requests, want 1: a subrequest error must not replay the composite", n)
	}

	// A composite that creates is not replayed after an ambiguous failure.
	create := collectionSub(t, "c", http.MethodPost, c.dataPath("composite", "sobjects"), "Task", []map[string]any{{"Subject": "once"}})
	org.FailNext(http.MethodPost, "/composite", 1, 504, "", "gateway timeout")
	if _, err := c.composite(ctx, false, []subrequest{create}); !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("504 on a creating composite: %v, want ErrOutcomeUnknown", err)
	}
}

// collectionSub is an sObject Collections subrequest as the engine's Save
// builds one.
func collectionSub(t *testing.T, ref, method, path, object string, records []map[string]any) subrequest {
	t.Helper()
	objs, err := collectionRecords(object, records, func(int, map[string]json.RawMessage) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	return subrequest{Method: method, URL: path, ReferenceID: ref, Body: collectionBody{false, objs}}
}

// saveResults decodes a collection subrequest's body: one SaveResult per
// record, in order (ref §2.6).
func saveResults(r subResponse) ([]SaveResult, error) {
	if r.Err != nil {
		return nil, r.Err
	}
	var res []SaveResult
	err := json.Unmarshal(r.Body, &res)
	return res, err
}
