package sync

import (
	"fmt"
	"regexp"
	"strings"
)

// ChannelFields are the Channel__c fields, with its type's, that sending,
// the inbound engine's channel cache and CheckChannel read into a Channel
// (SPEC §1).
const ChannelFields = "Id, Name, Phone_Number__c, Messaging_Service_Sid__c, Active__c, Queue_Name__c, Channel_Type__c, " +
	"Channel_Type__r.Name, Channel_Type__r.Account_Sid__c, Channel_Type__r.Max_Message_Length__c, Channel_Type__r.Provider__c"

var (
	e164Pattern       = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	serviceSIDPattern = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
)

// IsE164 reports whether s is a phone number in E.164 form, as Twilio
// takes a From or a number lookup (twilio.md §2.1): "+14155550100".
func IsE164(s string) bool { return e164Pattern.MatchString(s) }

// IsMessagingServiceSID reports whether s is a Messaging Service SID:
// "MG" and 32 hex digits.
func IsMessagingServiceSID(s string) bool { return serviceSIDPattern.MatchString(s) }

// ChannelFault names what is wrong with a channel, so each caller can word
// its own advice.
type ChannelFault int

const (
	ChannelInactive      ChannelFault = iota + 1 // Active__c unchecked
	ChannelNoType                                // no Channel_Type__c
	ChannelNoAccount                             // its Channel_Type__c has no Account_Sid__c
	ChannelNoCredentials                         // the sidecar has no auth token for that account
	ChannelNoSender                              // neither Phone_Number__c nor Messaging_Service_Sid__c
	ChannelBadServiceSID                         // Messaging_Service_Sid__c is not MG…
	ChannelBadPhone                              // Phone_Number__c is not E.164
)

// ChannelProblem is why a channel cannot send.
type ChannelProblem struct {
	Fault ChannelFault
	// Reason is a sentence for the Task's Error_Description__c.
	Reason string
}

func (p *ChannelProblem) Error() string { return p.Reason }

// CheckChannel reports why ch cannot send, or nil: the rule both sending
// and `doctor` apply. hasCredentials says whether an account SID has an
// auth token configured; nil skips that check.
func CheckChannel(ch *Channel, hasCredentials func(accountSID string) bool) *ChannelProblem {
	bad := func(f ChannelFault, format string, args ...any) *ChannelProblem {
		return &ChannelProblem{Fault: f, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case !ch.Active:
		return bad(ChannelInactive, "Channel %q is not active (Active__c is unchecked).", ch.Name)
	case ch.ChannelType == nil:
		return bad(ChannelNoType, "Channel %q has no Channel_Type__c with an Account_Sid__c.", ch.Name)
	case strings.TrimSpace(ch.ChannelType.AccountSID) == "":
		return bad(ChannelNoAccount, "Channel %q has no Channel_Type__c with an Account_Sid__c.", ch.Name)
	case hasCredentials != nil && !hasCredentials(strings.TrimSpace(ch.ChannelType.AccountSID)):
		return bad(ChannelNoCredentials, "Channel %q sends through Twilio account %s, which has no credentials in twilio.accounts.",
			ch.Name, strings.TrimSpace(ch.ChannelType.AccountSID))
	case ch.PhoneNumber == "" && ch.MessagingServiceSID == "":
		return bad(ChannelNoSender, "Channel %q has neither Phone_Number__c nor Messaging_Service_Sid__c.", ch.Name)
	case ch.MessagingServiceSID != "" && !IsMessagingServiceSID(ch.MessagingServiceSID):
		return bad(ChannelBadServiceSID, "Channel %q has Messaging_Service_Sid__c %q, which is not a Messaging Service SID (MG and 32 hex digits).",
			ch.Name, ch.MessagingServiceSID)
	case ch.PhoneNumber != "" && !IsE164(strings.TrimPrefix(ch.PhoneNumber, whatsappPrefix)):
		// A WhatsApp sender may be stored with its "whatsapp:" prefix
		// (twilio.md §10.1); sending adds it when missing.
		return bad(ChannelBadPhone, "Channel %q has Phone_Number__c %q, which is not in E.164 form (e.g. +14155550100).",
			ch.Name, ch.PhoneNumber)
	}
	return nil
}
