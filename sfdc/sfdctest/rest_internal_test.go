package sfdctest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"
)

type event struct {
	channel, typ string
	sobject      map[string]any
}

// recorder collects what the notification engine publishes.
type recorder struct {
	mu     sync.Mutex
	events []event
}

func (r *recorder) take() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

func newHookedOrg(t *testing.T) (*Org, *recorder) {
	t.Helper()
	org := Start(t)
	rec := &recorder{}
	org.rest.notifyHook = func(channel, typ string, sobject map[string]any) {
		rec.mu.Lock()
		rec.events = append(rec.events, event{channel, typ, sobject})
		rec.mu.Unlock()
	}
	return org, rec
}

func mustInsert(t *testing.T, org *Org, object string, fields map[string]any) string {
	t.Helper()
	id, err := org.Insert(object, fields)
	if err != nil {
		t.Fatalf("insert %s: %v", object, err)
	}
	return id
}

func topicFields(name, query, notifyFor string) map[string]any {
	return map[string]any{"Name": name, "Query": query, "ApiVersion": 62.0, "NotifyForFields": notifyFor}
}

const specTaskQuery = "SELECT Id, Message_Type__c, Message_Status__c, Conversation__c FROM Task WHERE Message_Type__c = 'Outbound' AND Message_Status__c = 'Pending'"

func TestNotificationsReferenced(t *testing.T) {
	org, rec := newHookedOrg(t)
	topicID := mustInsert(t, org, "PushTopic", topicFields("SwitchboardTasks", specTaskQuery, "Referenced"))
	if !org.rest.pushTopicActive("SwitchboardTasks") || org.rest.pushTopicActive("switchboardtasks") || org.rest.pushTopicActive("Other") {
		t.Fatal("pushTopicActive: want exactly the case-sensitive name active")
	}

	pending := mustInsert(t, org, "Task", map[string]any{"Subject": "a", "Message_Type__c": "Outbound", "Message_Status__c": "Pending"})
	mustInsert(t, org, "Task", map[string]any{"Subject": "b", "Message_Type__c": "Inbound", "Message_Status__c": "Received"})
	ev := rec.take()
	if len(ev) != 1 || ev[0].channel != "/topic/SwitchboardTasks" || ev[0].typ != "created" {
		t.Fatalf("create events %+v", ev)
	}
	want := map[string]any{"Id": pending, "Message_Type__c": "Outbound", "Message_Status__c": "Pending", "Conversation__c": nil}
	if fmt.Sprint(ev[0].sobject) != fmt.Sprint(want) {
		t.Fatalf("sobject %v, want the selected fields %v", ev[0].sobject, want)
	}

	// Subject is not referenced: no event.
	if err := org.Update("Task", pending, map[string]any{"Subject": "edited"}); err != nil {
		t.Fatal(err)
	}
	// Referenced field changed but WHERE no longer matches: no event.
	if err := org.Update("Task", pending, map[string]any{"Message_Status__c": "Sent"}); err != nil {
		t.Fatal(err)
	}
	if ev := rec.take(); len(ev) != 0 {
		t.Fatalf("events for non-referenced change / non-matching record: %+v", ev)
	}
	// Back to Pending (a user retry): event.
	if err := org.Update("Task", pending, map[string]any{"Message_Status__c": "Pending"}); err != nil {
		t.Fatal(err)
	}
	// Writing the same value is not a change.
	if err := org.Update("Task", pending, map[string]any{"Message_Status__c": "Pending"}); err != nil {
		t.Fatal(err)
	}
	if ev := rec.take(); len(ev) != 1 || ev[0].typ != "updated" || ev[0].sobject["Message_Status__c"] != "Pending" {
		t.Fatalf("retry events %+v", ev)
	}
	// Delete is not notified unless the topic asks (it defaults to true).
	if err := org.Delete("Task", pending); err != nil {
		t.Fatal(err)
	}
	if ev := rec.take(); len(ev) != 1 || ev[0].typ != "deleted" || ev[0].sobject["Id"] != pending {
		t.Fatalf("delete events %+v", ev)
	}
	// Inactive topics are silent and not subscribable.
	if err := org.Update("PushTopic", topicID, map[string]any{"IsActive": false}); err != nil {
		t.Fatal(err)
	}
	mustInsert(t, org, "Task", map[string]any{"Message_Type__c": "Outbound", "Message_Status__c": "Pending"})
	if ev := rec.take(); len(ev) != 0 || org.rest.pushTopicActive("SwitchboardTasks") {
		t.Fatalf("inactive topic: %+v", ev)
	}
}

func TestNotifyForFieldsModesAndOperations(t *testing.T) {
	org, rec := newHookedOrg(t)
	q := "SELECT Id, Status__c FROM Conversation__c WHERE Message_Recipient__c != null"
	mustInsert(t, org, "PushTopic", topicFields("All", q, "All"))
	mustInsert(t, org, "PushTopic", topicFields("Select", q, "Select"))
	mustInsert(t, org, "PushTopic", topicFields("Where", q, "Where"))
	noCreate := topicFields("NoCreate", q, "Referenced")
	noCreate["NotifyForOperationCreate"] = false
	noCreate["NotifyForOperationDelete"] = false
	mustInsert(t, org, "PushTopic", noCreate)

	channels := func() map[string]int {
		out := map[string]int{}
		for _, e := range rec.take() {
			out[e.channel+" "+e.typ]++
		}
		return out
	}
	id := mustInsert(t, org, "Conversation__c", map[string]any{"Message_Recipient__c": "+14155550100"})
	if got := fmt.Sprint(channels()); got != "map[/topic/All created:1 /topic/Select created:1 /topic/Where created:1]" {
		t.Fatalf("create: %s", got)
	}
	steps := []struct {
		change map[string]any
		want   string
	}{
		{map[string]any{"Record_Id__c": "001000000000001"}, "map[/topic/All updated:1]"},
		{map[string]any{"Status__c": "Closed"}, "map[/topic/All updated:1 /topic/NoCreate updated:1 /topic/Select updated:1]"},
		{map[string]any{"Message_Recipient__c": "(415) 555-0100"}, "map[/topic/All updated:1 /topic/NoCreate updated:1 /topic/Where updated:1]"},
		{map[string]any{"Message_Recipient__c": nil}, "map[]"},
	}
	for _, s := range steps {
		if err := org.Update("Conversation__c", id, s.change); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(channels()); got != s.want {
			t.Fatalf("after %v: %s, want %s", s.change, got, s.want)
		}
	}
	if err := org.Update("Conversation__c", id, map[string]any{"Message_Recipient__c": "+1"}); err != nil {
		t.Fatal(err)
	}
	channels()
	if err := org.Delete("Conversation__c", id); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(channels()); got != "map[/topic/All deleted:1 /topic/Select deleted:1 /topic/Where deleted:1]" {
		t.Fatalf("delete: %s", got)
	}
}

func TestRESTWritesNotifyAndRollbacksDoNot(t *testing.T) {
	org, rec := newHookedOrg(t)
	mustInsert(t, org, "PushTopic", topicFields("SwitchboardTasks", specTaskQuery, "Referenced"))
	tok := org.tokens.issue()
	post := func(method, path string, body any) int {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, org.URL()+"/services/data/v62.0"+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	task := func(status string) map[string]any {
		return map[string]any{"attributes": map[string]any{"type": "Task"}, "Message_Type__c": "Outbound", "Message_Status__c": status}
	}
	if s := post(http.MethodPost, "/composite/sobjects", map[string]any{"allOrNone": true, "records": []any{task("Pending"), task("Bogus")}}); s != 200 {
		t.Fatalf("collection status %d", s)
	}
	if ev := rec.take(); len(ev) != 0 {
		t.Fatalf("rolled-back records notified: %+v", ev)
	}
	post(http.MethodPost, "/composite/sobjects", map[string]any{"records": []any{task("Pending"), task("Bogus"), task("Pending")}})
	if ev := rec.take(); len(ev) != 2 {
		t.Fatalf("partial collection: %d events, want 2", len(ev))
	}
	if s := post(http.MethodPatch, "/sobjects/Task/Message_Sid__c/"+url.PathEscape("SM1"), map[string]any{"Message_Type__c": "Outbound", "Message_Status__c": "Pending"}); s != 201 {
		t.Fatalf("upsert %d", s)
	}
	if ev := rec.take(); len(ev) != 1 || ev[0].typ != "created" {
		t.Fatalf("upsert events %+v", ev)
	}
}
