package sync

import (
	"strings"
	"testing"
)

// TestCheckChannel: every bad channel gets its fault and a sentence naming
// the channel and the field to fix; a good one gets nil.
func TestCheckChannel(t *testing.T) {
	const acct = "AC0123456789abcdef0123456789abcdef"
	good := func() *Channel {
		return &Channel{ID: "a0X000000000001AAA", Name: "Support", PhoneNumber: "+14155550100", Active: true,
			ChannelType: &ChannelType{Name: "Twilio", AccountSID: acct, Provider: ProviderSMS}}
	}
	known := func(sid string) bool { return sid == acct }
	cases := []struct {
		name   string
		edit   func(*Channel)
		creds  func(string) bool
		fault  ChannelFault
		reason string
	}{
		{name: "good", edit: func(*Channel) {}, creds: known},
		{name: "good, credentials not checked", edit: func(c *Channel) { c.ChannelType.AccountSID = "AC1" }},
		{name: "Messaging Service only", edit: func(c *Channel) { c.PhoneNumber, c.MessagingServiceSID = "", "MG0123456789abcdef0123456789ABCDEF" }, creds: known},
		{name: "WhatsApp sender with its prefix", edit: func(c *Channel) { c.PhoneNumber = "whatsapp:+14155550100" }, creds: known},
		{name: "inactive", edit: func(c *Channel) { c.Active = false }, fault: ChannelInactive, reason: `Channel "Support" is not active (Active__c is unchecked).`},
		{name: "no type", edit: func(c *Channel) { c.ChannelType = nil }, fault: ChannelNoType, reason: "no Channel_Type__c"},
		{name: "type without account", edit: func(c *Channel) { c.ChannelType.AccountSID = "  " }, fault: ChannelNoAccount, reason: "Account_Sid__c"},
		{name: "account without credentials", edit: func(c *Channel) { c.ChannelType.AccountSID = "AC1" }, creds: known,
			fault: ChannelNoCredentials, reason: "account AC1, which has no credentials"},
		{name: "no sender", edit: func(c *Channel) { c.PhoneNumber = "" }, fault: ChannelNoSender, reason: "neither Phone_Number__c nor Messaging_Service_Sid__c"},
		{name: "service SID of another kind", edit: func(c *Channel) { c.MessagingServiceSID = "PN0123456789abcdef0123456789abcdef" },
			fault: ChannelBadServiceSID, reason: `Messaging_Service_Sid__c "PN0123456789abcdef0123456789abcdef"`},
		{name: "service SID too short", edit: func(c *Channel) { c.MessagingServiceSID = "MG123" }, fault: ChannelBadServiceSID, reason: "MG and 32 hex digits"},
		{name: "phone as typed", edit: func(c *Channel) { c.PhoneNumber = "(415) 555-0100" }, fault: ChannelBadPhone, reason: `Phone_Number__c "(415) 555-0100", which is not in E.164 form`},
		{name: "phone without plus", edit: func(c *Channel) { c.PhoneNumber = "14155550100" }, fault: ChannelBadPhone, reason: "E.164"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch := good()
			c.edit(ch)
			p := CheckChannel(ch, c.creds)
			switch {
			case c.fault == 0 && p != nil:
				t.Fatalf("problem %v, want none", p)
			case c.fault == 0:
				return
			case p == nil:
				t.Fatalf("no problem, want fault %d", c.fault)
			}
			if p.Fault != c.fault || !strings.Contains(p.Reason, c.reason) || !strings.Contains(p.Reason, `"Support"`) {
				t.Errorf("%d %q, want fault %d saying %q about \"Support\"", p.Fault, p.Reason, c.fault, c.reason)
			}
		})
	}
}
