package sync

import (
	"time"

	"github.com/switchboard/switchboard/sfdc/soql"
)

// The records the engine reads from and writes to Salesforce. Field tags are
// the SPEC §1 API names, so query results decode straight into them.

// Task is one message (SPEC §1, Task).
type Task struct {
	ID               string        `json:"Id"`
	Subject          string        `json:"Subject,omitempty"`
	Description      string        `json:"Description,omitempty"`
	WhoID            string        `json:"WhoId,omitempty"`
	WhatID           string        `json:"WhatId,omitempty"`
	Status           string        `json:"Status,omitempty"`
	MessageType      string        `json:"Message_Type__c,omitempty"`
	MessageStatus    Status        `json:"Message_Status__c,omitempty"`
	MessageSID       string        `json:"Message_Sid__c,omitempty"`
	ConversationID   string        `json:"Conversation__c,omitempty"`
	Conversation     *Conversation `json:"Conversation__r,omitempty"`
	SystemModstamp   string        `json:"SystemModstamp,omitempty"`
	CreatedByID      string        `json:"CreatedById,omitempty"`
	ErrorDescription string        `json:"Error_Description__c,omitempty"`
	MessageSendDate  string        `json:"Message_Send_Date__c,omitempty"`
	StatusCheckDate  string        `json:"Message_Status_Check_Date__c,omitempty"`
}

// PendingOutboundWhere is SPEC §1's rule for a Task that asks to be sent,
// as a SOQL condition: the sweep query and the SwitchboardTasks PushTopic
// select with it, and IsPendingOutbound is the same rule on a Task read.
// Setting a failed Task back to Pending is how a user retries it.
const PendingOutboundWhere = "Message_Type__c = 'Outbound' AND Message_Status__c = 'Pending'"

// IsPendingOutbound reports whether t asks to be sent (PendingOutboundWhere).
// Picklist values compare exactly: the API returns the value's API name.
func (t *Task) IsPendingOutbound() bool {
	return t != nil && t.MessageType == "Outbound" && t.MessageStatus == StatusPending
}

// Conversation is one thread with one customer number on one channel.
type Conversation struct {
	ID                string   `json:"Id,omitempty"`
	Name              string   `json:"Name,omitempty"`
	Status            string   `json:"Status__c,omitempty"`
	ChannelID         string   `json:"Channel__c,omitempty"`
	Channel           *Channel `json:"Channel__r,omitempty"`
	Recipient         string   `json:"Message_Recipient__c,omitempty"`
	RecordID          string   `json:"Record_Id__c,omitempty"`
	ExternalChannelID string   `json:"External_Channel__c,omitempty"`
	OwnerID           string   `json:"OwnerId,omitempty"`
}

// Channel is one sending identity: a number or a Messaging Service.
type Channel struct {
	ID                  string       `json:"Id,omitempty"`
	Name                string       `json:"Name,omitempty"`
	PhoneNumber         string       `json:"Phone_Number__c,omitempty"`
	MessagingServiceSID string       `json:"Messaging_Service_Sid__c,omitempty"`
	QueueName           string       `json:"Queue_Name__c,omitempty"`
	ChannelTypeID       string       `json:"Channel_Type__c,omitempty"`
	ChannelType         *ChannelType `json:"Channel_Type__r,omitempty"`
	Active              bool         `json:"Active__c"`
}

// ChannelType is a provider account.
type ChannelType struct {
	ID               string  `json:"Id,omitempty"`
	Name             string  `json:"Name,omitempty"`
	AccountSID       string  `json:"Account_Sid__c,omitempty"`
	CallbackURL      string  `json:"Callback_Url__c,omitempty"`
	MaxMessageLength float64 `json:"Max_Message_Length__c,omitempty"`
	Provider         string  `json:"Provider__c,omitempty"`
}

// Channel_Type__c.Provider__c values (SPEC §1).
const (
	ProviderSMS      = "Twilio SMS"
	ProviderWhatsApp = "Twilio WhatsApp"
)

// DefaultMaxMessageLength applies when a channel type leaves
// Max_Message_Length__c empty (SPEC §1 default).
const DefaultMaxMessageLength = 1600

// MaxLength is the longest body the channel type accepts.
func (t *ChannelType) MaxLength() int {
	if t == nil || t.MaxMessageLength <= 0 {
		return DefaultMaxMessageLength
	}
	return int(t.MaxMessageLength)
}

// ExternalChannel says which object field holds customer numbers.
type ExternalChannel struct {
	ID            string `json:"Id,omitempty"`
	Name          string `json:"Name,omitempty"`
	ObjectName    string `json:"Object_API_Name__c"`
	FieldName     string `json:"Field_API_Name__c"`
	ChannelTypeID string `json:"Channel_Type__c,omitempty"`
}

// OptIn is consent per customer number per channel; UniqueId__c is
// "<customer E.164>|<Channel__c Id>".
type OptIn struct {
	UniqueID    string `json:"UniqueId__c"`
	PhoneNumber string `json:"Phone_Number__c,omitempty"`
	ChannelID   string `json:"Channel__c,omitempty"`
	Active      bool   `json:"Active__c"`
	Keyword     string `json:"Keyword__c,omitempty"`
	OptInAt     string `json:"Opt_In_Date_Time__c,omitempty"`
	OptOutAt    string `json:"Opt_Out_Date_Time__c,omitempty"`
}

// OptInKey builds Opt_In__c.UniqueId__c.
func OptInKey(customerE164, channelID string) string { return customerE164 + "|" + channelID }

// sfTime formats a time as Salesforce accepts it in JSON bodies.
func sfTime(t time.Time) string { return soql.RecordTime(t) }

// parseOrgTime reads a datetime from a query result; "" and garbage give
// the zero time.
func parseOrgTime(s string) time.Time {
	t, _ := soql.ParseTime(s)
	return t
}

// whoPrefixes are the key prefixes of the objects a Task's WhoId can name
// (Contact, Lead); any other record goes in WhatId.
var whoPrefixes = map[string]bool{"003": true, "00Q": true}

// looksLikeID accepts 15- and 18-character Salesforce Ids (alphanumeric),
// the only thing Record_Id__c may splice into a lookup field.
func looksLikeID(s string) bool {
	if len(s) != 15 && len(s) != 18 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// isWhoID reports whether id names a Contact or Lead.
func isWhoID(id string) bool { return len(id) >= 3 && whoPrefixes[id[:3]] }
