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
