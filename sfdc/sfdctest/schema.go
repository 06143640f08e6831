package sfdctest

import (
	"strings"
)

// Field types as a describe call names them.
const (
	tID        = "id"
	tString    = "string"
	tTextarea  = "textarea"
	tPicklist  = "picklist"
	tReference = "reference"
	tDatetime  = "datetime"
	tDate      = "date"
	tBoolean   = "boolean"
	tDouble    = "double"
	tPhone     = "phone"
	tEmail     = "email"
	tURL       = "url"
	tCombobox  = "combobox"
)

// longTextLength is where a textarea becomes a Long Text Area, which SOQL
// cannot filter on ("field 'Description' can not be filtered in query call").
const longTextLength = 255

type field struct {
	Name, Label, Type string
	Length            int
	ExternalID        bool
	Unique            bool
	Nillable          bool
	Custom            bool
	Createable        bool
	Updateable        bool
	AutoNumber        string // display format, e.g. "C-{000000}"
	ReferenceTo       []string
	RelationshipName  string
	// ChildRelationship is the name the parent sees this lookup's records
	// under (the relationshipName of the field's metadata + "__r" for a
	// custom field), e.g. Translations__r on Message_Template__c.
	ChildRelationship string
	Picklist          []string
	Default           any
	// Required means create fails without a value; for an insert-only
	// required field (Master-Detail) Updateable is still true.
	Required bool
}

// filterable reports whether SOQL may use the field in WHERE.
func (f *field) filterable() bool {
	return !(f.Type == tTextarea && f.Length > longTextLength)
}

func (f *field) isText() bool {
	switch f.Type {
	case tDouble, tBoolean, tDatetime, tDate:
		return false
	}
	return true
}

func (f *field) isID() bool { return f.Type == tID || f.Type == tReference }

type object struct {
	Name, Label, Prefix string
	Custom              bool
	// PushTopicable: standard objects on the supported list of ref §4.4, and
	// every custom object.
	PushTopicable bool
	fields        []*field
	byName        map[string]*field // lower-cased API name
	byRel         map[string]*field // lower-cased relationship name
}

func (o *object) field(name string) *field { return o.byName[strings.ToLower(name)] }

func (o *object) addField(f *field) {
	o.fields = append(o.fields, f)
	o.byName[strings.ToLower(f.Name)] = f
	if f.RelationshipName != "" {
		o.byRel[strings.ToLower(f.RelationshipName)] = f
	}
}

func (o *object) dropField(name string) bool {
	f := o.field(name)
	if f == nil {
		return false
	}
	delete(o.byName, strings.ToLower(f.Name))
	if f.RelationshipName != "" {
		delete(o.byRel, strings.ToLower(f.RelationshipName))
	}
	for i, g := range o.fields {
		if g == f {
			o.fields = append(o.fields[:i], o.fields[i+1:]...)
			break
		}
	}
	return true
}

// Field constructors. They read as the SPEC §1 table does.
func text(name string, length int) *field {
	return &field{Name: name, Type: tString, Length: length, Nillable: true, Createable: true, Updateable: true}
}

func typed(name, typ string) *field {
	f := &field{Name: name, Type: typ, Nillable: true, Createable: true, Updateable: true}
	switch typ {
	case tPhone:
		f.Length = 40
	case tEmail:
		f.Length = 80
	case tURL:
		f.Length = 255
	case tTextarea:
		f.Length = 32000
	case tBoolean:
		f.Nillable, f.Default = false, false
	}
	return f
}

func required(f *field) *field { f.Nillable, f.Required = false, true; return f }

func withDefault(f *field, v any) *field { f.Default = v; return f }

func extID(f *field) *field { f.ExternalID, f.Unique = true, true; return f }

func picklist(name string, values ...string) *field {
	f := typed(name, tPicklist)
	f.Length, f.Picklist = 255, values
	return f
}

func lookup(name, rel string, to ...string) *field {
	f := typed(name, tReference)
	f.Length, f.ReferenceTo, f.RelationshipName = 18, to, rel
	return f
}

// child names the lookup's child relationship on the parent object.
func child(f *field, name string) *field { f.ChildRelationship = name; return f }

func readOnly(f *field) *field { f.Createable, f.Updateable = false, false; return f }

// defaultSchema is the SPEC §1 schema plus the standard objects and fields
// switchboard reads. Custom objects get key prefixes from the a0X range, as
// a real org assigns them in creation order.
func defaultSchema() []*object {
	whatTo := []string{"Account", "Conversation__c", "Channel__c", "Opt_In__c"}
	objs := []*object{
		newObject("Task", "Task", "00T", false, true,
			typed("Subject", tCombobox), typed("Description", tTextarea),
			withDefault(required(picklist("Status", "Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")), "Not Started"),
			withDefault(required(picklist("Priority", "High", "Normal", "Low")), "Normal"),
			lookup("WhoId", "Who", "Contact", "Lead"), lookup("WhatId", "What", whatTo...),
			lookup("OwnerId", "Owner", "User"), typed("ActivityDate", tDate),
			lookup("Conversation__c", "Conversation__r", "Conversation__c"),
			picklist("Message_Type__c", "Outbound", "Inbound"),
			picklist("Message_Status__c", "Pending", "Queued", "Sending", "Sent", "Delivered", "Undelivered", "Failed", "Read", "Received", "Error", "Canceled", "Draft"),
			extID(text("Message_Sid__c", 34)),
			typed("Message_Send_Date__c", tDatetime), typed("Message_Status_Check_Date__c", tDatetime),
			typed("Error_Description__c", tTextarea)),
		newObject("Contact", "Contact", "003", false, true,
			text("FirstName", 40), required(text("LastName", 80)), readOnly(text("Name", 121)),
			typed("Phone", tPhone), typed("MobilePhone", tPhone), lookup("AccountId", "Account", "Account"),
			typed("Email", tEmail), lookup("OwnerId", "Owner", "User")),
		newObject("Lead", "Lead", "00Q", false, true,
			text("FirstName", 40), required(text("LastName", 80)), readOnly(text("Name", 121)),
			required(text("Company", 255)), typed("Phone", tPhone), typed("MobilePhone", tPhone), typed("Email", tEmail),
			withDefault(required(picklist("Status", "Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted")), "Open - Not Contacted"),
			lookup("OwnerId", "Owner", "User", "Group")),
		newObject("Account", "Account", "001", false, true,
			required(text("Name", 255)), typed("Phone", tPhone), lookup("OwnerId", "Owner", "User")),
		newObject("Group", "Group", "00G", false, false,
			required(text("Name", 40)), text("DeveloperName", 80),
			withDefault(required(picklist("Type", "Queue", "Regular")), "Regular")),
		newObject("User", "User", "005", false, false,
			required(text("Username", 80)), text("FirstName", 40), required(text("LastName", 80)), readOnly(text("Name", 121)),
			typed("Email", tEmail), withDefault(typed("IsActive", tBoolean), true)),
		newObject("Conversation__c", "Conversation", "a0X", true, true,
			autoNumber("Name", "C-{000000}"),
			withDefault(picklist("Status__c", "Open", "Closed"), "Open"),
			lookup("Channel__c", "Channel__r", "Channel__c"), typed("Message_Recipient__c", tPhone),
			text("Record_Id__c", 18), lookup("External_Channel__c", "External_Channel__r", "External_Channel__c"),
			lookup("OwnerId", "Owner", "User", "Group")),
		newObject("Channel_Type__c", "Channel Type", "a0Y", true, true,
			text("Name", 80), text("Account_Sid__c", 34), typed("Callback_Url__c", tURL),
			withDefault(typed("Max_Message_Length__c", tDouble), float64(1600)),
			picklist("Provider__c", "Twilio SMS", "Twilio WhatsApp"), lookup("OwnerId", "Owner", "User", "Group")),
		newObject("Channel__c", "Channel", "a0Z", true, true,
			text("Name", 80), typed("Phone_Number__c", tPhone), text("Messaging_Service_Sid__c", 34),
			text("Queue_Name__c", 80), lookup("Channel_Type__c", "Channel_Type__r", "Channel_Type__c"),
			withDefault(typed("Active__c", tBoolean), true), lookup("OwnerId", "Owner", "User", "Group")),
		newObject("External_Channel__c", "External Channel", "a10", true, true,
			text("Name", 80), text("Object_API_Name__c", 80), text("Field_API_Name__c", 80),
			lookup("Channel_Type__c", "Channel_Type__r", "Channel_Type__c"), lookup("OwnerId", "Owner", "User", "Group")),
		newObject("Message_Template__c", "Message Template", "a11", true, true,
			text("Name", 80), text("SObject_API_Name__c", 80), typed("Message_Text__c", tTextarea),
			lookup("OwnerId", "Owner", "User", "Group")),
		newObject("Message_Template_Translation__c", "Message Template Translation", "a12", true, true,
			autoNumber("Name", "MTT-{000000}"),
			// relationshipName Translations (objects/Message_Template_Translation__c/fields/Message_Template__c).
			required(child(lookup("Message_Template__c", "Message_Template__r", "Message_Template__c"), "Translations__r")),
			text("Language__c", 10), typed("Text_Body__c", tTextarea)),
		newObject("Opt_In__c", "Opt In", "a13", true, true,
			autoNumber("Name", "OI-{000000}"),
			extID(text("UniqueId__c", 255)), typed("Phone_Number__c", tPhone),
			lookup("Channel__c", "Channel__r", "Channel__c"), typed("Active__c", tBoolean),
			text("Keyword__c", 40), typed("Opt_In_Date_Time__c", tDatetime), typed("Opt_Out_Date_Time__c", tDatetime),
			lookup("OwnerId", "Owner", "User", "Group")),
		newObject("Switchboard_Status__c", "Switchboard Status", "a14", true, true,
			text("Name", 80), extID(text("Instance__c", 255)), text("Version__c", 40),
			typed("Started_At__c", tDatetime), typed("Last_Heartbeat__c", tDatetime),
			typed("Heartbeat_Interval_Seconds__c", tDouble), typed("Stream_Subscribed__c", tBoolean),
			typed("Queue_Backlog__c", tDouble), typed("Dead_Letters__c", tDouble),
			typed("Public_Url__c", tURL), typed("Checks__c", tTextarea),
			lookup("OwnerId", "Owner", "User", "Group")),
		// UserRecordAccess is read-only and answered from the sharing
		// model (sharing.go); it holds no rows of its own.
		newObject("UserRecordAccess", "User Record Access", "", false, false,
			readOnly(lookup("UserId", "User", "User")), readOnly(picklist("RecordId")),
			readOnly(typed("HasReadAccess", tBoolean)), readOnly(typed("HasEditAccess", tBoolean)),
			readOnly(typed("HasDeleteAccess", tBoolean)), readOnly(typed("HasTransferAccess", tBoolean)),
			readOnly(typed("HasAllAccess", tBoolean)),
			readOnly(picklist("MaxAccessLevel", "None", "Read", "Edit", "Delete", "Transfer", "All"))),
		newObject("PushTopic", "Push Topic", "0IF", false, false,
			required(text("Name", 25)), required(typed("Query", tTextarea)), required(typed("ApiVersion", tDouble)),
			withDefault(typed("IsActive", tBoolean), true),
			withDefault(required(picklist("NotifyForFields", "All", "Referenced", "Select", "Where")), "Referenced"),
			withDefault(typed("NotifyForOperationCreate", tBoolean), true),
			withDefault(typed("NotifyForOperationUpdate", tBoolean), true),
			withDefault(typed("NotifyForOperationDelete", tBoolean), true),
			withDefault(typed("NotifyForOperationUndelete", tBoolean), true),
			text("Description", 400)),
	}
	for _, o := range objs {
		// PushTopic.Query is a 1,300-character textarea (ref §4.1).
		if f := o.field("Query"); o.Name == "PushTopic" && f != nil {
			f.Length = 1300
		}
	}
	return objs
}

func autoNumber(name, format string) *field {
	f := readOnly(text(name, 80))
	f.AutoNumber, f.Nillable = format, false
	return f
}

// newObject adds the system fields every sObject has, then fields in order.
func newObject(name, label, prefix string, custom, pushTopicable bool, fields ...*field) *object {
	o := &object{Name: name, Label: label, Prefix: prefix, Custom: custom, PushTopicable: pushTopicable,
		byName: map[string]*field{}, byRel: map[string]*field{}}
	id := readOnly(&field{Name: "Id", Type: tID, Length: 18})
	o.addField(id)
	for _, f := range fields {
		f.Custom = strings.HasSuffix(f.Name, "__c")
		if f.Label == "" {
			f.Label = labelOf(f.Name)
		}
		o.addField(f)
	}
	o.addField(readOnly(typed("IsDeleted", tBoolean)))
	for _, f := range []*field{typed("CreatedDate", tDatetime), lookup("CreatedById", "CreatedBy", "User"),
		typed("LastModifiedDate", tDatetime), lookup("LastModifiedById", "LastModifiedBy", "User"),
		typed("SystemModstamp", tDatetime)} {
		f.Label, f.Nillable = labelOf(f.Name), false
		o.addField(readOnly(f))
	}
	id.Label = labelOf(name) + " ID"
	return o
}

// labelOf derives a describe label from an API name: Message_Sid__c →
// "Message Sid", WhoId → "Who ID".
func labelOf(api string) string {
	s := strings.TrimSuffix(api, "__c")
	if strings.HasSuffix(s, "Id") && len(s) > 2 {
		s = strings.TrimSuffix(s, "Id") + " ID"
	}
	return strings.ReplaceAll(s, "_", " ")
}

// describe renders an object as sobjects/{type}/describe does, with the
// field attributes a schema check reads.
func (o *object) describe(version string) map[string]any {
	fields := make([]map[string]any, 0, len(o.fields))
	for _, f := range o.fields {
		pv := make([]map[string]any, 0, len(f.Picklist))
		for _, v := range f.Picklist {
			pv = append(pv, map[string]any{"value": v, "label": v, "active": true, "defaultValue": f.Default == v, "validFor": nil})
		}
		refTo := f.ReferenceTo
		if refTo == nil {
			refTo = []string{}
		}
		var rel any
		if f.RelationshipName != "" {
			rel = f.RelationshipName
		}
		fields = append(fields, map[string]any{
			"name": f.Name, "label": f.Label, "type": f.Type, "length": f.Length,
			"externalId": f.ExternalID, "unique": f.Unique, "nillable": f.Nillable, "custom": f.Custom,
			"createable": f.Createable, "updateable": f.Updateable, "autoNumber": f.AutoNumber != "",
			"filterable": f.filterable(), "sortable": f.filterable(), "defaultedOnCreate": f.Default != nil || f.AutoNumber != "",
			"restrictedPicklist": f.Type == tPicklist, "picklistValues": pv,
			"referenceTo": refTo, "relationshipName": rel, "idLookup": f.Type == tID || f.ExternalID,
		})
	}
	base := "/services/data/v" + version + "/sobjects/" + o.Name
	return map[string]any{
		"name": o.Name, "label": o.Label, "labelPlural": o.Label + "s", "custom": o.Custom, "keyPrefix": o.Prefix,
		"createable": true, "updateable": true, "deletable": true, "queryable": true,
		"fields": fields,
		"urls":   map[string]string{"sobject": base, "describe": base + "/describe", "rowTemplate": base + "/{ID}"},
	}
}
