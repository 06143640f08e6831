package sfdc

// sfdc/metadata compared with SpecSchema (sfdc/schema).

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
)

// ---------------------------------------------------------------------------
// Agreement with SpecSchema.

func compareWithSpecSchema(p *mdProject, want []ObjectSpec) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	inSpec := map[string]bool{}
	for _, obj := range want {
		inSpec[metadataDirFor(obj.Name)] = true
	}
	for _, dir := range slices.Sorted(mapKeys(p.Objects)) {
		if !inSpec[dir] {
			bad("%s: object in sfdc/metadata but not in SpecSchema", sObjectFor(dir))
		}
	}
	for _, obj := range want {
		o := p.Objects[metadataDirFor(obj.Name)]
		if o == nil {
			bad("%s: object missing from sfdc/metadata (want objects/%s/)", obj.Name, metadataDirFor(obj.Name))
			continue
		}
		if o.Def != nil && (o.Def.NameField.Type == "AutoNumber") != (obj.NameFormat != "") || o.Def != nil && o.Def.NameField.DisplayFormat != obj.NameFormat {
			bad("%s.Name: metadata %s %q, SpecSchema NameFormat %q", obj.Name, o.Def.NameField.Type, o.Def.NameField.DisplayFormat, obj.NameFormat)
		}
		if o.Def != nil && isCustomName(obj.Name) && o.Def.Label != obj.LabelOf() {
			bad("%s: label: metadata %q, SpecSchema %q", obj.Name, o.Def.Label, obj.LabelOf())
		}
		specFields := map[string]bool{}
		for _, fs := range obj.Fields {
			specFields[fs.Name] = true
		}
		for _, name := range slices.Sorted(mapKeys(o.Fields)) {
			if !specFields[name] {
				bad("%s.%s: field in sfdc/metadata but not in SpecSchema", obj.Name, name)
			}
		}
		for _, fs := range obj.Fields {
			if !isCustomName(fs.Name) {
				out = append(out, checkStandardField(o, obj.Name, fs.Name)...)
				if fs.Type != "" && fs.Name == "Name" && o.Def != nil && describeType(o.Def.NameField.Type) != fs.Type {
					bad("%s.Name: type: metadata %s describes as %s, SpecSchema says %s", obj.Name, o.Def.NameField.Type, describeType(o.Def.NameField.Type), fs.Type)
				}
				continue
			}
			f := o.Fields[fs.Name]
			if f == nil {
				bad("%s.%s: field missing from sfdc/metadata (want objects/%s/fields/%s.field-meta.xml)", obj.Name, fs.Name, o.Dir, fs.Name)
				continue
			}
			if fs.Type != "" && describeType(f.Type) != fs.Type {
				bad("%s.%s: type: metadata %s describes as %q, SpecSchema says %q", obj.Name, fs.Name, f.Type, describeType(f.Type), fs.Type)
			}
			if fs.ReferenceTo != f.ReferenceTo && (fs.ReferenceTo != "" || f.ReferenceTo != "") {
				bad("%s.%s: lookup target: metadata refers to %q, SpecSchema to %q", obj.Name, fs.Name, f.ReferenceTo, fs.ReferenceTo)
			}
			if fs.ExternalID != (f.ExternalID && f.Unique) || f.ExternalID != f.Unique {
				bad("%s.%s: External ID/Unique: metadata externalId=%t unique=%t, SpecSchema wants both %t", obj.Name, fs.Name, f.ExternalID, f.Unique, fs.ExternalID)
			}
			if len(fs.Picklist) > 0 || f.Type == "Picklist" {
				if d := diffValues(f.picklistValues(), fs.Picklist); d != "" {
					bad("%s.%s: picklist values differ: %s", obj.Name, fs.Name, d)
				}
			}
			out = append(out, compareFieldDetails(obj.Name, fs, f)...)
		}
	}
	return out
}

// compareFieldDetails compares what the simulated org builds from the
// contract beyond what setup checks: the label, Text length, the child
// relationship, Master-Detail and the default on create.
func compareFieldDetails(object string, fs FieldSpec, f *mdField) []string {
	var out []string
	bad := func(format string, args ...any) {
		out = append(out, fmt.Sprintf("%s.%s: ", object, fs.Name)+fmt.Sprintf(format, args...))
	}
	if f.Label != fs.LabelOf() {
		bad("label: metadata %q, SpecSchema %q", f.Label, fs.LabelOf())
	}
	if f.Type == "Text" && f.Length != fs.Length {
		bad("length: metadata Text(%d), SpecSchema %d", f.Length, fs.Length)
	}
	if f.RelationshipName != fs.ChildRelationship {
		bad("child relationship: metadata %q, SpecSchema %q", f.RelationshipName, fs.ChildRelationship)
	}
	if fs.MasterDetail != (f.Type == "MasterDetail") {
		bad("metadata type %s, SpecSchema MasterDetail=%t", f.Type, fs.MasterDetail)
	}
	def := f.DefaultValue
	if f.ValueSet != nil && f.ValueSet.Definition != nil {
		for _, v := range f.ValueSet.Definition.Values {
			if v.Default {
				def = v.FullName
			}
		}
	}
	if f.Type == "Checkbox" && def == "false" {
		def = "" // every Checkbox starts false
	}
	if want := fmt.Sprint(cmp.Or(fs.Default, any(""))); def != want {
		bad("default: metadata %q, SpecSchema %q", def, want)
	}
	return out
}

// checkStandardField checks that a standard field SPEC or SpecSchema names
// is one the platform provides, and that sfdc/metadata does not try to
// define it.
func checkStandardField(o *mdObject, object, name string) []string {
	var out []string
	std := standardFields[""]
	if o.Def == nil {
		std = standardFields[object]
	}
	if !slices.Contains(std, name) {
		out = append(out, fmt.Sprintf("%s.%s: not a custom field, and not a standard field %s has", object, name, object))
	}
	if o.Fields[name] != nil {
		out = append(out, fmt.Sprintf("%s.%s: standard field defined in sfdc/metadata; only custom fields can be", object, name))
	}
	if name == "OwnerId" && o.Def != nil && o.Def.SharingModel == "ControlledByParent" {
		out = append(out, fmt.Sprintf("%s.OwnerId: the object is the detail of a Master-Detail and has no owner", object))
	}
	return out
}

// diffValues says how got differs from want, naming the first position
// where the order breaks; "" when they are equal.
func diffValues(got, want []string) string {
	if slices.Equal(got, want) {
		return ""
	}
	missing, extra := setDiff(want, got)
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing "+quoteAll(missing))
	}
	if len(extra) > 0 {
		parts = append(parts, "unexpected "+quoteAll(extra))
	}
	if len(parts) == 0 {
		for i := range got {
			if got[i] != want[i] {
				parts = append(parts, fmt.Sprintf("order: position %d is %q, want %q", i+1, got[i], want[i]))
				break
			}
		}
	}
	return fmt.Sprintf("%s (have %s, want %s)", strings.Join(parts, "; "), quoteAll(got), quoteAll(want))
}

// metadataAsSpec turns the metadata into what CheckSchema compares an org
// with, so that an org can be checked against exactly these files.
func metadataAsSpec(p *mdProject) []ObjectSpec {
	var out []ObjectSpec
	for _, dir := range slices.Sorted(mapKeys(p.Objects)) {
		o := p.Objects[dir]
		obj := ObjectSpec{Name: sObjectFor(dir)}
		if o.Def != nil {
			obj.Fields = append(obj.Fields, FieldSpec{Name: "Name", Type: describeType(o.Def.NameField.Type)})
		}
		for _, name := range slices.Sorted(mapKeys(o.Fields)) {
			f := o.Fields[name]
			obj.Fields = append(obj.Fields, FieldSpec{Name: name, Type: describeType(f.Type), ReferenceTo: f.ReferenceTo,
				ExternalID: f.ExternalID, Picklist: f.picklistValues()})
		}
		out = append(out, obj)
	}
	return out
}

// The simulated org (sfdctest) stands in for an org with sfdc/metadata
// deployed in every other test and in `switchboard demo`; it must describe
// the same schema. Checked through the real client and CheckSchema, as
// `switchboard setup` would check a real org.
func TestSimulatedOrgDescribesTheMetadataSchema(t *testing.T) {
	p := mustLoadMetadata(t)
	org := sfdctest.Start(t)
	hc := &http.Client{Timeout: 10 * time.Second}
	auth, err := NewAuth(AuthConfig{Flow: FlowClientCredentials, LoginURL: org.URL(),
		ClientID: sfdctest.DefaultClientID, ClientSecret: sfdctest.DefaultClientSecret}, hc, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(auth, ClientConfig{HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	missing, err := CheckSchema(ctx, c, metadataAsSpec(p))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range missing {
		t.Errorf("the simulated org differs from sfdc/metadata: %s", m)
	}
	// What CheckSchema does not compare: Text lengths and picklist order.
	for _, dir := range slices.Sorted(mapKeys(p.Objects)) {
		d, err := c.Describe(ctx, sObjectFor(dir))
		if err != nil {
			t.Fatalf("describe %s: %v", sObjectFor(dir), err)
		}
		for _, name := range slices.Sorted(mapKeys(p.Objects[dir].Fields)) {
			f := p.Objects[dir].Fields[name]
			fd, ok := d.Field(name)
			if !ok {
				continue // reported by CheckSchema
			}
			if f.Type == "Text" && fd.Length != f.Length {
				t.Errorf("%s.%s: the simulated org describes length %d, sfdc/metadata has Text(%d)", sObjectFor(dir), name, fd.Length, f.Length)
			}
			if f.Type == "Picklist" {
				var got []string
				for _, v := range fd.PicklistValues {
					got = append(got, v.Value)
				}
				if diff := diffValues(got, f.picklistValues()); diff != "" {
					t.Errorf("%s.%s: the simulated org's picklist differs from sfdc/metadata: %s", sObjectFor(dir), name, diff)
				}
			}
		}
	}
}
