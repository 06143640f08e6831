package sfdctest

import (
	"strings"
	"unicode"
)

// standardLabels are the labels the platform gives standard fields where the
// label is not the API name split into words (fieldLabel), keyed
// "Object.Field" or, for a field every object has, by the field alone. From
// Salesforce's Field Reference, whose tables list "Field Name | Field Label":
// https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-{contact,lead,account,task,user,group}.html
// (and its versioned copies, e.g. atlas.en-us.228.0.sfFieldRef); the Task
// labels are those of the Field Reference's Task, OpenActivity and
// ActivityHistory pages.
var standardLabels = map[string]string{
	"IsDeleted": "Deleted",

	"Contact.Name":  "Full Name",
	"Contact.Phone": "Business Phone",

	"Lead.Name": "Full Name",

	"Account.Name":  "Account Name",
	"Account.Phone": "Account Phone",

	"Task.Id":           "Activity ID",
	"Task.Description":  "Comments",
	"Task.OwnerId":      "Assigned To ID",
	"Task.WhoId":        "Name ID",
	"Task.WhatId":       "Related To ID",
	"Task.ActivityDate": "Due Date Only",

	"User.Name":     "Full Name",
	"User.IsActive": "Active",
}

// standardLabel is the label of a standard field of object.
func standardLabel(object *object, api string) string {
	if l, ok := standardLabels[object.Name+"."+api]; ok {
		return l
	}
	if l, ok := standardLabels[api]; ok {
		return l
	}
	if api == "Id" {
		if object.Custom {
			return "Record ID"
		}
		return object.Label + " ID"
	}
	return fieldLabel(api)
}

// fieldLabel derives a standard field's label from its API name as the
// platform's own labels read: words split at capitals, a final "Id" as
// "ID" — MobilePhone → "Mobile Phone", CreatedById → "Created By ID".
func fieldLabel(api string) string {
	s := api
	id := len(s) > 2 && strings.HasSuffix(s, "Id")
	if id {
		s = strings.TrimSuffix(s, "Id")
	}
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) && (unicode.IsLower(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1])) {
			b.WriteRune(' ')
		}
		b.WriteRune(r)
	}
	if id {
		b.WriteString(" ID")
	}
	return b.String()
}
