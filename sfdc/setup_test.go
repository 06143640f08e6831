package sfdc

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
)

func TestSetupCreatesSpecTopicsAndChannelsThenChangesNothing(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org)
	ctx := context.Background()

	rep, err := Setup(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantCreated := []string{
		"PushTopic SwitchboardTasks", "PushTopic SwitchboardConversations", "PushTopic SwitchboardChat",
		"External_Channel__c Contact.MobilePhone", "External_Channel__c Contact.Phone",
		"External_Channel__c Lead.MobilePhone", "External_Channel__c Lead.Phone",
		"External_Channel__c Account.Phone",
	}
	if !slices.Equal(rep.Created, wantCreated) || len(rep.Updated) != 0 || !rep.Ready() {
		t.Fatalf("first run:\n%s", rep)
	}

	var topics []PushTopic
	if err := c.Query(ctx, "SELECT Id, Name, Query, ApiVersion, IsActive, NotifyForFields, NotifyForOperationCreate, NotifyForOperationUpdate, NotifyForOperationDelete, NotifyForOperationUndelete FROM PushTopic", &topics); err != nil {
		t.Fatal(err)
	}
	// SPEC §2, verbatim.
	want := map[string]string{
		"SwitchboardTasks":         "SELECT Id, Message_Type__c, Message_Status__c, Conversation__c FROM Task WHERE Message_Type__c = 'Outbound' AND Message_Status__c = 'Pending'",
		"SwitchboardConversations": "SELECT Id, Status__c, Record_Id__c, Channel__c, Message_Recipient__c FROM Conversation__c",
		"SwitchboardChat":          "SELECT Id, Conversation__c, Message_Type__c, Message_Status__c FROM Task WHERE Conversation__c != null",
	}
	if len(topics) != 3 {
		t.Fatalf("org has %d PushTopics, want 3: %+v", len(topics), topics)
	}
	for _, p := range topics {
		if p.Query != want[p.Name] || p.APIVersion != 62 || !p.IsActive || p.NotifyForFields != "Referenced" ||
			!p.NotifyForOperationCreate || !p.NotifyForOperationUpdate || p.NotifyForOperationDelete || p.NotifyForOperationUndelete {
			t.Errorf("PushTopic %+v differs from SPEC §2", p)
		}
	}
	var channels []map[string]any
	if err := c.Query(ctx, "SELECT Id, Name, Object_API_Name__c, Field_API_Name__c FROM External_Channel__c", &channels); err != nil || len(channels) != 5 {
		t.Fatalf("External Channels: %v %v", err, channels)
	}

	calls := c.Calls()
	rep, err = Setup(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Changed() || len(rep.Unchanged) != 8 || !rep.Ready() || !strings.HasPrefix(rep.String(), "no change\n") {
		t.Fatalf("second run:\n%s", rep)
	}
	// 9 describes, one PushTopic query, one External Channel query.
	if n := c.Calls() - calls; n != 11 {
		t.Errorf("second run made %d calls, want 11", n)
	}

	// A drifted topic is put back.
	if err := c.Update(ctx, "PushTopic", topics[0].ID, map[string]any{"NotifyForFields": "All", "IsActive": false}); err != nil {
		t.Fatal(err)
	}
	rep, err = Setup(ctx, c, nil)
	if err != nil || !slices.Equal(rep.Updated, []string{"PushTopic " + topics[0].Name}) {
		t.Fatalf("after drift: %v\n%s", err, rep)
	}
	rep, err = Setup(ctx, c, nil)
	if err != nil || rep.Changed() {
		t.Fatalf("after repair: %v\n%s", err, rep)
	}
}

func TestSetupListsMissingSchemaByAPIName(t *testing.T) {
	org := sfdctest.Start(t)
	org.DropField("Task", "Message_Sid__c")
	org.DropField("Conversation__c", "Status__c")
	org.DropObject("Message_Template_Translation__c")
	c := newClient(t, org)

	rep, err := Setup(context.Background(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Ready() {
		t.Fatalf("Ready() with missing schema:\n%s", rep)
	}
	has := func(obj, field string) bool {
		return slices.ContainsFunc(rep.Missing, func(p Problem) bool { return p.Object == obj && p.Field == field })
	}
	for _, m := range [][2]string{{"Task", "Message_Sid__c"}, {"Conversation__c", "Status__c"}, {"Message_Template_Translation__c", ""}} {
		if !has(m[0], m[1]) {
			t.Errorf("missing %s.%s not reported:\n%s", m[0], m[1], rep)
		}
	}
	if len(rep.Missing) != 3 {
		t.Errorf("want exactly 3 problems:\n%s", rep)
	}
	// The conversations topic needs Status__c; the tasks topic does not need
	// Message_Sid__c, so it is still created.
	if !slices.Contains(rep.Created, "PushTopic SwitchboardTasks") || slices.Contains(rep.Created, "PushTopic SwitchboardConversations") ||
		len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0], "Conversation__c.Status__c") {
		t.Errorf("topics with missing schema:\n%s", rep)
	}
	if !strings.Contains(rep.String(), "missing: Task.Message_Sid__c: field missing") {
		t.Errorf("report text:\n%s", rep)
	}
}

func TestCompareObjectFindsTypeAndPicklistGaps(t *testing.T) {
	spec := ObjectSpec{Name: "Task", Fields: []FieldSpec{
		{Name: "Message_Sid__c", Type: "string", ExternalID: true},
		{Name: "Message_Status__c", Type: "picklist", Picklist: []string{"Pending", "Read"}},
		{Name: "Conversation__c", Type: "reference", ReferenceTo: "Conversation__c"},
	}}
	d := &ObjectDescribe{Name: "Task", Fields: []FieldDescribe{
		{Name: "Message_Sid__c", Type: "string", ExternalID: true, Unique: false},
		{Name: "Message_Status__c", Type: "picklist", PicklistValues: []PicklistValue{{Value: "Pending", Active: true}, {Value: "Read", Active: false}}},
		{Name: "Conversation__c", Type: "string"},
	}}
	got := compareObject(spec, d)
	var lines []string
	for _, p := range got {
		lines = append(lines, p.String())
	}
	want := []string{
		"Task.Message_Sid__c: must be an External ID and Unique (switchboard upserts on it)",
		`Task.Message_Status__c value "Read": picklist value missing or inactive`,
		"Task.Conversation__c: is string, want reference",
	}
	if !slices.Equal(lines, want) {
		t.Fatalf("problems\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}
