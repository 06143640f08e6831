package sfdctest

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// sfError is one Salesforce error: the REST array element of ref §2.8, or
// the per-record collection error of §2.6 (statusCode instead of errorCode).
type sfError struct {
	status int
	code   string
	msg    string
	fields []string
}

func (e *sfError) Error() string { return e.code + ": " + e.msg }

func badRequest(code string, fields []string, format string, args ...any) *sfError {
	return &sfError{status: http.StatusBadRequest, code: code, msg: fmt.Sprintf(format, args...), fields: fields}
}

func notFound() *sfError {
	return &sfError{status: http.StatusNotFound, code: "NOT_FOUND", msg: "The requested resource does not exist"}
}

func entityDeleted() *sfError {
	return &sfError{status: http.StatusNotFound, code: "ENTITY_IS_DELETED", msg: "entity is deleted", fields: []string{}}
}

// sfTimeLayout is how Salesforce renders datetimes in REST and streaming
// payloads (ref §2.1): millisecond precision and a +0000 offset.
const sfTimeLayout = "2006-01-02T15:04:05.000-0700"

type row struct {
	id   string
	vals map[string]any // canonical field name → stored value
	dead bool
}

type table struct {
	obj   *object
	rows  map[string]*row // 18-character Id → row
	order []*row          // insertion order; dead rows are compacted at commit
	dead  int
	// ext indexes External ID fields: canonical field name → lower-cased
	// value → Ids. A set, not one Id, because tests may plant duplicates
	// (Org.Insert) to provoke the 300 of an ambiguous upsert.
	ext     map[string]map[string]map[string]struct{}
	autoNum int
}

// db is the org's data: schema and records. It is guarded by restState.mu.
type db struct {
	objects map[string]*object // lower-cased API name
	tables  map[string]*table  // canonical API name
	prefix  map[string]*table
	deleted map[string]string // Id → object name of deleted records
	seq     uint64
	now     func() time.Time
	sharing sharing
}

func newDB(now func() time.Time) *db {
	d := &db{objects: map[string]*object{}, tables: map[string]*table{}, prefix: map[string]*table{},
		deleted: map[string]string{}, now: now, sharing: sharing{admins: map[string]bool{}, grants: map[string]map[string]bool{}}}
	for _, o := range defaultSchema() {
		d.objects[strings.ToLower(o.Name)] = o
		t := &table{obj: o, rows: map[string]*row{}, ext: map[string]map[string]map[string]struct{}{}}
		for _, f := range o.fields {
			if f.ExternalID {
				t.ext[f.Name] = map[string]map[string]struct{}{}
			}
		}
		d.tables[o.Name] = t
		if o.Prefix != "" {
			d.prefix[o.Prefix] = t
		}
	}
	return d
}

func (d *db) object(name string) *object { return d.objects[strings.ToLower(name)] }

// childRelationship finds the object and lookup field behind parent's
// child relationship name (e.g. Translations__r), or nil.
func (d *db) childRelationship(parent *object, name string) (*object, *field) {
	for _, o := range d.objects {
		for _, f := range o.fields {
			if f.ChildRelationship == name && slices.Contains(f.ReferenceTo, parent.Name) {
				return o, f
			}
		}
	}
	return nil, nil
}

func (d *db) table(name string) *table {
	o := d.object(name)
	if o == nil {
		return nil
	}
	return d.tables[o.Name]
}

// lookup finds a live record by Id (15 or 18 characters).
func (d *db) lookup(id string) (*table, *row) {
	id18, ok := canonicalID(id)
	if !ok {
		return nil, nil
	}
	t := d.prefix[id18[:3]]
	if t == nil {
		return nil, nil
	}
	r := t.rows[id18]
	if r == nil {
		return t, nil
	}
	return t, r
}

// parentRecord finds the record that lookup field rel of vals points to; a
// nil row when the lookup is empty or its record is gone.
func (d *db) parentRecord(vals map[string]any, rel *field) (*table, *row) {
	id, _ := vals[rel.Name].(string)
	if id == "" {
		return nil, nil
	}
	return d.lookup(id)
}

func (t *table) live() []*row {
	out := make([]*row, 0, len(t.order)-t.dead)
	for _, r := range t.order {
		if !r.dead {
			out = append(out, r)
		}
	}
	return out
}

func (t *table) compact() {
	if t.dead == 0 || t.dead < len(t.order)/2 {
		return
	}
	t.order = t.live()
	t.dead = 0
}

func (t *table) index(r *row, vals map[string]any, add bool) {
	for name, idx := range t.ext {
		v, ok := vals[name].(string)
		if !ok {
			continue
		}
		k := strings.ToLower(v)
		if add {
			if idx[k] == nil {
				idx[k] = map[string]struct{}{}
			}
			idx[k][r.id] = struct{}{}
		} else {
			delete(idx[k], r.id)
			if len(idx[k]) == 0 {
				delete(idx, k)
			}
		}
	}
}

// byExternalID returns the Ids holding value in an External ID field;
// External IDs match case-insensitively, as a Unique text field does.
func (t *table) byExternalID(field, value string) []string {
	var ids []string
	for id := range t.ext[field][strings.ToLower(value)] {
		ids = append(ids, id)
	}
	return ids
}

// change is one committed record write, the input of the notification
// engine.
type change struct {
	op       string // created, updated, deleted
	obj      *object
	id       string
	old, new map[string]any
	changed  map[string]bool
}

// tx applies writes directly and keeps an undo log, so an allOrNone
// collection can roll every record back (ref §2.6).
type tx struct {
	d       *db
	undo    []func()
	changes []change
	// checkUnique is false for test-side writes, which may plant duplicate
	// External IDs that the API would refuse.
	checkUnique bool
	by          string // User Id recorded in CreatedById/LastModifiedById
}

func (d *db) begin(by string, checkUnique bool) *tx {
	return &tx{d: d, by: by, checkUnique: checkUnique}
}

func (t *tx) rollback() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		t.undo[i]()
	}
	t.undo, t.changes = nil, nil
}

func (t *tx) commit() []change {
	for _, tb := range t.d.tables {
		tb.compact()
	}
	ch := t.changes
	t.undo, t.changes = nil, nil
	return ch
}

func (t *tx) checkRequired(o *object, vals map[string]any) *sfError {
	var missing []string
	for _, f := range o.fields {
		if f.Required && vals[f.Name] == nil {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) > 0 {
		return badRequest("REQUIRED_FIELD_MISSING", missing, "Required fields are missing: [%s]", strings.Join(missing, ", "))
	}
	return nil
}

func (t *tx) checkUniqueFields(tb *table, vals map[string]any, self string) *sfError {
	if !t.checkUnique {
		return nil
	}
	for name := range tb.ext {
		v, ok := vals[name].(string)
		if !ok {
			continue
		}
		for id := range tb.ext[name][strings.ToLower(v)] {
			if id != self {
				return badRequest("DUPLICATE_VALUE", []string{name}, "duplicate value found: %s duplicates value on record with id: %s", name, id)
			}
		}
	}
	return nil
}

// derive fills the fields Salesforce computes: compound Name of people.
func derive(o *object, vals map[string]any) {
	if f := o.field("Name"); f != nil && !f.Createable && f.AutoNumber == "" {
		first, _ := vals["FirstName"].(string)
		last, _ := vals["LastName"].(string)
		vals["Name"] = strings.TrimSpace(first + " " + last)
	}
}

// insert creates one record. validate, if set, sees the final values before
// anything is written (PushTopic query checks use it).
func (t *tx) insert(o *object, in map[string]any, validate func(*table, map[string]any, string) *sfError) (string, *sfError) {
	if _, ok := in["Id"]; ok {
		return "", badRequest("INVALID_FIELD_FOR_INSERT_UPDATE", []string{"Id"}, "Unable to create/update fields: Id. Please check the security settings of this field and verify that it is read/write for your profile or permission set.")
	}
	vals, err := t.d.prepare(o, in, true)
	if err != nil {
		return "", err
	}
	for _, f := range o.fields {
		if _, set := vals[f.Name]; !set && f.Default != nil {
			vals[f.Name] = f.Default
		}
	}
	if o.field("OwnerId") != nil && vals["OwnerId"] == nil {
		vals["OwnerId"] = t.by
	}
	if err := t.checkRequired(o, vals); err != nil {
		return "", err
	}
	tb := t.d.tables[o.Name]
	if err := t.checkUniqueFields(tb, vals, ""); err != nil {
		return "", err
	}
	if validate != nil {
		if err := validate(tb, vals, ""); err != nil {
			return "", err
		}
	}
	t.d.seq++
	id := newID(o.Prefix, t.d.seq)
	now := t.d.now().UTC().Truncate(time.Second)
	vals["Id"], vals["IsDeleted"] = id, false
	vals["CreatedDate"], vals["LastModifiedDate"], vals["SystemModstamp"] = now, now, now
	vals["CreatedById"], vals["LastModifiedById"] = t.by, t.by
	for _, f := range o.fields {
		if f.AutoNumber != "" {
			tb.autoNum++
			vals[f.Name] = formatAutoNumber(f.AutoNumber, tb.autoNum)
		}
	}
	derive(o, vals)
	r := &row{id: id, vals: vals}
	tb.rows[id] = r
	tb.order = append(tb.order, r)
	tb.index(r, vals, true)
	t.undo = append(t.undo, func() {
		delete(tb.rows, id)
		tb.index(r, r.vals, false)
		r.dead = true
		tb.dead++
	})
	t.changes = append(t.changes, change{op: "created", obj: o, id: id, new: maps.Clone(vals)})
	return id, nil
}

// formatAutoNumber renders "C-{000000}" with n as C-000042.
func formatAutoNumber(format string, n int) string {
	open, end := strings.IndexByte(format, '{'), strings.IndexByte(format, '}')
	if open < 0 || end < open {
		return format + fmt.Sprint(n)
	}
	width := end - open - 1
	return format[:open] + fmt.Sprintf("%0*d", width, n) + format[end+1:]
}

// find resolves id to a live record of object o: NOT_FOUND for an Id that
// never existed (or belongs to another object), ENTITY_IS_DELETED for one
// that was deleted, MALFORMED_ID for one that is not an Id at all.
func (d *db) find(o *object, id string) (*table, *row, *sfError) {
	id18, ok := canonicalID(id)
	if !ok {
		return nil, nil, badRequest("MALFORMED_ID", []string{"Id"}, "%s ID: id value of incorrect type: %s", o.Label, id)
	}
	if id18[:3] != o.Prefix {
		return nil, nil, notFound()
	}
	tb := d.tables[o.Name]
	r := tb.rows[id18]
	if r == nil {
		if _, gone := d.deleted[id18]; gone {
			return nil, nil, entityDeleted()
		}
		return nil, nil, notFound()
	}
	return tb, r, nil
}

func (t *tx) update(o *object, id string, in map[string]any, validate func(*table, map[string]any, string) *sfError) *sfError {
	tb, r, err := t.d.find(o, id)
	if err != nil {
		return err
	}
	if v, ok := in["Id"]; ok {
		if s, _ := v.(string); s != id && s != r.id {
			return badRequest("INVALID_FIELD_FOR_INSERT_UPDATE", []string{"Id"}, "Unable to create/update fields: Id. Please check the security settings of this field and verify that it is read/write for your profile or permission set.")
		}
		in = maps.Clone(in)
		delete(in, "Id")
	}
	vals, err := t.d.prepare(o, in, false)
	if err != nil {
		return err
	}
	next := maps.Clone(r.vals)
	changed := map[string]bool{}
	for k, v := range vals {
		if !sameValue(next[k], v) {
			changed[k] = true
		}
		next[k] = v
	}
	if err := t.checkRequired(o, next); err != nil {
		return err
	}
	if err := t.checkUniqueFields(tb, next, r.id); err != nil {
		return err
	}
	if validate != nil {
		if err := validate(tb, next, r.id); err != nil {
			return err
		}
	}
	now := t.d.now().UTC().Truncate(time.Second)
	next["LastModifiedDate"], next["SystemModstamp"], next["LastModifiedById"] = now, now, t.by
	derive(o, next)
	old := r.vals
	tb.index(r, old, false)
	r.vals = next
	tb.index(r, next, true)
	t.undo = append(t.undo, func() {
		tb.index(r, r.vals, false)
		r.vals = old
		tb.index(r, old, true)
	})
	t.changes = append(t.changes, change{op: "updated", obj: o, id: r.id, old: old, new: maps.Clone(next), changed: changed})
	return nil
}

// remove deletes a record of any object by Id (collections delete mixed
// types in one call).
func (t *tx) remove(id string) *sfError {
	id18, ok := canonicalID(id)
	if !ok {
		return badRequest("MALFORMED_ID", []string{"Id"}, "malformed id %s", id)
	}
	tb := t.d.prefix[id18[:3]]
	if tb == nil {
		return badRequest("INVALID_CROSS_REFERENCE_KEY", []string{}, "invalid cross reference id")
	}
	_, _, err := t.d.find(tb.obj, id18)
	if err != nil {
		if err.code == "NOT_FOUND" {
			return badRequest("INVALID_CROSS_REFERENCE_KEY", []string{}, "invalid cross reference id")
		}
		return err
	}
	return t.removeRow(tb, tb.rows[id18])
}

func (t *tx) removeRow(tb *table, r *row) *sfError {
	delete(tb.rows, r.id)
	tb.index(r, r.vals, false)
	r.dead = true
	tb.dead++
	t.d.deleted[r.id] = tb.obj.Name
	t.undo = append(t.undo, func() {
		delete(t.d.deleted, r.id)
		r.dead = false
		tb.dead--
		tb.rows[r.id] = r
		tb.index(r, r.vals, true)
	})
	t.changes = append(t.changes, change{op: "deleted", obj: tb.obj, id: r.id, old: r.vals})
	return nil
}

// render returns a record with every field, as GET sobjects/{type}/{id}
// does, optionally limited to fields.
func render(o *object, r *row, version string, fields []*field) map[string]any {
	out := map[string]any{"attributes": attributes(o, r.id, version)}
	if fields == nil {
		fields = o.fields
	}
	for _, f := range fields {
		out[f.Name] = outValue(r.vals[f.Name])
	}
	return out
}

func attributes(o *object, id, version string) map[string]any {
	return map[string]any{"type": o.Name, "url": "/services/data/v" + version + "/sobjects/" + o.Name + "/" + id}
}
