package sfdc

// Structural rules sfdc/metadata must follow: what the Metadata API
// accepts, and what this project needs of it.

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// ---------------------------------------------------------------------------
// Structural rules: what the Metadata API accepts, and what this project
// needs of it.

var (
	identifierRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	sharingOpeness = map[string]int{"Private": 0, "Read": 1, "ReadWrite": 2, "ReadWriteTransfer": 3, "FullAccess": 4}
)

func validateMetadata(p *mdProject) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	if p.Project.SourceAPIVersion != mdAPIVersion {
		bad("sfdx-project.json: sourceApiVersion is %q, want %q", p.Project.SourceAPIVersion, mdAPIVersion)
	}
	if !slices.ContainsFunc(p.Project.PackageDirectories, func(d struct {
		Path    string `json:"path"`
		Default bool   `json:"default"`
	}) bool {
		return d.Path == "force-app" && d.Default
	}) {
		bad("sfdx-project.json: packageDirectories must have force-app as the default")
	}

	relNames := map[string]string{} // target/relationshipName → field
	for _, dir := range slices.Sorted(mapKeys(p.Objects)) {
		o := p.Objects[dir]
		if o.Def == nil && isCustomName(dir) {
			bad("%s: custom object without %s.object-meta.xml", dir, dir)
		}
		if o.Def != nil {
			out = append(out, validateObject(dir, o)...)
		}
		masters := 0
		for _, name := range slices.Sorted(mapKeys(o.Fields)) {
			f := o.Fields[name]
			out = append(out, validateField(p, dir, f)...)
			if f.Type == "MasterDetail" {
				masters++
			}
			if f.RelationshipName != "" {
				key := f.ReferenceTo + "/" + f.RelationshipName
				if other, dup := relNames[key]; dup {
					bad("%s.%s: relationshipName %q is already used on %s by %s", dir, name, f.RelationshipName, f.ReferenceTo, other)
				}
				relNames[key] = dir + "." + name
			}
		}
		for _, name := range slices.Sorted(mapKeys(o.ValidationRules)) {
			out = append(out, validateValidationRule(dir, o, name)...)
		}
		if o.Def != nil && (o.Def.SharingModel == "ControlledByParent") != (masters == 1) {
			bad("%s: sharingModel %s with %d Master-Detail fields; ControlledByParent needs exactly one", dir, o.Def.SharingModel, masters)
		}
	}
	// A default on either field would make every new Task (a logged call,
	// a to-do) a message for the sidecar to send.
	for _, name := range []string{"Message_Type__c", "Message_Status__c"} {
		if f := p.Objects["Activity"].Fields[name]; f != nil && f.ValueSet != nil && f.ValueSet.Definition != nil {
			for _, v := range f.ValueSet.Definition.Values {
				if v.Default {
					bad("Task.%s: value %q is the default; neither Task picklist may have one, or ordinary Tasks would be sent", name, v.FullName)
				}
			}
		}
	}
	out = append(out, validateManifest(p)...)
	for _, name := range slices.Sorted(mapKeys(p.PermSets)) {
		out = append(out, validatePermSet(p, p.PermSets[name])...)
	}
	return out
}

func validateObject(dir string, o *mdObject) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, dir+": "+fmt.Sprintf(format, args...)) }
	d := o.Def
	if d.Label == "" || len(d.Label) > 40 {
		bad("label %q must be 1-40 characters", d.Label)
	}
	if d.PluralLabel == "" || len(d.PluralLabel) > 40 {
		bad("pluralLabel %q must be 1-40 characters", d.PluralLabel)
	}
	if d.Description == "" || len(d.Description) > 1000 {
		bad("description must be 1-1000 characters, is %d", len(d.Description))
	}
	if d.DeploymentStatus != "Deployed" {
		bad("deploymentStatus is %q, want Deployed (InDevelopment hides the object from users)", d.DeploymentStatus)
	}
	if d.SharingModel == "ControlledByParent" {
		if d.ExternalSharingModel != "" && d.ExternalSharingModel != "ControlledByParent" {
			bad("externalSharingModel %s on a ControlledByParent object", d.ExternalSharingModel)
		}
	} else {
		in, ok := sharingOpeness[d.SharingModel]
		if !ok {
			bad("sharingModel %q is not one of Private, Read, ReadWrite, ReadWriteTransfer, FullAccess, ControlledByParent", d.SharingModel)
		}
		if ex, ok := sharingOpeness[d.ExternalSharingModel]; d.ExternalSharingModel != "" && (!ok || ex > in) {
			bad("externalSharingModel %q must be a valid model no more open than sharingModel %s", d.ExternalSharingModel, d.SharingModel)
		}
	}
	// PushTopics (SPEC §2) and the sidecar's bulk reads need these.
	if !d.EnableStreamingAPI {
		bad("enableStreamingApi is false; PushTopics on it would be refused")
	}
	nf := d.NameField
	switch nf.Type {
	case "Text":
	case "AutoNumber":
		if !strings.Contains(nf.DisplayFormat, "{0") {
			bad("nameField AutoNumber displayFormat %q has no {0…} counter", nf.DisplayFormat)
		}
	default:
		bad("nameField type %q, want Text or AutoNumber", nf.Type)
	}
	if nf.Label == "" || len(nf.Label) > 40 {
		bad("nameField label %q must be 1-40 characters", nf.Label)
	}
	return out
}

func validateField(p *mdProject, dir string, f *mdField) []string {
	var out []string
	bad := func(format string, args ...any) {
		out = append(out, fmt.Sprintf("%s.%s: ", sObjectFor(dir), f.FullName)+fmt.Sprintf(format, args...))
	}
	if !isCustomName(f.FullName) || !identifierRE.MatchString(strings.TrimSuffix(f.FullName, "__c")) {
		bad("not a custom field API name")
	}
	if f.Label == "" || len(f.Label) > 40 {
		bad("label %q must be 1-40 characters", f.Label)
	}
	if f.Description == "" || len(f.Description) > 1000 {
		bad("description must be 1-1000 characters, is %d", len(f.Description))
	}
	if f.InlineHelpText == "" || len(f.InlineHelpText) > 510 {
		bad("inlineHelpText must be 1-510 characters, is %d", len(f.InlineHelpText))
	}
	if f.ExternalID && !slices.Contains([]string{"Text", "Number", "Email"}, f.Type) {
		bad("externalId on a %s field; only Text, Number and Email can be External IDs", f.Type)
	}
	if f.Unique && !slices.Contains([]string{"Text", "Number", "Email"}, f.Type) {
		bad("unique on a %s field; only Text, Number and Email can be unique", f.Type)
	}
	if f.Length != 0 && !slices.Contains([]string{"Text", "LongTextArea"}, f.Type) {
		bad("length on a %s field", f.Type)
	}
	switch f.Type {
	case "Text":
		if f.Length < 1 || f.Length > 255 {
			bad("Text length %d, want 1-255", f.Length)
		}
	case "LongTextArea":
		if f.Length < 256 || f.Length > 131072 {
			bad("LongTextArea length %d, want 256-131072", f.Length)
		}
		if f.VisibleLines < 1 || f.VisibleLines > 50 {
			bad("LongTextArea visibleLines %d, want 1-50", f.VisibleLines)
		}
	case "Number":
		if f.Precision < 1 || f.Precision > 18 || f.Scale < 0 || f.Scale > f.Precision {
			bad("Number precision %d scale %d, want 1 <= precision <= 18 and 0 <= scale <= precision", f.Precision, f.Scale)
		}
	case "Checkbox":
		if f.DefaultValue != "true" && f.DefaultValue != "false" {
			bad("Checkbox defaultValue %q, want true or false (the Metadata API requires one)", f.DefaultValue)
		}
	case "Picklist":
		validatePicklist(f, bad)
	case "Lookup", "MasterDetail":
		validateRelationship(p, f, bad)
	case "Phone", "DateTime", "Url":
	default:
		bad("type %q is not one this project uses (Text, LongTextArea, Number, Checkbox, Picklist, Lookup, MasterDetail, Phone, DateTime, Url)", f.Type)
	}
	return out
}

// validatePicklist checks a Picklist's value set: restricted, labels equal
// to API values, no value twice, at most one default.
func validatePicklist(f *mdField, bad func(format string, args ...any)) {
	values := f.picklistValues()
	switch {
	case f.ValueSet == nil || f.ValueSet.Definition == nil || len(values) == 0:
		bad("Picklist without valueSet/valueSetDefinition values")
	case !f.ValueSet.Restricted:
		// The sidecar writes exactly these values and ranks statuses by
		// them; an unrestricted list would accept typos.
		bad("Picklist valueSet must be restricted")
	default:
		defaults := 0
		seen := map[string]bool{}
		for _, v := range f.ValueSet.Definition.Values {
			if v.Label != v.FullName {
				bad("value %q has label %q; API value and label must match", v.FullName, v.Label)
			}
			if seen[v.FullName] {
				bad("value %q twice", v.FullName)
			}
			seen[v.FullName] = true
			if v.Default {
				defaults++
			}
		}
		if defaults > 1 {
			bad("%d default values, want at most one", defaults)
		}
	}
}

// validateRelationship checks a Lookup or Master-Detail field: its target,
// relationship name and label, and the delete rule its type allows.
func validateRelationship(p *mdProject, f *mdField, bad func(format string, args ...any)) {
	if _, ok := p.Objects[f.ReferenceTo]; !ok {
		bad("referenceTo %q is not an object in sfdc/metadata", f.ReferenceTo)
	}
	if !identifierRE.MatchString(f.RelationshipName) || strings.Contains(f.RelationshipName, "__") || strings.HasSuffix(f.RelationshipName, "_") {
		bad("relationshipName %q is not a valid name (letters, digits, single underscores)", f.RelationshipName)
	}
	if f.RelationshipLabel == "" {
		bad("relationshipLabel missing; it names the related list on %s", f.ReferenceTo)
	}
	if f.Type == "Lookup" {
		if !slices.Contains([]string{"SetNull", "Restrict", "Cascade"}, f.DeleteConstraint) {
			bad("Lookup deleteConstraint %q, want SetNull, Restrict or Cascade", f.DeleteConstraint)
		}
		if f.DeleteConstraint == "SetNull" && f.Required {
			bad("a required Lookup cannot clear itself on delete (SetNull)")
		}
	} else {
		if f.DeleteConstraint != "" {
			bad("MasterDetail takes no deleteConstraint (details are deleted with the master)")
		}
		if f.RelationshipOrder == nil || *f.RelationshipOrder != 0 {
			bad("MasterDetail relationshipOrder must be 0 on a single-master object")
		}
	}
}

// manifestTypesRead are the metadata types loadMetadata reads.
var manifestTypesRead = []string{"CustomField", "CustomObject", "PermissionSet", "ValidationRule"}

// validateValidationRule checks what a deploy rejects: an empty formula or
// message, a message over 255 characters, and an error location that is not
// a field of the object.
func validateValidationRule(dir string, o *mdObject, name string) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, dir+"."+name+": "+fmt.Sprintf(format, args...)) }
	vr := o.ValidationRules[name]
	if strings.TrimSpace(vr.Formula) == "" {
		bad("errorConditionFormula is empty")
	}
	if vr.ErrorMessage == "" || len(vr.ErrorMessage) > 255 {
		bad("errorMessage must be 1-255 characters, is %d", len(vr.ErrorMessage))
	}
	if f := vr.ErrorDisplayField; f != "" && f != "Name" && o.Fields[f] == nil {
		bad("errorDisplayField %s is not a field of %s", f, sObjectFor(dir))
	}
	return out
}

func validateManifest(p *mdProject) []string {
	var out []string
	if p.Manifest.Version != mdAPIVersion {
		out = append(out, fmt.Sprintf("manifest/package.xml: version %q, want %q", p.Manifest.Version, mdAPIVersion))
	}
	want := map[string][]string{}
	for dir, o := range p.Objects {
		if o.Def != nil {
			want["CustomObject"] = append(want["CustomObject"], dir)
		}
		for name := range o.Fields {
			want["CustomField"] = append(want["CustomField"], dir+"."+name)
		}
		for name := range o.ValidationRules {
			want["ValidationRule"] = append(want["ValidationRule"], dir+"."+name)
		}
	}
	for name := range p.PermSets {
		want["PermissionSet"] = append(want["PermissionSet"], name)
	}
	// Only the types this test reads from the source: the manifest also
	// lists the app's components, tabs, labels and pages, which
	// `npm run test:metadata` checks with Salesforce's own library.
	have := map[string][]string{}
	for _, t := range p.Manifest.Types {
		if slices.Contains(manifestTypesRead, t.Name) {
			have[t.Name] = append(have[t.Name], t.Members...)
		}
	}
	for _, typ := range manifestTypesRead {
		missing, extra := setDiff(want[typ], have[typ])
		for _, m := range missing {
			out = append(out, fmt.Sprintf("manifest/package.xml: %s %s is in the source but not in the manifest", typ, m))
		}
		for _, m := range extra {
			out = append(out, fmt.Sprintf("manifest/package.xml: %s %s is in the manifest but not in the source", typ, m))
		}
	}
	return out
}

// fieldPermissionStandard are the standard fields the permission sets may
// grant. Required standard fields (Task.Subject, Task.Status, …) take no
// field permissions and the Metadata API rejects them.
var fieldPermissionStandard = []string{"Task.Description", "Task.WhoId", "Task.WhatId",
	"Contact.Phone", "Contact.MobilePhone", "Lead.Phone", "Lead.MobilePhone", "Account.Phone"}

// objectPermissionStandard are the standard objects the permission sets may
// grant. Task is not among them: Task access comes from the Edit Tasks user
// permission and the sharing of the records a Task belongs to.
var objectPermissionStandard = []string{"Account", "Contact", "Lead", "PushTopic"}

func validatePermSet(p *mdProject, ps *mdPermSet) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, ps.Name+": "+fmt.Sprintf(format, args...)) }
	if ps.Label == "" || len(ps.Label) > 80 {
		bad("label %q must be 1-80 characters", ps.Label)
	}
	if ps.Description == "" || len(ps.Description) > 255 {
		bad("description must be 1-255 characters, is %d", len(ps.Description))
	}
	for _, up := range ps.UserPermissions {
		if slices.Contains([]string{"ModifyAllData", "ViewAllData", "CustomizeApplication", "AuthorApex"}, up.Name) && up.Enabled {
			bad("grants %s; switchboard needs no org-wide administration rights", up.Name)
		}
	}
	seen := map[string]bool{}
	for _, op := range ps.ObjectPermissions {
		if seen[op.Object] {
			bad("object %s listed twice", op.Object)
		}
		seen[op.Object] = true
		o, custom := p.Objects[op.Object]
		if !custom && !slices.Contains(objectPermissionStandard, op.Object) {
			bad("object %s is neither in sfdc/metadata nor a standard object this project grants", op.Object)
		}
		if custom && o.Def == nil {
			bad("object %s has no object definition", op.Object)
		}
		// Salesforce's own dependencies; the deploy fails without them.
		if (op.AllowCreate || op.AllowEdit || op.AllowDelete || op.ViewAllRecords) && !op.AllowRead {
			bad("%s: create, edit, delete and view all need read", op.Object)
		}
		if op.AllowDelete && !op.AllowEdit {
			bad("%s: delete needs edit", op.Object)
		}
		if op.ModifyAllRecords && !(op.AllowDelete && op.ViewAllRecords) {
			bad("%s: modify all needs delete and view all", op.Object)
		}
	}
	seen = map[string]bool{}
	for _, fp := range ps.FieldPermissions {
		if seen[fp.Field] {
			bad("field %s listed twice", fp.Field)
		}
		seen[fp.Field] = true
		obj, name, ok := strings.Cut(fp.Field, ".")
		if !ok {
			bad("field %q is not Object.Field", fp.Field)
			continue
		}
		if fp.Editable && !fp.Readable {
			bad("%s: editable needs readable", fp.Field)
		}
		if obj == "Activity" || obj == "Event" {
			bad("%s: grant Task fields as Task.<field>; Salesforce mirrors them to Event itself", fp.Field)
			continue
		}
		if !isCustomName(name) {
			if !slices.Contains(fieldPermissionStandard, fp.Field) {
				bad("%s: standard field this project does not grant (required fields take no field permissions)", fp.Field)
			}
			continue
		}
		o := p.Objects[metadataDirFor(obj)]
		if o == nil || o.Fields[name] == nil {
			bad("%s: no such field in sfdc/metadata", fp.Field)
			continue
		}
		if f := o.Fields[name]; f.Type == "MasterDetail" || f.Required {
			bad("%s: required fields take no field permissions; the deploy would fail", fp.Field)
		}
		if obj != "Task" && ps.object(obj) == nil {
			bad("%s: field access without access to object %s", fp.Field, obj)
		}
	}
	return out
}
