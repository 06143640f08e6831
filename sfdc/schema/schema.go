// Package schema is the Salesforce schema of SPEC §1 and of the parts of §1a
// that sfdc/metadata has: the product's contract with the org, written once.
//
// It is data (and the rule that derives a custom label from a name) and
// imports no project package, so both sides read it:
// the client (`switchboard setup` and `doctor` check an org against it, and
// sfdc's metadata test checks the SFDX source in sfdc/metadata against it)
// and the simulated org (sfdc/sfdctest builds the SPEC's custom objects and
// fields from it). The simulator still shares none of the client's code —
// only what both must agree on, as a real org with sfdc/metadata deployed
// agrees with the client.
package schema

import (
	"cmp"
	"slices"
	"strings"
)

// Field is one field SPEC names.
type Field struct {
	Name string
	// Type is the describe type ("string", "picklist", "reference",
	// "datetime", …). Every custom field has one: the type sfdc/metadata
	// deploys. A standard field has one only where SPEC fixes it; empty means
	// the platform's own type.
	Type string
	// AnyType: switchboard reads and writes the field as text, so setup
	// accepts whatever type an org gave it (Type is still what sfdc/metadata
	// deploys).
	AnyType bool
	// Length of a Text ("string") custom field.
	Length      int
	ReferenceTo string
	// ChildRelationship is the lookup's relationshipName in sfdc/metadata:
	// the parent lists the field's records under it + "__r" in SOQL.
	ChildRelationship string
	// MasterDetail: create fails without a value, and the object has no
	// owner (its sharing is controlled by the parent).
	MasterDetail bool
	ExternalID   bool // also Unique: switchboard upserts on it
	// Picklist of a custom field: every value, in order. Of a standard
	// field: the values that must exist.
	Picklist []string
	// Default is the value a new record gets when the field is not set
	// (besides a Checkbox's false), as sfdc/metadata defines it.
	Default any
	// Label of a custom field, as sfdc/metadata gives it, where it is not
	// the one derivedLabel makes of the name; read it through LabelOf.
	Label string
}

// LabelOf is the custom field's label in sfdc/metadata.
func (f Field) LabelOf() string { return cmp.Or(f.Label, derivedLabel(f.Name)) }

// Object is one object of SPEC §1 with the fields switchboard uses. A name
// ending in "__c" is a custom object, defined by sfdc/metadata.
type Object struct {
	Name string
	// NameFormat is the display format of an auto-number Name field
	// ("C-{000000}"); empty for a custom object whose Name is Text(80).
	NameFormat string
	Fields     []Field
	// Label of a custom object, as sfdc/metadata gives it, where it is not
	// the one derivedLabel makes of the name; read it through LabelOf.
	Label string
}

// LabelOf is the custom object's label in sfdc/metadata.
func (o Object) LabelOf() string { return cmp.Or(o.Label, derivedLabel(o.Name)) }

// derivedLabel is the label sfdc/metadata gives most custom objects and
// fields: the API name without "__c", underscores as spaces
// (Message_Type__c → "Message Type").
func derivedLabel(api string) string {
	return strings.ReplaceAll(strings.TrimSuffix(api, "__c"), "_", " ")
}

// Describe types of the fields below.
const (
	tString    = "string"
	tTextarea  = "textarea"
	tPicklist  = "picklist"
	tReference = "reference"
	tDatetime  = "datetime"
	tBoolean   = "boolean"
	tDouble    = "double"
	tPhone     = "phone"
	tURL       = "url"
)

// Objects returns the schema (a fresh copy each call, so callers may change
// it), custom objects in the order a real org would have created them.
func Objects() []Object {
	standard := func(names ...string) []Field {
		fs := make([]Field, len(names))
		for i, n := range names {
			fs[i] = Field{Name: n}
		}
		return fs
	}
	text := func(name string, length int) Field { return Field{Name: name, Type: tString, Length: length} }
	anyType := func(f Field) Field { f.AnyType = true; return f }
	labeled := func(f Field, label string) Field { f.Label = label; return f }
	typed := func(name, typ string) Field { return Field{Name: name, Type: typ} }
	ref := func(name, to, children string) Field {
		return Field{Name: name, Type: tReference, ReferenceTo: to, ChildRelationship: children}
	}
	pick := func(name string, values ...string) Field {
		return Field{Name: name, Type: tPicklist, Picklist: values}
	}
	return []Object{
		{Name: "Task", Fields: slices.Concat(standard("Description", "Subject", "WhoId", "WhatId"), []Field{
			{Name: "Status", Picklist: []string{"Completed"}},
			ref("Conversation__c", "Conversation__c", "Messages"),
			pick("Message_Type__c", "Outbound", "Inbound"),
			// Draft (SPEC §1a) is in the org for the chat's composer; the
			// sidecar never writes it and never sends a Draft Task.
			pick("Message_Status__c", "Pending", "Queued", "Sending", "Sent", "Delivered", "Undelivered", "Failed", "Read", "Received", "Error", "Canceled", "Draft"),
			{Name: "Message_Sid__c", Type: tString, Length: 34, ExternalID: true, Label: "Message SID"},
			typed("Message_Send_Date__c", tDatetime),
			typed("Message_Status_Check_Date__c", tDatetime),
			typed("Error_Description__c", tTextarea),
		})},
		{Name: "Conversation__c", NameFormat: "C-{000000}", Fields: []Field{
			{Name: "Name"},
			{Name: "Status__c", Type: tPicklist, Picklist: []string{"Open", "Closed"}, Default: "Open"},
			ref("Channel__c", "Channel__c", "Conversations"),
			labeled(typed("Message_Recipient__c", tPhone), "Recipient"),
			text("Record_Id__c", 18),
			ref("External_Channel__c", "External_Channel__c", "Conversations"),
			{Name: "OwnerId"},
		}},
		{Name: "Channel_Type__c", Fields: []Field{
			{Name: "Name"},
			anyType(labeled(text("Account_Sid__c", 34), "Account SID")),
			anyType(labeled(typed("Callback_Url__c", tURL), "Callback URL")),
			{Name: "Max_Message_Length__c", Type: tDouble, Default: float64(1600)},
			{Name: "Provider__c", Type: tPicklist, Picklist: []string{"Twilio SMS", "Twilio WhatsApp"}, Default: "Twilio SMS"},
		}},
		{Name: "Channel__c", Fields: []Field{
			{Name: "Name"},
			anyType(typed("Phone_Number__c", tPhone)),
			anyType(labeled(text("Messaging_Service_Sid__c", 34), "Messaging Service SID")),
			anyType(text("Queue_Name__c", 80)),
			ref("Channel_Type__c", "Channel_Type__c", "Channels"),
			{Name: "Active__c", Type: tBoolean, Default: true},
		}},
		{Name: "External_Channel__c", Fields: []Field{
			{Name: "Name"},
			anyType(text("Object_API_Name__c", 80)),
			anyType(text("Field_API_Name__c", 80)),
			ref("Channel_Type__c", "Channel_Type__c", "External_Channels"),
		}},
		{Name: "Message_Template__c", Fields: []Field{
			{Name: "Name"},
			anyType(labeled(text("SObject_API_Name__c", 80), "Object API Name")),
			anyType(typed("Message_Text__c", tTextarea)),
		}},
		{Name: "Message_Template_Translation__c", NameFormat: "MTT-{000000}", Fields: []Field{
			{Name: "Message_Template__c", Type: tReference, ReferenceTo: "Message_Template__c", ChildRelationship: "Translations", MasterDetail: true},
			anyType(text("Language__c", 10)),
			anyType(typed("Text_Body__c", tTextarea)),
		}},
		{Name: "Opt_In__c", Label: "Opt-In", NameFormat: "OI-{000000}", Fields: []Field{
			{Name: "UniqueId__c", Type: tString, Length: 255, ExternalID: true, Label: "Unique Id"},
			anyType(typed("Phone_Number__c", tPhone)),
			ref("Channel__c", "Channel__c", "Opt_Ins"),
			typed("Active__c", tBoolean),
			anyType(text("Keyword__c", 40)),
			labeled(typed("Opt_In_Date_Time__c", tDatetime), "Opt-In Date/Time"),
			labeled(typed("Opt_Out_Date_Time__c", tDatetime), "Opt-Out Date/Time"),
		}},
		// SPEC §1a: the heartbeat's row (sfdc/heartbeat.go).
		{Name: "Switchboard_Status__c", Fields: []Field{
			typed("Name", tString),
			{Name: "Instance__c", Type: tString, Length: 255, ExternalID: true},
			text("Version__c", 40),
			typed("Started_At__c", tDatetime),
			typed("Last_Heartbeat__c", tDatetime),
			labeled(typed("Heartbeat_Interval_Seconds__c", tDouble), "Heartbeat Interval (s)"),
			typed("Stream_Subscribed__c", tBoolean),
			typed("Queue_Backlog__c", tDouble),
			typed("Dead_Letters__c", tDouble),
			labeled(typed("Public_Url__c", tURL), "Public URL"),
			typed("Checks__c", tTextarea),
		}},
	}
}
