package sfdctest_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestUserRecordAccess: the org answers UserRecordAccess from its sharing
// model — owner, shared (GrantRead), admins — for one user and at most 200
// records a query, and refuses the query shapes Salesforce refuses.
func TestUserRecordAccess(t *testing.T) {
	a := newAPI(t)
	agent, err := a.org.Insert("User", map[string]any{"Username": "agent@switchboard.example", "LastName": "Agent"})
	if err != nil {
		t.Fatal(err)
	}
	mine, err := a.org.InsertAs(agent, "Contact", map[string]any{"LastName": "Mine"})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := a.org.Get("Contact", mine); c["CreatedById"] != agent || c["OwnerId"] != agent {
		t.Fatalf("InsertAs: CreatedById %v, OwnerId %v, want %s", c["CreatedById"], c["OwnerId"], agent)
	}
	theirs, _ := a.org.Insert("Contact", map[string]any{"LastName": "Theirs"})
	shared, _ := a.org.Insert("Lead", map[string]any{"LastName": "Shared", "Company": "X"})
	a.org.GrantRead(agent, shared)

	access := func(user string, ids ...string) map[string]bool {
		t.Helper()
		q := fmt.Sprintf("SELECT RecordId, HasReadAccess FROM UserRecordAccess WHERE UserId = '%s' AND RecordId IN ('%s')", user, strings.Join(ids, "','"))
		got := map[string]bool{}
		for _, r := range a.records(q) {
			got[r["RecordId"].(string)] = r["HasReadAccess"].(bool)
		}
		return got
	}
	got := access(agent, mine, theirs, shared[:15], "003000000000000AAA")
	if len(got) != 3 || !got[mine] || got[theirs] || !got[shared] {
		t.Fatalf("agent's access = %v; want %s and %s readable, %s not, the unknown Id absent", got, mine, shared, theirs)
	}
	if got := access(a.org.UserID(), mine, theirs, shared); len(got) != 3 || !got[mine] || !got[theirs] || !got[shared] {
		t.Fatalf("the integration user (View All) reads everything; got %v", got)
	}
	if rows := a.records(fmt.Sprintf("SELECT RecordId FROM UserRecordAccess WHERE UserId = '%s' AND RecordId IN ('%s', '%s') AND HasReadAccess = true", agent, mine, theirs)); len(rows) != 1 || rows[0]["RecordId"] != mine {
		t.Fatalf("HasReadAccess = true filter: %v", rows)
	}

	many := make([]string, 201)
	for i := range many {
		many[i] = mine
	}
	for _, c := range []struct{ q, code, msg string }{
		{"SELECT RecordId, HasReadAccess FROM UserRecordAccess WHERE RecordId = '" + mine + "'", "MALFORMED_QUERY", "UserId"},
		{"SELECT RecordId, HasReadAccess FROM UserRecordAccess WHERE UserId = '" + agent + "'", "MALFORMED_QUERY", "RecordId"},
		{"SELECT RecordId FROM UserRecordAccess WHERE UserId IN ('" + agent + "') AND RecordId = '" + mine + "'", "MALFORMED_QUERY", "single UserId"},
		{"SELECT RecordId FROM UserRecordAccess WHERE UserId = '" + agent + "' OR RecordId = '" + mine + "'", "MALFORMED_QUERY", "AND"},
		{"SELECT HasReadAccess FROM UserRecordAccess WHERE UserId = '" + agent + "' AND RecordId = '" + mine + "'", "INVALID_FIELD", "RecordId field must be selected"},
		{"SELECT RecordId, UserId FROM UserRecordAccess WHERE UserId = '" + agent + "' AND RecordId = '" + mine + "'", "INVALID_FIELD", "UserId"},
		{"SELECT RecordId FROM UserRecordAccess WHERE UserId = '" + agent + "' AND RecordId IN ('" + strings.Join(many, "','") + "')", "EXCEEDED_ID_LIMIT", "200"},
	} {
		if msg := wantErr(t, a.query(c.q), 400, c.code); !strings.Contains(msg, c.msg) {
			t.Errorf("%s: message %q, want it to mention %q", c.q, msg, c.msg)
		}
	}
}
