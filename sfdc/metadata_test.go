package sfdc

// The tests in this file keep sfdc/metadata — the SFDX source admins deploy
// with `sf project deploy start` — in agreement with SpecSchema (the
// contract of SPEC §1 in sfdc/schema, which `switchboard setup` checks an org
// against and the simulated org is built from) and with
// SPEC §1 itself, and check the XML against the Metadata API formats
// (CustomObject, CustomField, PermissionSet, Package) closely enough that a
// typo fails here rather than in an admin's deploy.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
)

const (
	mdNamespace  = "http://soap.sforce.com/2006/04/metadata"
	mdAPIVersion = "62.0"
	// metadataDir is relative to the package directory, the working
	// directory of `go test`.
	metadataDir = "metadata"
)

// ---------------------------------------------------------------------------
// The Metadata API formats, as far as this project uses them.

type mdPicklistValue struct {
	FullName string `xml:"fullName"`
	Default  bool   `xml:"default"`
	Label    string `xml:"label"`
}

type mdValueSet struct {
	Restricted bool `xml:"restricted"`
	Definition *struct {
		Sorted bool              `xml:"sorted"`
		Values []mdPicklistValue `xml:"value"`
	} `xml:"valueSetDefinition"`
}

// mdField is a CustomField (a .field-meta.xml file) or the nameField of a
// CustomObject.
type mdField struct {
	FullName                 string      `xml:"fullName"`
	Label                    string      `xml:"label"`
	Type                     string      `xml:"type"`
	Description              string      `xml:"description"`
	InlineHelpText           string      `xml:"inlineHelpText"`
	Length                   int         `xml:"length"`
	Precision                int         `xml:"precision"`
	Scale                    int         `xml:"scale"`
	VisibleLines             int         `xml:"visibleLines"`
	DefaultValue             string      `xml:"defaultValue"`
	DisplayFormat            string      `xml:"displayFormat"`
	ExternalID               bool        `xml:"externalId"`
	Unique                   bool        `xml:"unique"`
	CaseSensitive            bool        `xml:"caseSensitive"`
	Required                 bool        `xml:"required"`
	ReferenceTo              string      `xml:"referenceTo"`
	RelationshipName         string      `xml:"relationshipName"`
	RelationshipLabel        string      `xml:"relationshipLabel"`
	RelationshipOrder        *int        `xml:"relationshipOrder"`
	DeleteConstraint         string      `xml:"deleteConstraint"`
	ReparentableMasterDetail bool        `xml:"reparentableMasterDetail"`
	WriteRequiresMasterRead  bool        `xml:"writeRequiresMasterRead"`
	ValueSet                 *mdValueSet `xml:"valueSet"`
}

func (f *mdField) picklistValues() []string {
	if f.ValueSet == nil || f.ValueSet.Definition == nil {
		return nil
	}
	out := make([]string, len(f.ValueSet.Definition.Values))
	for i, v := range f.ValueSet.Definition.Values {
		out[i] = v.FullName
	}
	return out
}

type mdObjectDef struct {
	Label                string  `xml:"label"`
	PluralLabel          string  `xml:"pluralLabel"`
	Description          string  `xml:"description"`
	DeploymentStatus     string  `xml:"deploymentStatus"`
	SharingModel         string  `xml:"sharingModel"`
	ExternalSharingModel string  `xml:"externalSharingModel"`
	EnableActivities     bool    `xml:"enableActivities"`
	EnableStreamingAPI   bool    `xml:"enableStreamingApi"`
	NameField            mdField `xml:"nameField"`
}

// mdObject is one directory under objects/: a custom object with its
// definition, or a standard object (Activity) that only carries fields.
type mdObject struct {
	Dir             string       // directory name: the object's API name, or Activity
	Def             *mdObjectDef // nil for a standard object
	Fields          map[string]*mdField
	ValidationRules map[string]*mdValidationRule
}

type mdValidationRule struct {
	FullName          string `xml:"fullName"`
	Active            bool   `xml:"active"`
	Formula           string `xml:"errorConditionFormula"`
	ErrorDisplayField string `xml:"errorDisplayField"`
	ErrorMessage      string `xml:"errorMessage"`
}

type mdObjectPermission struct {
	Object           string `xml:"object"`
	AllowCreate      bool   `xml:"allowCreate"`
	AllowRead        bool   `xml:"allowRead"`
	AllowEdit        bool   `xml:"allowEdit"`
	AllowDelete      bool   `xml:"allowDelete"`
	ViewAllRecords   bool   `xml:"viewAllRecords"`
	ModifyAllRecords bool   `xml:"modifyAllRecords"`
}

type mdFieldPermission struct {
	Field    string `xml:"field"`
	Readable bool   `xml:"readable"`
	Editable bool   `xml:"editable"`
}

type mdUserPermission struct {
	Name    string `xml:"name"`
	Enabled bool   `xml:"enabled"`
}

type mdPermSet struct {
	Name                  string               `xml:"-"`
	Label                 string               `xml:"label"`
	Description           string               `xml:"description"`
	HasActivationRequired bool                 `xml:"hasActivationRequired"`
	License               string               `xml:"license"`
	ObjectPermissions     []mdObjectPermission `xml:"objectPermissions"`
	FieldPermissions      []mdFieldPermission  `xml:"fieldPermissions"`
	UserPermissions       []mdUserPermission   `xml:"userPermissions"`
	AppVisibilities       []mdAppVisibility    `xml:"applicationVisibilities"`
	TabSettings           []mdTabSetting       `xml:"tabSettings"`
}

type mdAppVisibility struct {
	Application string `xml:"application"`
	Visible     bool   `xml:"visible"`
}

type mdTabSetting struct {
	Tab        string `xml:"tab"`
	Visibility string `xml:"visibility"`
}

func (ps *mdPermSet) object(name string) *mdObjectPermission {
	for i := range ps.ObjectPermissions {
		if ps.ObjectPermissions[i].Object == name {
			return &ps.ObjectPermissions[i]
		}
	}
	return nil
}

func (ps *mdPermSet) field(name string) *mdFieldPermission {
	for i := range ps.FieldPermissions {
		if ps.FieldPermissions[i].Field == name {
			return &ps.FieldPermissions[i]
		}
	}
	return nil
}

func (ps *mdPermSet) userPermission(name string) bool {
	return slices.ContainsFunc(ps.UserPermissions, func(u mdUserPermission) bool { return u.Name == name && u.Enabled })
}

type mdPackage struct {
	Types []struct {
		Members []string `xml:"members"`
		Name    string   `xml:"name"`
	} `xml:"types"`
	Version string `xml:"version"`
}

type sfdxProject struct {
	PackageDirectories []struct {
		Path    string `json:"path"`
		Default bool   `json:"default"`
	} `json:"packageDirectories"`
	SourceAPIVersion string `json:"sourceApiVersion"`
}

type mdProject struct {
	Objects  map[string]*mdObject // by directory name
	PermSets map[string]*mdPermSet
	Manifest *mdPackage
	Project  sfdxProject
}

// ---------------------------------------------------------------------------
// Strict reading. encoding/xml ignores elements a struct does not name, so a
// misspelt element (<externalID>) would vanish silently and deploy as the
// default. Every file is therefore first checked against the elements the
// Metadata API documents for its type (those this project may use).

type mdSchema struct {
	children map[string][]string // element path → allowed child elements
	repeated map[string]bool     // elements that may occur more than once
	booleans map[string]bool     // leaf elements whose text must be true/false
	integers map[string]bool     // leaf elements whose text must be an integer
}

var mdFormats = mdSchema{
	children: map[string][]string{
		"CustomField": {"fullName", "label", "type", "description", "inlineHelpText", "length", "precision", "scale",
			"visibleLines", "defaultValue", "externalId", "unique", "caseSensitive", "required", "referenceTo",
			"relationshipName", "relationshipLabel", "relationshipOrder", "deleteConstraint",
			"reparentableMasterDetail", "writeRequiresMasterRead", "valueSet", "trackHistory", "trackTrending",
			"trackFeedHistory"},
		"CustomField/valueSet":                          {"restricted", "valueSetDefinition"},
		"CustomField/valueSet/valueSetDefinition":       {"sorted", "value"},
		"CustomField/valueSet/valueSetDefinition/value": {"fullName", "default", "label"},
		"CustomObject": {"label", "pluralLabel", "description", "deploymentStatus", "sharingModel",
			"externalSharingModel", "nameField", "enableActivities", "enableBulkApi", "enableFeeds",
			"enableHistory", "enableReports", "enableSearch", "enableSharing", "enableStreamingApi",
			"allowInChatterGroups", "compactLayoutAssignment", "visibility"},
		"CustomObject/nameField": {"label", "type", "displayFormat", "trackHistory"},
		"PermissionSet": {"label", "description", "hasActivationRequired", "license", "objectPermissions",
			"fieldPermissions", "userPermissions", "applicationVisibilities", "tabSettings"},
		"PermissionSet/applicationVisibilities": {"application", "visible"},
		"PermissionSet/tabSettings":             {"tab", "visibility"},
		"PermissionSet/objectPermissions": {"object", "allowCreate", "allowRead", "allowEdit", "allowDelete",
			"viewAllRecords", "modifyAllRecords"},
		"PermissionSet/fieldPermissions": {"field", "readable", "editable"},
		"PermissionSet/userPermissions":  {"name", "enabled"},
		"ValidationRule": {"fullName", "active", "description", "errorConditionFormula", "errorDisplayField",
			"errorMessage"},
		"Package":       {"types", "version"},
		"Package/types": {"members", "name"},
	},
	repeated: map[string]bool{"value": true, "objectPermissions": true, "fieldPermissions": true,
		"userPermissions": true, "types": true, "members": true, "applicationVisibilities": true, "tabSettings": true},
	booleans: map[string]bool{"externalId": true, "unique": true, "caseSensitive": true, "required": true,
		"reparentableMasterDetail": true, "writeRequiresMasterRead": true, "restricted": true, "sorted": true,
		"default": true, "enableActivities": true, "enableBulkApi": true, "enableFeeds": true, "enableHistory": true,
		"enableReports": true, "enableSearch": true, "enableSharing": true, "enableStreamingApi": true,
		"allowInChatterGroups": true, "hasActivationRequired": true, "allowCreate": true, "allowRead": true,
		"allowEdit": true, "allowDelete": true, "viewAllRecords": true, "modifyAllRecords": true, "readable": true,
		"editable": true, "enabled": true, "visible": true, "active": true, "trackHistory": true, "trackTrending": true, "trackFeedHistory": true},
	integers: map[string]bool{"length": true, "precision": true, "scale": true, "visibleLines": true,
		"relationshipOrder": true},
}

// checkFormat walks the document and returns every deviation from
// mdFormats, and an error if the XML is not well-formed or has the wrong
// root element.
func (s mdSchema) checkFormat(data []byte, root string) ([]string, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var problems []string
	var path []string
	var text strings.Builder
	seen := []map[string]bool{}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return problems, fmt.Errorf("not well-formed XML: %w", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			name := tok.Name.Local
			if len(path) == 0 {
				if name != root {
					return problems, fmt.Errorf("root element is <%s>, want <%s>", name, root)
				}
				if tok.Name.Space != mdNamespace {
					problems = append(problems, fmt.Sprintf("<%s> namespace is %q, want %q", name, tok.Name.Space, mdNamespace))
				}
			} else {
				parent := strings.Join(path, "/")
				allowed, known := s.children[parent]
				switch {
				case !known:
					problems = append(problems, fmt.Sprintf("<%s> has child <%s>, but <%s> takes no children", parent, name, parent))
				case !slices.Contains(allowed, name):
					problems = append(problems, fmt.Sprintf("<%s> has unknown child <%s> (allowed: %s)", parent, name, strings.Join(allowed, ", ")))
				}
				if seen[len(seen)-1][name] && !s.repeated[name] {
					problems = append(problems, fmt.Sprintf("<%s> has <%s> twice", parent, name))
				}
				seen[len(seen)-1][name] = true
			}
			path = append(path, name)
			seen = append(seen, map[string]bool{})
			text.Reset()
		case xml.CharData:
			text.Write(tok)
		case xml.EndElement:
			name := path[len(path)-1]
			v := strings.TrimSpace(text.String())
			if _, parent := s.children[strings.Join(path, "/")]; !parent {
				if s.booleans[name] && v != "true" && v != "false" {
					problems = append(problems, fmt.Sprintf("<%s> is %q, want true or false", strings.Join(path, "/"), v))
				}
				if _, err := strconv.Atoi(v); s.integers[name] && err != nil {
					problems = append(problems, fmt.Sprintf("<%s> is %q, want an integer", strings.Join(path, "/"), v))
				}
			}
			path = path[:len(path)-1]
			seen = seen[:len(seen)-1]
			text.Reset()
		}
	}
	return problems, nil
}

// readMetadataFile checks one file's format and decodes it into v.
func readMetadataFile(path, root string, v any) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	problems, err := mdFormats.checkFormat(data, root)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i, p := range problems {
		problems[i] = path + ": " + p
	}
	if err := xml.Unmarshal(data, v); err != nil {
		return problems, fmt.Errorf("%s: %w", path, err)
	}
	return problems, nil
}

// named is a child of an object definition whose <fullName> must equal its
// file name.
type named interface{ fullName() string }

func (f *mdField) fullName() string          { return f.FullName }
func (r *mdValidationRule) fullName() string { return r.FullName }

// readObjectChildren reads objects/<object>/<sub>/*.<kind>-meta.xml into
// into, by file stem; a missing <sub> directory is no error.
func readObjectChildren[T any, PT interface {
	*T
	named
}](base, object, sub, kind, root string, into map[string]PT, problems []string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(base, sub))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return problems, err
	}
	for _, e := range entries {
		stem, ok := strings.CutSuffix(e.Name(), "."+kind+"-meta.xml")
		if !ok {
			problems = append(problems, fmt.Sprintf("objects/%s/%s/%s: not a .%s-meta.xml file", object, sub, e.Name(), kind))
			continue
		}
		v := PT(new(T))
		probs, err := readMetadataFile(filepath.Join(base, sub, e.Name()), root, v)
		if err != nil {
			return problems, err
		}
		problems = append(problems, probs...)
		if v.fullName() != stem {
			problems = append(problems, fmt.Sprintf("%s.%s: <fullName> is %q, want the file name %q", object, stem, v.fullName(), stem))
		}
		into[stem] = v
	}
	return problems, nil
}

// loadMetadata reads the SFDX project at dir. Format problems are returned
// as a list; unreadable files are an error.
func loadMetadata(dir string) (*mdProject, []string, error) {
	p := &mdProject{Objects: map[string]*mdObject{}, PermSets: map[string]*mdPermSet{}}
	var problems []string

	raw, err := os.ReadFile(filepath.Join(dir, "sfdx-project.json"))
	if err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal(raw, &p.Project); err != nil {
		return nil, nil, fmt.Errorf("sfdx-project.json: %w", err)
	}
	var manifest mdPackage
	probs, err := readMetadataFile(filepath.Join(dir, "manifest", "package.xml"), "Package", &manifest)
	if err != nil {
		return nil, nil, err
	}
	p.Manifest = &manifest
	problems = append(problems, probs...)

	src := filepath.Join(dir, "force-app", "main", "default")
	objDirs, err := os.ReadDir(filepath.Join(src, "objects"))
	if err != nil {
		return nil, nil, err
	}
	for _, d := range objDirs {
		if !d.IsDir() {
			problems = append(problems, "objects/"+d.Name()+": stray file; objects/ holds one directory per object")
			continue
		}
		o := &mdObject{Dir: d.Name(), Fields: map[string]*mdField{}, ValidationRules: map[string]*mdValidationRule{}}
		base := filepath.Join(src, "objects", d.Name())
		defPath := filepath.Join(base, d.Name()+".object-meta.xml")
		if _, err := os.Stat(defPath); err == nil {
			o.Def = &mdObjectDef{}
			probs, err := readMetadataFile(defPath, "CustomObject", o.Def)
			if err != nil {
				return nil, nil, err
			}
			problems = append(problems, probs...)
		}
		if problems, err = readObjectChildren(base, d.Name(), "fields", "field", "CustomField", o.Fields, problems); err != nil {
			return nil, nil, err
		}
		if problems, err = readObjectChildren(base, d.Name(), "validationRules", "validationRule", "ValidationRule", o.ValidationRules, problems); err != nil {
			return nil, nil, err
		}
		p.Objects[d.Name()] = o
	}

	psDir := filepath.Join(src, "permissionsets")
	sets, err := os.ReadDir(psDir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range sets {
		name, ok := strings.CutSuffix(e.Name(), ".permissionset-meta.xml")
		if !ok {
			problems = append(problems, "permissionsets/"+e.Name()+": not a .permissionset-meta.xml file")
			continue
		}
		ps := &mdPermSet{Name: name}
		probs, err := readMetadataFile(filepath.Join(psDir, e.Name()), "PermissionSet", ps)
		if err != nil {
			return nil, nil, err
		}
		problems = append(problems, probs...)
		p.PermSets[name] = ps
	}
	return p, problems, nil
}

// ---------------------------------------------------------------------------
// Names: SPEC and describe calls say Task, source format says Activity.

func isCustomName(name string) bool { return strings.HasSuffix(name, "__c") }

// metadataDirFor maps an sObject name to its directory under objects/. Task
// custom fields are defined on Activity in source format (shared with
// Event); the Metadata API rejects objects/Task/fields.
func metadataDirFor(object string) string {
	if object == "Task" {
		return "Activity"
	}
	return object
}

func sObjectFor(dir string) string {
	if dir == "Activity" {
		return "Task"
	}
	return dir
}

// standardFields are the platform fields SPEC §1 and SpecSchema name without
// defining them.
var standardFields = map[string][]string{
	"Task": {"Id", "Description", "Subject", "WhoId", "WhatId", "Status", "OwnerId"},
	"":     {"Id", "Name", "OwnerId"}, // every custom object (OwnerId only without a master)
}

// describeType is the type a describe call reports for a metadata field
// type (what SpecSchema and CheckSchema compare).
func describeType(metaType string) string {
	switch metaType {
	case "Lookup", "MasterDetail":
		return "reference"
	case "Picklist":
		return "picklist"
	case "MultiselectPicklist":
		return "multipicklist"
	case "Text", "AutoNumber":
		return "string"
	case "TextArea", "LongTextArea", "Html":
		return "textarea"
	case "Phone":
		return "phone"
	case "Checkbox":
		return "boolean"
	case "Number":
		return "double"
	case "DateTime":
		return "datetime"
	case "Date":
		return "date"
	case "Url":
		return "url"
	case "Email":
		return "email"
	case "Currency":
		return "currency"
	case "Percent":
		return "percent"
	}
	return ""
}

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
	case "Lookup", "MasterDetail":
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
	case "Phone", "DateTime", "Url":
	default:
		bad("type %q is not one this project uses (Text, LongTextArea, Number, Checkbox, Picklist, Lookup, MasterDetail, Phone, DateTime, Url)", f.Type)
	}
	return out
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
// contract beyond what setup checks: Text length, the child relationship,
// Master-Detail and the default on create.
func compareFieldDetails(object string, fs FieldSpec, f *mdField) []string {
	var out []string
	bad := func(format string, args ...any) {
		out = append(out, fmt.Sprintf("%s.%s: ", object, fs.Name)+fmt.Sprintf(format, args...))
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

// ---------------------------------------------------------------------------
// SPEC §1, read from SPEC.md: the table for Task, prose for the others.

type specField struct {
	Name     string
	TypeText string // what SPEC says about the type, as written
	MetaType string // Metadata API type SPEC fixes; "" where SPEC is silent
	Standard bool   // a standard field SPEC only refers to
	Length   int
	Ref      string
	External bool
	Unique   bool
	Picklist []string
	Default  string
}

type specObject struct {
	Name   string
	Fields []*specField
}

func (o *specObject) field(name string) *specField {
	for _, f := range o.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

var (
	specLookupRE  = regexp.MustCompile(`(?i)^lookup\s*\(?\s*([A-Za-z][A-Za-z0-9_]*)`)
	specTextRE    = regexp.MustCompile(`(?i)^text\s*\((\d+)\)`)
	specDefaultRE = regexp.MustCompile(`(?i)\bdefault\s+([0-9.]+|true|false|\S+?)\s*$`)
	specTickRE    = regexp.MustCompile("`([^`]*)`")
	specValuesRE  = regexp.MustCompile("^`([A-Za-z][A-Za-z0-9_]*)` values")
	specGainsRE   = regexp.MustCompile("^`([A-Za-z][A-Za-z0-9_]*)` gains (.*)")
)

// parseSpecType reads a type description like "Text(34), External ID,
// Unique", "Lookup(Conversation__c)", "Picklist `Open`, `Closed`" or
// "Number, default 1600". Text after the first colon is meaning, not type.
func parseSpecType(text string) specField {
	var f specField
	f.TypeText = strings.Join(strings.Fields(text), " ")
	head, _, _ := strings.Cut(f.TypeText, ":")
	lower := strings.ToLower(head)
	if lower == "standard" || strings.Contains(lower, "(standard)") {
		f.Standard = true
		return f
	}
	switch {
	case strings.HasPrefix(lower, "lookup"):
		f.MetaType = "Lookup"
		if m := specLookupRE.FindStringSubmatch(head); m != nil {
			f.Ref = m[1]
		}
	case strings.HasPrefix(lower, "master-detail"):
		f.MetaType = "MasterDetail"
	case strings.HasPrefix(lower, "picklist"):
		f.MetaType = "Picklist"
		for _, m := range specTickRE.FindAllStringSubmatch(f.TypeText, -1) {
			f.Picklist = append(f.Picklist, m[1])
		}
	case strings.HasPrefix(lower, "long text"):
		f.MetaType = "LongTextArea"
	case strings.HasPrefix(lower, "text"):
		f.MetaType = "Text"
		if m := specTextRE.FindStringSubmatch(head); m != nil {
			f.Length, _ = strconv.Atoi(m[1])
		}
	case strings.HasPrefix(lower, "phone"):
		f.MetaType = "Phone"
	case strings.HasPrefix(lower, "datetime"):
		f.MetaType = "DateTime"
	case strings.HasPrefix(lower, "number"):
		f.MetaType = "Number"
	case strings.HasPrefix(lower, "checkbox"):
		f.MetaType = "Checkbox"
	case strings.HasPrefix(lower, "auto-number"), strings.HasPrefix(lower, "autonumber"):
		f.MetaType = "AutoNumber"
	}
	if f.MetaType == "" {
		return f
	}
	f.External = strings.Contains(lower, "external id")
	f.Unique = strings.Contains(lower, "unique")
	if m := specDefaultRE.FindStringSubmatch(head); m != nil {
		f.Default = m[1]
	}
	return f
}

// isSpecFieldName tells field names from the other code spans of the prose
// (values like `Closed`, commands like `setup`).
func isSpecFieldName(tok string) bool {
	if !identifierRE.MatchString(tok) {
		return false
	}
	return isCustomName(tok) || slices.Contains(standardFields["Task"], tok) || slices.Contains(standardFields[""], tok)
}

// parseSpecSchema extracts SPEC §1 and §1a ("## 1." and "## 1a.", each up
// to the next "## ") from the SPEC markdown. §1a's "`Field` gains `Value`"
// lines add values to the §1 picklist of that name. Which parts of §1a are
// built yet is not this function's business: see specNotBuilt.
func parseSpecSchema(md string) ([]*specObject, error) {
	lines := strings.Split(md, "\n")
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "## 1.") }) {
		return nil, errors.New(`SPEC has no "## 1." section`)
	}
	var objects []*specObject
	var section []string
	var heading string
	gains := map[string][]string{} // picklist field → values §1a adds
	var gainOrder []string
	flush := func() error {
		if heading == "" {
			return nil
		}
		objs, err := parseSpecSection(heading, section)
		objects = append(objects, objs...)
		heading, section = "", nil
		return err
	}
	in := false
	for _, l := range lines {
		if strings.HasPrefix(l, "## ") {
			if err := flush(); err != nil {
				return nil, err
			}
			in = strings.HasPrefix(l, "## 1.") || strings.HasPrefix(l, "## 1a.")
			continue
		}
		if !in {
			continue
		}
		if h, ok := strings.CutPrefix(l, "### "); ok {
			if err := flush(); err != nil {
				return nil, err
			}
			heading, section = h, nil
			continue
		}
		if heading == "" {
			if m := specGainsRE.FindStringSubmatch(l); m != nil {
				head, _, _ := strings.Cut(m[2], "(")
				for _, v := range specTickRE.FindAllStringSubmatch(head, -1) {
					gains[m[1]] = append(gains[m[1]], v[1])
				}
				gainOrder = append(gainOrder, m[1])
			}
			continue
		}
		section = append(section, l)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(objects) == 0 {
		return nil, errors.New("SPEC §1 names no objects")
	}
	for _, name := range gainOrder {
		found := false
		for _, o := range objects {
			if f := o.field(name); f != nil && f.MetaType == "Picklist" {
				for _, v := range gains[name] {
					if !slices.Contains(f.Picklist, v) {
						f.Picklist = append(f.Picklist, v)
					}
				}
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("SPEC §1a: `%s` gains values, but no picklist of SPEC §1 has that name", name)
		}
	}
	return objects, nil
}

// specNotBuilt are the parts of SPEC §1a no issue has built yet, so
// sfdc/metadata has none of them; the SPEC comparisons leave them out. An
// object listed with no fields is left out whole. Whoever builds one removes
// it here (and the comparisons then hold the metadata to it).
var specNotBuilt = map[string][]string{
	"ContentVersion": nil, // Media_Sid__c: inbound and outbound media
	// Campaigns. SPEC names the campaign fields of Task (Message_Campaign__c,
	// Campaign_Member_Key__c) in this object's section, so they are parsed
	// as its fields and left out with it; when campaigns are built they
	// belong to Task.
	"Message_Campaign__c": nil,
}

// withoutNotBuilt drops specNotBuilt from a parsed SPEC.
func withoutNotBuilt(spec []*specObject) []*specObject {
	var out []*specObject
	for _, o := range spec {
		fields, listed := specNotBuilt[o.Name]
		if listed && len(fields) == 0 {
			continue
		}
		o.Fields = slices.DeleteFunc(o.Fields, func(f *specField) bool { return slices.Contains(fields, f.Name) })
		out = append(out, o)
	}
	return out
}

// parseSpecSection reads one "### Object — meaning" (or "### A / B")
// subsection.
func parseSpecSection(heading string, lines []string) ([]*specObject, error) {
	title, _, _ := strings.Cut(heading, " — ")
	var objs []*specObject
	for _, part := range strings.Split(title, "/") {
		name := strings.Fields(strings.Trim(strings.TrimSpace(part), "`"))
		if len(name) == 0 || !identifierRE.MatchString(strings.Trim(name[0], "`")) {
			return nil, fmt.Errorf("SPEC §1 heading %q: cannot read the object name", heading)
		}
		objs = append(objs, &specObject{Name: strings.Trim(name[0], "`")})
	}
	byName := func(n string) *specObject {
		for _, o := range objs {
			if o.Name == n {
				return o
			}
		}
		return nil
	}
	add := func(o *specObject, name, typeText string) {
		if o.field(name) != nil {
			return // later mentions are prose about the field
		}
		f := parseSpecType(typeText)
		f.Name = name
		o.Fields = append(o.Fields, &f)
	}

	var prose []string
	below := map[string][]string{} // "Picklist (below)" values by field
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		switch {
		case strings.HasPrefix(l, "|"):
			cells := strings.Split(strings.Trim(l, "|"), "|")
			if len(cells) < 2 || strings.TrimSpace(cells[0]) == "field" || strings.Trim(strings.TrimSpace(cells[0]), "-: ") == "" {
				continue
			}
			for _, m := range specTickRE.FindAllStringSubmatch(cells[0], -1) {
				add(objs[0], m[1], cells[1])
			}
		case specValuesRE.MatchString(l):
			field := specValuesRE.FindStringSubmatch(l)[1]
			para := l
			for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
				i++
				para += " " + strings.TrimSpace(lines[i])
			}
			for _, m := range specTickRE.FindAllStringSubmatch(para, -1)[1:] {
				below[field] = append(below[field], m[1])
			}
		default:
			prose = append(prose, lines[i])
		}
	}

	// Prose: `Field` (type, meaning) items; "`Object`:" switches object.
	text := strings.Join(prose, "\n")
	cur := objs[0]
	depth := 0
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '(':
			depth++
		case c == ')':
			depth = max(depth-1, 0)
		case c == '`' && depth == 0:
			j := strings.IndexByte(text[i+1:], '`')
			if j < 0 {
				return nil, fmt.Errorf("SPEC §1 %q: unbalanced backtick", heading)
			}
			tok := text[i+1 : i+1+j]
			i += j + 1
			rest := text[i+1:]
			if o := byName(tok); o != nil && strings.HasPrefix(rest, ":") {
				cur = o
				continue
			}
			if !isSpecFieldName(tok) {
				continue
			}
			typeText := ""
			if trimmed := strings.TrimLeft(rest, " \t\n"); strings.HasPrefix(trimmed, "(") {
				open := i + 1 + len(rest) - len(trimmed)
				d, k := 0, open
				for ; k < len(text); k++ {
					if text[k] == '(' {
						d++
					} else if text[k] == ')' {
						d--
						if d == 0 {
							break
						}
					}
				}
				if k == len(text) {
					return nil, fmt.Errorf("SPEC §1 %q: unbalanced parenthesis after `%s`", heading, tok)
				}
				typeText = text[open+1 : k]
				i = k
			}
			add(cur, tok, typeText)
		}
	}

	for _, o := range objs {
		for _, f := range o.Fields {
			if v, ok := below[f.Name]; ok && f.MetaType == "Picklist" && len(f.Picklist) == 0 {
				f.Picklist = v
			}
			if (f.MetaType == "Lookup" || f.MetaType == "MasterDetail") && f.Ref == "" {
				// "`Channel_Type__c` (Lookup)": the field is named after its target.
				f.Ref = f.Name
			}
		}
		if len(o.Fields) == 0 {
			return nil, fmt.Errorf("SPEC §1 %s: no fields found", o.Name)
		}
	}
	return objs, nil
}

// compareWithSpecDoc checks the metadata against SPEC §1 as parsed.
func compareWithSpecDoc(p *mdProject, spec []*specObject) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	inSpec := map[string]bool{}
	for _, o := range spec {
		inSpec[metadataDirFor(o.Name)] = true
	}
	for _, dir := range slices.Sorted(mapKeys(p.Objects)) {
		if !inSpec[dir] {
			bad("%s: object in sfdc/metadata but not in SPEC §1", sObjectFor(dir))
		}
	}
	for _, so := range spec {
		o := p.Objects[metadataDirFor(so.Name)]
		if o == nil {
			bad("%s: object in SPEC §1 but missing from sfdc/metadata", so.Name)
			continue
		}
		for _, name := range slices.Sorted(mapKeys(o.Fields)) {
			if so.field(name) == nil {
				bad("%s.%s: field in sfdc/metadata but not in SPEC §1", so.Name, name)
			}
		}
		for _, sf := range so.Fields {
			where := so.Name + "." + sf.Name
			if !isCustomName(sf.Name) {
				out = append(out, checkStandardField(o, so.Name, sf.Name)...)
				if sf.Name == "Name" && sf.MetaType != "" && o.Def != nil && o.Def.NameField.Type != sf.MetaType {
					bad("%s: SPEC says %q (%s), metadata nameField is %s", where, sf.TypeText, sf.MetaType, o.Def.NameField.Type)
				}
				continue
			}
			if sf.Standard {
				bad("%s: SPEC calls a custom (__c) field standard", where)
				continue
			}
			f := o.Fields[sf.Name]
			if f == nil {
				bad("%s: field in SPEC §1 but missing from sfdc/metadata", where)
				continue
			}
			if sf.MetaType == "" {
				continue // SPEC is silent about the type
			}
			if f.Type != sf.MetaType {
				bad("%s: type: SPEC says %q (%s), metadata has %s", where, sf.TypeText, sf.MetaType, f.Type)
			}
			if sf.Length != 0 && f.Length != sf.Length {
				bad("%s: length: SPEC says %q, metadata has %d", where, sf.TypeText, f.Length)
			}
			if sf.Ref != "" && f.ReferenceTo != sf.Ref {
				bad("%s: lookup target: SPEC says %s, metadata refers to %q", where, sf.Ref, f.ReferenceTo)
			}
			if sf.External != f.ExternalID {
				bad("%s: External ID: SPEC says %q, metadata externalId=%t", where, sf.TypeText, f.ExternalID)
			}
			if sf.Unique != f.Unique {
				bad("%s: Unique: SPEC says %q, metadata unique=%t", where, sf.TypeText, f.Unique)
			}
			if sf.MetaType == "Picklist" {
				if d := diffValues(f.picklistValues(), sf.Picklist); d != "" {
					bad("%s: picklist values differ from SPEC: %s", where, d)
				}
			}
			if sf.Default != "" && f.DefaultValue != sf.Default {
				bad("%s: default: SPEC says %q, metadata defaultValue is %q", where, sf.Default, f.DefaultValue)
			}
		}
	}
	return out
}

// compareSpecSchemaWithSpecDoc reports where the code's copy of SPEC §1
// disagrees with SPEC.md. Problems are disagreements; notes are types SPEC
// fixes that SpecSchema leaves open or marks AnyType (so setup does not
// check them).
func compareSpecSchemaWithSpecDoc(schema []ObjectSpec, spec []*specObject) (problems, notes []string) {
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	byName := map[string]ObjectSpec{}
	for _, o := range schema {
		byName[o.Name] = o
	}
	var specNames []string
	for _, so := range spec {
		specNames = append(specNames, so.Name)
		obj, ok := byName[so.Name]
		if !ok {
			bad("%s: in SPEC §1 but not in SpecSchema", so.Name)
			continue
		}
		var schemaFields []string
		for _, fs := range obj.Fields {
			schemaFields = append(schemaFields, fs.Name)
		}
		var docFields []string
		for _, sf := range so.Fields {
			docFields = append(docFields, sf.Name)
		}
		missing, extra := setDiff(docFields, schemaFields)
		for _, m := range missing {
			bad("%s.%s: in SPEC §1 but not in SpecSchema", so.Name, m)
		}
		for _, m := range extra {
			bad("%s.%s: in SpecSchema but not in SPEC §1", so.Name, m)
		}
		for _, fs := range obj.Fields {
			sf := so.field(fs.Name)
			if sf == nil {
				continue
			}
			where := so.Name + "." + fs.Name
			docType := describeType(sf.MetaType)
			switch {
			case fs.Name == "Name" && sf.MetaType == "AutoNumber":
				if obj.NameFormat == "" {
					bad("%s: SPEC says %q, SpecSchema has no NameFormat", where, sf.TypeText)
				}
			case docType != "" && fs.Type != "" && docType != fs.Type:
				bad("%s: SPEC says %q (describes as %s), SpecSchema says %s", where, sf.TypeText, docType, fs.Type)
			case docType != "" && (fs.Type == "" || fs.AnyType):
				notes = append(notes, fmt.Sprintf("%s: SPEC fixes the type (%q) but SpecSchema leaves it open", where, sf.TypeText))
			}
			if sf.Ref != "" && fs.ReferenceTo != sf.Ref {
				bad("%s: SPEC says lookup to %s, SpecSchema to %q", where, sf.Ref, fs.ReferenceTo)
			}
			if (sf.External && sf.Unique) != fs.ExternalID {
				bad("%s: SPEC says %q, SpecSchema ExternalID=%t", where, sf.TypeText, fs.ExternalID)
			}
			if len(sf.Picklist) > 0 && !slices.Equal(sf.Picklist, fs.Picklist) && !sf.Standard {
				bad("%s: picklist: SPEC %s, SpecSchema %s", where, quoteAll(sf.Picklist), quoteAll(fs.Picklist))
			}
		}
	}
	var schemaNames []string
	for _, o := range schema {
		schemaNames = append(schemaNames, o.Name)
	}
	_, extra := setDiff(specNames, schemaNames)
	for _, m := range extra {
		bad("%s: in SpecSchema but not in SPEC §1", m)
	}
	return problems, notes
}

// ---------------------------------------------------------------------------
// Permission sets: what each kind of user needs (SPEC §3, §4).

// integrationWrites are the fields the sidecar writes (SPEC §3).
func integrationWrites(p *mdProject) []string {
	out := []string{"External_Channel__c.Object_API_Name__c", "External_Channel__c.Field_API_Name__c",
		"Task.Description", "Task.WhoId", "Task.WhatId"}
	for _, dir := range []string{"Activity", "Conversation__c", "Opt_In__c", "Switchboard_Status__c"} {
		for name := range p.Objects[dir].Fields {
			out = append(out, sObjectFor(dir)+"."+name)
		}
	}
	sort.Strings(out)
	return out
}

// sidecarOwned are Task fields only the sidecar may set: a user editing
// Message_Sid__c would detach the Task from its Twilio message.
var sidecarOwned = []string{"Task.Message_Sid__c", "Task.Message_Send_Date__c", "Task.Message_Status_Check_Date__c", "Task.Error_Description__c"}

func checkIntegrationPermSet(p *mdProject, ps *mdPermSet) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, ps.Name+": "+fmt.Sprintf(format, args...)) }
	for _, up := range []string{"ApiEnabled", "EditTask"} {
		if !ps.userPermission(up) {
			bad("user permission %s not enabled", up)
		}
	}
	for _, dir := range slices.Sorted(mapKeys(p.Objects)) {
		if p.Objects[dir].Def == nil {
			continue
		}
		if op := ps.object(dir); op == nil || !op.AllowRead || !op.ViewAllRecords {
			bad("%s: needs read and view all (the sidecar reads every record in bulk)", dir)
		}
	}
	for obj, need := range map[string]string{"Conversation__c": "ce", "Opt_In__c": "ce", "External_Channel__c": "c", "PushTopic": "ce", "Switchboard_Status__c": "ce"} {
		op := ps.object(obj)
		if op == nil || (strings.Contains(need, "c") && !op.AllowCreate) || (strings.Contains(need, "e") && !op.AllowEdit) {
			bad("%s: needs %s (SPEC §2/§3)", obj, map[string]string{"ce": "create and edit", "c": "create"}[need])
		}
	}
	// Inbound numbers are matched against every record through the
	// External Channels `setup` creates.
	for _, d := range DefaultExternalChannels() {
		if op := ps.object(d[0]); op == nil || !op.AllowRead || !op.ViewAllRecords {
			bad("%s: needs read and view all to match inbound numbers to records", d[0])
		}
		if fp := ps.field(d[0] + "." + d[1]); fp == nil || !fp.Readable {
			bad("%s.%s: a default External Channel, but not readable", d[0], d[1])
		}
	}
	for _, name := range integrationWrites(p) {
		if fp := ps.field(name); fp == nil || !fp.Editable {
			bad("%s: switchboard writes it, but it is not editable", name)
		}
	}
	out = append(out, checkEveryFieldReadable(p, ps)...)
	return out
}

// adminOnly are objects agents have no use for: the sidecar's heartbeat
// rows are read by the Administration tab (Switchboard_Admin), not by
// people who text.
var adminOnly = []string{"Switchboard_Status__c"}

func checkUserPermSet(p *mdProject, ps *mdPermSet) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, ps.Name+": "+fmt.Sprintf(format, args...)) }
	if !ps.userPermission("EditTask") {
		bad("user permission EditTask not enabled; users create message Tasks")
	}
	for _, dir := range slices.Sorted(mapKeys(p.Objects)) {
		if p.Objects[dir].Def == nil || slices.Contains(adminOnly, dir) {
			continue
		}
		if op := ps.object(dir); op == nil || !op.AllowRead {
			bad("%s: users need read", dir)
		}
	}
	for _, name := range []string{"Task.Message_Type__c", "Task.Message_Status__c", "Task.Conversation__c"} {
		if fp := ps.field(name); fp == nil || !fp.Editable {
			bad("%s: users set it to send or retry a message, but it is not editable", name)
		}
	}
	// The chat composer opens a conversation for a number that has none
	// (switchboardComposer.send) and the chat closes one.
	for _, name := range []string{"Conversation__c.Status__c", "Conversation__c.Channel__c", "Conversation__c.Message_Recipient__c",
		"Conversation__c.Record_Id__c", "Conversation__c.External_Channel__c"} {
		if fp := ps.field(name); fp == nil || !fp.Editable {
			bad("%s: the chat writes it when it opens or closes a conversation, but it is not editable", name)
		}
	}
	for _, name := range sidecarOwned {
		if fp := ps.field(name); fp != nil && fp.Editable {
			bad("%s: only the sidecar may write it, but users can edit it", name)
		}
	}
	// Agents open the Switchboard app's Inbound Messages and Conversations
	// tabs (the Administration tab is Switchboard_Admin's).
	if !slices.ContainsFunc(ps.AppVisibilities, func(a mdAppVisibility) bool {
		return a.Application == "Switchboard" && a.Visible
	}) {
		bad("the Switchboard app is not visible")
	}
	for _, tab := range []string{"Switchboard_Inbox", "Conversation__c"} {
		if !slices.ContainsFunc(ps.TabSettings, func(t mdTabSetting) bool {
			return t.Tab == tab && (t.Visibility == "Visible" || t.Visibility == "DefaultOn")
		}) {
			bad("the %s tab is not visible", tab)
		}
	}
	out = append(out, checkEveryFieldReadable(p, ps, adminOnly...)...)
	return out
}

// adminConfigObjects are the objects the Administration tab writes.
var adminConfigObjects = []string{"Channel_Type__c", "Channel__c", "External_Channel__c", "Message_Template__c",
	"Message_Template_Translation__c"}

func checkAdminPermSet(p *mdProject, ps *mdPermSet) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, ps.Name+": "+fmt.Sprintf(format, args...)) }
	for _, obj := range adminConfigObjects {
		op := ps.object(obj)
		if op == nil || !op.AllowRead || !op.AllowCreate || !op.AllowEdit || !op.AllowDelete {
			bad("%s: admins need read, create, edit and delete", obj)
		}
		if o := p.Objects[obj]; o != nil {
			for _, name := range slices.Sorted(mapKeys(o.Fields)) {
				if f := o.Fields[name]; f.Type == "MasterDetail" || f.Required {
					continue
				}
				if fp := ps.field(obj + "." + name); fp == nil || !fp.Editable {
					bad("%s.%s: admins configure it, but it is not editable", obj, name)
				}
			}
		}
	}
	// SPEC §1a: each sidecar instance upserts its own row; the tab only reads.
	if op := ps.object("Switchboard_Status__c"); op == nil || !op.AllowRead {
		bad("Switchboard_Status__c: the Status section needs read")
	} else if op.AllowCreate || op.AllowEdit || op.AllowDelete {
		bad("Switchboard_Status__c: only the sidecar writes it, but admins may change it")
	}
	if o := p.Objects["Switchboard_Status__c"]; o != nil {
		for _, name := range slices.Sorted(mapKeys(o.Fields)) {
			if fp := ps.field("Switchboard_Status__c." + name); fp == nil || !fp.Readable {
				bad("Switchboard_Status__c.%s: the Status section shows it, but it is not readable", name)
			}
		}
	}
	if !slices.ContainsFunc(ps.AppVisibilities, func(a mdAppVisibility) bool {
		return a.Application == "Switchboard" && a.Visible
	}) {
		bad("the Switchboard app is not visible")
	}
	if !slices.ContainsFunc(ps.TabSettings, func(t mdTabSetting) bool {
		return t.Tab == "Switchboard_Administration" && (t.Visibility == "Visible" || t.Visibility == "DefaultOn")
	}) {
		bad("the Switchboard_Administration tab is not visible")
	}
	return out
}

func checkEveryFieldReadable(p *mdProject, ps *mdPermSet, except ...string) []string {
	var out []string
	for _, dir := range slices.Sorted(mapKeys(p.Objects)) {
		if slices.Contains(except, dir) {
			continue
		}
		for _, name := range slices.Sorted(mapKeys(p.Objects[dir].Fields)) {
			f := p.Objects[dir].Fields[name]
			if f.Type == "MasterDetail" || f.Required {
				continue // readable by everyone who can read the object
			}
			full := sObjectFor(dir) + "." + name
			if fp := ps.field(full); fp == nil || !fp.Readable {
				out = append(out, fmt.Sprintf("%s: %s is not readable", ps.Name, full))
			}
		}
	}
	return out
}

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

// specTopicsNotBuilt are the PushTopics of SPEC §2 whose objects no issue
// has built yet.
var specTopicsNotBuilt = []string{"SwitchboardCampaigns"} // Message_Campaign__c

type specTopic struct{ name, query, notify string }

// parseSpecTopics reads SPEC §2's table: name, query, notify.
func parseSpecTopics(md string) ([]specTopic, error) {
	var out []specTopic
	in := false
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "## ") {
			in = strings.HasPrefix(l, "## 2.")
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(l), "|"), "|")
		if !in || !strings.HasPrefix(strings.TrimSpace(l), "|") || len(cells) < 3 {
			continue
		}
		name := specTickRE.FindStringSubmatch(cells[0])
		query := specTickRE.FindStringSubmatch(cells[1])
		if name == nil || query == nil {
			continue // the header and its rule
		}
		out = append(out, specTopic{name[1], query[1], strings.TrimSpace(strings.Join(cells[2:], "|"))})
	}
	if len(out) == 0 {
		return nil, errors.New("SPEC §2 has no PushTopic table")
	}
	return out, nil
}

// compareTopicsWithSpecDoc: SpecTopics are SPEC §2's topics, query for
// query, less those not built yet.
func compareTopicsWithSpecDoc(topics []TopicSpec, doc []specTopic) []string {
	var out []string
	for _, d := range doc {
		if slices.Contains(specTopicsNotBuilt, d.name) {
			continue
		}
		i := slices.IndexFunc(topics, func(t TopicSpec) bool { return t.Name == d.name })
		switch {
		case i < 0:
			out = append(out, fmt.Sprintf("PushTopic %s: in SPEC §2 but not in SpecTopics", d.name))
			continue
		case topics[i].Query != d.query:
			out = append(out, fmt.Sprintf("PushTopic %s: query %q, SPEC §2 says %q", d.name, topics[i].Query, d.query))
		}
		if !strings.Contains(d.notify, "create, update") || !strings.Contains(d.notify, "`Referenced`") {
			out = append(out, fmt.Sprintf("PushTopic %s: SPEC §2 notifies %q; setup creates every topic for create and update, fields Referenced", d.name, d.notify))
		}
	}
	for _, t := range topics {
		if !slices.ContainsFunc(doc, func(d specTopic) bool { return d.name == t.Name }) {
			out = append(out, fmt.Sprintf("PushTopic %s: in SpecTopics but not in SPEC §2", t.Name))
		}
	}
	return out
}

// checkTopicFields: every field a topic's query references is in its
// Fields (which setup uses to skip a topic whose fields are missing) and in
// sfdc/metadata, and the object streams.
func checkTopicFields(p *mdProject, topics []TopicSpec) []string {
	var out []string
	identRE := regexp.MustCompile(`\b[A-Za-z][A-Za-z0-9_]*__c\b`)
	for _, t := range topics {
		for _, f := range identRE.FindAllString(t.Query, -1) {
			if f == t.Object {
				continue
			}
			if !slices.Contains(t.Fields, f) {
				out = append(out, fmt.Sprintf("PushTopic %s: the query uses %s, which its Fields do not list", t.Name, f))
			}
		}
		o := p.Objects[metadataDirFor(t.Object)]
		if o == nil {
			out = append(out, fmt.Sprintf("PushTopic %s: object %s is not in sfdc/metadata", t.Name, t.Object))
			continue
		}
		for _, f := range t.Fields {
			if o.Fields[f] == nil {
				out = append(out, fmt.Sprintf("PushTopic %s: %s.%s is not in sfdc/metadata", t.Name, t.Object, f))
			}
		}
	}
	return out
}

func TestSpecTopicsMatchSpecDoc(t *testing.T) {
	path, md := readSpecDoc(t)
	doc, err := parseSpecTopics(md)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	reportProblems(t, compareTopicsWithSpecDoc(SpecTopics(), doc))
}

func TestSpecTopicsUseMetadataFields(t *testing.T) {
	reportProblems(t, checkTopicFields(mustLoadMetadata(t), SpecTopics()))
}

// The topic checks catch a drifted query, a missing topic and a field the
// metadata lacks.
func TestTopicChecksReportMistakes(t *testing.T) {
	doc, err := parseSpecTopics("## 2. PushTopics\n| Name | Query | notify |\n|---|---|---|\n" +
		"| `SwitchboardTasks` | `" + QueryTasks + "` | create, update; fields `Referenced` |\n" +
		"| `SwitchboardChat` | `SELECT Id FROM Task` | create, update; fields `Referenced` |\n" +
		"| `SwitchboardCampaigns` | `SELECT Id FROM Message_Campaign__c` | create, update; fields `Referenced` |\n" +
		"| `SwitchboardNew` | `SELECT Id FROM Task` | create; fields `All` |\n## 3. Next\n| `Ignored` | `SELECT Id FROM Task` | x |\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(doc) != 4 {
		t.Fatalf("parsed %+v", doc)
	}
	got := compareTopicsWithSpecDoc(SpecTopics(), doc)
	want := []string{
		`PushTopic SwitchboardChat: query "` + QueryChat + `", SPEC §2 says "SELECT Id FROM Task"`,
		"PushTopic SwitchboardNew: in SPEC §2 but not in SpecTopics",
		"PushTopic SwitchboardConversations: in SpecTopics but not in SPEC §2",
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("no problem %q in %q", w, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("problems %q, want exactly %q", got, want)
	}

	p := mustLoadMetadata(t)
	delete(p.Objects["Activity"].Fields, "Conversation__c")
	bad := []TopicSpec{{Name: "X", Query: "SELECT Id, Conversation__c, Message_Type__c FROM Task", Object: "Task", Fields: []string{"Conversation__c"}}}
	got = checkTopicFields(p, bad)
	for _, w := range []string{"PushTopic X: the query uses Message_Type__c, which its Fields do not list", "PushTopic X: Task.Conversation__c is not in sfdc/metadata"} {
		if !slices.Contains(got, w) {
			t.Errorf("no problem %q in %q", w, got)
		}
	}
}

// The checks must fail on the mistakes they exist for, naming the object,
// the field and the difference.
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
