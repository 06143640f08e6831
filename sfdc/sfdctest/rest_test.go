package sfdctest_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
)

func TestVersionsListIsPublicAndUncounted(t *testing.T) {
	a := newAPI(t)
	a.tok = ""
	r := a.do(http.MethodGet, "/services/data/", nil)
	var vs []map[string]string
	r.json(t, &vs)
	if r.status != 200 || len(vs) != 6 || vs[0]["version"] != "59.0" || vs[5]["url"] != "/services/data/v64.0" {
		t.Fatalf("versions %d %v", r.status, vs)
	}
	if r.header.Get("Sforce-Limit-Info") != "" || a.org.TotalCalls() != 0 {
		t.Fatal("the version list was counted")
	}
	a.tok = login(t, a.org)
	wantErr(t, a.do(http.MethodGet, "/services/data/v58.0/query?q=SELECT+Id+FROM+Task", nil), 404, "NOT_FOUND")
	wantErr(t, a.do(http.MethodGet, "/services/data/v65.0/sobjects", nil), 404, "NOT_FOUND")
}

func TestRecordCRUDAndFieldValidation(t *testing.T) {
	a := newAPI(t)
	contact := a.create("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "MobilePhone": "(415) 555-0100"})
	if !regexp.MustCompile(`^003\w{15}$`).MatchString(contact) {
		t.Fatalf("Contact Id %q", contact)
	}
	var rec map[string]any
	a.do(http.MethodGet, v+"/sobjects/Contact/"+contact, nil).json(t, &rec)
	if rec["MobilePhone"] != "(415) 555-0100" || rec["Name"] != "Ada Lovelace" || rec["OwnerId"] != a.org.UserID() || rec["CreatedById"] != a.org.UserID() {
		t.Fatalf("stored contact %v", rec)
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000\+0000$`).MatchString(rec["CreatedDate"].(string)) {
		t.Fatalf("CreatedDate format %v", rec["CreatedDate"])
	}
	task := a.create("Task", map[string]any{"Subject": "hi", "WhoId": contact[:15], "Message_Sid__c": "SM1"})
	if r := a.do(http.MethodPatch, v+"/sobjects/Task/"+task, map[string]any{"Message_Status__c": "Sent", "Subject": ""}); r.status != 204 || len(r.body) != 0 {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	a.do(http.MethodGet, v+"/sobjects/Task/"+task+"?fields=Subject,Message_Status__c,WhoId", nil).json(t, &rec)
	if rec["Subject"] != nil || rec["Message_Status__c"] != "Sent" || rec["WhoId"] != contact || rec["Status"] != nil && len(rec) != 5 {
		t.Fatalf("GET with fields: %v", rec)
	}
	wantErr(t, a.do(http.MethodGet, v+"/sobjects/Task/"+task+"?fields=Nope", nil), 400, "INVALID_FIELD")

	long := strings.Repeat("x", 35)
	for name, c := range map[string]struct {
		object string
		body   map[string]any
		status int
		code   string
	}{
		"unknown field":       {"Task", map[string]any{"Nope__c": 1}, 400, "INVALID_FIELD"},
		"too long":            {"Task", map[string]any{"Message_Sid__c": long}, 400, "STRING_TOO_LONG"},
		"bad picklist":        {"Task", map[string]any{"Message_Status__c": "Teleported"}, 400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"},
		"required missing":    {"Contact", map[string]any{"FirstName": "x"}, 400, "REQUIRED_FIELD_MISSING"},
		"malformed reference": {"Task", map[string]any{"WhoId": "not-an-id"}, 400, "MALFORMED_ID"},
		"wrong object ref":    {"Task", map[string]any{"Conversation__c": contact}, 400, "FIELD_INTEGRITY_EXCEPTION"},
		"dangling reference":  {"Task", map[string]any{"WhoId": "003" + contact[3:14] + "Z"}, 400, "INVALID_CROSS_REFERENCE_KEY"},
		"duplicate ext id":    {"Task", map[string]any{"Message_Sid__c": "sm1"}, 400, "DUPLICATE_VALUE"},
		"read-only field":     {"Task", map[string]any{"CreatedDate": "2024-01-01T00:00:00Z"}, 400, "INVALID_FIELD_FOR_INSERT_UPDATE"},
		"Id in body":          {"Task", map[string]any{"Id": task}, 400, "INVALID_FIELD_FOR_INSERT_UPDATE"},
		"wrong JSON type":     {"Task", map[string]any{"Message_Send_Date__c": 5}, 400, "JSON_PARSER_ERROR"},
		"bad datetime":        {"Task", map[string]any{"Message_Send_Date__c": "yesterday"}, 400, "JSON_PARSER_ERROR"},
		"bad email":           {"Contact", map[string]any{"LastName": "x", "Email": "nope"}, 400, "INVALID_EMAIL_ADDRESS"},
		"auto-number Name":    {"Conversation__c", map[string]any{"Name": "C-9"}, 400, "INVALID_FIELD_FOR_INSERT_UPDATE"},
		"unknown object":      {"Nope__c", map[string]any{}, 404, "NOT_FOUND"},
	} {
		t.Run(name, func(t *testing.T) {
			wantErr(t, a.do(http.MethodPost, v+"/sobjects/"+c.object, c.body), c.status, c.code)
		})
	}
	// A deleted contact is a dangling reference.
	other := a.create("Contact", map[string]any{"LastName": "Gone"})
	if r := a.do(http.MethodDelete, v+"/sobjects/Contact/"+other, nil); r.status != 204 {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	wantErr(t, a.do(http.MethodPost, v+"/sobjects/Task", map[string]any{"WhoId": other}), 400, "INVALID_CROSS_REFERENCE_KEY")
	wantErr(t, a.do(http.MethodGet, v+"/sobjects/Contact/"+other, nil), 404, "NOT_FOUND")
	wantErr(t, a.do(http.MethodPatch, v+"/sobjects/Contact/"+other, map[string]any{"LastName": "x"}), 404, "ENTITY_IS_DELETED")
	wantErr(t, a.do(http.MethodDelete, v+"/sobjects/Contact/"+other, nil), 404, "ENTITY_IS_DELETED")
	wantErr(t, a.do(http.MethodPatch, v+"/sobjects/Contact/003000000000000BAD", map[string]any{"LastName": "x"}), 400, "MALFORMED_ID")
	wantErr(t, a.do(http.MethodPatch, v+"/sobjects/Task/"+task, map[string]any{"Status": nil}), 400, "REQUIRED_FIELD_MISSING")
	wantErr(t, a.do(http.MethodPut, v+"/sobjects/Task/"+task, map[string]any{}), 405, "METHOD_NOT_ALLOWED")
	if r := a.do(http.MethodPost, v+"/sobjects/Task", "not an object"); r.status != 400 {
		t.Fatalf("non-object body: %d", r.status)
	}
	c1 := a.create("Conversation__c", map[string]any{})
	c2 := a.create("Conversation__c", map[string]any{})
	n1, _ := a.org.Get("Conversation__c", c1)
	n2, _ := a.org.Get("Conversation__c", c2)
	if n1["Name"] != "C-000001" || n2["Name"] != "C-000002" || n1["Status__c"] != "Open" {
		t.Fatalf("auto-number names %v %v", n1["Name"], n2["Name"])
	}
}

func TestUpsertByExternalID(t *testing.T) {
	a := newAPI(t)
	key := url.PathEscape("+14155550100|a13000000000001")
	path := v + "/sobjects/Opt_In__c/UniqueId__c/" + key
	type result struct {
		ID      string `json:"id"`
		Success bool   `json:"success"`
		Created bool   `json:"created"`
		Errors  []any  `json:"errors"`
	}
	var r1, r2 result
	resp := a.do(http.MethodPatch, path, map[string]any{"Active__c": true, "Keyword__c": "START"})
	resp.json(t, &r1)
	if resp.status != 201 || !r1.Created || !r1.Success || r1.ID == "" || r1.Errors == nil {
		t.Fatalf("first upsert %d %s", resp.status, resp.body)
	}
	resp = a.do(http.MethodPatch, path, map[string]any{"Active__c": false, "Keyword__c": "STOP"})
	resp.json(t, &r2)
	if resp.status != 200 || r2.Created || r2.ID != r1.ID {
		t.Fatalf("second upsert %d %s", resp.status, resp.body)
	}
	rec, _ := a.org.Get("Opt_In__c", r1.ID)
	if rec["Keyword__c"] != "STOP" || rec["UniqueId__c"] != "+14155550100|a13000000000001" || rec["Active__c"] != false {
		t.Fatalf("upserted record %v", rec)
	}
	// updateOnly never creates.
	wantErr(t, a.do(http.MethodPatch, v+"/sobjects/Opt_In__c/UniqueId__c/other?updateOnly=true", map[string]any{}), 404, "NOT_FOUND")
	// Ambiguous value (planted duplicates) → 300 listing both, nothing written.
	d1, err := a.org.Insert("Task", map[string]any{"Subject": "d1", "Message_Sid__c": "SMdup"})
	if err != nil {
		t.Fatal(err)
	}
	d2, _ := a.org.Insert("Task", map[string]any{"Subject": "d2", "Message_Sid__c": "SMdup"})
	resp = a.do(http.MethodPatch, v+"/sobjects/Task/Message_Sid__c/SMdup", map[string]any{"Subject": "which"})
	var urls []string
	resp.json(t, &urls)
	if resp.status != 300 || len(urls) != 2 || !strings.Contains(strings.Join(urls, " "), d1) || !strings.Contains(strings.Join(urls, " "), d2) {
		t.Fatalf("ambiguous upsert %d %s", resp.status, resp.body)
	}
	if rec, _ := a.org.Get("Task", d1); rec["Subject"] != "d1" {
		t.Fatal("ambiguous upsert wrote")
	}
	msg := wantErr(t, a.do(http.MethodPatch, v+"/sobjects/Task/Subject/x", map[string]any{}), 404, "NOT_FOUND")
	if msg != "Provided external ID field does not exist or is not accessible: Subject" {
		t.Fatalf("message %q", msg)
	}
	wantErr(t, a.do(http.MethodPatch, v+"/sobjects/Task/No_Such__c/x", map[string]any{}), 404, "NOT_FOUND")
	wantErr(t, a.do(http.MethodPatch, path, map[string]any{"Id": r1.ID}), 400, "INVALID_FIELD")
	wantErr(t, a.do(http.MethodPatch, path, map[string]any{"UniqueId__c": "different"}), 400, "INVALID_FIELD")
	// GET by external ID.
	var got map[string]any
	a.do(http.MethodGet, path, nil).json(t, &got)
	if got["Id"] != r1.ID {
		t.Fatalf("GET by external id %v", got)
	}
}

type item struct {
	ID      string `json:"id"`
	Success bool   `json:"success"`
	Created *bool  `json:"created"`
	Errors  []struct {
		StatusCode string   `json:"statusCode"`
		Message    string   `json:"message"`
		Fields     []string `json:"fields"`
	} `json:"errors"`
}

// TestCollectionsPartialFailureAndAllOrNone: sObject Collections create,
// update, upsert and delete report per-record results, roll back under
// allOrNone, and answer whole-request failures with the REST error array.
// Long on purpose: each step reads the records the one before wrote.
func TestCollectionsPartialFailureAndAllOrNone(t *testing.T) {
	a := newAPI(t)
	task := func(subject string, extra ...any) map[string]any {
		m := map[string]any{"attributes": map[string]any{"type": "Task"}, "Subject": subject}
		for i := 0; i < len(extra); i += 2 {
			m[extra[i].(string)] = extra[i+1]
		}
		return m
	}
	collection := func(method, path string, allOrNone bool, recs ...map[string]any) []item {
		t.Helper()
		r := a.do(method, v+path, map[string]any{"allOrNone": allOrNone, "records": recs})
		if r.status != 200 {
			t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
		}
		var out []item
		r.json(t, &out)
		if len(out) != len(recs) {
			t.Fatalf("%d results for %d records", len(out), len(recs))
		}
		return out
	}
	res := collection(http.MethodPost, "/composite/sobjects", false,
		task("ok 1"), task("bad", "Message_Status__c", "Nope"), task("ok 2"),
		map[string]any{"attributes": map[string]any{"type": "Contact"}, "LastName": "Mixed"})
	if !res[0].Success || res[1].Success || !res[2].Success || !res[3].Success || res[0].Created != nil {
		t.Fatalf("partial create %+v", res)
	}
	if e := res[1].Errors[0]; e.StatusCode != "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" || e.Fields[0] != "Message_Status__c" || res[1].ID != "" {
		t.Fatalf("failed item %+v", res[1])
	}
	if n := len(a.org.Records("Task")); n != 2 {
		t.Fatalf("%d Tasks after partial create, want 2", n)
	}
	res = collection(http.MethodPost, "/composite/sobjects", true, task("r1"), task("bad", "Message_Type__c", "Sideways"), task("r2"))
	if res[0].Success || res[2].Success || res[0].Errors[0].StatusCode != "ALL_OR_NONE_OPERATION_ROLLED_BACK" || res[1].Errors[0].StatusCode != "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" {
		t.Fatalf("allOrNone create %+v", res)
	}
	if n := len(a.org.Records("Task")); n != 2 {
		t.Fatalf("%d Tasks after rolled-back create, want 2", n)
	}

	ok1, ok2 := res0ID(t, a, "ok 1"), res0ID(t, a, "ok 2")
	upd := func(id, subject string) map[string]any {
		return map[string]any{"attributes": map[string]any{"type": "Task"}, "id": id, "Subject": subject}
	}
	res = collection(http.MethodPatch, "/composite/sobjects", true, upd(ok1, "u1"), upd("00T000000000000BAD", "x"), upd(ok2, "u2"))
	if res[0].Success || res[1].Errors[0].StatusCode != "MALFORMED_ID" || res[2].Errors[0].StatusCode != "ALL_OR_NONE_OPERATION_ROLLED_BACK" {
		t.Fatalf("allOrNone update %+v", res)
	}
	if rec, _ := a.org.Get("Task", ok1); rec["Subject"] != "ok 1" {
		t.Fatalf("allOrNone committed an update: %v", rec["Subject"])
	}
	res = collection(http.MethodPatch, "/composite/sobjects", false, upd(ok1, "u1"), upd("00T000000000000BAD", "x"), upd(ok2, "u2"),
		map[string]any{"attributes": map[string]any{"type": "Task"}, "Subject": "no id"})
	if !res[0].Success || res[1].Success || !res[2].Success || res[3].Errors[0].StatusCode != "MISSING_ARGUMENT" || res[0].ID != ok1 {
		t.Fatalf("partial update %+v", res)
	}
	if rec, _ := a.org.Get("Task", ok2); rec["Subject"] != "u2" {
		t.Fatalf("partial update not committed: %v", rec["Subject"])
	}

	// Upsert collection: create, then update, per-record duplicates and missing keys.
	opt := func(key, kw string) map[string]any {
		m := map[string]any{"attributes": map[string]any{"type": "Opt_In__c"}, "Keyword__c": kw}
		if key != "" {
			m["UniqueId__c"] = key
		}
		return m
	}
	res = collection(http.MethodPatch, "/composite/sobjects/Opt_In__c/UniqueId__c", false, opt("k1", "START"), opt("k2", "START"))
	if !res[0].Success || res[0].Created == nil || !*res[0].Created || !*res[1].Created {
		t.Fatalf("upsert create %+v", res)
	}
	res = collection(http.MethodPatch, "/composite/sobjects/Opt_In__c/UniqueId__c", false, opt("K1", "STOP"), opt("", "x"), opt("k3", "a"), opt("k3", "b"))
	if !res[0].Success || *res[0].Created || res[1].Errors[0].StatusCode != "MISSING_ARGUMENT" || res[2].Errors[0].StatusCode != "DUPLICATE_EXTERNAL_ID" || res[3].Success {
		t.Fatalf("upsert update %+v", res)
	}
	wantErr(t, a.do(http.MethodPatch, v+"/composite/sobjects/Opt_In__c/Keyword__c", map[string]any{"records": []any{}}), 404, "NOT_FOUND")

	// Whole-request failures use the REST error array.
	many := make([]map[string]any, 201)
	for i := range many {
		many[i] = task("x")
	}
	wantErr(t, a.do(http.MethodPost, v+"/composite/sobjects", map[string]any{"records": many}), 400, "EXCEEDED_ID_LIMIT")
	wantErr(t, a.do(http.MethodPost, v+"/composite/sobjects", map[string]any{"records": []any{map[string]any{"Subject": "untyped"}}}), 400, "INVALID_TYPE")

	// Delete: mixed results, then allOrNone rollback.
	r := a.do(http.MethodDelete, v+"/composite/sobjects?ids="+ok1+",00T000000000000BAD,"+ok1+"&allOrNone=false", nil)
	var del []item
	r.json(t, &del)
	if r.status != 200 || !del[0].Success || del[1].Errors[0].StatusCode != "MALFORMED_ID" || del[2].Errors[0].StatusCode != "ENTITY_IS_DELETED" || del[2].ID != ok1 {
		t.Fatalf("delete %d %s", r.status, r.body)
	}
	r = a.do(http.MethodDelete, v+"/composite/sobjects?ids="+ok2+","+ok1+"&allOrNone=true", nil)
	r.json(t, &del)
	if del[0].Success || del[0].Errors[0].StatusCode != "ALL_OR_NONE_OPERATION_ROLLED_BACK" {
		t.Fatalf("allOrNone delete %s", r.body)
	}
	if _, ok := a.org.Get("Task", ok2); !ok {
		t.Fatal("allOrNone delete removed a record")
	}
	if a.org.Calls()["DELETE composite/sobjects"] != 2 || a.org.Calls()["PATCH composite/sobjects"] < 4 {
		t.Fatalf("calls %v", a.org.Calls())
	}
}

func res0ID(t *testing.T, a *api, subject string) string {
	t.Helper()
	recs, err := a.org.Query("SELECT Id FROM Task WHERE Subject = '" + subject + "'")
	if err != nil || len(recs) != 1 {
		t.Fatalf("find %q: %v %v", subject, recs, err)
	}
	return recs[0]["Id"].(string)
}

func TestLimitsHeaderAndQuota(t *testing.T) {
	a := newAPI(t)
	a.org.SetAPIUsage(10, 12)
	for _, want := range []string{"api-usage=11/12", "api-usage=12/12"} {
		if got := a.query("SELECT Id FROM Task").header.Get("Sforce-Limit-Info"); got != want {
			t.Fatalf("Sforce-Limit-Info %q, want %q", got, want)
		}
	}
	r := a.query("SELECT Id FROM Task")
	if msg := wantErr(t, r, 403, "REQUEST_LIMIT_EXCEEDED"); msg != "TotalRequests Limit exceeded." || r.header.Get("Sforce-Limit-Info") != "api-usage=12/12" {
		t.Fatalf("exhausted: %q %q", msg, r.header.Get("Sforce-Limit-Info"))
	}
	a.org.SetAPIUsage(0, 100)
	if got := a.query("SELECT Id FROM Task").header.Get("Sforce-Limit-Info"); got != "api-usage=1/100" {
		t.Fatalf("after reset %q", got)
	}
}

func TestFaultKnobs(t *testing.T) {
	a := newAPI(t)
	id := a.create("Task", map[string]any{"Subject": "x"})

	a.org.LockRows(2)
	for range 2 {
		msg := wantErr(t, a.do(http.MethodPatch, v+"/sobjects/Task/"+id, map[string]any{"Subject": "y"}), 400, "UNABLE_TO_LOCK_ROW")
		if !strings.HasPrefix(msg, "unable to obtain exclusive access to this record") {
			t.Fatalf("lock message %q", msg)
		}
	}
	if r := a.query("SELECT Id FROM Task"); r.status != 200 {
		t.Fatal("a read consumed or hit a row lock")
	}
	if r := a.do(http.MethodPatch, v+"/sobjects/Task/"+id, map[string]any{"Subject": "y"}); r.status != 204 {
		t.Fatalf("third write: %d %s", r.status, r.body)
	}

	a.org.FailNext("GET", "/query", 2, 503, "SERVER_UNAVAILABLE", "down")
	a.org.FailNext("POST", "/sobjects/Task", 1, 502, "", "Salesforce Edge wasn't able to communicate")
	wantErr(t, a.query("SELECT Id FROM Task"), 503, "SERVER_UNAVAILABLE")
	if r := a.do(http.MethodGet, v+"/sobjects/Task/"+id, nil); r.status != 200 {
		t.Fatalf("non-matching path hit the fault: %d", r.status)
	}
	r := a.do(http.MethodPost, v+"/sobjects/Task", map[string]any{"Subject": "z"})
	if r.status != 502 || string(r.body) != "Salesforce Edge wasn't able to communicate" {
		t.Fatalf("502 fault: %d %s", r.status, r.body)
	}
	wantErr(t, a.query("SELECT Id FROM Task"), 503, "SERVER_UNAVAILABLE")
	if r := a.query("SELECT Id FROM Task"); r.status != 200 {
		t.Fatalf("fault outlived its count: %d", r.status)
	}
	// A newer FailNext for the same route replaces the rest of the older one.
	a.org.FailNext("GET", "/query", 5, 401, "INVALID_SESSION_ID", "Session expired or invalid")
	a.org.FailNext("GET", "/query", 1, 401, "INVALID_SESSION_ID", "This session is not valid for use with the REST API")
	if msg := wantErr(t, a.query("SELECT Id FROM Task"), 401, "INVALID_SESSION_ID"); !strings.Contains(msg, "REST API") {
		t.Fatalf("replaced fault message %q", msg)
	}
	if r := a.query("SELECT Id FROM Task"); r.status != 200 {
		t.Fatalf("replaced fault left its remainder: %d", r.status)
	}
	// Token endpoint faults use the OAuth shape.
	a.org.FailNext("POST", "/services/oauth2/token", 1, 400, "rate_limit_exceeded", "slow down")
	if status, body := tokenReq(t, a.org, url.Values{"grant_type": {"client_credentials"}}, ""); status != 400 || body["error"] != "rate_limit_exceeded" {
		t.Fatalf("token fault %d %v", status, body)
	}

	a.org.SetUnavailable(150 * time.Millisecond)
	wantErr(t, a.query("SELECT Id FROM Task"), 503, "SERVER_UNAVAILABLE")
	time.Sleep(200 * time.Millisecond)
	if r := a.query("SELECT Id FROM Task"); r.status != 200 {
		t.Fatalf("still unavailable: %d", r.status)
	}

	a.org.SetLatency(100 * time.Millisecond)
	start := time.Now()
	a.query("SELECT Id FROM Task")
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("latency knob: call took %v", d)
	}
	a.org.SetLatency(0)
}

func TestCallCounting(t *testing.T) {
	a := newAPI(t)
	id := a.create("Task", map[string]any{"Subject": "x"})
	a.do(http.MethodPatch, v+"/sobjects/Task/"+id, map[string]any{"Subject": "y"})
	a.do(http.MethodPatch, v+"/sobjects/Task/Message_Sid__c/SM9", map[string]any{"Subject": "y"})
	a.do(http.MethodGet, v+"/sobjects/Task/describe", nil)
	a.do(http.MethodPost, v+"/composite/sobjects", map[string]any{"records": []any{}})
	a.query("SELECT Id FROM Task")
	a.do(http.MethodGet, "/services/data/", nil)
	want := map[string]int{"POST sobjects": 1, "PATCH sobjects": 2, "GET describe": 1, "POST composite/sobjects": 1, "GET query": 1}
	got := a.org.Calls()
	for k, n := range want {
		if got[k] != n {
			t.Fatalf("Calls %v, want %v", got, want)
		}
	}
	if a.org.TotalCalls() != 6 || len(got) != len(want) {
		t.Fatalf("TotalCalls %d, calls %v", a.org.TotalCalls(), got)
	}
	a.org.ResetCalls()
	if a.org.TotalCalls() != 0 {
		t.Fatal("ResetCalls")
	}
	// Test-side access is not an API call.
	if _, err := a.org.Insert("Task", map[string]any{"Subject": "direct"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.org.Query("SELECT Id FROM Task"); err != nil || a.org.TotalCalls() != 0 {
		t.Fatalf("direct access counted: %v %d", err, a.org.TotalCalls())
	}
}

func TestDescribeAndSchemaKnobs(t *testing.T) {
	a := newAPI(t)
	type describe struct {
		Name   string `json:"name"`
		Fields []struct {
			Name           string   `json:"name"`
			Type           string   `json:"type"`
			Length         int      `json:"length"`
			ExternalID     bool     `json:"externalId"`
			Unique         bool     `json:"unique"`
			Nillable       bool     `json:"nillable"`
			ReferenceTo    []string `json:"referenceTo"`
			PicklistValues []struct {
				Value  string `json:"value"`
				Active bool   `json:"active"`
			} `json:"picklistValues"`
		} `json:"fields"`
	}
	var d describe
	a.do(http.MethodGet, v+"/sobjects/Task/describe", nil).json(t, &d)
	found := map[string]bool{}
	for _, f := range d.Fields {
		found[f.Name] = true
		switch f.Name {
		case "Message_Sid__c":
			if f.Type != "string" || f.Length != 34 || !f.ExternalID || !f.Unique {
				t.Fatalf("Message_Sid__c %+v", f)
			}
		case "Message_Status__c":
			if f.Type != "picklist" || len(f.PicklistValues) != 12 || f.PicklistValues[0].Value != "Pending" || f.PicklistValues[11].Value != "Draft" || !f.PicklistValues[0].Active {
				t.Fatalf("Message_Status__c %+v", f)
			}
		case "Conversation__c":
			if f.Type != "reference" || f.ReferenceTo[0] != "Conversation__c" {
				t.Fatalf("Conversation__c %+v", f)
			}
		}
	}
	for _, name := range []string{"Subject", "Description", "Status", "WhoId", "WhatId", "OwnerId", "ActivityDate", "CreatedDate", "LastModifiedDate", "SystemModstamp",
		"Conversation__c", "Message_Type__c", "Message_Send_Date__c", "Message_Status_Check_Date__c", "Error_Description__c"} {
		if !found[name] {
			t.Fatalf("Task describe lacks %s", name)
		}
	}
	for _, obj := range []string{"Contact", "Lead", "Account", "Group", "User", "Conversation__c", "Channel_Type__c", "Channel__c",
		"External_Channel__c", "Message_Template__c", "Message_Template_Translation__c", "Opt_In__c", "PushTopic"} {
		if r := a.do(http.MethodGet, v+"/sobjects/"+obj+"/describe", nil); r.status != 200 {
			t.Fatalf("describe %s: %d", obj, r.status)
		}
	}
	if !a.org.DropField("Task", "Message_Sid__c") || a.org.DropField("Task", "Message_Sid__c") {
		t.Fatal("DropField result")
	}
	a.do(http.MethodGet, v+"/sobjects/Task/describe", nil).json(t, &d)
	for _, f := range d.Fields {
		if f.Name == "Message_Sid__c" {
			t.Fatal("dropped field still described")
		}
	}
	wantErr(t, a.query("SELECT Message_Sid__c FROM Task"), 400, "INVALID_FIELD")
	wantErr(t, a.do(http.MethodPost, v+"/sobjects/Task", map[string]any{"Message_Sid__c": "SM1"}), 400, "INVALID_FIELD")
	if !a.org.DropObject("Message_Template_Translation__c") {
		t.Fatal("DropObject")
	}
	wantErr(t, a.do(http.MethodGet, v+"/sobjects/Message_Template_Translation__c/describe", nil), 404, "NOT_FOUND")
	wantErr(t, a.query("SELECT Id FROM Message_Template_Translation__c"), 400, "INVALID_TYPE")
}

func TestPushTopicValidation(t *testing.T) {
	a := newAPI(t)
	topic := func(name, query string, extra ...any) map[string]any {
		m := map[string]any{"Name": name, "Query": query, "ApiVersion": 62.0, "NotifyForFields": "Referenced"}
		for i := 0; i < len(extra); i += 2 {
			m[extra[i].(string)] = extra[i+1]
		}
		return m
	}
	const q = "SELECT Id, Message_Type__c, Message_Status__c, Conversation__c FROM Task WHERE Message_Type__c = 'Outbound' AND Message_Status__c = 'Pending'"
	id := a.create("PushTopic", topic("SwitchboardTasks", q))
	if !strings.HasPrefix(id, "0IF") {
		t.Fatalf("PushTopic Id %s", id)
	}
	recs := a.records("SELECT Id, Name, IsActive, NotifyForOperationCreate, NotifyForOperationUndelete, ApiVersion FROM PushTopic WHERE Name = 'SwitchboardTasks'")
	if len(recs) != 1 || recs[0]["IsActive"] != true || recs[0]["NotifyForOperationCreate"] != true || recs[0]["ApiVersion"] != 62.0 {
		t.Fatalf("PushTopic defaults %v", recs)
	}
	for name, c := range map[string]struct {
		body        map[string]any
		code, inMsg string
	}{
		"duplicate name":  {topic("switchboardtasks", q), "DUPLICATE_VALUE", "duplicate value found: Name"},
		"name too long":   {topic(strings.Repeat("n", 26), q), "STRING_TOO_LONG", "max length=25"},
		"query too long":  {topic("Long", "SELECT Id FROM Task WHERE Subject = '"+strings.Repeat("x", 1300)+"'"), "STRING_TOO_LONG", "max length=1300"},
		"no Id":           {topic("NoId", "SELECT Subject FROM Task"), "INVALID_FIELD", "Id"},
		"ORDER BY":        {topic("Ord", "SELECT Id, Subject FROM Task ORDER BY Subject"), "INVALID_FIELD", "'ORDER BY' clause is not allowed"},
		"LIMIT":           {topic("Lim", "SELECT Id, Subject FROM Task LIMIT 5"), "INVALID_FIELD", "'LIMIT' is not allowed"},
		"COUNT":           {topic("Cnt", "SELECT COUNT() FROM Task"), "INVALID_FIELD", "Aggregate queries are not supported"},
		"GROUP BY":        {topic("Grp", "SELECT Id FROM Task GROUP BY Subject"), "INVALID_FIELD", "Aggregate queries are not supported"},
		"relationship":    {topic("Rel", "SELECT Id, Conversation__r.Name FROM Task"), "INVALID_FIELD", "relationships are not supported"},
		"NOT":             {topic("Not", "SELECT Id, Subject FROM Task WHERE NOT (Subject = 'x')"), "INVALID_FIELD", "'NOT' is not supported"},
		"unsupported obj": {topic("Grp2", "SELECT Id, Name FROM Group"), "INVALID_FIELD", "not supported"},
		"bad SOQL":        {topic("Bad", "SELECT Id FRM Task"), "MALFORMED_QUERY", "unexpected token"},
		"unknown field":   {topic("Unk", "SELECT Id, Nope__c FROM Task"), "INVALID_FIELD", "No such column"},
		"bad notify":      {topic("Nf", q, "NotifyForFields", "Some"), "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Notify For Fields"},
		"select needs":    {topic("Sel", "SELECT Id FROM Task WHERE Subject = 'x'", "NotifyForFields", "Select"), "INVALID_FIELD", "SELECT"},
		"referenced only": {topic("Ref", "SELECT Id FROM Task"), "INVALID_FIELD", "Referenced"},
		"where needs":     {topic("Wh", "SELECT Id, Subject FROM Task", "NotifyForFields", "Where"), "INVALID_FIELD", "WHERE"},
		"old ApiVersion":  {topic("Old", q, "ApiVersion", 20.0), "FIELD_INTEGRITY_EXCEPTION", "greater than 20.0"},
		"no ApiVersion":   {topic("NoV", q, "ApiVersion", nil), "REQUIRED_FIELD_MISSING", "ApiVersion"},
		"no query":        {map[string]any{"Name": "NoQ", "ApiVersion": 62.0}, "REQUIRED_FIELD_MISSING", "Query"},
	} {
		t.Run(name, func(t *testing.T) {
			msg := wantErr(t, a.do(http.MethodPost, v+"/sobjects/PushTopic", c.body), 400, c.code)
			if !strings.Contains(msg, c.inMsg) {
				t.Fatalf("message %q lacks %q", msg, c.inMsg)
			}
		})
	}
	// NOT IN is allowed; All needs no non-Id field.
	a.create("PushTopic", topic("NotIn", "SELECT Id, Subject FROM Task WHERE Subject NOT IN ('a')"))
	a.create("PushTopic", topic("AllOfThem", "SELECT Id FROM Conversation__c", "NotifyForFields", "All"))
	// Updates are validated too, and deactivation works.
	wantErr(t, a.do(http.MethodPatch, v+"/sobjects/PushTopic/"+id, map[string]any{"Query": "SELECT Subject FROM Task"}), 400, "INVALID_FIELD")
	if r := a.do(http.MethodPatch, v+"/sobjects/PushTopic/"+id, map[string]any{"IsActive": false}); r.status != 204 {
		t.Fatalf("deactivate: %d %s", r.status, r.body)
	}
	if r := a.do(http.MethodDelete, v+"/sobjects/PushTopic/"+id, nil); r.status != 204 {
		t.Fatalf("delete: %d", r.status)
	}
}

func TestTestSideRecordAccess(t *testing.T) {
	org := sfdctest.Start(t)
	id, err := org.Insert("Channel_Type__c", map[string]any{"Name": "T", "Max_Message_Length__c": 160})
	if err != nil {
		t.Fatal(err)
	}
	rec, ok := org.Get("Channel_Type__c", id)
	if !ok || rec["Max_Message_Length__c"] != 160.0 || rec["CreatedById"] == org.UserID() {
		t.Fatalf("Get %v", rec)
	}
	if err := org.Update("Channel_Type__c", id, map[string]any{"Provider__c": "Fax"}); err == nil {
		t.Fatal("bad picklist accepted")
	} else if e, ok := err.(*sfdctest.Error); !ok || e.Code != "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" {
		t.Fatalf("error %#v", err)
	}
	if _, err := org.Insert("Nope__c", nil); err == nil {
		t.Fatal("unknown object accepted")
	}
	if _, err := org.Query("SELECT Id FRM X"); err == nil {
		t.Fatal("bad SOQL accepted")
	}
	if err := org.Delete("Channel_Type__c", id); err != nil {
		t.Fatal(err)
	}
	if _, ok := org.Get("Channel_Type__c", id); ok || len(org.Records("Channel_Type__c")) != 0 {
		t.Fatal("record survived Delete")
	}
}
