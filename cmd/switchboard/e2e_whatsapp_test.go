package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
	"github.com/switchboard/switchboard/twilio/twiliotest"
)

// TestWhatsApp: a customer writes on WhatsApp, an agent answers in the
// conversation: the answer goes out with "whatsapp:" on both addresses
// (twilio.md §10.1), from the WhatsApp channel, and is delivered.
func TestWhatsApp(t *testing.T) {
	w := newWorld(t, simOptions{})
	const waNumber, customer = "+14155550050", "+14155550160"
	if err := w.Twilio.AddNumber(simAccountSID, waNumber); err != nil {
		t.Fatal(err)
	}
	waType, err := w.Org.Insert("Channel_Type__c", map[string]any{"Name": "WhatsApp", "Account_Sid__c": simAccountSID, "Provider__c": "Twilio WhatsApp"})
	if err != nil {
		t.Fatal(err)
	}
	waChannel, err := w.Org.Insert("Channel__c", map[string]any{"Name": "WhatsApp Support", "Phone_Number__c": waNumber, "Channel_Type__c": waType, "Active__c": true})
	if err != nil {
		t.Fatal(err)
	}
	startDaemon(t, w, "", e2eTuning())

	if _, err := w.Twilio.SendInbound(context.Background(), twiliotest.Inbound{From: "whatsapp:" + customer, To: "whatsapp:" + waNumber, Body: "Is my order ready?"}); err != nil {
		t.Fatal(err)
	}
	var conv map[string]any
	sfdctest.Eventually(t, 15*time.Second, "the WhatsApp conversation", func() bool {
		for _, c := range w.Org.Records("Conversation__c") {
			if str(c["Channel__c"]) == waChannel {
				conv = c
				return true
			}
		}
		return false
	})
	if got := str(conv["Message_Recipient__c"]); got != "whatsapp:"+customer {
		t.Errorf("conversation recipient = %q, want whatsapp:%s", got, customer)
	}
	sfdctest.Eventually(t, 15*time.Second, "the inbound Task", func() bool { return len(w.inboundTasks()) == 1 })
	if got := str(w.inboundTasks()[0]["Subject"]); got != "WhatsApp from "+customer {
		t.Errorf("inbound Subject = %q", got)
	}

	id := w.pendingTask(t, map[string]any{"Conversation__c": str(conv["Id"]), "Description": "Yes, it ships today."})
	sfdctest.Eventually(t, 15*time.Second, "the answer delivered", func() bool { return str(w.task(t, id)["Message_Status__c"]) == "Delivered" })
	task := w.task(t, id)
	if got := str(task["Subject"]); got != "WhatsApp to "+customer {
		t.Errorf("outbound Subject = %q", got)
	}
	msgs := outboundMessages(w)
	if len(msgs) != 1 || msgs[0].To != "whatsapp:"+customer || msgs[0].From != "whatsapp:"+waNumber || msgs[0].SID != str(task["Message_Sid__c"]) {
		t.Fatalf("Twilio messages = %+v, want one from whatsapp:%s to whatsapp:%s", msgs, waNumber, customer)
	}

	// A WhatsApp address on an SMS channel's conversation cannot be sent:
	// Error, with the reason, and no Twilio call.
	smsConv := w.newConversation(t, "whatsapp:"+customer)
	bad := w.pendingTask(t, map[string]any{"Conversation__c": smsConv, "Description": "Hello"})
	sfdctest.Eventually(t, 15*time.Second, "the mismatched Task rejected", func() bool { return str(w.task(t, bad)["Message_Status__c"]) == "Error" })
	if got := str(w.task(t, bad)["Error_Description__c"]); !strings.Contains(got, `is a WhatsApp address, but channel "Support" sends SMS`) {
		t.Errorf("Error_Description__c = %q", got)
	}
	if n := len(outboundMessages(w)); n != 1 {
		t.Errorf("%d Twilio messages, want 1", n)
	}
}

func outboundMessages(w *simWorld) []twiliotest.Message {
	var out []twiliotest.Message
	for _, m := range w.Twilio.Messages() {
		if m.Direction == "outbound-api" {
			out = append(out, m)
		}
	}
	return out
}
