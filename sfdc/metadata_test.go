package sfdc

// The tests in this file keep sfdc/metadata — the SFDX source admins deploy
// with `sf project deploy start` — in agreement with SpecSchema (the
// contract of SPEC §1 in sfdc/schema, which `switchboard setup` checks an org
// against and the simulated org is built from) and with SPEC §1 itself, and
// check the XML against the Metadata API formats (CustomObject, CustomField,
// PermissionSet, Package) closely enough that a typo fails here rather than
// in an admin's deploy. Their checkers, by concern: metadata_xml_test.go
// (reading the XML), metadata_rules_test.go (structural rules),
// metadata_schema_test.go (against SpecSchema and the simulated org),
// spec_md_test.go and spec_topics_test.go (SPEC.md §1 and §2),
// metadata_permsets_test.go (permission sets).

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const (
	mdNamespace  = "http://soap.sforce.com/2006/04/metadata"
	mdAPIVersion = "62.0"
	// metadataDir is relative to the package directory, the working
	// directory of `go test`.
	metadataDir = "metadata"
)

// ---------------------------------------------------------------------------
// Helpers.

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// setDiff returns the elements of want missing from got, and those of got
// not in want, each sorted.
func setDiff(want, got []string) (missing, extra []string) {
	for _, w := range want {
		if !slices.Contains(got, w) {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			extra = append(extra, g)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return missing, extra
}

func quoteAll(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// specPath finds SPEC.md beside the repository (../shared/SPEC.md from the
// repository root: /work/shared in development, a copy beside the clone in
// CI), or "" when it is not there.
func specPath(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "SPEC.md")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// readSpecDoc returns SPEC.md's path and text, or skips the test.
func readSpecDoc(t *testing.T) (string, string) {
	t.Helper()
	path := specPath(t)
	if path == "" {
		t.Skip("SPEC.md not found beside the repository (../shared/SPEC.md from the repo root); skipping the SPEC text comparison")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, string(data)
}

func loadSpecDoc(t *testing.T) []*specObject {
	t.Helper()
	path, md := readSpecDoc(t)
	spec, err := parseSpecSchema(md)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return withoutNotBuilt(spec)
}

func mustLoadMetadata(t *testing.T) *mdProject {
	t.Helper()
	p, problems, err := loadMetadata(metadataDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range problems {
		t.Error(pr)
	}
	return p
}

func reportProblems(t *testing.T, problems []string) {
	t.Helper()
	for _, p := range problems {
		t.Error(p)
	}
}

// ---------------------------------------------------------------------------
// The tests.

func TestMetadataIsValidSourceFormat(t *testing.T) {
	p := mustLoadMetadata(t)
	reportProblems(t, validateMetadata(p))
}

func TestMetadataMatchesSpecSchema(t *testing.T) {
	p := mustLoadMetadata(t)
	reportProblems(t, compareWithSpecSchema(p, SpecSchema()))
}

func TestMetadataMatchesSpecDoc(t *testing.T) {
	p := mustLoadMetadata(t)
	spec := loadSpecDoc(t)
	reportProblems(t, compareWithSpecDoc(p, spec))
}

func TestSpecSchemaMatchesSpecDoc(t *testing.T) {
	spec := loadSpecDoc(t)
	problems, notes := compareSpecSchemaWithSpecDoc(SpecSchema(), spec)
	reportProblems(t, problems)
	for _, n := range notes {
		t.Log(n)
	}
}

func TestPermissionSetsGrantWhatEachUserNeeds(t *testing.T) {
	p := mustLoadMetadata(t)
	for _, name := range []string{"Switchboard_Integration", "Switchboard_User", "Switchboard_Admin"} {
		if p.PermSets[name] == nil {
			t.Fatalf("permission set %s missing", name)
		}
	}
	reportProblems(t, checkIntegrationPermSet(p, p.PermSets["Switchboard_Integration"]))
	reportProblems(t, checkUserPermSet(p, p.PermSets["Switchboard_User"]))
	reportProblems(t, checkAdminPermSet(p, p.PermSets["Switchboard_Admin"]))
}

// The checks must fail on the mistakes they exist for, naming the object,
// the field and the difference.
//
// Long on purpose: one table, a case per mistake the checks exist for.
func TestMetadataChecksReportMistakes(t *testing.T) {
	activity := func(p *mdProject, name string) *mdField { return p.Objects["Activity"].Fields[name] }
	cases := []struct {
		name   string
		mutate func(p *mdProject)
		check  func(p *mdProject) []string
		want   []string // substrings of one reported problem
	}{
		{"status values reordered",
			func(p *mdProject) {
				v := activity(p, "Message_Status__c").ValueSet.Definition.Values
				v[0], v[1] = v[1], v[0]
			},
			func(p *mdProject) []string { return compareWithSpecSchema(p, SpecSchema()) },
			[]string{"Task.Message_Status__c", "order: position 1 is \"Queued\", want \"Pending\""}},
		{"picklist value missing",
			func(p *mdProject) {
				f := p.Objects["Conversation__c"].Fields["Status__c"]
				f.ValueSet.Definition.Values = f.ValueSet.Definition.Values[:1]
			},
			func(p *mdProject) []string { return compareWithSpecSchema(p, SpecSchema()) },
			[]string{"Conversation__c.Status__c", `missing ["Closed"]`}},
		{"external id not unique",
			func(p *mdProject) { p.Objects["Opt_In__c"].Fields["UniqueId__c"].Unique = false },
			func(p *mdProject) []string { return compareWithSpecSchema(p, SpecSchema()) },
			[]string{"Opt_In__c.UniqueId__c", "External ID/Unique", "unique=false"}},
		{"lookup to the wrong object",
			func(p *mdProject) { p.Objects["Conversation__c"].Fields["Channel__c"].ReferenceTo = "Channel_Type__c" },
			func(p *mdProject) []string { return compareWithSpecSchema(p, SpecSchema()) },
			[]string{"Conversation__c.Channel__c", `refers to "Channel_Type__c", SpecSchema to "Channel__c"`}},
		{"wrong type",
			func(p *mdProject) { p.Objects["Conversation__c"].Fields["Message_Recipient__c"].Type = "Text" },
			func(p *mdProject) []string { return compareWithSpecSchema(p, SpecSchema()) },
			[]string{"Conversation__c.Message_Recipient__c", `describes as "string", SpecSchema says "phone"`}},
		{"field not in the spec",
			func(p *mdProject) {
				p.Objects["Channel__c"].Fields["Extra__c"] = &mdField{FullName: "Extra__c", Type: "Text"}
			},
			func(p *mdProject) []string { return compareWithSpecSchema(p, SpecSchema()) },
			[]string{"Channel__c.Extra__c", "not in SpecSchema"}},
		{"field missing",
			func(p *mdProject) { delete(p.Objects["Activity"].Fields, "Message_Sid__c") },
			func(p *mdProject) []string { return compareWithSpecSchema(p, SpecSchema()) },
			[]string{"Task.Message_Sid__c", "missing from sfdc/metadata"}},
		{"text length differs",
			func(p *mdProject) { p.Objects["Opt_In__c"].Fields["Keyword__c"].Length = 20 },
			func(p *mdProject) []string { return compareWithSpecSchema(p, SpecSchema()) },
			[]string{"Opt_In__c.Keyword__c", "length: metadata Text(20), SpecSchema 40"}},
		{"child relationship renamed",
			func(p *mdProject) {
				p.Objects["Message_Template_Translation__c"].Fields["Message_Template__c"].RelationshipName = "Texts"
			},
			func(p *mdProject) []string { return compareWithSpecSchema(p, SpecSchema()) },
			[]string{"Message_Template_Translation__c.Message_Template__c", `child relationship: metadata "Texts", SpecSchema "Translations"`}},
		{"default differs",
			func(p *mdProject) { p.Objects["Channel_Type__c"].Fields["Max_Message_Length__c"].DefaultValue = "160" },
			func(p *mdProject) []string { return compareWithSpecSchema(p, SpecSchema()) },
			[]string{"Channel_Type__c.Max_Message_Length__c", `default: metadata "160", SpecSchema "1600"`}},
		{"auto-number format differs",
			func(p *mdProject) { p.Objects["Conversation__c"].Def.NameField.DisplayFormat = "CV-{0000}" },
			func(p *mdProject) []string { return compareWithSpecSchema(p, SpecSchema()) },
			[]string{"Conversation__c.Name", `"CV-{0000}", SpecSchema NameFormat "C-{000000}"`}},
		{"object missing",
			func(p *mdProject) { delete(p.Objects, "Opt_In__c") },
			func(p *mdProject) []string { return compareWithSpecSchema(p, SpecSchema()) },
			[]string{"Opt_In__c", "object missing"}},
		{"unrestricted picklist",
			func(p *mdProject) { activity(p, "Message_Type__c").ValueSet.Restricted = false },
			validateMetadata,
			[]string{"Task.Message_Type__c", "restricted"}},
		{"default on a Task picklist",
			func(p *mdProject) { activity(p, "Message_Type__c").ValueSet.Definition.Values[0].Default = true },
			validateMetadata,
			[]string{"Task.Message_Type__c", `"Outbound" is the default`}},
		{"text too long",
			func(p *mdProject) { activity(p, "Message_Sid__c").Length = 256 },
			validateMetadata,
			[]string{"Task.Message_Sid__c", "Text length 256"}},
		{"checkbox without default",
			func(p *mdProject) { p.Objects["Channel__c"].Fields["Active__c"].DefaultValue = "" },
			validateMetadata,
			[]string{"Channel__c.Active__c", "defaultValue"}},
		{"duplicate relationship name",
			func(p *mdProject) { p.Objects["Opt_In__c"].Fields["Channel__c"].RelationshipName = "Conversations" },
			validateMetadata,
			[]string{"relationshipName \"Conversations\" is already used on Channel__c"}},
		{"field permission on a master-detail",
			func(p *mdProject) {
				ps := p.PermSets["Switchboard_User"]
				ps.FieldPermissions = append(ps.FieldPermissions, mdFieldPermission{Field: "Message_Template_Translation__c.Message_Template__c", Readable: true})
			},
			validateMetadata,
			[]string{"Switchboard_User", "Message_Template_Translation__c.Message_Template__c", "required fields take no field permissions"}},
		{"activity prefix in a permission set",
			func(p *mdProject) {
				p.PermSets["Switchboard_User"].FieldPermissions[0].Field = "Activity.Conversation__c"
			},
			validateMetadata,
			[]string{"Activity.Conversation__c", "Task.<field>"}},
		{"manifest out of date",
			func(p *mdProject) { delete(p.Objects["Channel__c"].Fields, "Queue_Name__c") },
			validateMetadata,
			[]string{"CustomField Channel__c.Queue_Name__c is in the manifest but not in the source"}},
		{"users may edit the message SID",
			func(p *mdProject) { p.PermSets["Switchboard_User"].field("Task.Message_Sid__c").Editable = true },
			func(p *mdProject) []string { return checkUserPermSet(p, p.PermSets["Switchboard_User"]) },
			[]string{"Switchboard_User", "Task.Message_Sid__c", "only the sidecar may write it"}},
		{"integration user cannot write a status",
			func(p *mdProject) {
				p.PermSets["Switchboard_Integration"].field("Task.Message_Status__c").Editable = false
			},
			func(p *mdProject) []string { return checkIntegrationPermSet(p, p.PermSets["Switchboard_Integration"]) },
			[]string{"Switchboard_Integration", "Task.Message_Status__c", "not editable"}},
		{"integration user without API access",
			func(p *mdProject) { p.PermSets["Switchboard_Integration"].UserPermissions[0].Enabled = false },
			func(p *mdProject) []string { return checkIntegrationPermSet(p, p.PermSets["Switchboard_Integration"]) },
			[]string{"Switchboard_Integration", "ApiEnabled"}},
		{"Draft missing",
			func(p *mdProject) {
				f := activity(p, "Message_Status__c")
				f.ValueSet.Definition.Values = slices.DeleteFunc(f.ValueSet.Definition.Values, func(v mdPicklistValue) bool { return v.FullName == "Draft" })
			},
			func(p *mdProject) []string { return compareWithSpecSchema(p, SpecSchema()) },
			[]string{"Task.Message_Status__c", `missing ["Draft"]`}},
		{"heartbeat key not unique",
			func(p *mdProject) { p.Objects["Switchboard_Status__c"].Fields["Instance__c"].Unique = false },
			func(p *mdProject) []string { return compareWithSpecSchema(p, SpecSchema()) },
			[]string{"Switchboard_Status__c.Instance__c", "External ID/Unique"}},
		{"heartbeat field missing",
			func(p *mdProject) { delete(p.Objects["Switchboard_Status__c"].Fields, "Checks__c") },
			func(p *mdProject) []string { return compareWithSpecSchema(p, SpecSchema()) },
			[]string{"Switchboard_Status__c.Checks__c", "missing from sfdc/metadata"}},
		{"integration user cannot update its heartbeat row",
			func(p *mdProject) {
				p.PermSets["Switchboard_Integration"].object("Switchboard_Status__c").AllowEdit = false
			},
			func(p *mdProject) []string { return checkIntegrationPermSet(p, p.PermSets["Switchboard_Integration"]) },
			[]string{"Switchboard_Integration", "Switchboard_Status__c: needs create and edit"}},
		{"integration user cannot write a heartbeat field",
			func(p *mdProject) {
				p.PermSets["Switchboard_Integration"].field("Switchboard_Status__c.Checks__c").Editable = false
			},
			func(p *mdProject) []string { return checkIntegrationPermSet(p, p.PermSets["Switchboard_Integration"]) },
			[]string{"Switchboard_Integration", "Switchboard_Status__c.Checks__c", "not editable"}},
		{"integration user cannot read a default External Channel's field",
			func(p *mdProject) {
				ps := p.PermSets["Switchboard_Integration"]
				ps.FieldPermissions = slices.DeleteFunc(ps.FieldPermissions, func(f mdFieldPermission) bool { return f.Field == "Account.Phone" })
			},
			func(p *mdProject) []string { return checkIntegrationPermSet(p, p.PermSets["Switchboard_Integration"]) },
			[]string{"Switchboard_Integration", "Account.Phone: a default External Channel, but not readable"}},
		{"admins cannot edit channels",
			func(p *mdProject) { p.PermSets["Switchboard_Admin"].object("Channel__c").AllowEdit = false },
			func(p *mdProject) []string { return checkAdminPermSet(p, p.PermSets["Switchboard_Admin"]) },
			[]string{"Switchboard_Admin", "Channel__c", "edit"}},
		{"admins may write the sidecar's status",
			func(p *mdProject) { p.PermSets["Switchboard_Admin"].object("Switchboard_Status__c").AllowEdit = true },
			func(p *mdProject) []string { return checkAdminPermSet(p, p.PermSets["Switchboard_Admin"]) },
			[]string{"Switchboard_Admin", "Switchboard_Status__c", "only the sidecar writes it"}},
		{"agents cannot see the inbox tab",
			func(p *mdProject) { p.PermSets["Switchboard_User"].TabSettings = nil },
			func(p *mdProject) []string { return checkUserPermSet(p, p.PermSets["Switchboard_User"]) },
			[]string{"Switchboard_User", "Switchboard_Inbox tab"}},
		{"admin tab hidden",
			func(p *mdProject) { p.PermSets["Switchboard_Admin"].TabSettings = nil },
			func(p *mdProject) []string { return checkAdminPermSet(p, p.PermSets["Switchboard_Admin"]) },
			[]string{"Switchboard_Admin", "Switchboard_Administration tab"}},
		{"validation rule shown on a missing field",
			func(p *mdProject) {
				p.Objects["Channel__c"].ValidationRules["Phone_Number_E164"].ErrorDisplayField = "Phone__c"
			},
			validateMetadata,
			[]string{"Channel__c.Phone_Number_E164", "errorDisplayField Phone__c"}},
		{"wrong API version",
			func(p *mdProject) { p.Project.SourceAPIVersion = "61.0"; p.Manifest.Version = "61.0" },
			validateMetadata,
			[]string{`sourceApiVersion is "61.0", want "62.0"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, _, err := loadMetadata(metadataDir)
			if err != nil {
				t.Fatal(err)
			}
			if before := tc.check(p); len(before) != 0 {
				t.Fatalf("problems before the mutation: %q", before)
			}
			tc.mutate(p)
			got := tc.check(p)
			if !slices.ContainsFunc(got, func(s string) bool {
				return !slices.ContainsFunc(tc.want, func(w string) bool { return !strings.Contains(s, w) })
			}) {
				t.Errorf("no problem mentions all of %q; got %q", tc.want, got)
			}
		})
	}
}

// The manifest also lists what other parts of the app add (components,
// labels, tabs, pages); the Go check compares only the types it reads, and
// still catches those being stale.
func TestManifestCheckComparesOnlyTheTypesItReads(t *testing.T) {
	p := mustLoadMetadata(t)
	for _, typ := range []string{"LightningComponentBundle", "CustomLabels", "CustomApplication", "CustomTab", "FlexiPage"} {
		p.Manifest.Types = append(p.Manifest.Types, struct {
			Members []string `xml:"members"`
			Name    string   `xml:"name"`
		}{Members: []string{"switchboardSomething"}, Name: typ})
	}
	if got := validateManifest(p); len(got) != 0 {
		t.Fatalf("other types made the manifest check fail: %q", got)
	}
	delete(p.Objects["Switchboard_Status__c"].Fields, "Version__c")
	got := validateManifest(p)
	if !slices.Equal(got, []string{"manifest/package.xml: CustomField Switchboard_Status__c.Version__c is in the manifest but not in the source"}) {
		t.Fatalf("stale CustomField: got %q", got)
	}
}

func TestCheckFormatRejectsUnknownAndMalformedElements(t *testing.T) {
	const head = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
	cases := []struct {
		name, xml, root string
		problem         string // substring of a reported problem; "" when an error is expected
		err             string // substring of the error
	}{
		{"misspelt element", head + `<CustomField xmlns="` + mdNamespace + `"><fullName>A__c</fullName><externalID>true</externalID></CustomField>`,
			"CustomField", "<CustomField> has unknown child <externalID>", ""},
		{"boolean that is not", head + `<CustomField xmlns="` + mdNamespace + `"><unique>yes</unique></CustomField>`,
			"CustomField", `<CustomField/unique> is "yes", want true or false`, ""},
		{"integer that is not", head + `<CustomField xmlns="` + mdNamespace + `"><length>34.5</length></CustomField>`,
			"CustomField", `<CustomField/length> is "34.5", want an integer`, ""},
		{"repeated element", head + `<CustomField xmlns="` + mdNamespace + `"><label>A</label><label>B</label></CustomField>`,
			"CustomField", "<CustomField> has <label> twice", ""},
		{"children under a leaf", head + `<CustomField xmlns="` + mdNamespace + `"><label><b>A</b></label></CustomField>`,
			"CustomField", "<CustomField/label> takes no children", ""},
		{"wrong namespace", head + `<CustomField xmlns="urn:other"><label>A</label></CustomField>`,
			"CustomField", "namespace", ""},
		{"wrong root", head + `<CustomObject xmlns="` + mdNamespace + `"/>`, "CustomField", "", "root element is <CustomObject>, want <CustomField>"},
		{"not well-formed", head + `<CustomField xmlns="` + mdNamespace + `"><label>A</CustomField>`, "CustomField", "", "not well-formed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			problems, err := mdFormats.checkFormat([]byte(tc.xml), tc.root)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.problem) }) {
				t.Errorf("problems %q, want one mentioning %q", problems, tc.problem)
			}
		})
	}
}

func TestParseSpecSchemaReadsTablesAndProse(t *testing.T) {
	const md = "# x\n\n## 1. Salesforce schema\n\nIntro (`sfdc/metadata/`).\n\n" +
		"### Task (standard object) — one record per message\n" +
		"| field | type | meaning |\n|---|---|---|\n" +
		"| `Description` | Long Text (standard) | body |\n" +
		"| `WhoId` / `WhatId` | standard | who |\n" +
		"| `Conversation__c` | Lookup(Conversation__c) | thread |\n" +
		"| `Kind__c` | Picklist: `A`, `B` | k |\n" +
		"| `State__c` | Picklist (below) | s |\n" +
		"| `Sid__c` | Text(34), External ID, Unique | sid |\n\n" +
		"`State__c` values and their order: `One` < `Two`;\nplus `Three` (x).\n\n" +
		"**Sent when `Kind__c = 'A'`.** Back to `One`.\n\n" +
		"### Thing__c — a thing\n" +
		"`Name` (auto-number), `Status__c` (Picklist `Open`, `Closed`), `Other__c`\n" +
		"(Lookup), `Ref__c` (Text(18): the record (if any) it is for), `Max__c` (Number,\ndefault 1600), `Key__c` (Text, External ID, Unique: `<a>|<Other__c Id>`), `Plain__c`.\n" +
		"A `Closed` thing stays closed; `Status__c` again.\n\n" +
		"### Other__c / Detail__c\n" +
		"`Other__c`: `Name`, `Body__c` (with `{!X.Y}`). `Detail__c`: `Other__c` (Master-Detail), `Lang__c` (e.g. `de`).\n\n" +
		"## 1a. Added later\n\nBuilt by the issues that need it.\n\n`State__c` gains `Four` (being composed; not in the order).\n\n" +
		"### Beat__c — one row per instance\n`Name`, `Key__c` (Text, External ID, Unique: the id), `At__c` (DateTime), `Up__c` (Checkbox), `Log__c` (Long Text: lines).\n\n" +
		"## 2. Next\n`Ignored__c` (Text(5))\n"
	spec, err := parseSpecSchema(md)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Obj, Field, Meta string
		Standard         bool
		Len              int
		Ref              string
		Ext, Uniq        bool
		Values           []string
		Default          string
	}
	var got []row
	for _, o := range spec {
		for _, f := range o.Fields {
			got = append(got, row{o.Name, f.Name, f.MetaType, f.Standard, f.Length, f.Ref, f.External, f.Unique, f.Picklist, f.Default})
		}
	}
	want := []row{
		{"Task", "Description", "", true, 0, "", false, false, nil, ""},
		{"Task", "WhoId", "", true, 0, "", false, false, nil, ""},
		{"Task", "WhatId", "", true, 0, "", false, false, nil, ""},
		{"Task", "Conversation__c", "Lookup", false, 0, "Conversation__c", false, false, nil, ""},
		{"Task", "Kind__c", "Picklist", false, 0, "", false, false, []string{"A", "B"}, ""},
		{"Task", "State__c", "Picklist", false, 0, "", false, false, []string{"One", "Two", "Three", "Four"}, ""},
		{"Task", "Sid__c", "Text", false, 34, "", true, true, nil, ""},
		{"Thing__c", "Name", "AutoNumber", false, 0, "", false, false, nil, ""},
		{"Thing__c", "Status__c", "Picklist", false, 0, "", false, false, []string{"Open", "Closed"}, ""},
		{"Thing__c", "Other__c", "Lookup", false, 0, "Other__c", false, false, nil, ""},
		{"Thing__c", "Ref__c", "Text", false, 18, "", false, false, nil, ""},
		{"Thing__c", "Max__c", "Number", false, 0, "", false, false, nil, "1600"},
		{"Thing__c", "Key__c", "Text", false, 0, "", true, true, nil, ""},
		{"Thing__c", "Plain__c", "", false, 0, "", false, false, nil, ""},
		{"Other__c", "Name", "", false, 0, "", false, false, nil, ""},
		{"Other__c", "Body__c", "", false, 0, "", false, false, nil, ""},
		{"Detail__c", "Other__c", "MasterDetail", false, 0, "Other__c", false, false, nil, ""},
		{"Detail__c", "Lang__c", "", false, 0, "", false, false, nil, ""},
		{"Beat__c", "Name", "", false, 0, "", false, false, nil, ""},
		{"Beat__c", "Key__c", "Text", false, 0, "", true, true, nil, ""},
		{"Beat__c", "At__c", "DateTime", false, 0, "", false, false, nil, ""},
		{"Beat__c", "Up__c", "Checkbox", false, 0, "", false, false, nil, ""},
		{"Beat__c", "Log__c", "LongTextArea", false, 0, "", false, false, nil, ""},
	}
	if len(got) != len(want) {
		t.Fatalf("parsed %d fields, want %d:\n got %+v", len(got), len(want), got)
	}
	for i := range want {
		if fmt.Sprint(got[i]) != fmt.Sprint(want[i]) {
			t.Errorf("field %d: got %+v, want %+v", i, got[i], want[i])
		}
	}

	for _, bad := range []struct{ md, err string }{
		{"# x\n## 2. Other\n", `no "## 1." section`},
		{"## 1. S\n### Thing__c — t\nno fields here\n", "Thing__c: no fields found"},
		{"## 1. S\n### Thing__c — t\n`A__c` (Text(3)\n", "unbalanced parenthesis after `A__c`"},
		{"## 1. S\n### Thing__c — t\n`A__c\n", "unbalanced backtick"},
		{"## 1. S\n### Thing__c — t\n`A__c` (Text)\n## 1a. T\n`Nope__c` gains `X`.\n", "`Nope__c` gains values, but no picklist"},
	} {
		if _, err := parseSpecSchema(bad.md); err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("parseSpecSchema(%q) err = %v, want it to mention %q", bad.md, err, bad.err)
		}
	}
}

// A SPEC that disagrees with the metadata is reported field by field.
func TestCompareWithSpecDocReportsDifferences(t *testing.T) {
	p := mustLoadMetadata(t)
	const md = "## 1. S\n### Task (standard object) — m\n| field | type | meaning |\n|---|---|---|\n" +
		"| `Message_Sid__c` | Text(32), External ID | sid |\n" +
		"| `Message_Type__c` | Picklist: `Inbound`, `Outbound` | dir |\n" +
		"| `Gone__c` | DateTime | x |\n" +
		"### Channel_Type__c — t\n`Max_Message_Length__c` (Number, default 160), `Provider__c` (Lookup Channel__c)\n"
	spec, err := parseSpecSchema(md)
	if err != nil {
		t.Fatal(err)
	}
	got := compareWithSpecDoc(p, spec)
	for _, want := range []string{
		`Task.Message_Sid__c: length: SPEC says "Text(32), External ID", metadata has 34`,
		`Task.Message_Sid__c: Unique: SPEC says "Text(32), External ID", metadata unique=true`,
		`Task.Message_Type__c: picklist values differ from SPEC: order: position 1 is "Outbound", want "Inbound"`,
		"Task.Gone__c: field in SPEC §1 but missing from sfdc/metadata",
		"Task.Message_Status__c: field in sfdc/metadata but not in SPEC §1",
		`Channel_Type__c.Max_Message_Length__c: default: SPEC says "160", metadata defaultValue is "1600"`,
		`Channel_Type__c.Provider__c: type: SPEC says "Lookup Channel__c" (Lookup), metadata has Picklist`,
		"Conversation__c: object in sfdc/metadata but not in SPEC §1",
	} {
		if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("no problem mentions %q; got:\n%s", want, strings.Join(got, "\n"))
		}
	}
}
