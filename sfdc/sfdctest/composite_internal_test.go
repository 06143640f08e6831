package sfdctest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// Composite writes reach the notification engine like top-level writes,
// once the composite's transaction commits; an allOrNone rollback notifies
// nothing.
func TestCompositeWritesNotifyOnCommitOnly(t *testing.T) {
	org, rec := newHookedOrg(t)
	mustInsert(t, org, "PushTopic", topicFields("SwitchboardTasks", specTaskQuery, "Referenced"))
	tok := org.tokens.issue()
	post := func(allOrNone bool, subs ...map[string]any) {
		t.Helper()
		b, _ := json.Marshal(map[string]any{"allOrNone": allOrNone, "compositeRequest": subs})
		req, _ := http.NewRequest(http.MethodPost, org.URL()+"/services/data/v62.0/composite", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("composite HTTP %d", resp.StatusCode)
		}
	}
	pending := func(ref string) map[string]any {
		return map[string]any{"method": "POST", "url": "/services/data/v62.0/sobjects/Task", "referenceId": ref,
			"body": map[string]any{"Message_Type__c": "Outbound", "Message_Status__c": "Pending"}}
	}
	bogus := map[string]any{"method": "POST", "url": "/services/data/v62.0/sobjects/Task", "referenceId": "bogus",
		"body": map[string]any{"Message_Status__c": "Bogus"}}
	post(true, pending("a"), pending("b"), bogus)
	if ev := rec.take(); len(ev) != 0 {
		t.Fatalf("an allOrNone rollback notified %+v", ev)
	}
	post(false, pending("a"), bogus, pending("b"))
	if ev := rec.take(); len(ev) != 2 || ev[0].typ != "created" || ev[1].typ != "created" {
		t.Fatalf("independent subrequests: events %+v, want 2 created", ev)
	}
}
