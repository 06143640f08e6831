package sfdctest

import (
	"slices"
	"strings"

	"github.com/switchboard/switchboard/sfdc/schema"
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

func readOnly(f *field) *field { f.Createable, f.Updateable = false, false; return f }

// defaultSchema is the schema of an org with sfdc/metadata deployed: the
// SPEC's custom objects and the custom fields of Task, built from the
// contract (sfdc/schema), plus the standard objects and fields switchboard
// reads, as the platform has them.
func defaultSchema() []*object {
	spec := schema.Objects()
	whatTo := []string{"Account", "Conversation__c", "Channel__c", "Opt_In__c"}
	objs := []*object{
		newObject("Task", "Task", "00T", false, true, slices.Concat([]*field{
			typed("Subject", tCombobox), typed("Description", tTextarea),
			withDefault(required(picklist("Status", "Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")), "Not Started"),
			withDefault(required(picklist("Priority", "High", "Normal", "Low")), "Normal"),
			lookup("WhoId", "Who", "Contact", "Lead"), lookup("WhatId", "What", whatTo...),
			lookup("OwnerId", "Owner", "User"), typed("ActivityDate", tDate),
		}, customFields(specObject(spec, "Task")))...),
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
	}
	for _, so := range spec {
		if strings.HasSuffix(so.Name, "__c") {
			objs = append(objs, customObject(so))
		}
	}
	objs = append(objs,
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
			text("Description", 400)))
	for _, o := range objs {
		// PushTopic.Query is a 1,300-character textarea (ref §4.1).
		if f := o.field("Query"); o.Name == "PushTopic" && f != nil {
			f.Length = 1300
		}
	}
	return objs
}

// customKeyPrefixes are the key prefixes of the SPEC's custom objects, from
// the a0X range as a real org assigns them in creation order.
var customKeyPrefixes = map[string]string{
	"Conversation__c": "a0X", "Channel_Type__c": "a0Y", "Channel__c": "a0Z", "External_Channel__c": "a10",
	"Message_Template__c": "a11", "Message_Template_Translation__c": "a12", "Opt_In__c": "a13",
	"Switchboard_Status__c": "a14",
}

func specObject(spec []schema.Object, name string) schema.Object {
	i := slices.IndexFunc(spec, func(o schema.Object) bool { return o.Name == name })
	if i < 0 {
		return schema.Object{Name: name}
	}
	return spec[i]
}

// customObject builds a custom object as the platform does: a Name field
// (Text(80) or auto-number), the object's custom fields, and an owner
// unless a Master-Detail field makes it the detail of another record.
func customObject(so schema.Object) *object {
	name := text("Name", 80)
	if so.NameFormat != "" {
		name = autoNumber("Name", so.NameFormat)
	}
	fields := append([]*field{name}, customFields(so)...)
	if !slices.ContainsFunc(so.Fields, func(f schema.Field) bool { return f.MasterDetail }) {
		fields = append(fields, lookup("OwnerId", "Owner", "User", "Group"))
	}
	return newObject(so.Name, so.LabelOf(), customKeyPrefixes[so.Name], true, true, fields...)
}

// customFields builds the custom fields of a contract object; its standard
// fields are the platform's, which the simulated org defines itself.
func customFields(so schema.Object) []*field {
	var out []*field
	for _, sf := range so.Fields {
		if !strings.HasSuffix(sf.Name, "__c") {
			continue
		}
		var f *field
		switch sf.Type {
		case tString:
			f = text(sf.Name, sf.Length)
		case tPicklist:
			f = picklist(sf.Name, sf.Picklist...)
		case tReference:
			f = lookup(sf.Name, strings.TrimSuffix(sf.Name, "__c")+"__r", sf.ReferenceTo)
			if sf.ChildRelationship != "" {
				f.ChildRelationship = sf.ChildRelationship + "__r"
			}
			if sf.MasterDetail {
				required(f)
			}
		default:
			f = typed(sf.Name, sf.Type)
		}
		if sf.ExternalID {
			extID(f)
		}
		if sf.Default != nil {
			withDefault(f, sf.Default)
		}
		f.Label = sf.LabelOf()
		out = append(out, f)
	}
	return out
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
		o.addField(f)
	}
	o.addField(readOnly(typed("IsDeleted", tBoolean)))
	for _, f := range []*field{typed("CreatedDate", tDatetime), lookup("CreatedById", "CreatedBy", "User"),
		typed("LastModifiedDate", tDatetime), lookup("LastModifiedById", "LastModifiedBy", "User"),
		typed("SystemModstamp", tDatetime)} {
		f.Nillable = false
		o.addField(readOnly(f))
	}
	// A custom field has the label sfdc/metadata gives it (customFields);
	// a standard field the platform's.
	for _, f := range o.fields {
		if !f.Custom {
			f.Label = standardLabel(o, f.Name)
		}
	}
	return o
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
