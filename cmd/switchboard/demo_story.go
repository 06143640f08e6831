package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard/switchboard/sfdc"
	sbsync "github.com/switchboard/switchboard/sync"
	"github.com/switchboard/switchboard/twilio/twiliotest"
)

// The demo's story: what it prints before and after, and its five steps,
// each driving the simulators and waiting to observe the daemon's effect in
// the org.

func (d *demoRun) intro(f demoFlags) {
	o := d.out
	o.printf("switchboard demo: the whole flow against a simulated Salesforce org and a simulated Twilio.")
	o.printf("Everything runs in this process on 127.0.0.1; no account, no network.\n")
	o.printf("The simulated world, as after \"switchboard setup\":")
	o.printf("  Salesforce org     %s", d.w.Org.URL())
	o.printf("  Twilio             %s  (account %s, number %s)", d.w.Twilio.URL(), simAccountSID, simNumber)
	o.printf("  switchboard        %s  (the real daemon; SQLite store in %s, removed at the end)", d.publicURL, d.dir)
	o.printf("  Channel__c         %s  %q, %s, Active__c = true, Queue_Name__c = %s", d.w.ChannelID, simChannelName, simNumber, simQueueName)
	o.printf("  PushTopic          %s", strings.Join(d.orgTopics(), ", "))
	o.printf("  External_Channel__c %s", strings.Join(d.orgExternalChannels(), ", "))
	o.printf("  Contact            %s  Ada Lovelace, MobilePhone = %q", d.contact, demoCustomerTyped)
	o.printf("  Lead               %s  Katherine Johnson, MobilePhone = %q", d.seedLead, demoLeadTyped)
	o.printf("  Message_Template__c %s  %q for Contacts, with a German (de) translation\n", d.template, demoTemplateName)
}

// orgTopics names the org's PushTopics in SPEC §2 order, as setup left
// them.
func (d *demoRun) orgTopics() []string {
	var out []string
	for _, name := range sfdc.SpecTopicNames() {
		for _, r := range d.w.Org.Records("PushTopic") {
			if sfStr(r["Name"]) == name {
				out = append(out, name)
			}
		}
	}
	return out
}

// orgExternalChannels names the org's External Channels, Object.Field.
func (d *demoRun) orgExternalChannels() []string {
	var out []string
	for _, r := range d.w.Org.Records("External_Channel__c") {
		out = append(out, sfStr(r["Object_API_Name__c"])+"."+sfStr(r["Field_API_Name__c"]))
	}
	return out
}

func (d *demoRun) play(ctx context.Context, pace time.Duration) error {
	steps := []struct {
		title string
		run   func(context.Context) error
	}{
		{"an agent texts a customer", d.stepSend},
		{"the customer replies", d.stepReply},
		{"a stranger texts; an agent binds the conversation to a new Lead", d.stepStranger},
		{"the customer texts STOP", d.stepStop},
		{"a lost delivery receipt is recovered by polling", d.stepLostCallback},
	}
	for i, s := range steps {
		if i > 0 && pace > 0 {
			select {
			case <-ctx.Done():
				return &stepError{n: i + 1, title: s.title, err: errInterrupted}
			case <-time.After(pace):
			}
		}
		start := time.Now()
		d.out.printf("Step %d of %d: %s", i+1, len(steps), s.title)
		if err := s.run(ctx); err != nil {
			return &stepError{n: i + 1, title: s.title, err: err}
		}
		d.out.printf("  OK (%.1f s)\n", time.Since(start).Seconds())
	}
	return nil
}

// await is awaitCond bounded by the step limit.
func (d *demoRun) await(ctx context.Context, what string, cond func() (bool, error)) error {
	return awaitCond(ctx, demoStepLimit, what, cond)
}

// agentTask creates an outbound Pending Task, as a user, the chat
// component or a Flow does (SPEC §1: that is the request to send).
func (d *demoRun) agentTask(fields map[string]any) (string, error) {
	rec := map[string]any{"Message_Type__c": "Outbound", "Message_Status__c": "Pending", "Subject": "SMS"}
	for k, v := range fields {
		rec[k] = v
	}
	id, err := d.w.Org.Insert("Task", rec)
	if err != nil {
		return "", fmt.Errorf("creating the Task: %w", err)
	}
	return id, nil
}

func (d *demoRun) record(object, id string) map[string]any {
	rec, _ := d.w.Org.Get(object, id)
	return rec
}

// agentAnswers is an agent's reply in a conversation (where, as printed):
// a Pending outbound Task on it and the person it is with.
func (d *demoRun) agentAnswers(where, conv, who, body string) (string, error) {
	d.out.printf("  An agent answers %s: %q", where, body)
	id, err := d.agentTask(map[string]any{"Conversation__c": conv, "WhoId": who, "Description": body})
	if err != nil {
		return "", err
	}
	d.out.printf("    Task %s  Message_Status__c = Pending", id)
	return id, nil
}

// awaitStatus waits for the Task to reach want, printing each status it
// is seen in; a final status other than want fails at once.
func (d *demoRun) awaitStatus(ctx context.Context, taskID, want string) (map[string]any, error) {
	seen := []string{}
	var task map[string]any
	err := d.await(ctx, "Task "+taskID+" to be "+want, func() (bool, error) {
		task = d.record("Task", taskID)
		if task == nil {
			return false, fmt.Errorf("Task %s was deleted", taskID)
		}
		st := sfStr(task["Message_Status__c"])
		if len(seen) == 0 || seen[len(seen)-1] != st {
			seen = append(seen, st)
		}
		if st == want {
			return true, nil
		}
		switch st {
		case "Error", "Failed", "Undelivered", "Canceled":
			return false, fmt.Errorf("Task %s ended %s instead of %s: %s", taskID, st, want, sfStr(task["Error_Description__c"]))
		}
		return false, nil
	})
	d.out.printf("      Message_Status__c: %s", strings.Join(seen, " -> "))
	return task, err
}

func (d *demoRun) stepSend(ctx context.Context) error {
	// The seeded template's text, with a merge field the engine fills.
	template := demoTemplateText
	body := "Hi Ada, your order #1042 has shipped. Reply here if you have any questions."
	d.out.printf("  An agent creates a Task on the Contact (WhoId, no conversation yet) from a template:")
	id, err := d.agentTask(map[string]any{"WhoId": d.contact, "Description": template})
	if err != nil {
		return err
	}
	d.out.printf("    Task %s  Message_Type__c = Outbound, Message_Status__c = Pending", id)
	d.out.printf("      Description: %q", template)
	d.out.printf("  switchboard sends it through Twilio and Twilio reports its progress:")
	task, err := d.awaitStatus(ctx, id, "Delivered")
	if err != nil {
		return err
	}
	sid := sfStr(task["Message_Sid__c"])
	msg, ok := d.w.Twilio.Message(sid)
	if !ok || msg.To != demoCustomer || msg.From != simNumber || msg.Body != body {
		return fmt.Errorf("Twilio holds no message %q from %s to %s with the Task's body (got %+v)", sid, simNumber, demoCustomer, msg)
	}
	if got := sfStr(task["Description"]); got != body {
		return fmt.Errorf("the Task's Description is %q after sending, want the merged text %q", got, body)
	}
	d.out.printf("      Description: %q (merge field filled)", body)
	d.out.printf("      Message_Sid__c = %s, Subject = %q", sid, sfStr(task["Subject"]))
	d.out.printf("      Message_Send_Date__c = %s, Message_Status_Check_Date__c = %s", sfStr(task["Message_Send_Date__c"]), sfStr(task["Message_Status_Check_Date__c"]))
	d.adaConv = sfStr(task["Conversation__c"])
	conv := d.record("Conversation__c", d.adaConv)
	if conv == nil {
		return fmt.Errorf("the Task is not linked to a conversation (Conversation__c = %q)", d.adaConv)
	}
	if sfStr(conv["Message_Recipient__c"]) != demoCustomer || sfStr(conv["Record_Id__c"]) != d.contact {
		return fmt.Errorf("conversation %s is for %q bound to %q, want %s bound to %s", d.adaConv,
			conv["Message_Recipient__c"], conv["Record_Id__c"], demoCustomer, d.contact)
	}
	d.out.printf("  Twilio: %s from %s to %s (the Contact's %q), status %s", sid, msg.From, msg.To, demoCustomerTyped, msg.Status)
	d.out.printf("  It opened Conversation__c %s %s: Message_Recipient__c = %s, Record_Id__c = %s (Ada)",
		d.adaConv, sfStr(conv["Name"]), demoCustomer, d.contact)
	return nil
}

// inboundTask waits for the Task of an inbound message by its SID.
func (d *demoRun) inboundTask(ctx context.Context, sid string) (map[string]any, error) {
	var task map[string]any
	err := d.await(ctx, "the inbound Task for "+sid, func() (bool, error) {
		rows, err := d.w.Org.Query("SELECT Id, Subject, Description, WhoId, Conversation__c, Message_Type__c, Message_Status__c, Message_Sid__c FROM Task WHERE Message_Sid__c = '" + sid + "'")
		if err != nil {
			return false, err
		}
		if len(rows) > 0 {
			task = rows[0]
		}
		return len(rows) > 0, nil
	})
	return task, err
}

// text is a customer texting the channel's number: Twilio posts the
// signed webhook to the daemon, exactly as it would in production.
func (d *demoRun) text(ctx context.Context, from, body string) (string, error) {
	res, err := d.w.Twilio.SendInbound(ctx, twiliotest.Inbound{From: from, To: simNumber, Body: body})
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK || res.WouldReply() {
		return "", fmt.Errorf("switchboard answered Twilio's webhook with %d %q (want 200 and an empty <Response/>)", res.StatusCode, res.Body)
	}
	d.out.printf("    Twilio posts the signed webhook for %s; switchboard answers %d with an empty <Response/> (no auto-reply)", res.MessageSID, res.StatusCode)
	return res.MessageSID, nil
}

// textIn sends a customer's text through the simulated Twilio, waits for
// its inbound Task and prints it.
func (d *demoRun) textIn(ctx context.Context, from, body string) (map[string]any, error) {
	sid, err := d.text(ctx, from, body)
	if err != nil {
		return nil, err
	}
	task, err := d.inboundTask(ctx, sid)
	if err != nil {
		return nil, err
	}
	d.printInbound(task)
	return task, nil
}

func (d *demoRun) printInbound(task map[string]any) {
	d.out.printf("    Task %s  Message_Type__c = %s, Message_Status__c = %s, Subject = %q",
		sfStr(task["Id"]), sfStr(task["Message_Type__c"]), sfStr(task["Message_Status__c"]), sfStr(task["Subject"]))
	d.out.printf("      Description: %q", sfStr(task["Description"]))
}

func (d *demoRun) stepReply(ctx context.Context) error {
	body := "Thanks! Can it go to my office instead?"
	d.out.printf("  Ada texts back from %s: %q", demoCustomer, body)
	task, err := d.textIn(ctx, demoCustomer, body)
	if err != nil {
		return err
	}
	if who := sfStr(task["WhoId"]); who != d.contact {
		return fmt.Errorf("the reply's Task has WhoId %q, want the Contact %s", who, d.contact)
	}
	if c := sfStr(task["Conversation__c"]); c != d.adaConv {
		return fmt.Errorf("the reply went to conversation %q, want the open one %s", c, d.adaConv)
	}
	d.out.printf("      WhoId = %s (Ada), Conversation__c = %s (the same conversation)", d.contact, d.adaConv)
	return nil
}

func (d *demoRun) stepStranger(ctx context.Context) error {
	body := "Hi, do you ship to Canada?"
	d.out.printf("  A number no Contact or Lead has, %s, texts %q", demoStranger, body)
	task, err := d.textIn(ctx, demoStranger, body)
	if err != nil {
		return err
	}
	d.strangerConv = sfStr(task["Conversation__c"])
	conv := d.record("Conversation__c", d.strangerConv)
	switch {
	case conv == nil:
		return fmt.Errorf("the stranger's Task has no conversation")
	case d.strangerConv == d.adaConv:
		return fmt.Errorf("the stranger's message landed in Ada's conversation %s", d.adaConv)
	case sfStr(conv["Record_Id__c"]) != "" || sfStr(task["WhoId"]) != "":
		return fmt.Errorf("the stranger's conversation is bound to %q (WhoId %q): nothing should match", conv["Record_Id__c"], task["WhoId"])
	case sfStr(conv["OwnerId"]) != d.w.QueueID:
		return fmt.Errorf("conversation %s is owned by %q, want the channel's queue %s (%s)", d.strangerConv, conv["OwnerId"], simQueueName, d.w.QueueID)
	}
	d.out.printf("      WhoId empty; Conversation__c %s %s: Record_Id__c empty (unbound), owned by queue %s",
		d.strangerConv, sfStr(conv["Name"]), simQueueName)

	d.lead, err = d.w.Org.Insert("Lead", map[string]any{"FirstName": "Grace", "LastName": "Hopper", "Company": "Hopper Freight", "MobilePhone": demoStrangerTyped})
	if err != nil {
		return fmt.Errorf("creating the Lead: %w", err)
	}
	d.out.printf("  An agent creates Lead %s (Grace Hopper, Hopper Freight, MobilePhone = %q)", d.lead, demoStrangerTyped)
	if err := d.w.Org.Update("Conversation__c", d.strangerConv, map[string]any{"Record_Id__c": d.lead}); err != nil {
		return fmt.Errorf("binding the conversation: %w", err)
	}
	d.out.printf("  and binds the conversation to it: Conversation__c %s Record_Id__c = %s", d.strangerConv, d.lead)
	if err := d.await(ctx, "the conversation's Tasks to move to the Lead", func() (bool, error) {
		return sfStr(d.record("Task", sfStr(task["Id"]))["WhoId"]) == d.lead, nil
	}); err != nil {
		return err
	}
	d.out.printf("  switchboard moves the history: Task %s WhoId = %s (Grace Hopper)", sfStr(task["Id"]), d.lead)
	return nil
}

func (d *demoRun) stepStop(ctx context.Context) error {
	d.out.printf("  Ada texts %q", "STOP")
	sid, err := d.text(ctx, demoCustomer, "STOP")
	if err != nil {
		return err
	}
	key := sbsync.OptInKey(demoCustomer, d.w.ChannelID)
	var opt map[string]any
	if err := d.await(ctx, "Opt_In__c "+key+" to be inactive", func() (bool, error) {
		rows, err := d.w.Org.Query("SELECT Id, UniqueId__c, Active__c, Keyword__c, Opt_Out_Date_Time__c FROM Opt_In__c WHERE UniqueId__c = '" + key + "'")
		if err != nil || len(rows) != 1 {
			return false, err
		}
		opt = rows[0]
		return opt["Active__c"] == false, nil
	}); err != nil {
		return err
	}
	d.out.printf("    Opt_In__c %s  UniqueId__c = %s", sfStr(opt["Id"]), key)
	d.out.printf("      Active__c = false, Keyword__c = %s, Opt_Out_Date_Time__c = %s", sfStr(opt["Keyword__c"]), sfStr(opt["Opt_Out_Date_Time__c"]))
	if _, err := d.inboundTask(ctx, sid); err != nil {
		return err
	}
	before := d.messagesTo(demoCustomer)

	body := "Your delivery address is updated."
	id, err := d.agentAnswers("in Ada's conversation", d.adaConv, d.contact, body)
	if err != nil {
		return err
	}
	task, err := d.awaitStatus(ctx, id, "Error")
	if err != nil {
		return err
	}
	desc := sfStr(task["Error_Description__c"])
	if !strings.Contains(desc, "opted out") {
		return fmt.Errorf("Task %s is Error with Error_Description__c %q, which does not say the customer opted out", id, desc)
	}
	if after := d.messagesTo(demoCustomer); after != before {
		return fmt.Errorf("Twilio got %d new messages to %s after the opt-out", after-before, demoCustomer)
	}
	d.out.printf("      Error_Description__c: %q", desc)
	d.out.printf("  Twilio was never asked to send it.")
	return nil
}

// messagesTo counts the messages Twilio was asked to send to a number.
func (d *demoRun) messagesTo(to string) int {
	n := 0
	for _, m := range d.w.Twilio.Messages() {
		if m.Direction != "inbound" && m.To == to {
			n++
		}
	}
	return n
}

func (d *demoRun) stepLostCallback(ctx context.Context) error {
	// Earlier messages' receipts must not be the ones dropped.
	settle, cancel := context.WithTimeout(ctx, demoStepLimit)
	defer cancel()
	if err := d.w.Twilio.Settle(settle); err != nil {
		return fmt.Errorf("waiting for earlier status callbacks: %w", err)
	}
	d.w.Twilio.DropCallbacks(1000)
	defer d.w.Twilio.DropCallbacks(0)
	d.out.printf("  From now on Twilio's status callbacks are lost (as when the webhook URL is unreachable).")
	body := "Yes, we ship to Canada: 3 to 5 business days."
	id, err := d.agentAnswers("Grace in her conversation", d.strangerConv, d.lead, body)
	if err != nil {
		return err
	}
	fetches := d.w.Twilio.Stats().Fetches
	task, err := d.awaitStatus(ctx, id, "Delivered")
	if err != nil {
		return err
	}
	sid := sfStr(task["Message_Sid__c"])
	dropped, delivered := 0, 0
	for _, cb := range d.w.Twilio.Callbacks() {
		if cb.Params.Get("MessageSid") != sid {
			continue
		}
		if cb.Dropped {
			dropped++
		} else {
			delivered++
		}
	}
	if dropped == 0 || delivered != 0 {
		return fmt.Errorf("Twilio dropped %d and delivered %d status callbacks for %s: the step did not lose them", dropped, delivered, sid)
	}
	if d.w.Twilio.Stats().Fetches == fetches {
		return fmt.Errorf("Task %s is Delivered but switchboard never fetched %s from Twilio", id, sid)
	}
	d.out.printf("      Message_Sid__c = %s; Twilio lost all %d of its status callbacks", sid, dropped)
	d.out.printf("  switchboard's poller (engine.status_poll_after = %s here; 15m by default) asked Twilio:", demoPollAfter)
	d.out.printf("      Message_Status_Check_Date__c = %s", sfStr(task["Message_Status_Check_Date__c"]))
	return nil
}

// summary counts what the story left in the org.
func (d *demoRun) summary() {
	tasks := d.w.Org.Records("Task")
	in := 0
	for _, t := range tasks {
		if sfStr(t["Message_Type__c"]) == "Inbound" {
			in++
		}
	}
	d.out.printf("The org now holds %d Conversation__c, %d Tasks (%d outbound, %d inbound) and %d Opt_In__c.",
		len(d.w.Org.Records("Conversation__c")), len(tasks), len(tasks)-in, in, len(d.w.Org.Records("Opt_In__c")))
	for _, r := range d.w.Org.Records(sfdc.StatusObject) {
		d.out.printf("The daemon's heartbeat row: %s %s  Instance__c = %s, Stream_Subscribed__c = %v, Last_Heartbeat__c = %s; Checks__c:",
			sfdc.StatusObject, sfStr(r["Id"]), sfStr(r["Instance__c"]), r["Stream_Subscribed__c"], sfStr(r["Last_Heartbeat__c"]))
		for _, l := range strings.Split(sfStr(r["Checks__c"]), "\n") {
			d.out.printf("      %s", l)
		}
	}
	d.out.printf("Next: \"switchboard demo --serve\" to text from a browser; \"switchboard setup\" against your own org.")
}

// sfStr renders a record field ("" for null).
func sfStr(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}
