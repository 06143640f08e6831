package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/config"
	"github.com/switchboard/switchboard/sfdc/sfdctest"
)

// TestMergeFields: a template's text in Description, with merge fields, is
// filled from the Task's records before sending; the Task keeps the text
// the customer read. What each broken template gets: Error with a reason,
// and no Twilio call.
//
// Long on purpose: one table of templates and what each gets, read together.
func TestMergeFields(t *testing.T) {
	w := newWorld(t, simOptions{})
	ins := func(object string, fields map[string]any) string {
		t.Helper()
		id, err := w.Org.Insert(object, fields)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	acct := ins("Account", map[string]any{"Name": "Analytical Engines"})
	ada := ins("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "MobilePhone": "(415) 555-0100", "AccountId": acct})
	nameless := ins("Contact", map[string]any{"LastName": "Babbage", "MobilePhone": "415.555.0101"})
	grace := ins("Lead", map[string]any{"FirstName": "Grace", "LastName": "Hopper", "Company": "Navy", "MobilePhone": "+1 415 555 0102"})
	leadConv := w.newConversation(t, "+14155550102")
	if err := w.Org.Update("Conversation__c", leadConv, map[string]any{"Record_Id__c": grace}); err != nil {
		t.Fatal(err)
	}
	junkConv := w.newConversation(t, "+14155550104")
	if err := w.Org.Update("Conversation__c", junkConv, map[string]any{"Record_Id__c": "see notes"}); err != nil {
		t.Fatal(err)
	}
	// The admin allowed a field and an object the org does not have:
	// Salesforce's own words then say why.
	startDaemon(t, w, "", e2eTuning(), "SWITCHBOARD_ENGINE_MERGE_FIELDS="+config.DefaultMergeFields+",Contact.Nickname__c,Customer__c.Name")

	sent := []struct {
		name   string
		fields map[string]any
		want   string
	}{
		{"Contact by WhoId, through a lookup", map[string]any{"WhoId": ada,
			"Description": "Hi {!Contact.FirstName}, your order from {!Contact.Account.Name} has shipped."},
			"Hi Ada, your order from Analytical Engines has shipped."},
		{"any capitalisation, a field twice", map[string]any{"WhoId": ada,
			"Description": "{!contact.firstname} {!Contact.LastName}, {!Contact.FirstName}!"}, "Ada Lovelace, Ada!"},
		{"Lead of the bound conversation", map[string]any{"Conversation__c": leadConv,
			"Description": "Thanks {!Lead.FirstName} from {!Lead.Company}."}, "Thanks Grace from Navy."},
		{"Account by WhatId, Contact by WhoId", map[string]any{"WhoId": ada, "WhatId": acct,
			"Description": "{!Account.Name} / {!Contact.LastName}"}, "Analytical Engines / Lovelace"},
		{"a Record_Id__c that is no Id is ignored", map[string]any{"Conversation__c": junkConv, "WhoId": ada,
			"Description": "Hello {!Contact.FirstName}"}, "Hello Ada"},
		{"a blank field merges as nothing", map[string]any{"WhoId": nameless,
			"Description": "Hello {!Contact.FirstName}{!Contact.LastName}"}, "Hello Babbage"},
		{"no merge fields: sent as written", map[string]any{"WhoId": nameless, "Description": "Your code is {1234}!"},
			"Your code is {1234}!"},
	}
	rejected := []struct {
		name   string
		fields map[string]any
		want   string
	}{
		{"a field the org does not have", map[string]any{"WhoId": ada, "Description": "Hi {!Contact.Nickname__c}"},
			`The message's merge fields for Contact cannot be filled. Salesforce says: No such column 'Nickname__c' on entity 'Contact'.`},
		{"an object the org does not have", map[string]any{"WhoId": ada, "Description": "Hi {!Customer__c.Name}"},
			`The message's merge fields for Customer__c cannot be filled. Salesforce says: sObject type 'Customer__c' is not supported.`},
		{"a Lead field on a Contact's Task", map[string]any{"WhoId": ada, "Description": "Hi {!Lead.Company}"},
			"The message has merge fields for Lead, but none of the Task's WhoId, WhatId or conversation record (" + ada + ") is a Lead"},
		{"merge fields and no record", map[string]any{"Conversation__c": w.newConversation(t, "+14155550103"), "Description": "Hi {!Contact.FirstName}"},
			"The message has merge fields for Contact but the Task has no WhoId, WhatId or bound conversation to fill them from."},
		{"a formula", map[string]any{"WhoId": ada, "Description": "Hi {!IF(Contact.FirstName, 'x', 'y')}"},
			`The message contains "{!IF(Contact.FirstName, 'x', 'y')}", which is not a merge field switchboard can fill`},
		{"an unclosed merge field", map[string]any{"WhoId": ada, "Description": "Hi {!Contact.FirstName"},
			`The message contains "{!Contact.FirstName", which is not a merge field`},
		{"too long once merged", map[string]any{"WhoId": ada, "Description": strings.Repeat("x", 1595) + "{!Contact.LastName}"},
			`The message is 1603 characters long once its merge fields are filled; channel "Support" allows at most 1600.`},
	}
	sentIDs := make([]string, len(sent))
	for i, c := range sent {
		sentIDs[i] = w.pendingTask(t, c.fields)
	}
	rejectedIDs := make([]string, len(rejected))
	for i, c := range rejected {
		rejectedIDs[i] = w.pendingTask(t, c.fields)
	}
	bodies := map[string]bool{}
	for i, c := range sent {
		sfdctest.Eventually(t, 15*time.Second, c.name+" sent", func() bool { return str(w.task(t, sentIDs[i])["Message_Sid__c"]) != "" })
		task := w.task(t, sentIDs[i])
		if got := str(task["Description"]); got != c.want {
			t.Errorf("%s: Description after sending = %q, want %q", c.name, got, c.want)
		}
		bodies[c.want] = true
	}
	for i, c := range rejected {
		sfdctest.Eventually(t, 15*time.Second, c.name+" rejected", func() bool { return str(w.task(t, rejectedIDs[i])["Message_Status__c"]) == "Error" })
		task := w.task(t, rejectedIDs[i])
		t.Logf("%s → %s", c.name, task["Error_Description__c"])
		if got := str(task["Error_Description__c"]); !strings.Contains(got, c.want) {
			t.Errorf("%s: Error_Description__c = %q, want it to contain %q", c.name, got, c.want)
		}
		if !strings.Contains(str(task["Description"]), "{!") {
			t.Errorf("%s: the template in Description was overwritten: %q", c.name, task["Description"])
		}
	}
	msgs := w.Twilio.Messages()
	for _, m := range msgs {
		if !bodies[m.Body] {
			t.Errorf("Twilio got %q, which is none of the merged messages", m.Body)
		}
	}
	if len(msgs) != len(sent) {
		t.Errorf("%d Twilio messages, want %d", len(msgs), len(sent))
	}
}

// TestMergeFieldsInBulk: a campaign of 300 Tasks from one template reads
// its merge fields in a few queries, not one per Task.
func TestMergeFieldsInBulk(t *testing.T) {
	w := newWorld(t, simOptions{})
	const n = 300
	convs := make([]string, n)
	names := make([]string, n)
	for i := range convs {
		names[i] = fmt.Sprintf("Customer%03d", i)
		c, err := w.Org.Insert("Contact", map[string]any{"FirstName": names[i], "LastName": "Test", "MobilePhone": fmt.Sprintf("+1415556%04d", i)})
		if err != nil {
			t.Fatal(err)
		}
		convs[i] = w.newConversation(t, fmt.Sprintf("+1415556%04d", i))
		if err := w.Org.Update("Conversation__c", convs[i], map[string]any{"Record_Id__c": c}); err != nil {
			t.Fatal(err)
		}
	}
	tun := e2eTuning()
	tun.PollInterval = time.Hour
	startDaemon(t, w, "", tun)
	time.Sleep(300 * time.Millisecond) // the start-up sweep
	w.Org.ResetCalls()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = w.pendingTask(t, map[string]any{"Conversation__c": convs[i], "Description": "Hi {!Contact.FirstName}, your appointment is tomorrow."})
	}
	w.waitAllSent(t, 120*time.Second, ids)
	got := map[string]int{}
	for _, m := range w.Twilio.Messages() {
		got[m.Body]++
	}
	for _, name := range names {
		if body := "Hi " + name + ", your appointment is tomorrow."; got[body] != 1 {
			t.Errorf("%q sent %d times", body, got[body])
		}
	}
	calls := w.Org.TotalCalls()
	t.Logf("%d templated Tasks: %d Salesforce calls until every SID was written: %v", n, calls, w.Org.Calls())
	if !raceDetector && calls > n/10 {
		t.Errorf("%d Salesforce calls for %d templated messages, want ≤ %d: merge fields must be read in bulk", calls, n, n/10)
	}
}

// TestMergeFieldsReadOnlyWhatTheSenderMay reproduces issue 9 §1: an agent
// who may create Tasks and conversations points a conversation's
// Record_Id__c (free text) at a stranger and writes merge fields for their
// e-mail and phone, or for a User's username. Each such Task ends in Error
// with a reason naming the field and the setting, or the record, and
// nothing about the stranger reaches Twilio; what the agent may read, and
// the admin allowed, is still merged.
//
// Long on purpose: one table of attempts against one world, read together.
func TestMergeFieldsReadOnlyWhatTheSenderMay(t *testing.T) {
	w := newWorld(t, simOptions{})
	ins := func(as, object string, fields map[string]any) string {
		t.Helper()
		id, err := w.Org.InsertAs(as, object, fields)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	admin := ""
	if rows, err := w.Org.Query("SELECT Id FROM User WHERE Username = 'admin@switchboard.example'"); err != nil || len(rows) != 1 {
		t.Fatalf("the org's admin: %v %v", rows, err)
	} else {
		admin = rows[0]["Id"].(string)
	}
	agent := ins(admin, "User", map[string]any{"Username": "agent@switchboard.example", "FirstName": "Eve", "LastName": "Agent"})
	// The stranger belongs to someone else; the agent's sharing does not
	// reach them.
	stranger := ins(admin, "Contact", map[string]any{"FirstName": "Victor", "LastName": "Stranger",
		"Email": "victor@private.example", "MobilePhone": "+1 415 555 0177"})
	shared := ins(admin, "Contact", map[string]any{"FirstName": "Sharon", "LastName": "Shared", "MobilePhone": "+1 415 555 0178"})
	w.Org.GrantRead(agent, shared)
	own := ins(agent, "Contact", map[string]any{"FirstName": "Olivia", "LastName": "Own", "MobilePhone": "+1 415 555 0179",
		"Email": "olivia@example.com"})
	conv := func(customer, record string) string {
		t.Helper()
		return ins(agent, "Conversation__c", map[string]any{"Status__c": "Open", "Channel__c": w.ChannelID,
			"Message_Recipient__c": customer, "Record_Id__c": record})
	}
	agentTask := func(fields map[string]any) string {
		t.Helper()
		rec := map[string]any{"Message_Type__c": "Outbound", "Message_Status__c": "Pending", "Subject": "SMS"}
		for k, v := range fields {
			rec[k] = v
		}
		return ins(agent, "Task", rec)
	}
	pointed := conv("+14155550170", stranger)
	d := startDaemon(t, w, "", e2eTuning())
	_ = d

	// A Task the agent parks outside Pending, on a thread the agent then
	// binds to the stranger: the daemon itself moves the Task to the
	// stranger (WhoId), as the integration user, so WhoId is checked too.
	movedConv := conv("+14155550171", "")
	moved := agentTask(map[string]any{"Conversation__c": movedConv, "Message_Status__c": "Canceled",
		"Description": "Hi {!Contact.FirstName}"})
	if err := w.Org.Update("Conversation__c", movedConv, map[string]any{"Record_Id__c": stranger}); err != nil {
		t.Fatal(err)
	}
	sfdctest.Eventually(t, 15*time.Second, "the daemon to move the parked Task to the stranger", func() bool {
		return str(w.task(t, moved)["WhoId"]) == stranger
	})

	rejected := []struct {
		name string
		id   string
		want []string
	}{
		{"e-mail and phone of a stranger through Record_Id__c",
			agentTask(map[string]any{"Conversation__c": pointed, "Description": "{!Contact.Email} {!Contact.MobilePhone}"}),
			[]string{"{!Contact.Email}", "engine.merge_fields", "SWITCHBOARD_ENGINE_MERGE_FIELDS"}},
		{"a User's username",
			agentTask(map[string]any{"WhoId": own, "Description": "Your admin is {!User.Username}"}),
			[]string{"{!User.Username}", "engine.merge_fields", "SWITCHBOARD_ENGINE_MERGE_FIELDS"}},
		{"an allowed field of a stranger through Record_Id__c",
			agentTask(map[string]any{"Conversation__c": pointed, "Description": "Hi {!Contact.FirstName}"}),
			[]string{"creator (" + agent + ") cannot read " + stranger}},
		{"a field not on the list, of the agent's own Contact",
			agentTask(map[string]any{"WhoId": own, "Description": "Is {!Contact.Email} right?"}),
			[]string{"{!Contact.Email}", "engine.merge_fields"}},
	}
	if err := w.Org.Update("Task", moved, map[string]any{"Message_Status__c": "Pending"}); err != nil {
		t.Fatal(err)
	}
	rejected = append(rejected, struct {
		name string
		id   string
		want []string
	}{"a stranger the daemon moved the Task to", moved, []string{"creator (" + agent + ") cannot read " + stranger}})

	sent := []struct {
		name, id, want string
	}{
		{"the agent's own Contact by WhoId", agentTask(map[string]any{"WhoId": own, "Description": "Hi {!Contact.FirstName}"}), "Hi Olivia"},
		{"a Contact shared with the agent, through Record_Id__c",
			agentTask(map[string]any{"Conversation__c": conv("+14155550178", shared), "Description": "Hi {!Contact.FirstName} {!Contact.LastName}"}),
			"Hi Sharon Shared"},
		{"an admin's Task about the stranger", w.pendingTask(t, map[string]any{"WhoId": stranger, "Description": "Hi {!Contact.FirstName}"}), "Hi Victor"},
	}
	for _, c := range rejected {
		sfdctest.Eventually(t, 15*time.Second, c.name+" rejected", func() bool { return str(w.task(t, c.id)["Message_Status__c"]) == "Error" })
		reason := str(w.task(t, c.id)["Error_Description__c"])
		t.Logf("%s → %s", c.name, reason)
		for _, want := range c.want {
			if !strings.Contains(reason, want) {
				t.Errorf("%s: Error_Description__c = %q, want it to contain %q", c.name, reason, want)
			}
		}
	}
	for _, c := range sent {
		sfdctest.Eventually(t, 15*time.Second, c.name+" sent", func() bool { return str(w.task(t, c.id)["Message_Sid__c"]) != "" })
		if got := str(w.task(t, c.id)["Description"]); got != c.want {
			t.Errorf("%s: sent %q, want %q", c.name, got, c.want)
		}
	}
	msgs := w.Twilio.Messages()
	for _, m := range msgs {
		if strings.Contains(m.Body, "victor@") || strings.Contains(m.Body, "0177") || strings.Contains(m.Body, "agent@") ||
			strings.Contains(m.Body, "olivia@") || strings.Contains(m.Body, "{!") {
			t.Errorf("Twilio got %q", m.Body)
		}
	}
	if len(msgs) != len(sent) {
		t.Errorf("%d Twilio messages, want %d (only the allowed ones)", len(msgs), len(sent))
	}
}
