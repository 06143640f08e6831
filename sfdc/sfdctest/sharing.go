package sfdctest

import (
	"slices"
	"strings"
)

// sharing is the org's record-level access, as UserRecordAccess reports
// it: a user reads a record they own, one shared with them (GrantRead), any
// User record, and everything if they are an admin (View All / Modify All
// Data: the integration user and the test-side admin). Queries through the
// API are not filtered by it — the integration user sees all — it only
// answers UserRecordAccess, which is how a caller asks about another user.
type sharing struct {
	admins map[string]bool            // User Id (18) → sees every record
	grants map[string]map[string]bool // User Id (18) → record Ids (18) shared with them
}

func (s *sharing) canRead(user string, tb *table, r *row) bool {
	if s.admins[user] || s.grants[user][r.id] || tb.obj.Name == "User" {
		return true
	}
	owner, _ := r.vals["OwnerId"].(string)
	return owner != "" && owner == user
}

// GrantRead shares records with a user, as a sharing rule or a manual
// share would: UserRecordAccess then reports HasReadAccess for them.
func (o *Org) GrantRead(userID string, recordIDs ...string) {
	o.rest.mu.Lock()
	defer o.rest.mu.Unlock()
	user, ok := canonicalID(userID)
	if !ok {
		return
	}
	g := o.rest.db.sharing.grants[user]
	if g == nil {
		g = map[string]bool{}
		o.rest.db.sharing.grants[user] = g
	}
	for _, id := range recordIDs {
		if id18, ok := canonicalID(id); ok {
			g[id18] = true
		}
	}
}

// execute runs a parsed query: UserRecordAccess from the sharing model,
// every other object from its table.
func (d *db) execute(q *query) ([]*row, *sfError) {
	if q.obj.Name == "UserRecordAccess" {
		return d.userRecordAccess(q)
	}
	return d.run(q), nil
}

// maxAccessIDs is how many record Ids one UserRecordAccess query may name
// ("Up to 200 record IDs can be queried", object reference,
// UserRecordAccess).
const maxAccessIDs = 200

// userRecordAccess answers SELECT RecordId, Has…Access FROM
// UserRecordAccess WHERE UserId = '…' AND RecordId IN (…), refusing what
// the object reference says Salesforce refuses: no filter on one UserId
// with "=", no filter on RecordId, RecordId not selected (INVALID_FIELD
// "RecordId field must be selected", the message a real org gives), other
// fields selected, more than 200 record Ids. The codes of the refusals
// other than the RecordId one are not documented (UNVERIFIED): they are
// MALFORMED_QUERY and EXCEEDED_ID_LIMIT here. A record that does not
// exist is not in the result.
func (d *db) userRecordAccess(q *query) ([]*row, *sfError) {
	if q.count {
		return nil, badRequest("MALFORMED_QUERY", nil, "UserRecordAccess does not support COUNT()")
	}
	selected := false
	for _, fp := range q.fields {
		name := fp.f.Name
		switch {
		case len(fp.rels) > 0 || name == "Id" || name == "UserId" || !fp.f.isAccessField():
			return nil, badRequest("INVALID_FIELD", nil, "UserRecordAccess: only RecordId and the access fields (HasReadAccess, HasEditAccess, HasDeleteAccess, HasTransferAccess, HasAllAccess, MaxAccessLevel) can be selected, not %s", fp.text)
		case name == "RecordId":
			selected = true
		}
	}
	if !selected {
		return nil, badRequest("INVALID_FIELD", nil, "RecordId field must be selected")
	}
	var terms []expr
	var walk func(e expr) bool
	walk = func(e expr) bool {
		switch x := e.(type) {
		case andExpr:
			return walk(x.l) && walk(x.r)
		case cmpExpr:
			terms = append(terms, x)
			return true
		}
		return false
	}
	refuse := badRequest("MALFORMED_QUERY", nil, "UserRecordAccess requires a filter by a single UserId using the equals operator and a filter by RecordId, joined by AND")
	if q.where == nil || !walk(q.where) {
		return nil, refuse
	}
	var user string
	var ids []string
	var filters []expr
	for _, t := range terms {
		c := t.(cmpExpr)
		switch c.path.f.Name {
		case "UserId":
			if user != "" || c.op != "=" || c.vals[0] == nil {
				return nil, refuse
			}
			user, _ = c.vals[0].(string)
		case "RecordId":
			if ids != nil || (c.op != "=" && c.op != "IN") {
				return nil, refuse
			}
			ids = []string{}
			for _, v := range c.vals {
				s, _ := v.(string)
				if id18, ok := canonicalID(s); ok && !slices.Contains(ids, id18) {
					ids = append(ids, id18)
				}
			}
			if len(c.vals) > maxAccessIDs {
				return nil, badRequest("EXCEEDED_ID_LIMIT", nil, "record limit reached. cannot submit more than %d records into this call", maxAccessIDs)
			}
		default:
			filters = append(filters, c)
		}
	}
	if user == "" || ids == nil {
		return nil, refuse
	}
	var out []*row
	for _, id := range ids {
		tb, r := d.lookup(id)
		if r == nil {
			continue
		}
		read := d.sharing.canRead(user, tb, r)
		level := "None"
		if read {
			level = "Read"
		}
		if d.sharing.admins[user] {
			level = "All"
		}
		vals := map[string]any{"RecordId": id, "UserId": user, "HasReadAccess": read,
			"HasEditAccess": level == "All", "HasDeleteAccess": level == "All", "HasTransferAccess": level == "All",
			"HasAllAccess": level == "All", "MaxAccessLevel": level}
		if !slices.ContainsFunc(filters, func(f expr) bool { return !f.eval(d, vals) }) {
			out = append(out, &row{id: id, vals: vals})
		}
	}
	return out, nil
}

func (f *field) isAccessField() bool {
	return f.Name == "RecordId" || f.Name == "MaxAccessLevel" || (strings.HasPrefix(f.Name, "Has") && strings.HasSuffix(f.Name, "Access"))
}
