package sfdc

// The Metadata API formats sfdc/metadata is read with, the strict reader
// that rejects unknown elements, and the source-format names.

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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
