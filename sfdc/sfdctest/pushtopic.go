package sfdctest

import (
	"strings"
)

// topic is an active PushTopic compiled for the notification engine.
type topic struct {
	id, name  string
	q         *query
	notifyFor string
	ops       map[string]bool // created, updated, deleted, undeleted
	selects   map[string]bool // fields in SELECT other than Id
	wheres    map[string]bool // fields in WHERE other than Id
}

// notification is one PushTopic event for the CometD side.
type notification struct {
	channel, event string
	sobject        map[string]any
}

func topicError(msg string) *sfError { return badRequest("INVALID_FIELD", nil, "%s", msg) }

// compileTopic checks a PushTopic's query against the rules of ref §4.2 and
// §4.3 with the documented messages, and returns it compiled.
func (d *db) compileTopic(vals map[string]any) (*topic, *sfError) {
	src, _ := vals["Query"].(string)
	lx := &lexer{src: src}
	toks, serr := lx.tokens()
	if serr != nil {
		return nil, serr.sfError()
	}
	for i, t := range toks {
		if t.kind == tkIdent && strings.EqualFold(t.text, "GROUP") && i+1 < len(toks) && strings.EqualFold(toks[i+1].text, "BY") {
			return nil, topicError("Aggregate queries are not supported")
		}
		if t.kind == tkIdent && strings.EqualFold(t.text, "SELECT") && i > 0 {
			return nil, topicError("semi/anti join sub-selects are not supported")
		}
	}
	q, serr := d.parseSOQL(src)
	if serr != nil {
		return nil, serr.sfError()
	}
	switch {
	case q.count:
		return nil, topicError("Aggregate queries are not supported")
	case q.limit >= 0:
		return nil, topicError("'LIMIT' is not allowed")
	case len(q.order) > 0:
		return nil, topicError("'ORDER BY' clause is not allowed")
	case q.offset > 0:
		return nil, topicError("'OFFSET' is not allowed")
	case q.hasNot:
		return nil, topicError("'NOT' is not supported")
	case !q.obj.PushTopicable:
		return nil, topicError("The entity '" + q.obj.Name + "' is not supported for PushTopic queries")
	}
	tp := &topic{q: q, selects: map[string]bool{}, wheres: map[string]bool{}}
	hasID := false
	for _, fp := range q.fields {
		if len(fp.rels) > 0 {
			return nil, topicError("relationships are not supported")
		}
		if fp.f.Name == "Id" {
			hasID = true
			continue
		}
		tp.selects[fp.f.Name] = true
	}
	if !hasID {
		return nil, topicError("The PushTopic query must select the Id field")
	}
	if q.where != nil {
		for _, fp := range q.where.refs(nil) {
			if len(fp.rels) > 0 {
				return nil, topicError("relationships are not supported")
			}
			if fp.f.Name != "Id" {
				tp.wheres[fp.f.Name] = true
			}
		}
	}
	tp.id, _ = vals["Id"].(string)
	tp.name, _ = vals["Name"].(string)
	tp.notifyFor, _ = vals["NotifyForFields"].(string)
	switch tp.notifyFor {
	case "Referenced":
		if len(tp.selects)+len(tp.wheres) == 0 {
			return nil, topicError("NotifyForFields Referenced requires at least one field other than Id in the SELECT or WHERE clause")
		}
	case "Select":
		if len(tp.selects) == 0 {
			return nil, topicError("NotifyForFields Select requires at least one field other than Id in the SELECT clause")
		}
	case "Where":
		if len(tp.wheres) == 0 {
			return nil, topicError("NotifyForFields Where requires a WHERE clause on a field other than Id")
		}
	}
	tp.ops = map[string]bool{}
	for op, f := range map[string]string{"created": "NotifyForOperationCreate", "updated": "NotifyForOperationUpdate",
		"deleted": "NotifyForOperationDelete", "undeleted": "NotifyForOperationUndelete"} {
		tp.ops[op], _ = vals[f].(bool)
	}
	return tp, nil
}

// validateTopic is the PushTopic save check of ref §4.5 FAKE: Name unique,
// ApiVersion above 20.0 and served by this org, query compiles.
func (d *db) validateTopic(tb *table, vals map[string]any, self string) *sfError {
	name, _ := vals["Name"].(string)
	for _, r := range tb.rows {
		if r.id != self && strings.EqualFold(r.vals["Name"].(string), name) {
			return badRequest("DUPLICATE_VALUE", []string{"Name"}, "duplicate value found: Name duplicates value on record with id: %s", r.id)
		}
	}
	v, _ := vals["ApiVersion"].(float64)
	if v <= 20 || v > maxAPIVersion {
		return badRequest("FIELD_INTEGRITY_EXCEPTION", []string{"ApiVersion"}, "ApiVersion: API version must be greater than 20.0 and at most %.1f: %v", float64(maxAPIVersion), v)
	}
	_, err := d.compileTopic(vals)
	return err
}

// activeTopics compiles every active PushTopic; one whose query no longer
// compiles (a field was dropped) stays silent.
func (d *db) activeTopics() []*topic {
	var out []*topic
	for _, r := range d.tables["PushTopic"].live() {
		if active, _ := r.vals["IsActive"].(bool); !active {
			continue
		}
		if tp, err := d.compileTopic(r.vals); err == nil {
			out = append(out, tp)
		}
	}
	return out
}

// notifications applies the NotifyForFields table of ref §4.3 to committed
// changes: creates notify when the record matches WHERE; updates when a
// field the mode watches changed and the new values match WHERE; deletes
// when the old values matched.
func (d *db) notifications(topics []*topic, changes []change) []notification {
	var out []notification
	for _, c := range changes {
		for _, tp := range topics {
			if tp.q.obj != c.obj || !tp.ops[c.op] {
				continue
			}
			vals := c.new
			if c.op == "deleted" {
				vals = c.old
			}
			if tp.q.where != nil && !tp.q.where.eval(d, vals) {
				continue
			}
			if c.op == "updated" && !tp.watches(c.changed) {
				continue
			}
			sob := map[string]any{"Id": c.id}
			if c.op != "deleted" {
				for _, fp := range tp.q.fields {
					sob[fp.f.Name] = outValue(vals[fp.f.Name])
				}
			}
			out = append(out, notification{channel: "/topic/" + tp.name, event: c.op, sobject: sob})
		}
	}
	return out
}

func (tp *topic) watches(changed map[string]bool) bool {
	if tp.notifyFor == "All" {
		return true
	}
	for f := range changed {
		switch tp.notifyFor {
		case "Select":
			if tp.selects[f] {
				return true
			}
		case "Where":
			if tp.wheres[f] {
				return true
			}
		default:
			if tp.selects[f] || tp.wheres[f] {
				return true
			}
		}
	}
	return false
}
