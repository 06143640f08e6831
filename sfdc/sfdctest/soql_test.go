package sfdctest_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// The SOQL subset over REST /query: literals, errors, filters, ordering,
// relationships and paging.

func TestSOQLLiteralsWithQuoteAndBackslash(t *testing.T) {
	a := newAPI(t)
	tricky := `O'Brien said "C:\temp\new" 100%_`
	id := a.create("Task", map[string]any{"Subject": tricky})
	a.create("Task", map[string]any{"Subject": "O'Brien"})
	escaped := `'O\'Brien said \"C:\\temp\\new\" 100%_'`
	recs := a.records("SELECT Id, Subject FROM Task WHERE Subject = " + escaped)
	if len(recs) != 1 || recs[0]["Id"] != id || recs[0]["Subject"] != tricky {
		t.Fatalf("= with escapes: %v", recs)
	}
	// LIKE: \% and \_ are literal, % and _ wild; matching is case-insensitive.
	if n := len(a.records(`SELECT Id FROM Task WHERE Subject LIKE 'o\'brien%'`)); n != 2 {
		t.Fatalf("LIKE prefix: %d rows, want 2", n)
	}
	if n := len(a.records(`SELECT Id FROM Task WHERE Subject LIKE '%100\%\_'`)); n != 1 {
		t.Fatalf("LIKE with escaped wildcards: %d rows, want 1", n)
	}
	if n := len(a.records(`SELECT Id FROM Task WHERE Subject LIKE '%100\%x'`)); n != 0 {
		t.Fatalf("LIKE escaped %% must not be wild: %d rows", n)
	}
	if n := len(a.records(`SELECT Id FROM Task WHERE Subject = 'o\u0027brien'`)); n != 1 {
		t.Fatalf(`\u escape: %d rows, want 1`, n)
	}
	msg := wantErr(t, a.query(`SELECT Id FROM Task WHERE Subject = 'bad \q escape'`), 400, "MALFORMED_QUERY")
	if !strings.Contains(msg, `\q`) || !strings.Contains(msg, "ERROR at Row:1:Column:") {
		t.Fatalf("unknown escape message %q", msg)
	}
	wantErr(t, a.query(`SELECT Id FROM Task WHERE Subject = 'unterminated`), 400, "MALFORMED_QUERY")
}

func TestSOQLErrors(t *testing.T) {
	a := newAPI(t)
	cases := []struct {
		soql, code, inMsg string
	}{
		{"SELECT Id FRM Task", "MALFORMED_QUERY", "unexpected token: 'FRM'"},
		{"SELECT Id FROM Task WHERE", "MALFORMED_QUERY", "unexpected token: <EOF>"},
		{"SELECT Id FROM Task WHERE Subject = 'a' AND Status = 'b' OR Priority = 'c'", "MALFORMED_QUERY", "unexpected token: 'OR'"},
		{"SELECT Id FROM Task GROUP BY Subject", "MALFORMED_QUERY", "unexpected token: 'GROUP'"},
		{"SELECT Id, Id FROM Task", "MALFORMED_QUERY", "duplicate field selected"},
		{"SELECT MAX(Subject) FROM Task", "MALFORMED_QUERY", "aggregate"},
		{"SELECT Id FROM Task WHERE Subject IN ()", "MALFORMED_QUERY", "unexpected token: ')'"},
		{"SELECT Id FROM Task LIMIT x", "MALFORMED_QUERY", "unexpected token: 'x'"},
		{"SELECT Id FROM Task WHERE Subject = 'a' ;", "MALFORMED_QUERY", "unexpected token: ';'"},
		{"SELECT Foo FROM Task", "INVALID_FIELD", "No such column 'Foo' on entity 'Task'"},
		{"SELECT Id FROM Task WHERE Foo__c = 'x'", "INVALID_FIELD", "No such column 'Foo__c'"},
		{"SELECT Nope__r.Name FROM Task", "INVALID_FIELD", "Didn't understand relationship 'Nope__r'"},
		{"SELECT Conversation__r.Nope__c FROM Task", "INVALID_FIELD", "No such column 'Nope__c' on entity 'Conversation__c'"},
		{"SELECT Id FROM Task WHERE Description = 'x'", "INVALID_FIELD", "can not be filtered"},
		{"SELECT Id FROM Task WHERE Subject = 5", "INVALID_FIELD", "must be of type string and should be enclosed in quotes"},
		{"SELECT Id FROM Task WHERE CreatedDate > '2024-01-01T00:00:00Z'", "INVALID_FIELD", "must be of type dateTime and should not be enclosed in quotes"},
		{"SELECT Id FROM Channel_Type__c WHERE Max_Message_Length__c > '5'", "INVALID_FIELD", "must be of type double"},
		{"SELECT Id FROM Foo__c", "INVALID_TYPE", "sObject type 'Foo__c' is not supported"},
	}
	for _, c := range cases {
		t.Run(c.soql, func(t *testing.T) {
			msg := wantErr(t, a.query(c.soql), 400, c.code)
			if !strings.Contains(msg, c.inMsg) {
				t.Fatalf("message %q lacks %q", msg, c.inMsg)
			}
		})
	}
	if r := a.do(http.MethodGet, v+"/query", nil); r.status != 400 {
		t.Fatalf("query without q: %d", r.status)
	}
}

func TestSOQLFiltersOrderingAndRelationships(t *testing.T) {
	a := newAPI(t)
	ct := a.create("Channel_Type__c", map[string]any{"Name": "Twilio", "Provider__c": "Twilio SMS"})
	ch := a.create("Channel__c", map[string]any{"Name": "Main", "Phone_Number__c": "+14155550100", "Channel_Type__c": ct})
	conv := a.create("Conversation__c", map[string]any{"Channel__c": ch, "Message_Recipient__c": "(415) 555-0199"})
	t1 := a.create("Task", map[string]any{"Subject": "b", "Conversation__c": conv, "Message_Type__c": "Outbound", "Message_Status__c": "Pending"})
	t2 := a.create("Task", map[string]any{"Subject": "a", "Message_Type__c": "Inbound", "Message_Status__c": "Received",
		"Message_Send_Date__c": "2024-05-01T10:00:00.000+0000"})
	a.create("Task", map[string]any{"Subject": "c"})

	recs := a.records("SELECT Id, Conversation__r.Channel__r.Channel_Type__r.Max_Message_Length__c, Conversation__r.Name, Conversation__r.Channel__r.Phone_Number__c FROM Task WHERE Id = '" + t1 + "'")
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	cr := recs[0]["Conversation__r"].(map[string]any)
	chr := cr["Channel__r"].(map[string]any)
	ctr := chr["Channel_Type__r"].(map[string]any)
	if ctr["Max_Message_Length__c"] != 1600.0 || cr["Name"] != "C-000001" || chr["Phone_Number__c"] != "+14155550100" {
		t.Fatalf("nested relationship record %v", recs[0])
	}
	if attrs := ctr["attributes"].(map[string]any); attrs["type"] != "Channel_Type__c" || !strings.HasSuffix(attrs["url"].(string), "/sobjects/Channel_Type__c/"+ct) {
		t.Fatalf("nested attributes %v", attrs)
	}
	recs = a.records("SELECT Id, Conversation__r.Name FROM Task WHERE Id = '" + t2 + "'")
	if v, ok := recs[0]["Conversation__r"]; !ok || v != nil {
		t.Fatalf("null lookup renders as %v, want null", recs[0])
	}
	// WHERE through a relationship, phone digits LIKE on a number stored as typed.
	if recs := a.records("SELECT Id FROM Task WHERE Conversation__r.Message_Recipient__c LIKE '%415%555%0199%'"); len(recs) != 1 || recs[0]["Id"] != t1 {
		t.Fatalf("LIKE through relationship: %v", recs)
	}
	got := func(soql string) string {
		var out []string
		for _, r := range a.records(soql) {
			s, _ := r["Subject"].(string)
			out = append(out, s)
		}
		return strings.Join(out, ",")
	}
	for soql, want := range map[string]string{
		"SELECT Subject FROM Task ORDER BY Subject":                                                                          "a,b,c",
		"SELECT Subject FROM Task ORDER BY Subject DESC LIMIT 2":                                                             "c,b",
		"SELECT Subject FROM Task ORDER BY Subject LIMIT 2 OFFSET 1":                                                         "b,c",
		"SELECT Subject FROM Task ORDER BY Message_Type__c NULLS LAST, Subject":                                              "a,b,c",
		"SELECT Subject FROM Task ORDER BY Message_Type__c DESC NULLS FIRST":                                                 "c,b,a",
		"SELECT Subject FROM Task WHERE Message_Type__c = 'outbound'":                                                        "b",
		"SELECT Subject FROM Task WHERE Message_Type__c != 'Outbound' ORDER BY Subject":                                      "a,c",
		"SELECT Subject FROM Task WHERE Message_Type__c = null":                                                              "c",
		"SELECT Subject FROM Task WHERE Message_Type__c != null AND (Subject = 'a' OR Subject = 'b') ORDER BY Subject":       "a,b",
		"SELECT Subject FROM Task WHERE Subject IN ('a','c') ORDER BY Subject":                                               "a,c",
		"SELECT Subject FROM Task WHERE Subject NOT IN ('a','c')":                                                            "b",
		"SELECT Subject FROM Task WHERE NOT (Subject = 'a') ORDER BY Subject":                                                "b,c",
		"SELECT Subject FROM Task WHERE Message_Send_Date__c > 2024-05-01T09:59:59Z":                                         "a",
		"SELECT Subject FROM Task WHERE Message_Send_Date__c >= 2024-05-01T12:00:00+02:00":                                   "a",
		"SELECT Subject FROM Task WHERE Message_Send_Date__c < 2024-05-01T10:00:00Z":                                         "",
		"SELECT Subject FROM Task WHERE Id IN ('" + t1 + "','" + t2[:15] + "') ORDER BY Subject":                             "a,b",
		"SELECT Subject FROM Task WHERE Conversation__r.Channel__r.Channel_Type__r.Max_Message_Length__c > 100":              "b",
		"select subject from task where subject > 'a' order by subject asc":                                                  "b,c",
		"SELECT Subject FROM Task WHERE CreatedDate > 2000-01-01T00:00:00Z AND Subject != 'c' AND Subject != 'b'":            "a",
		"SELECT Subject FROM Task WHERE Message_Type__c = 'Outbound' AND Message_Status__c = 'Pending' AND Subject LIKE 'B'": "b",
		"SELECT Task.Subject FROM Task WHERE Task.Subject = 'c'":                                                             "c",
		"SELECT Subject FROM Task WHERE (Subject = 'a' OR Subject = 'b') AND (Message_Type__c = 'Inbound' OR Subject = 'c')": "a",
	} {
		if g := got(soql); g != want {
			t.Errorf("%s\n got %q, want %q", soql, g, want)
		}
	}
	r := a.query("SELECT COUNT() FROM Task WHERE Subject != 'a'")
	var page struct {
		TotalSize int   `json:"totalSize"`
		Records   []any `json:"records"`
	}
	r.json(t, &page)
	if page.TotalSize != 2 || len(page.Records) != 0 {
		t.Fatalf("COUNT(): %s", r.body)
	}
	if recs := a.records("SELECT Id FROM Task WHERE ActivityDate = 2024-01-31"); len(recs) != 0 {
		t.Fatalf("date literal: %v", recs)
	}
}

func TestQueryPaginationOverTwoPages(t *testing.T) {
	a := newAPI(t)
	a.org.SetQueryPageSize(3)
	for i := range 5 {
		a.create("Task", map[string]any{"Subject": fmt.Sprint("p", i)})
	}
	type page struct {
		TotalSize      int              `json:"totalSize"`
		Done           bool             `json:"done"`
		NextRecordsURL string           `json:"nextRecordsUrl"`
		Records        []map[string]any `json:"records"`
	}
	var p1, p2 page
	a.query("SELECT Id, Subject FROM Task ORDER BY Subject").json(t, &p1)
	if p1.TotalSize != 5 || p1.Done || len(p1.Records) != 3 || !regexp.MustCompile(`^/services/data/v62\.0/query/01g\w{15}-3$`).MatchString(p1.NextRecordsURL) {
		t.Fatalf("page 1: %+v", p1)
	}
	a.do(http.MethodGet, p1.NextRecordsURL, nil).json(t, &p2)
	if p2.TotalSize != 5 || !p2.Done || len(p2.Records) != 2 || p2.NextRecordsURL != "" || p2.Records[1]["Subject"] != "p4" {
		t.Fatalf("page 2: %+v", p2)
	}
	if c := a.org.Calls()["GET query"]; c != 2 {
		t.Fatalf("GET query counted %d, want 2", c)
	}
	wantErr(t, a.do(http.MethodGet, v+"/query/01gNOPE-3", nil), 400, "INVALID_QUERY_LOCATOR")
	wantErr(t, a.do(http.MethodGet, p1.NextRecordsURL[:len(p1.NextRecordsURL)-1]+"9", nil), 400, "INVALID_QUERY_LOCATOR")
	a.org.SetQueryPageSize(0)
	a.query("SELECT Id FROM Task").json(t, &p1)
	if !p1.Done || len(p1.Records) != 5 {
		t.Fatalf("default page size: %+v", p1)
	}
}
