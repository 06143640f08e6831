package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
	"github.com/switchboard/switchboard/twilio"
	"github.com/switchboard/switchboard/twilio/twiliotest"
)

// nodeSign signs (url, form) with Twilio's own Node helper library
// (twilio/testdata/npm/sign.js): an implementation independent of ours.
func nodeSign(t *testing.T, token, u string, form url.Values) string {
	t.Helper()
	dir, _ := filepath.Abs("../../twilio/testdata/npm")
	bin, lookErr := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "twilio"))
	if lookErr != nil || modErr != nil {
		msg := fmt.Sprintf("the independent signer needs node and `npm ci --prefix twilio/testdata/npm` (%v, %v)", lookErr, modErr)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	params := map[string]any{}
	for k, vs := range form {
		params[k] = vs[0]
	}
	in, _ := json.Marshal([]map[string]any{{"op": "sign", "token": token, "url": u, "params": params}})
	cmd := exec.Command(bin, filepath.Join(dir, "sign.js"))
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node sign.js: %v", err)
	}
	var res []struct{ Signature string }
	if err := json.Unmarshal(out, &res); err != nil || len(res) != 1 {
		t.Fatalf("node sign.js said %q: %v", out, err)
	}
	return res[0].Signature
}

func inboundForm(sid, from, body string) url.Values {
	return url.Values{
		"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {simAccountSID}, "From": {from}, "To": {simNumber},
		"Body": {body}, "NumMedia": {"0"}, "NumSegments": {"1"}, "ApiVersion": {"2010-04-01"}, "SmsStatus": {"received"},
	}
}

func post(t *testing.T, u string, form url.Values, sig string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig != "" {
		req.Header.Set("X-Twilio-Signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func (w *simWorld) inboundTasks() []map[string]any {
	var out []map[string]any
	for _, r := range w.Org.Records("Task") {
		if str(r["Message_Type__c"]) == "Inbound" {
			out = append(out, r)
		}
	}
	return out
}

// TestWebhookSignatures: a webhook signed by Twilio's own library is
// accepted; each forgery is refused with 403 and stores nothing; each
// malformed request gets its own status.
func TestWebhookSignatures(t *testing.T) {
	w := newWorld(t, simOptions{})
	d := startDaemon(t, w, "", e2eTuning())
	u := d.publicURL + "/twilio/inbound"

	good := inboundForm("SM"+strings.Repeat("a", 32), "+14155550160", "Hello from node")
	sig := nodeSign(t, simAuthToken, u, good)
	resp, body := post(t, u, good, sig)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") || !strings.Contains(body, "<Response/>") {
		t.Fatalf("signed webhook: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	sfdctest.Eventually(t, 15*time.Second, "the inbound task", func() bool { return len(w.inboundTasks()) == 1 })

	flipped := []byte(sig)
	flipped[3] ^= 0x01
	otherAccount := inboundForm("SM"+strings.Repeat("b", 32), "+14155550160", "forged")
	otherAccount.Set("AccountSid", "AC"+strings.Repeat("0", 32))
	httpsURL := strings.Replace(u, "http://", "https://", 1)
	forgeries := []struct {
		name string
		form url.Values
		sig  string
	}{
		{"one bad byte", inboundForm("SM"+strings.Repeat("c", 32), "+14155550160", "Hello from node"), string(flipped)},
		{"no signature", inboundForm("SM"+strings.Repeat("d", 32), "+14155550160", "x"), ""},
		{"wrong account", otherAccount, nodeSign(t, simAuthToken, u, otherAccount)},
		{"signed for https, called on http", inboundForm("SM"+strings.Repeat("e", 32), "+14155550160", "x"),
			nodeSign(t, simAuthToken, httpsURL, inboundForm("SM"+strings.Repeat("e", 32), "+14155550160", "x"))},
		{"wrong token", inboundForm("SM"+strings.Repeat("f", 32), "+14155550160", "x"),
			nodeSign(t, "0123456789abcdef0123456789abcdef", u, inboundForm("SM"+strings.Repeat("f", 32), "+14155550160", "x"))},
	}
	for _, f := range forgeries {
		if resp, _ := post(t, u, f.form, f.sig); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", f.name, resp.StatusCode)
		}
	}

	// Malformed requests.
	if resp, err := http.Get(u); err != nil || resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %v %v", resp, err)
	}
	big := inboundForm("SM"+strings.Repeat("1", 32), "+14155550160", strings.Repeat("x", 70<<10))
	if resp, _ := post(t, u, big, "sig"); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("70 KiB body: %d, want 413", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader("Body=%zz"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unparsable body: %v %v", resp, err)
	}
	noSID := inboundForm("", "+14155550160", "x")
	if resp, _ := post(t, u, noSID, nodeSign(t, simAuthToken, u, noSID)); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("no MessageSid: %d, want 400", resp.StatusCode)
	}

	time.Sleep(500 * time.Millisecond) // anything wrongly stored would have been processed by now
	if n := len(w.inboundTasks()); n != 1 {
		t.Errorf("%d inbound tasks; only the signed webhook may be written", n)
	}
	depth, err := d.m.store.QueueDepth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if dl := depth[kindInbound].Dead; dl != 0 {
		t.Errorf("%d dead letters: a refused request was stored", dl)
	}
}

// TestCustomerReplies: a reply from a Contact stored as "(415) 555-0100"
// lands on the Contact, in the thread, owned by the channel's queue; the
// same webhook twice is one Task.
func TestCustomerReplies(t *testing.T) {
	w := newWorld(t, simOptions{})
	contact, err := w.Org.Insert("Contact", map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "MobilePhone": "(415) 555-0100"})
	if err != nil {
		t.Fatal(err)
	}
	startDaemon(t, w, "", e2eTuning())
	res, err := w.Twilio.SendInbound(context.Background(), twiliotest.Inbound{From: "+14155550100", To: simNumber, Body: "Thanks, got it!"})
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.WouldReply() {
		t.Fatalf("inbound answered %d (would reply: %v)", res.StatusCode, res.WouldReply())
	}
	sfdctest.Eventually(t, 15*time.Second, "the inbound task", func() bool { return len(w.inboundTasks()) == 1 })
	task := w.inboundTasks()[0]
	if str(task["WhoId"]) != contact || str(task["Message_Status__c"]) != "Received" || str(task["Description"]) != "Thanks, got it!" ||
		str(task["Status"]) != "Completed" || str(task["Subject"]) != "SMS from +14155550100" {
		t.Errorf("inbound task = %v", task)
	}
	conv, _ := w.Org.Get("Conversation__c", str(task["Conversation__c"]))
	if str(conv["Record_Id__c"]) != contact || str(conv["OwnerId"]) != w.QueueID || str(conv["Status__c"]) != "Open" {
		t.Errorf("conversation = %v", conv)
	}

	// Twilio retries the same webhook: nothing new.
	again := inboundForm(str(task["Message_Sid__c"]), "+14155550100", "Thanks, got it!")
	res2, err := w.Twilio.SendInbound(context.Background(), twiliotest.Inbound{From: "+14155550100", To: simNumber, Body: "Thanks, got it!",
		Extra: url.Values{"MessageSid": again["MessageSid"], "SmsSid": again["SmsSid"]}})
	if err != nil || res2.StatusCode != 200 {
		t.Fatalf("retried webhook: %v %v", res2, err)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(w.inboundTasks()); n != 1 {
		t.Errorf("%d inbound tasks after a retried webhook, want 1", n)
	}
}

// TestAccountReplies: a text from an Account's phone, typed
// "(415) 555-0199", binds the new conversation to that Account through the
// Account.Phone External Channel `setup` creates, and the inbound Task goes
// on it by WhatId (an Account is not a Who: SPEC §1).
func TestAccountReplies(t *testing.T) {
	w := newWorld(t, simOptions{})
	account, err := w.Org.Insert("Account", map[string]any{"Name": "Acme Corp", "Phone": "(415) 555-0199"})
	if err != nil {
		t.Fatal(err)
	}
	startDaemon(t, w, "", e2eTuning())
	res, err := w.Twilio.SendInbound(context.Background(), twiliotest.Inbound{From: "+14155550199", To: simNumber, Body: "Invoice received"})
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("inbound: %v %v", res, err)
	}
	sfdctest.Eventually(t, 15*time.Second, "the inbound task", func() bool { return len(w.inboundTasks()) == 1 })
	task := w.inboundTasks()[0]
	if str(task["WhatId"]) != account || str(task["WhoId"]) != "" || str(task["Message_Status__c"]) != "Received" {
		t.Errorf("inbound task = %v, want WhatId %s and no WhoId", task, account)
	}
	conv, _ := w.Org.Get("Conversation__c", str(task["Conversation__c"]))
	var ext []map[string]any
	for _, r := range w.Org.Records("External_Channel__c") {
		if str(r["Object_API_Name__c"]) == "Account" && str(r["Field_API_Name__c"]) == "Phone" {
			ext = append(ext, r)
		}
	}
	if len(ext) != 1 {
		t.Fatalf("Account.Phone External Channels: %v", ext)
	}
	if str(conv["Record_Id__c"]) != account || str(conv["External_Channel__c"]) != str(ext[0]["Id"]) || str(conv["Message_Recipient__c"]) != "+14155550199" {
		t.Errorf("conversation = %v, want it bound to Account %s through %s", conv, account, ext[0]["Id"])
	}
}

// TestStopAndStart: STOP opts the customer out (the next outbound Task is
// rejected before Twilio); START opts them in again (the next one is sent).
func TestStopAndStart(t *testing.T) {
	w := newWorld(t, simOptions{})
	startDaemon(t, w, "", e2eTuning())
	customer := "+14155550170"
	conv := w.newConversation(t, customer)
	if _, err := w.Twilio.SendInbound(context.Background(), twiliotest.Inbound{From: customer, To: simNumber, Body: " stop "}); err != nil {
		t.Fatal(err)
	}
	key := customer + "|" + w.ChannelID
	optIn := func() map[string]any {
		rows, _ := w.Org.Query("SELECT Id, Active__c, Keyword__c FROM Opt_In__c WHERE UniqueId__c = '" + key + "'")
		if len(rows) == 1 {
			return rows[0]
		}
		return nil
	}
	sfdctest.Eventually(t, 15*time.Second, "the opt-out", func() bool { r := optIn(); return r != nil && r["Active__c"] == false })
	blocked := w.pendingTask(t, map[string]any{"Conversation__c": conv, "Description": "Are you there?"})
	sfdctest.Eventually(t, 15*time.Second, "the blocked task", func() bool { return str(w.task(t, blocked)["Message_Status__c"]) == "Error" })
	if d := str(w.task(t, blocked)["Error_Description__c"]); !strings.Contains(d, "opted out") {
		t.Errorf("Error_Description__c = %q", d)
	}
	if n := w.Twilio.Stats().CreateRequests; n != 0 {
		t.Errorf("%d creates reached Twilio for an opted-out customer", n)
	}

	if _, err := w.Twilio.SendInbound(context.Background(), twiliotest.Inbound{From: customer, To: simNumber, Body: "START"}); err != nil {
		t.Fatal(err)
	}
	sfdctest.Eventually(t, 15*time.Second, "the opt-in", func() bool { r := optIn(); return r != nil && r["Active__c"] == true })
	sent := w.pendingTask(t, map[string]any{"Conversation__c": conv, "Description": "Welcome back"})
	sfdctest.Eventually(t, 15*time.Second, "the task sent", func() bool { return str(w.task(t, sent)["Message_Sid__c"]) != "" })
}

// TestSalesforceDownWhileWebhooksArrive: Salesforce answers 503 for 30 s
// while 100 webhooks arrive: every one is acknowledged at once, and every
// Task is there once Salesforce is back.
func TestSalesforceDownWhileWebhooksArrive(t *testing.T) {
	if testing.Short() {
		t.Skip("30 s outage")
	}
	w := newWorld(t, simOptions{})
	startDaemon(t, w, "", e2eTuning())
	const outage = 30 * time.Second
	w.Org.SetUnavailable(outage)
	began := time.Now()
	var slowest time.Duration
	for i := range 100 {
		start := time.Now()
		res, err := w.Twilio.SendInbound(context.Background(), twiliotest.Inbound{From: fmt.Sprintf("+1415555%04d", 6000+i%40), To: simNumber, Body: fmt.Sprintf("During the outage %d", i)})
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("webhook %d: %v %v", i, res, err)
		}
		slowest = max(slowest, time.Since(start))
	}
	t.Logf("100 webhooks acknowledged during the outage; slowest ack %s", slowest)
	if slowest > time.Second {
		t.Errorf("slowest ack %s: acks must not wait for Salesforce", slowest)
	}
	if n := len(w.inboundTasks()); n != 0 {
		t.Fatalf("%d tasks written while Salesforce was down", n)
	}
	sfdctest.Eventually(t, outage-time.Since(began)+60*time.Second, "all 100 tasks", func() bool { return len(w.inboundTasks()) == 100 })
}

// TestKilledAfterAck: webhooks acknowledged, then the daemon is SIGKILLed
// before it could reach Salesforce: on restart every message lands.
func TestKilledAfterAck(t *testing.T) {
	w := newWorld(t, simOptions{})
	addr := freePort(t)
	admin := freePort(t)
	env := append(w.environ("http://"+addr, "sqlite://"+filepath.Join(t.TempDir(), "switchboard.db")), "SWITCHBOARD_SERVER_LISTEN="+addr, "SWITCHBOARD_SERVER_ADMIN_LISTEN="+admin)
	child := startChild(t, env)
	waitReady(t, admin, 30*time.Second)
	w.Twilio.SetInboundURL("http://" + addr + "/twilio/inbound")
	w.Org.SetUnavailable(time.Hour)
	for i := range 20 {
		res, err := w.Twilio.SendInbound(context.Background(), twiliotest.Inbound{From: fmt.Sprintf("+1415555%04d", 7000+i), To: simNumber, Body: fmt.Sprintf("Before the crash %d", i)})
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("webhook %d: %v %v", i, res, err)
		}
	}
	child.kill(t)
	w.Org.SetUnavailable(0)
	child = startChild(t, env)
	t.Cleanup(func() { child.kill(t) })
	sfdctest.Eventually(t, 60*time.Second, "all 20 tasks", func() bool { return len(w.inboundTasks()) == 20 })
}

// TestStatusCallbacks: callbacks out of order end on the highest status;
// callbacks that arrive before the Task carries its SID are kept and
// applied once it does; a lost callback is recovered by polling.
func TestStatusCallbacks(t *testing.T) {
	t.Run("delivered before sent", func(t *testing.T) {
		w := newWorld(t, simOptions{StepDelay: 20 * time.Millisecond})
		w.Twilio.ReorderCallbacks(true)
		startDaemon(t, w, "", e2eTuning())
		id := w.pendingTask(t, map[string]any{"Conversation__c": w.newConversation(t, "+14155550180"), "Description": "reordered"})
		sfdctest.Eventually(t, 15*time.Second, "delivered", func() bool { return str(w.task(t, id)["Message_Status__c"]) == "Delivered" })
		if err := w.Twilio.Settle(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		if s := str(w.task(t, id)["Message_Status__c"]); s != "Delivered" {
			t.Errorf("status moved back to %s", s)
		}
	})
	t.Run("callback before the SID is written", func(t *testing.T) {
		w := newWorld(t, simOptions{}) // instant lifecycle: callbacks race the write-back
		startDaemon(t, w, "", e2eTuning())
		w.Org.SetLatency(300 * time.Millisecond) // every callback arrives before the SID is in Salesforce
		id := w.pendingTask(t, map[string]any{"Conversation__c": w.newConversation(t, "+14155550181"), "Description": "early callbacks"})
		sfdctest.Eventually(t, 20*time.Second, "delivered", func() bool { return str(w.task(t, id)["Message_Status__c"]) == "Delivered" })
	})
	t.Run("undelivered with a carrier error", func(t *testing.T) {
		w := newWorld(t, simOptions{})
		w.Twilio.SetOutcome("+14155550182", "undelivered", 30007)
		startDaemon(t, w, "", e2eTuning())
		id := w.pendingTask(t, map[string]any{"Conversation__c": w.newConversation(t, "+14155550182"), "Description": "filtered"})
		sfdctest.Eventually(t, 15*time.Second, "undelivered", func() bool { return str(w.task(t, id)["Message_Status__c"]) == "Undelivered" })
		if d := str(w.task(t, id)["Error_Description__c"]); d != twilio.ErrorDescription(30007) || !strings.HasPrefix(d, "30007") {
			t.Errorf("Error_Description__c = %q", d)
		}
	})
	t.Run("lost callback recovered by polling", func(t *testing.T) {
		w := newWorld(t, simOptions{})
		w.Twilio.DropCallbacks(1000)
		startDaemon(t, w, "", e2eTuning(), "SWITCHBOARD_ENGINE_STATUS_POLL_AFTER=1s")
		id := w.pendingTask(t, map[string]any{"Conversation__c": w.newConversation(t, "+14155550183"), "Description": "no callbacks"})
		sfdctest.Eventually(t, 30*time.Second, "delivered by polling", func() bool { return str(w.task(t, id)["Message_Status__c"]) == "Delivered" })
	})
}

// TestConversationBound: a stranger's thread, once bound to a new Lead by
// a user, carries its earlier Tasks to the Lead.
func TestConversationBound(t *testing.T) {
	w := newWorld(t, simOptions{})
	startDaemon(t, w, "", e2eTuning())
	for i := range 3 {
		if _, err := w.Twilio.SendInbound(context.Background(), twiliotest.Inbound{From: "+14155550190", To: simNumber, Body: fmt.Sprintf("Who is this? %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	sfdctest.Eventually(t, 15*time.Second, "three inbound tasks", func() bool { return len(w.inboundTasks()) == 3 })
	conv := str(w.inboundTasks()[0]["Conversation__c"])
	if c, _ := w.Org.Get("Conversation__c", conv); str(c["Record_Id__c"]) != "" {
		t.Fatalf("a stranger's conversation is bound: %v", c)
	}
	lead, err := w.Org.Insert("Lead", map[string]any{"LastName": "Stranger", "Company": "Unknown", "MobilePhone": "415.555.0190"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Org.Update("Conversation__c", conv, map[string]any{"Record_Id__c": lead}); err != nil {
		t.Fatal(err)
	}
	sfdctest.Eventually(t, 15*time.Second, "the tasks on the lead", func() bool {
		for _, task := range w.inboundTasks() {
			if str(task["WhoId"]) != lead {
				return false
			}
		}
		return true
	})
}
