package sfdctest_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

type compositeReply struct {
	CompositeResponse []struct {
		Body           any               `json:"body"`
		HTTPHeaders    map[string]string `json:"httpHeaders"`
		HTTPStatusCode int               `json:"httpStatusCode"`
		ReferenceID    string            `json:"referenceId"`
	} `json:"compositeResponse"`
}

func sub(method, path, ref string, body any) map[string]any {
	m := map[string]any{"method": method, "url": v + path, "referenceId": ref}
	if body != nil {
		m["body"] = body
	}
	return m
}

func querySub(ref, soql string) map[string]any {
	return sub(http.MethodGet, "/query?q="+url.QueryEscape(soql), ref, nil)
}

func (a *api) composite(allOrNone bool, subs ...map[string]any) compositeReply {
	a.t.Helper()
	r := a.do(http.MethodPost, v+"/composite", map[string]any{"allOrNone": allOrNone, "compositeRequest": subs})
	if r.status != 200 {
		a.t.Fatalf("composite: HTTP %d %s, want 200", r.status, r.body)
	}
	var out compositeReply
	r.json(a.t, &out)
	if len(out.CompositeResponse) != len(subs) {
		a.t.Fatalf("%d subresponses for %d subrequests: %s", len(out.CompositeResponse), len(subs), r.body)
	}
	return out
}

func errCode(body any) string {
	items, _ := body.([]any)
	if len(items) == 0 {
		return ""
	}
	m, _ := items[0].(map[string]any)
	s, _ := m["errorCode"].(string)
	return s
}

func TestCompositeReferencesRunInOrderAndCountAsOneCall(t *testing.T) {
	a := newAPI(t)
	a.create("Contact", map[string]any{"LastName": "Existing", "MobilePhone": "+14155550100"})
	before := a.query("SELECT Id FROM Account").header.Get("Sforce-Limit-Info")
	a.org.ResetCalls()
	r := a.do(http.MethodPost, v+"/composite", map[string]any{"allOrNone": true, "collateSubrequests": false, "compositeRequest": []any{
		sub(http.MethodPost, "/sobjects/Account", "refAccount", map[string]any{"Name": "Sample Account"}),
		sub(http.MethodPost, "/sobjects/Contact", "refContact", map[string]any{"LastName": "Sample", "AccountId": "@{refAccount.id}"}),
		querySub("existing", "SELECT Id, LastName FROM Contact WHERE LastName = 'Existing'"),
		sub(http.MethodPatch, "/sobjects/Contact/@{existing.records[0].Id}", "rename", map[string]any{"LastName": "Renamed via @{refAccount.id}"}),
		sub(http.MethodGet, "/sobjects/Contact/@{refContact.id}", "readBack", nil),
	}})
	if r.status != 200 {
		t.Fatalf("HTTP %d %s", r.status, r.body)
	}
	var out compositeReply
	r.json(t, &out)
	want := []int{201, 201, 200, 204, 200}
	for i, res := range out.CompositeResponse {
		if res.HTTPStatusCode != want[i] {
			t.Fatalf("subresponse %d (%s): %d %v, want %d", i, res.ReferenceID, res.HTTPStatusCode, res.Body, want[i])
		}
	}
	accID := out.CompositeResponse[0].Body.(map[string]any)["id"].(string)
	if loc := out.CompositeResponse[0].HTTPHeaders["Location"]; loc != v+"/sobjects/Account/"+accID {
		t.Fatalf("Location %q", loc)
	}
	if got := out.CompositeResponse[4].Body.(map[string]any)["AccountId"]; got != accID {
		t.Fatalf("contact AccountId %v, want %s (from @{refAccount.id})", got, accID)
	}
	if c := a.org.Calls(); c["POST composite"] != 1 || len(c) != 1 {
		t.Fatalf("calls %v, want exactly one POST composite", c)
	}
	if recs := a.records("SELECT Id FROM Contact WHERE LastName = 'Renamed via " + accID + "'"); len(recs) != 1 {
		t.Fatalf("reference spliced into a body string: %d records", len(recs))
	}
	after := r.header.Get("Sforce-Limit-Info")
	if !strings.HasPrefix(before, "api-usage=") || after == "" || usage(t, after) != usage(t, before)+1 {
		t.Fatalf("Sforce-Limit-Info %q then %q: the composite must count one call", before, after)
	}
}

func usage(t *testing.T, h string) int {
	t.Helper()
	var used, limit int
	if _, err := fmt.Sscanf(h, "api-usage=%d/%d", &used, &limit); err != nil {
		t.Fatalf("Sforce-Limit-Info %q: %v", h, err)
	}
	return used
}

func TestCompositeAllOrNoneRollsBackEverything(t *testing.T) {
	a := newAPI(t)
	out := a.composite(true,
		sub(http.MethodPost, "/sobjects/Account", "good", map[string]any{"Name": "Kept?"}),
		sub(http.MethodPost, "/sobjects/Task", "bad", map[string]any{"Message_Status__c": "Bogus"}),
		sub(http.MethodPost, "/sobjects/Account", "later", map[string]any{"Name": "Never run"}),
	)
	r := out.CompositeResponse
	if r[1].HTTPStatusCode != 400 || errCode(r[1].Body) != "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" {
		t.Fatalf("failing subrequest: %d %v", r[1].HTTPStatusCode, r[1].Body)
	}
	for _, i := range []int{0, 2} {
		if r[i].HTTPStatusCode != 400 || errCode(r[i].Body) != "PROCESSING_HALTED" {
			t.Fatalf("subrequest %s: %d %v, want 400 PROCESSING_HALTED", r[i].ReferenceID, r[i].HTTPStatusCode, r[i].Body)
		}
	}
	if n := len(a.org.Records("Account")); n != 0 {
		t.Fatalf("%d accounts survived an allOrNone rollback", n)
	}
}

func TestCompositeWithoutAllOrNoneRunsIndependentSubrequests(t *testing.T) {
	a := newAPI(t)
	out := a.composite(false,
		sub(http.MethodPost, "/sobjects/Task", "bad", map[string]any{"Message_Status__c": "Bogus"}),
		sub(http.MethodPost, "/sobjects/Account", "good", map[string]any{"Name": "Kept"}),
		sub(http.MethodPatch, "/sobjects/Task/@{bad.id}", "dependent", map[string]any{"Subject": "x"}),
		querySub("malformed", "SELECT FROM Task"),
		querySub("count", "SELECT Id FROM Account"),
	)
	r := out.CompositeResponse
	if r[0].HTTPStatusCode != 400 || r[1].HTTPStatusCode != 201 {
		t.Fatalf("independent subrequests: %d, %d", r[0].HTTPStatusCode, r[1].HTTPStatusCode)
	}
	if r[2].HTTPStatusCode != 400 || errCode(r[2].Body) != "PROCESSING_HALTED" {
		t.Fatalf("subrequest depending on a failed one: %d %v", r[2].HTTPStatusCode, r[2].Body)
	}
	if !strings.Contains(fmt.Sprint(r[2].Body), "No value for bad.id found in bad") {
		t.Fatalf("dependent message %v", r[2].Body)
	}
	if r[3].HTTPStatusCode != 400 || errCode(r[3].Body) != "MALFORMED_QUERY" {
		t.Fatalf("malformed query subrequest: %d %v", r[3].HTTPStatusCode, r[3].Body)
	}
	// The query runs inside the composite and sees the account created
	// two subrequests earlier.
	if page := r[4].Body.(map[string]any); page["totalSize"] != 1.0 {
		t.Fatalf("query after create: %v", page)
	}
	if n := len(a.org.Records("Account")); n != 1 {
		t.Fatalf("%d accounts, want the independent one committed", n)
	}
}

func TestCompositeLimits(t *testing.T) {
	a := newAPI(t)
	var many []map[string]any
	for i := range 26 {
		many = append(many, sub(http.MethodPost, "/sobjects/Account", fmt.Sprint("a", i), map[string]any{"Name": "x"}))
	}
	wantErr(t, a.do(http.MethodPost, v+"/composite", map[string]any{"compositeRequest": many}), 400, "LIMIT_EXCEEDED")

	var heavy []map[string]any
	for i := range 5 {
		heavy = append(heavy, querySub(fmt.Sprint("q", i), "SELECT Id FROM Account"))
	}
	heavy = append(heavy, sub(http.MethodPatch, "/composite/sobjects", "coll", map[string]any{"records": []any{}}))
	wantErr(t, a.do(http.MethodPost, v+"/composite", map[string]any{"compositeRequest": heavy}), 400, "LIMIT_EXCEEDED")
	if n := len(a.org.Records("Account")); n != 0 {
		t.Fatalf("a refused composite ran %d creates", n)
	}

	// 25 subrequests with exactly 5 heavy ones is allowed.
	ok := append(heavy[:5:5], many[:20]...)
	out := a.composite(false, ok...)
	for _, res := range out.CompositeResponse {
		if res.HTTPStatusCode >= 400 {
			t.Fatalf("25 subrequests, 5 of them queries: %s %d %v", res.ReferenceID, res.HTTPStatusCode, res.Body)
		}
	}

	for name, body := range map[string]map[string]any{
		"no subrequests":        {"compositeRequest": []any{}},
		"no referenceId":        {"compositeRequest": []any{map[string]any{"method": "GET", "url": v + "/sobjects"}}},
		"bad referenceId":       {"compositeRequest": []any{sub(http.MethodGet, "/sobjects", "a-b", nil)}},
		"duplicate referenceId": {"compositeRequest": []any{sub(http.MethodGet, "/sobjects", "a", nil), sub(http.MethodGet, "/sobjects", "a", nil)}},
		"lower-case method":     {"compositeRequest": []any{sub("get", "/sobjects", "a", nil)}},
		"Authorization header":  {"compositeRequest": []any{map[string]any{"method": "GET", "url": v + "/sobjects", "referenceId": "a", "httpHeaders": map[string]string{"Authorization": "Bearer x"}}}},
	} {
		t.Run(name, func(t *testing.T) {
			wantErr(t, a.do(http.MethodPost, v+"/composite", body), 400, "INVALID_INPUT")
		})
	}
	wantErr(t, a.do(http.MethodGet, v+"/composite", nil), 405, "METHOD_NOT_ALLOWED")
	r := a.do(http.MethodPost, v+"/composite", nil)
	wantErr(t, r, 400, "JSON_PARSER_ERROR")
}

func TestCompositeSubrequestsBehaveLikeTopLevelCalls(t *testing.T) {
	a := newAPI(t)
	id := a.create("Task", map[string]any{"Subject": "one", "Message_Sid__c": "SM00000000000000000000000000000001"})
	a.org.SetQueryPageSize(200)
	for i := range 250 {
		a.org.Insert("Account", map[string]any{"Name": fmt.Sprint("acc", i)})
	}
	a.org.LockRows(1)
	out := a.composite(false,
		sub(http.MethodPatch, "/composite/sobjects", "locked", map[string]any{"records": []any{map[string]any{"attributes": map[string]any{"type": "Task"}, "Id": id, "Subject": "x"}}}),
		sub(http.MethodPatch, "/composite/sobjects", "coll", map[string]any{"allOrNone": false, "records": []any{
			map[string]any{"attributes": map[string]any{"type": "Task"}, "Id": id, "Subject": "two"},
			map[string]any{"attributes": map[string]any{"type": "Task"}, "Id": "00T000000000000AAA", "Subject": "gone"},
		}}),
		sub(http.MethodPatch, "/composite/sobjects/Task/Message_Sid__c", "upsert", map[string]any{"records": []any{
			map[string]any{"attributes": map[string]any{"type": "Task"}, "Message_Sid__c": "SM00000000000000000000000000000001", "Description": "d"},
			map[string]any{"attributes": map[string]any{"type": "Task"}, "Message_Sid__c": "SM00000000000000000000000000000002", "Subject": "new"},
		}}),
		querySub("paged", "SELECT Id FROM Account"),
		sub(http.MethodGet, "/sobjects/Task/Message_Sid__c/SM00000000000000000000000000000002", "byExt", nil),
	)
	r := out.CompositeResponse
	if r[0].HTTPStatusCode != 400 || errCode(r[0].Body) != "UNABLE_TO_LOCK_ROW" {
		t.Fatalf("LockRows applies to a write subrequest: %d %v", r[0].HTTPStatusCode, r[0].Body)
	}
	items := r[1].Body.([]any)
	if r[1].HTTPStatusCode != 200 || items[0].(map[string]any)["success"] != true || items[1].(map[string]any)["success"] != false {
		t.Fatalf("collection subrequest: %d %v", r[1].HTTPStatusCode, r[1].Body)
	}
	ups := r[2].Body.([]any)
	if ups[0].(map[string]any)["created"] != false || ups[1].(map[string]any)["created"] != true {
		t.Fatalf("upsert subrequest %v", ups)
	}
	page := r[3].Body.(map[string]any)
	next, _ := page["nextRecordsUrl"].(string)
	if page["done"] != false || page["totalSize"] != 250.0 || next == "" {
		t.Fatalf("first page inside a composite: done=%v total=%v next=%q", page["done"], page["totalSize"], next)
	}
	more := a.do(http.MethodGet, next, nil)
	var rest struct {
		Done    bool  `json:"done"`
		Records []any `json:"records"`
	}
	more.json(t, &rest)
	if more.status != 200 || !rest.Done || len(rest.Records) != 50 {
		t.Fatalf("following a composite query's locator: %d done=%v %d records", more.status, rest.Done, len(rest.Records))
	}
	if r[4].HTTPStatusCode != 200 || r[4].Body.(map[string]any)["Subject"] != "new" {
		t.Fatalf("read by external id after the upsert: %d %v", r[4].HTTPStatusCode, r[4].Body)
	}

	// A fault with an error code lands on the matching subrequest only; the
	// composite call itself still answers 200.
	a.org.FailNext(http.MethodGet, "/query", 1, 400, "INVALID_FIELD", "No such column 'Foo' on entity 'Task'.")
	out = a.composite(false, querySub("q1", "SELECT Id FROM Task"), querySub("q2", "SELECT Id FROM Task"))
	if errCode(out.CompositeResponse[0].Body) != "INVALID_FIELD" || out.CompositeResponse[1].HTTPStatusCode != 200 {
		t.Fatalf("fault per subrequest: %v", out.CompositeResponse)
	}
	// Nested composites and unknown resources fail their own subrequest.
	out = a.composite(false, sub(http.MethodPost, "/composite", "nested", map[string]any{}), sub(http.MethodGet, "/nothing", "unknown", nil),
		map[string]any{"method": "GET", "url": "/services/data/v30.0/sobjects", "referenceId": "oldVersion"})
	for _, res := range out.CompositeResponse {
		if res.HTTPStatusCode < 400 {
			t.Fatalf("%s: %d %v, want an error", res.ReferenceID, res.HTTPStatusCode, res.Body)
		}
	}
}
