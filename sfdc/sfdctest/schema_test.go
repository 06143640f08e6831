package sfdctest_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/sfdc/schema"
)

// The simulated org stands in for an org with sfdc/metadata deployed, so it
// must describe every object and field of the contract (sfdc/schema) as
// that contract has it.
func TestDescribesTheContractSchema(t *testing.T) {
	a := newAPI(t)
	type describedField struct {
		Name              string   `json:"name"`
		Label             string   `json:"label"`
		Type              string   `json:"type"`
		Length            int      `json:"length"`
		ExternalID        bool     `json:"externalId"`
		Unique            bool     `json:"unique"`
		Nillable          bool     `json:"nillable"`
		AutoNumber        bool     `json:"autoNumber"`
		DefaultedOnCreate bool     `json:"defaultedOnCreate"`
		ReferenceTo       []string `json:"referenceTo"`
		PicklistValues    []struct {
			Value string `json:"value"`
		} `json:"picklistValues"`
	}
	for _, so := range schema.Objects() {
		var d struct {
			Label     string           `json:"label"`
			Custom    bool             `json:"custom"`
			KeyPrefix string           `json:"keyPrefix"`
			Fields    []describedField `json:"fields"`
		}
		r := a.do(http.MethodGet, v+"/sobjects/"+so.Name+"/describe", nil)
		if r.status != http.StatusOK {
			t.Errorf("describe %s: %d %s", so.Name, r.status, r.body)
			continue
		}
		r.json(t, &d)
		custom := strings.HasSuffix(so.Name, "__c")
		if d.Custom != custom || len(d.KeyPrefix) != 3 {
			t.Errorf("%s: custom=%t keyPrefix=%q, want custom=%t and a key prefix", so.Name, d.Custom, d.KeyPrefix, custom)
		}
		if custom && d.Label != so.LabelOf() {
			t.Errorf("%s: label %q, want %q (sfdc/metadata's)", so.Name, d.Label, so.LabelOf())
		}
		field := func(name string) *describedField {
			i := slices.IndexFunc(d.Fields, func(f describedField) bool { return f.Name == name })
			if i < 0 {
				return nil
			}
			return &d.Fields[i]
		}
		if name := field("Name"); custom && (name == nil || name.AutoNumber != (so.NameFormat != "")) {
			t.Errorf("%s.Name: %+v, want an auto-number exactly when the contract has a NameFormat (%q)", so.Name, name, so.NameFormat)
		}
		for _, sf := range so.Fields {
			f := field(sf.Name)
			if f == nil {
				t.Errorf("%s.%s: not described", so.Name, sf.Name)
				continue
			}
			var values []string
			for _, p := range f.PicklistValues {
				values = append(values, p.Value)
			}
			for _, bad := range []struct {
				is   bool
				what string
			}{
				{sf.Type != "" && f.Type != sf.Type, "type " + f.Type + ", want " + sf.Type},
				{strings.HasSuffix(sf.Name, "__c") && f.Label != sf.LabelOf(), "label " + f.Label + ", want " + sf.LabelOf()},
				{sf.Type == "string" && strings.HasSuffix(sf.Name, "__c") && f.Length != sf.Length, "length differs"},
				{sf.ReferenceTo != "" && !slices.Equal(f.ReferenceTo, []string{sf.ReferenceTo}), "refers to " + strings.Join(f.ReferenceTo, ",") + ", want " + sf.ReferenceTo},
				{sf.ExternalID != (f.ExternalID && f.Unique), "External ID/Unique differ"},
				{sf.MasterDetail && f.Nillable, "Master-Detail but nillable"},
				{sf.Default != nil && !f.DefaultedOnCreate, "has a default in the contract but not on create"},
				{sf.Type == "picklist" && !slices.Equal(values, sf.Picklist), "picklist " + strings.Join(values, ",") + ", want " + strings.Join(sf.Picklist, ",")},
				{sf.Type == "" && slices.ContainsFunc(sf.Picklist, func(s string) bool { return !slices.Contains(values, s) }), "lacks picklist values " + strings.Join(sf.Picklist, ",")},
			} {
				if bad.is {
					t.Errorf("%s.%s: %s", so.Name, sf.Name, bad.what)
				}
			}
			if sf.ChildRelationship != "" {
				q := "{ uiapi { query { " + sf.ReferenceTo + " { edges { node { " + sf.ChildRelationship + "__r { totalCount } } } } } } }"
				if g := a.graphql(q, nil); len(g.Errors) > 0 {
					t.Errorf("%s.%s: child relationship: %s: %+v", so.Name, sf.Name, q, g.Errors)
				}
			}
		}
	}
}

// A real org labels its standard fields as Salesforce's Field Reference
// lists them (Contact.Phone is "Business Phone", Contact.MobilePhone
// "Mobile Phone"), and describe and UI API object-info give the same label:
// a component that shows a field's label must not show its API name.
func TestStandardFieldsHaveThePlatformLabels(t *testing.T) {
	system := map[string]string{"IsDeleted": "Deleted", "CreatedDate": "Created Date", "CreatedById": "Created By ID",
		"LastModifiedDate": "Last Modified Date", "LastModifiedById": "Last Modified By ID", "SystemModstamp": "System Modstamp"}
	want := map[string]map[string]string{
		"Contact": {"Id": "Contact ID", "FirstName": "First Name", "LastName": "Last Name", "Name": "Full Name",
			"Phone": "Business Phone", "MobilePhone": "Mobile Phone", "AccountId": "Account ID", "Email": "Email", "OwnerId": "Owner ID"},
		"Lead": {"Id": "Lead ID", "FirstName": "First Name", "LastName": "Last Name", "Name": "Full Name", "Company": "Company",
			"Phone": "Phone", "MobilePhone": "Mobile Phone", "Email": "Email", "Status": "Status", "OwnerId": "Owner ID"},
		"Account": {"Id": "Account ID", "Name": "Account Name", "Phone": "Account Phone", "OwnerId": "Owner ID"},
		"Task": {"Id": "Activity ID", "Subject": "Subject", "Description": "Comments", "Status": "Status", "Priority": "Priority",
			"WhoId": "Name ID", "WhatId": "Related To ID", "OwnerId": "Assigned To ID", "ActivityDate": "Due Date Only",
			"Message_Status__c": "Message Status"},
		"User": {"Id": "User ID", "Username": "Username", "FirstName": "First Name", "LastName": "Last Name", "Name": "Full Name",
			"Email": "Email", "IsActive": "Active"},
		"Group": {"Id": "Group ID", "Name": "Name", "DeveloperName": "Developer Name", "Type": "Type"},
	}
	a := newAPI(t)
	for object, labels := range want {
		var d struct {
			Fields []struct{ Name, Label string } `json:"fields"`
		}
		a.do(http.MethodGet, v+"/sobjects/"+object+"/describe", nil).json(t, &d)
		described := map[string]string{}
		for _, f := range d.Fields {
			described[f.Name] = f.Label
		}
		var info struct {
			Fields map[string]struct{ Label string } `json:"fields"`
		}
		a.do(http.MethodGet, ui+"/object-info/"+object, nil).json(t, &info)
		for _, fields := range []map[string]string{labels, system} {
			for name, label := range fields {
				if described[name] != label {
					t.Errorf("describe %s.%s: label %q, want %q", object, name, described[name], label)
				}
				if got := info.Fields[name].Label; got != label {
					t.Errorf("object-info %s.%s: label %q, want %q", object, name, got, label)
				}
			}
		}
	}
}
