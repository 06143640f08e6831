package sfdctest

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The User Interface API subset the Lightning components' data service
// uses (lightning/uiRecordApi, lightning/uiObjectInfoApi), over the same
// records as the REST API and SOQL: a record created here is in SOQL at
// once and fires PushTopics. Shapes follow the UI API Developer Guide:
//   - Record:        https://developer.salesforce.com/docs/atlas.en-us.uiapi.meta/uiapi/ui_api_responses_record.htm
//   - Field Value:   …/ui_api_responses_field_value.htm (value + displayValue; displayValue is null unless
//     the value is localized or formatted: picklists, dates, related records)
//   - Object Info:   …/ui_api_responses_object_info.htm, Field: …/ui_api_responses_field.htm
//   - Picklist Values: …/ui_api_responses_picklist_values.htm and …_picklist_values_collection.htm
//   - Errors: an array of {errorCode, message} (…/ui_api_responses_error.htm); a failed record save is
//     an Error with Output whose output is Record Exceptions (…/ui_api_responses_error_with_output.htm,
//     …/ui_api_responses_record_exception_error.htm).

// masterRecordTypeID is the Id every org gives the Master record type; the
// simulated objects have no other record types.
const masterRecordTypeID = "012000000000000AAA"

// uiDataTypes maps describe types to the UI API Field dataType enum.
var uiDataTypes = map[string]string{
	tID: "String", tString: "String", tTextarea: "TextArea", tPicklist: "Picklist", tReference: "Reference",
	tDatetime: "DateTime", tDate: "Date", tBoolean: "Boolean", tDouble: "Double", tPhone: "Phone",
	tEmail: "Email", tURL: "Url", tCombobox: "ComboBox",
}

// uiTimeLayout is how UI API renders datetimes: ISO 8601 in UTC with "Z"
// (REST's "+0000" form is not used here).
const uiTimeLayout = "2006-01-02T15:04:05.000Z"

// uiResult is a UI API answer: body is written as is, also for errors,
// because UI API errors have two shapes (array, or Error with Output).
type uiResult struct {
	status int
	body   any
}

func uiErrors(status int, code, format string, args ...any) uiResult {
	return uiResult{status, []map[string]any{{"errorCode": code, "message": fmt.Sprintf(format, args...)}}}
}

func uiNotFound() uiResult {
	return uiErrors(http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
}

// uiFromSFError renders a REST-layer error: a save error that names fields
// (or that a save produced) becomes Record Exceptions in an Error with
// Output, anything else the plain error array.
func uiFromSFError(o *object, e *sfError, save bool) uiResult {
	if !save || e.status != http.StatusBadRequest || e.code == "JSON_PARSER_ERROR" && len(e.fields) == 0 {
		return uiErrors(e.status, e.code, "%s", e.msg)
	}
	out := map[string]any{"errors": []any{}, "fieldErrors": map[string]any{}}
	one := func(name string) map[string]any {
		var label any
		if f := o.field(name); f != nil {
			label = f.Label
		}
		var fld any
		if name != "" {
			fld = name
		}
		return map[string]any{"constituentField": nil, "duplicateRecordError": nil, "errorCode": e.code,
			"field": fld, "fieldLabel": label, "message": e.msg}
	}
	if len(e.fields) == 0 {
		out["errors"] = []any{one("")}
	} else {
		fe := out["fieldErrors"].(map[string]any)
		for _, name := range e.fields {
			fe[name] = []any{one(name)}
		}
	}
	return uiResult{http.StatusBadRequest, map[string]any{"enhancedErrorType": "RecordError",
		"message": "An error occurred while trying to update the record. Please try again.", "output": out}}
}

// serveUIAPI routes /services/data/vXX.X/ui-api/…; segs start after "ui-api".
func (s *restState) serveUIAPI(req *request) uiResult {
	segs, m := req.segs[1:], req.r.Method
	allow := func(want string) *uiResult {
		if !slices.Contains(strings.Split(want, ","), m) {
			e := methodNotAllowed(m, want)
			r := uiErrors(e.status, e.code, "%s", e.msg)
			return &r
		}
		return nil
	}
	switch {
	case len(segs) == 1 && segs[0] == "records":
		if e := allow("POST"); e != nil {
			return *e
		}
		return s.uiCreate(req)
	case len(segs) == 2 && segs[0] == "records":
		if e := allow("GET,PATCH,DELETE"); e != nil {
			return *e
		}
		switch m {
		case http.MethodGet:
			return s.uiGetRecord(req, segs[1])
		case http.MethodPatch:
			return s.uiUpdate(req, segs[1])
		}
		return s.uiDelete(segs[1])
	case len(segs) >= 2 && segs[0] == "object-info":
		if e := allow("GET"); e != nil {
			return *e
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		o := s.db.object(segs[1])
		if o == nil {
			return uiNotFound()
		}
		switch {
		case len(segs) == 2:
			return uiResult{http.StatusOK, s.objectInfo(o, req.version)}
		case len(segs) == 4 && segs[2] == "picklist-values":
			return picklistCollection(o, segs[3], req.version)
		case len(segs) == 5 && segs[2] == "picklist-values":
			return picklistOfField(o, segs[3], segs[4], req.version)
		}
	}
	return uiNotFound()
}

// uiCreate is POST ui-api/records with the Record Input body {apiName, fields}.
func (s *restState) uiCreate(req *request) uiResult {
	var in struct {
		APIName string         `json:"apiName"`
		Fields  map[string]any `json:"fields"`
	}
	if e := readBody(req.r, &in); e != nil {
		return uiErrors(e.status, e.code, "%s", e.msg)
	}
	s.mu.Lock()
	o := s.db.object(in.APIName)
	s.mu.Unlock()
	if in.APIName == "" {
		return uiErrors(http.StatusBadRequest, "INVALID_INPUT", "apiName is required in the record input")
	}
	if o == nil {
		return uiErrors(http.StatusBadRequest, "INVALID_TYPE", "Object %s is not supported in UI API", in.APIName)
	}
	var id string
	var err *sfError
	s.apply(s.userID, true, func(t *tx) bool {
		id, err = t.insert(o, in.Fields, s.validator(o))
		return err == nil
	})
	if err != nil {
		return uiFromSFError(o, err, true)
	}
	return s.uiRecordAfterSave(o, id, http.StatusCreated)
}

// uiUpdate is PATCH ui-api/records/{id}; the body's apiName is optional.
func (s *restState) uiUpdate(req *request, id string) uiResult {
	var in struct {
		APIName string         `json:"apiName"`
		Fields  map[string]any `json:"fields"`
	}
	if e := readBody(req.r, &in); e != nil {
		return uiErrors(e.status, e.code, "%s", e.msg)
	}
	o, res := s.uiObjectOf(id)
	if o == nil {
		return res
	}
	if in.APIName != "" && !strings.EqualFold(in.APIName, o.Name) {
		return uiErrors(http.StatusBadRequest, "INVALID_INPUT", "apiName %s does not match the object of record %s", in.APIName, id)
	}
	var err *sfError
	s.apply(s.userID, true, func(t *tx) bool {
		err = t.update(o, id, in.Fields, s.validator(o))
		return err == nil
	})
	if err != nil {
		return uiFromSFError(o, err, true)
	}
	return s.uiRecordAfterSave(o, id, http.StatusOK)
}

func (s *restState) uiDelete(id string) uiResult {
	o, res := s.uiObjectOf(id)
	if o == nil {
		return res
	}
	if _, _, err := s.delete(o, id); err != nil {
		return uiFromSFError(o, err, false)
	}
	return uiResult{http.StatusNoContent, nil}
}

// uiObjectOf resolves a record Id to its object, with UI API's errors.
func (s *restState) uiObjectOf(id string) (*object, uiResult) {
	id18, ok := canonicalID(id)
	if !ok {
		return nil, uiErrors(http.StatusBadRequest, "MALFORMED_ID", "Invalid record id: %s", id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tb := s.db.prefix[id18[:3]]
	if tb == nil {
		return nil, uiNotFound()
	}
	if _, _, err := s.db.find(tb.obj, id18); err != nil {
		return nil, uiErrors(err.status, err.code, "%s", err.msg)
	}
	return tb.obj, uiResult{}
}

// uiRecordAfterSave answers a create or update with the saved record and
// all its fields, as the Record response of a save does.
func (s *restState) uiRecordAfterSave(o *object, id string, status int) uiResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, r, err := s.db.find(o, id)
	if err != nil {
		return uiErrors(err.status, err.code, "%s", err.msg)
	}
	paths := make([]*fieldPath, 0, len(o.fields))
	for _, f := range o.fields {
		paths = append(paths, &fieldPath{text: f.Name, f: f})
	}
	return uiResult{status, s.db.uiRecord(o, r, paths)}
}

// uiGetRecord is GET ui-api/records/{id}?fields=&optionalFields=. Field
// names are qualified with the object (Contact.Name, Task.Who.Name); a
// field in fields that the object lacks is an error, one in optionalFields
// is left out (UI API "Get a Record" reference).
func (s *restState) uiGetRecord(req *request, id string) uiResult {
	q := req.r.URL.Query()
	o, res := s.uiObjectOf(id)
	if o == nil {
		return res
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var paths []*fieldPath
	seen := map[string]bool{}
	add := func(list string, optional bool) *uiResult {
		for _, name := range splitList(list) {
			fp, ok := s.db.uiFieldPath(o, name)
			if !ok {
				if optional {
					continue
				}
				r := uiErrors(http.StatusBadRequest, "INVALID_FIELD", "Cannot find field %s on object %s", name, o.Name)
				return &r
			}
			if !seen[fp.text] {
				seen[fp.text] = true
				paths = append(paths, fp)
			}
		}
		return nil
	}
	fields, optional := q["fields"], q["optionalFields"]
	if len(fields) == 0 && len(optional) == 0 && q.Get("layoutTypes") == "" {
		return uiErrors(http.StatusBadRequest, "INVALID_INPUT", "Either fields, optionalFields or layoutTypes must be specified")
	}
	for _, l := range fields {
		if e := add(l, false); e != nil {
			return *e
		}
	}
	for _, l := range optional {
		_ = add(l, true)
	}
	if q.Get("layoutTypes") != "" {
		// No page layouts here: a layout request gets every field.
		for _, f := range o.fields {
			if !seen[f.Name] {
				seen[f.Name] = true
				paths = append(paths, &fieldPath{text: f.Name, f: f})
			}
		}
	}
	_, r, err := s.db.find(o, id)
	if err != nil {
		return uiErrors(err.status, err.code, "%s", err.msg)
	}
	return uiResult{http.StatusOK, s.db.uiRecord(o, r, paths)}
}

// splitList splits a comma-separated query parameter value.
func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// uiFieldPath resolves "Object.Field" or "Object.Rel.Field" against o.
func (d *db) uiFieldPath(o *object, qualified string) (*fieldPath, bool) {
	parts := strings.Split(qualified, ".")
	if len(parts) < 2 || !strings.EqualFold(parts[0], o.Name) {
		return nil, false
	}
	fp, _, _ := d.relPath(o, parts[1:])
	return fp, fp != nil
}

// uiRecord renders a Record response body with the given field paths; a
// path through a lookup nests the related record under the relationship
// name, with the related record's name as displayValue.
func (d *db) uiRecord(o *object, r *row, paths []*fieldPath) map[string]any {
	fields := map[string]any{}
	for _, fp := range paths {
		d.uiPut(fields, r.vals, fp.rels, fp.f)
	}
	return d.uiRecordShell(o, r, fields)
}

func (d *db) uiRecordShell(o *object, r *row, fields map[string]any) map[string]any {
	mod, _ := r.vals["LastModifiedDate"].(time.Time)
	stamp, _ := r.vals["SystemModstamp"].(time.Time)
	return map[string]any{
		"apiName": o.Name, "childRelationships": map[string]any{}, "fields": fields, "id": r.id,
		"eTag": fmt.Sprintf("%x", stamp.UnixMilli()), "weakEtag": stamp.UnixMilli(),
		"lastModifiedById": r.vals["LastModifiedById"], "lastModifiedDate": mod.UTC().Format(uiTimeLayout),
		"recordTypeId": masterRecordTypeID, "recordTypeInfo": nil, "systemModstamp": stamp.UTC().Format(uiTimeLayout),
	}
}

func (d *db) uiPut(fields map[string]any, vals map[string]any, rels []*field, f *field) {
	if len(rels) == 0 {
		fields[f.Name] = uiFieldValue(f, vals[f.Name])
		return
	}
	rel := rels[0]
	tb, r := d.parentRecord(vals, rel)
	if r == nil {
		fields[rel.RelationshipName] = map[string]any{"displayValue": nil, "value": nil}
		return
	}
	fv, _ := fields[rel.RelationshipName].(map[string]any)
	nested, _ := fv["value"].(map[string]any)
	if nested == nil {
		nested = d.uiRecordShell(tb.obj, r, map[string]any{})
		fv = map[string]any{"displayValue": displayName(tb.obj, r), "value": nested}
		fields[rel.RelationshipName] = fv
	}
	// A path through a polymorphic lookup names a field that only some
	// targets have (Who.Name is on Contact and Lead, not on every target).
	if g := tb.obj.field(f.Name); g != nil || len(rels) > 1 {
		if g == nil {
			g = f
		}
		d.uiPut(nested["fields"].(map[string]any), r.vals, rels[1:], g)
	}
}

// displayName is the related record's name shown as a lookup's display
// value: its Name field, or null when it has none.
func displayName(o *object, r *row) any {
	if o.field("Name") != nil {
		if n, ok := r.vals["Name"].(string); ok {
			return n
		}
	}
	return nil
}

// uiFieldValue renders a Field Value: displayValue only where UI API
// localizes or formats (picklist label, date and datetime).
func uiFieldValue(f *field, v any) map[string]any {
	var display any
	switch x := v.(type) {
	case time.Time:
		display = x.UTC().Format("1/2/2006, 3:04 PM")
		v = x.UTC().Format(uiTimeLayout)
	case string:
		switch f.Type {
		case tPicklist:
			display = x
		case tDate:
			if t, err := time.Parse(time.DateOnly, x); err == nil {
				display = t.Format("1/2/2006")
			}
		}
	}
	return map[string]any{"displayValue": display, "value": v}
}

// objectInfo renders the Object Info response body (fields keyed by API
// name, the Master record type only).
func (s *restState) objectInfo(o *object, version string) map[string]any {
	fields := map[string]any{}
	var nameFields []string
	for _, f := range o.fields {
		refs := []any{}
		for _, to := range f.ReferenceTo {
			nf := []string{}
			if t := s.db.object(to); t != nil && t.field("Name") != nil {
				nf = append(nf, "Name")
			}
			refs = append(refs, map[string]any{"apiName": to, "nameFields": nf})
		}
		var rel any
		if f.RelationshipName != "" {
			rel = f.RelationshipName
		}
		isName := f.Name == "Name"
		if isName {
			nameFields = append(nameFields, f.Name)
		}
		fields[f.Name] = map[string]any{
			"apiName": f.Name, "label": f.Label, "dataType": uiDataTypes[f.Type], "length": f.Length,
			"required":   f.Required || (!f.Nillable && f.Createable && f.Default == nil && f.Type != tBoolean),
			"createable": f.Createable, "updateable": f.Updateable, "nillable": f.Nillable,
			"custom": f.Custom, "externalId": f.ExternalID, "unique": f.Unique, "calculated": false,
			"filterable": f.filterable(), "sortable": f.filterable(), "nameField": isName,
			"reference": f.Type == tReference, "referenceToInfos": refs, "relationshipName": rel,
			"polymorphicForeignKey": len(f.ReferenceTo) > 1, "compound": false, "controllerName": nil,
		}
	}
	base := "/services/data/v" + version + "/ui-api/object-info/" + o.Name
	return map[string]any{
		"apiName": o.Name, "label": o.Label, "labelPlural": o.Label + "s", "keyPrefix": o.Prefix,
		"custom": o.Custom, "createable": true, "updateable": true, "deletable": true, "queryable": true,
		"searchable": true, "layoutable": true, "mruEnabled": true, "feedEnabled": false,
		"defaultRecordTypeId": masterRecordTypeID, "nameFields": nameFields, "fields": fields,
		"childRelationships": []any{}, "dependentFields": map[string]any{}, "themeInfo": nil,
		"recordTypeInfos": map[string]any{masterRecordTypeID: map[string]any{
			"available": true, "defaultRecordTypeMapping": true, "master": true, "name": "Master", "recordTypeId": masterRecordTypeID}},
		"eTag": strconv.Itoa(len(o.fields)),
		"url":  base,
	}
}

func checkRecordType(rt string) *uiResult {
	if id, ok := canonicalID(rt); !ok || id != masterRecordTypeID {
		r := uiErrors(http.StatusNotFound, "NOT_FOUND", "The requested record type %s does not exist", rt)
		return &r
	}
	return nil
}

func picklistValues(o *object, f *field, rt, version string) map[string]any {
	vals := make([]any, 0, len(f.Picklist))
	var def any
	for _, v := range f.Picklist {
		pv := map[string]any{"attributes": nil, "label": v, "validFor": []any{}, "value": v}
		vals = append(vals, pv)
		if f.Default == v {
			def = pv
		}
	}
	return map[string]any{"controllerValues": map[string]any{}, "defaultValue": def, "eTag": strconv.Itoa(len(vals)),
		"url":    "/services/data/v" + version + "/ui-api/object-info/" + o.Name + "/picklist-values/" + rt + "/" + url.PathEscape(f.Name),
		"values": vals}
}

// picklistOfField is GET object-info/{object}/picklist-values/{rt}/{field}.
func picklistOfField(o *object, rt, name, version string) uiResult {
	if e := checkRecordType(rt); e != nil {
		return *e
	}
	f := o.field(name)
	if f == nil || f.Type != tPicklist {
		return uiErrors(http.StatusNotFound, "NOT_FOUND", "Field %s on %s is not a picklist field", name, o.Name)
	}
	return uiResult{http.StatusOK, picklistValues(o, f, rt, version)}
}

// picklistCollection is GET object-info/{object}/picklist-values/{rt}.
func picklistCollection(o *object, rt, version string) uiResult {
	if e := checkRecordType(rt); e != nil {
		return *e
	}
	all := map[string]any{}
	for _, f := range o.fields {
		if f.Type == tPicklist {
			all[f.Name] = picklistValues(o, f, rt, version)
		}
	}
	return uiResult{http.StatusOK, map[string]any{"eTag": strconv.Itoa(len(all)), "picklistFieldValues": all}}
}
