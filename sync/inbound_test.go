package sync_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/switchboard/switchboard/sfdc"
	"github.com/switchboard/switchboard/sfdc/sfdctest"
	sbsync "github.com/switchboard/switchboard/sync"
)

// simEnv is a simulated org seeded with one channel type, one channel
// (+14155559999, queue SMS_Support) and the default External Channels.
type simEnv struct {
	org                            *sfdctest.Org
	eng                            sbsync.Org
	typeID, chanID, queueID        string
	regMobile, regPhone, regLeadMP string
}

const (
	chanNumber = "+14155559999"
	acctSID    = "AC0123456789abcdef0123456789abcdef"
)

func newSimEnv(t testing.TB) *simEnv {
	t.Helper()
	org := sfdctest.Start(t)
	auth, err := sfdc.NewAuth(sfdc.AuthConfig{Flow: sfdc.FlowClientCredentials, LoginURL: org.URL(),
		ClientID: sfdctest.DefaultClientID, ClientSecret: sfdctest.DefaultClientSecret},
		&http.Client{Timeout: 10 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	client, err := sfdc.NewClient(auth, sfdc.ClientConfig{HTTPClient: &http.Client{Timeout: 10 * time.Second},
		RetryBaseDelay: time.Millisecond, RetryMaxDelay: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e := &simEnv{org: org, eng: client.Org()}
	seeded, err := org.SeedChannel(sfdctest.SeedChannel{AccountSID: acctSID, Number: chanNumber, Name: "Support", QueueName: "SMS_Support"})
	if err != nil {
		t.Fatal(err)
	}
	e.queueID, e.typeID, e.chanID = seeded.QueueID, seeded.ChannelTypeID, seeded.ChannelID
	e.insert(t, "Group", map[string]any{"Name": "Other", "DeveloperName": "Other_Queue", "Type": "Queue"})
	e.regMobile = e.insert(t, "External_Channel__c", map[string]any{"Name": "Contact Mobile", "Object_API_Name__c": "Contact", "Field_API_Name__c": "MobilePhone"})
	e.regPhone = e.insert(t, "External_Channel__c", map[string]any{"Name": "Contact Phone", "Object_API_Name__c": "Contact", "Field_API_Name__c": "Phone"})
	e.regLeadMP = e.insert(t, "External_Channel__c", map[string]any{"Name": "Lead Mobile", "Object_API_Name__c": "Lead", "Field_API_Name__c": "MobilePhone"})
	e.insert(t, "External_Channel__c", map[string]any{"Name": "Lead Phone", "Object_API_Name__c": "Lead", "Field_API_Name__c": "Phone"})
	return e
}

func (e *simEnv) insert(t testing.TB, object string, fields map[string]any) string {
	t.Helper()
	id, err := e.org.Insert(object, fields)
	if err != nil {
		t.Fatalf("insert %s: %v", object, err)
	}
	return id
}

func (e *simEnv) query(t testing.TB, soql string) []map[string]any {
	t.Helper()
	rows, err := e.org.Query(soql)
	if err != nil {
		t.Fatalf("%s: %v", soql, err)
	}
	return rows
}

func (e *simEnv) inbound(log *zap.Logger) *sbsync.Inbound {
	return sbsync.NewInbound(sbsync.InboundConfig{BatchWindow: 10 * time.Millisecond}, e.eng, nil, nil, log)
}

var sidSeq struct {
	gosync.Mutex
	n int
}

// newSID returns a fresh, well-formed message SID.
func newSID(prefix string) string {
	sidSeq.Lock()
	defer sidSeq.Unlock()
	sidSeq.n++
	return fmt.Sprintf("%s%032x", prefix, sidSeq.n)
}

func msg(from, body string) sbsync.InboundMessage {
	return sbsync.InboundMessage{SID: newSID("SM"), AccountSID: acctSID, From: from, To: chanNumber, Body: body,
		ReceivedAt: time.Now()}
}

// typedAs renders an E.164 US number the way people type it.
func typedAs(e164 string, style int) string {
	d := strings.TrimPrefix(e164, "+1")
	a, b, c := d[:3], d[3:6], d[6:]
	switch style % 5 {
	case 0:
		return fmt.Sprintf("(%s) %s-%s", a, b, c)
	case 1:
		return fmt.Sprintf("%s-%s-%s", a, b, c)
	case 2:
		return fmt.Sprintf("%s.%s.%s", a, b, c)
	case 3:
		return fmt.Sprintf("+1 %s %s %s", a, b, c)
	}
	return d
}

// TestInboundThousandMessagesThreeHundredNumbers: 1,000 inbound messages from
// 300 numbers (Contacts' mobiles and other phones, Leads, strangers) cost at
// most 50 Salesforce calls, and each number gets one conversation bound to
// its record and every Task the right WhoId. Long on purpose: one world,
// then every property of what it became.
func TestInboundThousandMessagesThreeHundredNumbers(t *testing.T) {
	e := newSimEnv(t)
	const numbers, messages = 300, 1000
	type who struct {
		e164, recordID, regID string
	}
	people := make([]who, numbers)
	for n := range people {
		num := fmt.Sprintf("+1415620%04d", n)
		if got, err := sbsync.NormalizeNumber(num, "US"); err != nil || got != num {
			t.Fatalf("test number %s is not valid: %v", num, err)
		}
		p := who{e164: num}
		typed := typedAs(num, n)
		switch {
		case n < 150: // a Contact's mobile
			p.recordID = e.insert(t, "Contact", map[string]any{"LastName": fmt.Sprint("M", n), "MobilePhone": typed})
			p.regID = e.regMobile
		case n < 250: // a Contact's other phone, another number on the mobile
			p.recordID = e.insert(t, "Contact", map[string]any{"LastName": fmt.Sprint("P", n), "Phone": typed,
				"MobilePhone": fmt.Sprintf("+1650620%04d", n)})
			p.regID = e.regPhone
		case n < 280: // a Lead
			p.recordID = e.insert(t, "Lead", map[string]any{"LastName": fmt.Sprint("L", n), "Company": "Acme", "MobilePhone": typed})
			p.regID = e.regLeadMP
		default: // nobody
		}
		people[n] = p
	}
	order := rand.Perm(messages)
	// A window long enough that goroutine start-up (slow under -race) does
	// not split batches: the call count measures batching, not scheduling.
	in := sbsync.NewInbound(sbsync.InboundConfig{BatchWindow: 100 * time.Millisecond}, e.eng, nil, nil, nil)
	e.org.ResetCalls()
	var wg gosync.WaitGroup
	errs := make(chan error, messages)
	gate := make(chan struct{})
	for _, j := range order {
		p := people[j%numbers]
		m := msg(p.e164, fmt.Sprintf("message %d", j))
		if j%7 == 0 {
			m.From = typedAs(p.e164, j) // Twilio sends E.164, but a raw sender id must not split the thread
		}
		wg.Go(func() {
			<-gate
			errs <- in.Handle(context.Background(), m)
		})
	}
	start := time.Now()
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	calls := e.org.TotalCalls()
	t.Logf("%d messages from %d numbers: %d Salesforce calls in %s (%v)", messages, numbers, calls, time.Since(start), e.org.Calls())
	if calls > 50 {
		t.Fatalf("%d Salesforce calls for %d messages, want ≤ 50: %v", calls, messages, e.org.Calls())
	}

	convs := e.query(t, "SELECT Id, Message_Recipient__c, Record_Id__c, External_Channel__c, OwnerId, Status__c, Channel__c FROM Conversation__c")
	if len(convs) != numbers {
		t.Fatalf("%d conversations, want one per number (%d)", len(convs), numbers)
	}
	convOf := map[string]map[string]any{}
	for _, c := range convs {
		convOf[c["Message_Recipient__c"].(string)] = c
	}
	for _, p := range people {
		c := convOf[p.e164]
		if c == nil {
			t.Fatalf("no conversation for %s", p.e164)
		}
		if c["OwnerId"] != e.queueID || c["Status__c"] != "Open" || c["Channel__c"] != e.chanID {
			t.Fatalf("conversation %v: want Open, on the channel, owned by queue %s", c, e.queueID)
		}
		rec, _ := c["Record_Id__c"].(string)
		reg, _ := c["External_Channel__c"].(string)
		if rec != p.recordID || reg != p.regID {
			t.Fatalf("%s: conversation bound to %q via %q, want %q via %q", p.e164, rec, reg, p.recordID, p.regID)
		}
	}
	tasks := e.query(t, "SELECT Id, Message_Sid__c, Conversation__c, Conversation__r.Message_Recipient__c, WhoId, WhatId, Message_Type__c, Message_Status__c, Status, Subject, Description FROM Task")
	if len(tasks) != messages {
		t.Fatalf("%d tasks, want %d", len(tasks), messages)
	}
	byNumber := map[string]who{}
	for _, p := range people {
		byNumber[p.e164] = p
	}
	for _, tk := range tasks {
		num := tk["Conversation__r"].(map[string]any)["Message_Recipient__c"].(string)
		p := byNumber[num]
		who, _ := tk["WhoId"].(string)
		if who != p.recordID || tk["WhatId"] != nil {
			t.Fatalf("task from %s linked to WhoId %q WhatId %v, want WhoId %q", num, who, tk["WhatId"], p.recordID)
		}
		if tk["Message_Type__c"] != "Inbound" || tk["Message_Status__c"] != "Received" || tk["Status"] != "Completed" ||
			tk["Subject"] != "SMS from "+num || !strings.HasPrefix(tk["Description"].(string), "message ") {
			t.Fatalf("task fields %v", tk)
		}
	}
}

func TestInboundRetriedWebhookCreatesOneTask(t *testing.T) {
	e := newSimEnv(t)
	m := msg("+14155550100", "hello")
	in := e.inbound(nil)
	for range 2 {
		if err := in.Handle(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	// A second replica (no memory of the first) upserts the same Task.
	m.Body = "hello"
	if err := e.inbound(nil).Handle(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	// The same webhook twice in one batch: one record in the upsert.
	dup := msg("+14155550100", "twice")
	var wg gosync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if err := e.inbound(nil).Handle(context.Background(), dup); err != nil {
				t.Error(err)
			}
		})
	}
	twin := e.inbound(nil)
	for range 2 {
		wg.Go(func() {
			if err := twin.Handle(context.Background(), dup); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, sid := range []string{m.SID, dup.SID} {
		if rows := e.query(t, "SELECT Id FROM Task WHERE Message_Sid__c = '"+sid+"'"); len(rows) != 1 {
			t.Fatalf("%s: %d tasks, want 1", sid, len(rows))
		}
	}
	if rows := e.query(t, "SELECT Id FROM Conversation__c"); len(rows) != 1 {
		t.Fatalf("%d conversations, want 1", len(rows))
	}
}

func TestInboundClosedConversationIsNotReopened(t *testing.T) {
	e := newSimEnv(t)
	closed := e.insert(t, "Conversation__c", map[string]any{"Status__c": "Closed", "Channel__c": e.chanID, "Message_Recipient__c": "+14155550100"})
	if err := e.inbound(nil).Handle(context.Background(), msg("+14155550100", "back again")); err != nil {
		t.Fatal(err)
	}
	rows := e.query(t, "SELECT Id, Status__c FROM Conversation__c WHERE Message_Recipient__c = '+14155550100'")
	if len(rows) != 2 {
		t.Fatalf("%d conversations, want the closed one and a new one", len(rows))
	}
	var open string
	for _, r := range rows {
		if r["Id"] == closed && r["Status__c"] != "Closed" {
			t.Fatalf("closed conversation reopened: %v", r)
		}
		if r["Id"] != closed {
			open = r["Id"].(string)
		}
	}
	task := e.query(t, "SELECT Conversation__c FROM Task")
	if len(task) != 1 || task[0]["Conversation__c"] != open {
		t.Fatalf("task threaded on %v, want the new conversation %s", task, open)
	}
	// An open thread is reused, by a fresh engine too.
	if err := e.inbound(nil).Handle(context.Background(), msg("+14155550100", "and again")); err != nil {
		t.Fatal(err)
	}
	if rows := e.query(t, "SELECT Id FROM Conversation__c WHERE Status__c = 'Open'"); len(rows) != 1 || rows[0]["Id"] != open {
		t.Fatalf("open conversations %v, want only %s", rows, open)
	}
}

func TestInboundAmbiguousNumberLeavesConversationUnbound(t *testing.T) {
	e := newSimEnv(t)
	a := e.insert(t, "Contact", map[string]any{"LastName": "A", "MobilePhone": "(415) 555-0100"})
	b := e.insert(t, "Contact", map[string]any{"LastName": "B", "Phone": "415.555.0100"})
	// Over-matched by the LIKE pattern, refused by normalisation.
	e.insert(t, "Contact", map[string]any{"LastName": "C", "Phone": "+44 4155 550 100"})
	core, logs := observer.New(zap.WarnLevel)
	if err := e.inbound(zap.New(core)).Handle(context.Background(), msg("+14155550100", "who am I")); err != nil {
		t.Fatal(err)
	}
	conv := e.query(t, "SELECT Record_Id__c, External_Channel__c FROM Conversation__c")
	if len(conv) != 1 || conv[0]["Record_Id__c"] != nil || conv[0]["External_Channel__c"] != nil {
		t.Fatalf("conversation %v, want unbound", conv)
	}
	task := e.query(t, "SELECT WhoId, WhatId FROM Task")
	if len(task) != 1 || task[0]["WhoId"] != nil || task[0]["WhatId"] != nil {
		t.Fatalf("task %v, want unlinked", task)
	}
	entries := logs.FilterMessageSnippet("several records").All()
	if len(entries) != 1 {
		t.Fatalf("logged %v, want one warning naming the candidates", logs.All())
	}
	cands := fmt.Sprint(entries[0].ContextMap()["candidates"])
	if !strings.Contains(cands, a) || !strings.Contains(cands, b) || strings.Count(cands, "Contact") != 2 {
		t.Fatalf("candidates %s, want Contact %s and Contact %s", cands, a, b)
	}
}

func TestInboundShortCodeAndAlphanumericSenders(t *testing.T) {
	e := newSimEnv(t)
	in := e.inbound(nil)
	for _, from := range []string{"72345", "ACME", "whatsapp:+14155550100"} {
		if err := in.Handle(context.Background(), msg(from, "STOP")); err != nil {
			t.Fatalf("from %q: %v", from, err)
		}
		conv := e.query(t, "SELECT Id, Record_Id__c FROM Conversation__c WHERE Message_Recipient__c = '"+from+"'")
		if len(conv) != 1 {
			t.Fatalf("from %q: conversations %v, want one keyed by the sender as sent", from, conv)
		}
		task := e.query(t, "SELECT Subject FROM Task WHERE Conversation__c = '"+conv[0]["Id"].(string)+"'")
		want := "SMS from " + from
		if from == "whatsapp:+14155550100" {
			want = "WhatsApp from +14155550100"
		}
		if len(task) != 1 || task[0]["Subject"] != want {
			t.Fatalf("from %q: tasks %v", from, task)
		}
	}
	// A STOP from a short code or an alphanumeric id is not consent of a
	// number we could message; from a WhatsApp number it is.
	rows := e.query(t, "SELECT UniqueId__c, Active__c FROM Opt_In__c")
	if len(rows) != 1 || rows[0]["UniqueId__c"] != "whatsapp:+14155550100|"+e.chanID || rows[0]["Active__c"] != false {
		t.Fatalf("opt-ins %v, want only the WhatsApp number's", rows)
	}
}

func TestInboundMMSRecordsMediaInDescription(t *testing.T) {
	e := newSimEnv(t)
	m := msg("+14155550100", "look")
	m.SID = "MM" + m.SID[2:]
	m.MediaURLs = []string{"https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2"}
	if err := e.inbound(nil).Handle(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	task := e.query(t, "SELECT Description FROM Task")
	want := "look\n\n[2 media attachments]\n" + m.MediaURLs[0] + "\n" + m.MediaURLs[1]
	if len(task) != 1 || task[0]["Description"] != want {
		t.Fatalf("description %q, want %q", task[0]["Description"], want)
	}
}

func TestInboundChannelByMessagingServiceAndBadInput(t *testing.T) {
	e := newSimEnv(t)
	in := e.inbound(nil)
	ms := e.insert(t, "Channel__c", map[string]any{"Name": "Service", "Messaging_Service_Sid__c": "MG0123456789abcdef0123456789abcdef",
		"Channel_Type__c": e.typeID, "Active__c": true})
	m := msg("+14155550100", "via service")
	m.To, m.MessagingServiceSID = "+14155558888", "MG0123456789abcdef0123456789abcdef"
	if err := in.Handle(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if conv := e.query(t, "SELECT Channel__c, OwnerId FROM Conversation__c"); len(conv) != 1 || conv[0]["Channel__c"] != ms {
		t.Fatalf("conversation %v, want channel %s", conv, ms)
	}

	bad := map[string]func(*sbsync.InboundMessage){
		"malformed SID":   func(m *sbsync.InboundMessage) { m.SID = "not-a-sid" },
		"no From":         func(m *sbsync.InboundMessage) { m.From = " " },
		"unknown number":  func(m *sbsync.InboundMessage) { m.To = "+14155557777" },
		"no To, no MG":    func(m *sbsync.InboundMessage) { m.To = "" },
		"unknown service": func(m *sbsync.InboundMessage) { m.To, m.MessagingServiceSID = "", "MG00000000000000000000000000000000" },
	}
	before := len(e.query(t, "SELECT Id FROM Task"))
	for name, mutate := range bad {
		m := msg("+14155550100", "x")
		mutate(&m)
		err := in.Handle(context.Background(), m)
		if !sbsync.IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent error", name, err)
		}
	}
	if after := len(e.query(t, "SELECT Id FROM Task")); after != before {
		t.Fatalf("bad input wrote %d tasks", after-before)
	}

	// A channel created after the cache was filled is found after a reload.
	e.insert(t, "Channel__c", map[string]any{"Name": "New", "Phone_Number__c": "(415) 555-7777", "Channel_Type__c": e.typeID, "Active__c": true})
	fresh := sbsync.NewInbound(sbsync.InboundConfig{BatchWindow: 5 * time.Millisecond, ChannelRetry: time.Millisecond}, e.eng, nil, nil, nil)
	if err := fresh.Handle(context.Background(), msg("+14155550100", "warm the cache")); err != nil {
		t.Fatal(err)
	}
	e.insert(t, "Channel__c", map[string]any{"Name": "Newer", "Phone_Number__c": "415-555-6666", "Channel_Type__c": e.typeID, "Active__c": true})
	time.Sleep(2 * time.Millisecond)
	m = msg("+14155550100", "to the new number")
	m.To = "+14155556666"
	if err := fresh.Handle(context.Background(), m); err != nil {
		t.Fatalf("message to a channel created after the cache was filled: %v", err)
	}
	var pe *sbsync.PermanentError
	err := fresh.Handle(context.Background(), sbsync.InboundMessage{SID: newSID("SM"), From: "+14155550100", To: "+14155551111"})
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "+14155551111") {
		t.Fatalf("unknown number: %v, want a permanent error naming it", err)
	}
}

func TestInboundLinksAndQueues(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	core, logs := observer.New(zap.WarnLevel)
	in := e.inbound(zap.New(core))
	// A thread bound to an Account: the Task goes in WhatId.
	acct := e.insert(t, "Account", map[string]any{"Name": "Acme"})
	e.insert(t, "Conversation__c", map[string]any{"Status__c": "Open", "Channel__c": e.chanID, "Message_Recipient__c": "+14155550100", "Record_Id__c": acct})
	// A thread bound to a record Tasks cannot relate to (a User): the
	// message is still recorded, unlinked.
	e.insert(t, "Conversation__c", map[string]any{"Status__c": "Open", "Channel__c": e.chanID, "Message_Recipient__c": "+14155550101", "Record_Id__c": e.org.UserID()})
	for _, from := range []string{"+14155550100", "+14155550101"} {
		if err := in.Handle(ctx, msg(from, "hi")); err != nil {
			t.Fatalf("from %s: %v", from, err)
		}
	}
	if rows := e.query(t, "SELECT Id FROM Task WHERE WhatId = '"+acct+"' AND WhoId = null"); len(rows) != 1 {
		t.Fatalf("%d tasks on the account, want 1", len(rows))
	}
	if rows := e.query(t, "SELECT WhoId, WhatId FROM Task WHERE Conversation__r.Message_Recipient__c = '+14155550101'"); len(rows) != 1 || rows[0]["WhatId"] != nil {
		t.Fatalf("task of a thread bound to a User: %v, want one, unlinked", rows)
	}
	if logs.FilterMessageSnippet("writing it unlinked").Len() != 1 {
		t.Fatalf("unlinked write not logged: %v", logs.All())
	}

	// A channel whose queue does not exist: warned once, thread kept by
	// the integration user.
	e.insert(t, "Channel__c", map[string]any{"Name": "No queue", "Phone_Number__c": "+14155553333", "Queue_Name__c": "Nope", "Channel_Type__c": e.typeID, "Active__c": true})
	in2 := e.inbound(zap.New(core))
	for range 2 {
		m := msg("+14155550102", "hi")
		m.To = "+14155553333"
		if err := in2.Handle(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	conv := e.query(t, "SELECT OwnerId FROM Conversation__c WHERE Message_Recipient__c = '+14155550102'")
	if len(conv) != 1 || conv[0]["OwnerId"] != e.org.UserID() {
		t.Fatalf("conversation %v, want one owned by the integration user %s", conv, e.org.UserID())
	}
	if n := logs.FilterMessageSnippet("names no queue").Len(); n != 1 {
		t.Fatalf("missing queue warned %d times, want once per channel load", n)
	}
}
