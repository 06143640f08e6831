package sync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboard/switchboard/sfdc/soql"
)

// Merge fields. A message template (Message_Template__c.Message_Text__c, or
// a translation's Text_Body__c) holds Salesforce merge fields such as
// {!Contact.FirstName}. The LWC chat or a Flow copies the template's text
// into the Task's Description; the engine fills the fields from the record
// the Task is about before sending, and writes the text it sent back to
// Description, so the CRM shows what the customer read.
//
// The record is found among the Task's WhoId, its WhatId and its
// conversation's Record_Id__c, in that order: the first of them that is a
// record of the merge field's object. Fields are read in bulk: one SOQL per
// object and field set per batch of Tasks, so a campaign of 1,000 Tasks
// from one template costs five queries, not a thousand.
//
// The engine reads as the integration user, who sees every Contact, Lead
// and Account; the Task's author may not. So a merge field is filled only
// when both hold: its Object.Field path is on the admin's allowlist
// (OutboundConfig.MergeFields, engine.merge_fields), and the Task's creator
// (CreatedById) can read the record, as UserRecordAccess reports. Even
// WhoId and WhatId are checked, though Salesforce checks them when the user
// saves the Task: binding a conversation (Record_Id__c, free text) makes
// the engine move the thread's Tasks to that record as the integration
// user (conversations.go), which no one checks for the Task's author.

// mergeFieldRE is one merge field: {!Object.Field} or, through lookups,
// {!Contact.Account.Name}. Only API names: nothing else reaches SOQL.
var mergeFieldRE = regexp.MustCompile(`\{!\s*([A-Za-z][A-Za-z0-9_]*)((?:\.[A-Za-z][A-Za-z0-9_]*)+)\s*\}`)

// mergeRequest asks for the fields of one object for one Task.
type mergeRequest struct {
	object     string
	fields     []string // mergeObject.paths: below object ("FirstName", "Account.Name")
	candidates []string // record Ids to try, in order
	creator    string   // the Task's CreatedById: candidates it cannot read are not tried
}

// mergeFieldsSetting names the allowlist in a refusal, so the user can ask
// an admin for the right change.
const mergeFieldsSetting = "engine.merge_fields (SWITCHBOARD_ENGINE_MERGE_FIELDS)"

// mergeResult is the candidate's field values by lower-case path, or why
// none could be read.
type mergeResult struct {
	values map[string]string
	err    error
}

// MergeError is a Task whose merge fields cannot be filled as it stands:
// retrying does not help, the user must fix the Task or the template.
type MergeError struct{ Reason string }

func (e *MergeError) Error() string { return e.Reason }

// codedError is how the Org's errors name Salesforce's error code
// (sfdc.APIError does).
type codedError interface {
	error
	ErrorCode() string
}

// mergeTemplate is a body split into merge fields. SOQL names are not
// case-sensitive, so {!contact.firstname} and {!Contact.FirstName} are one
// field: maps are keyed by the lower-case name, the first spelling is kept
// for queries and messages.
type mergeTemplate struct {
	body    string
	objects map[string]*mergeObject // by lower-case object name
}

type mergeObject struct {
	name  string
	paths []string // sorted by lower-case path, distinct; never "Id", which every query selects
}

// parseMerge finds the merge fields of body. It returns nil when there are
// none, and a MergeError for "{!" that is not a merge field the engine can
// fill (a formula, a typo): sending it as it stands would show the customer
// "{!IF(...)}".
func parseMerge(body string) (*mergeTemplate, error) {
	if !strings.Contains(body, "{!") {
		return nil, nil
	}
	rest := mergeFieldRE.ReplaceAllString(body, "")
	if i := strings.Index(rest, "{!"); i >= 0 {
		bad := rest[i:]
		if j := strings.IndexByte(bad, '}'); j >= 0 {
			bad = bad[:j+1]
		}
		if r := []rune(bad); len(r) > 40 {
			bad = string(r[:40]) + "…"
		}
		return nil, &MergeError{Reason: fmt.Sprintf("The message contains %q, which is not a merge field switchboard can fill; use {!Object.Field}, e.g. {!Contact.FirstName}.", bad)}
	}
	t := &mergeTemplate{body: body, objects: map[string]*mergeObject{}}
	for _, m := range mergeFieldRE.FindAllStringSubmatch(body, -1) {
		obj, path := m[1], strings.TrimPrefix(m[2], ".")
		mo := t.objects[strings.ToLower(obj)]
		if mo == nil {
			mo = &mergeObject{name: obj}
			t.objects[strings.ToLower(obj)] = mo
		}
		if !strings.EqualFold(path, "Id") && !slices.ContainsFunc(mo.paths, func(p string) bool { return strings.EqualFold(p, path) }) {
			mo.paths = append(mo.paths, path)
		}
	}
	for _, mo := range t.objects {
		slices.SortFunc(mo.paths, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	}
	return t, nil
}

// fill replaces each merge field by its value, from values keyed by
// lower-case object and path. Blank fields merge as nothing, as in
// Salesforce's own templates.
func (t *mergeTemplate) fill(values map[string]map[string]string) string {
	return mergeFieldRE.ReplaceAllStringFunc(t.body, func(s string) string {
		m := mergeFieldRE.FindStringSubmatch(s)
		return values[strings.ToLower(m[1])][strings.ToLower(strings.TrimPrefix(m[2], "."))]
	})
}

// merge fills the merge fields of t's Description. ok is false when the
// body has none.
func (o *Outbound) merge(ctx context.Context, t *Task) (body string, ok bool, err error) {
	tpl, err := parseMerge(t.Description)
	if tpl == nil || err != nil {
		return t.Description, false, err
	}
	if err := o.allowedMerge(t.Description); err != nil {
		return "", false, err
	}
	var records []string
	for _, id := range []string{t.WhoID, t.WhatID, t.conversationRecord()} {
		// A Record_Id__c is free text: one that is not an Id would fail
		// the whole batch's query ("invalid ID field").
		if looksLikeID(id) && !slices.Contains(records, id) {
			records = append(records, id)
		}
	}
	values := map[string]map[string]string{}
	for _, key := range slices.Sorted(maps.Keys(tpl.objects)) {
		mo := tpl.objects[key]
		if len(records) == 0 {
			return "", false, &MergeError{Reason: fmt.Sprintf("The message has merge fields for %s but the Task has no WhoId, WhatId or bound conversation to fill them from.", mo.name)}
		}
		candidates := records
		if prefix, ok := standardPrefixes[key]; ok {
			// Only Ids of that object: the query then names no record
			// of another type, and a Task with none fails here, in words.
			candidates = nil
			for _, id := range records {
				if id[:3] == prefix {
					candidates = append(candidates, id)
				}
			}
			if len(candidates) == 0 {
				return "", false, &MergeError{Reason: fmt.Sprintf("The message has merge fields for %s, but none of the Task's WhoId, WhatId or conversation record (%s) is a %s.",
					mo.name, strings.Join(records, ", "), mo.name)}
			}
		}
		res, err := o.mergeRead.Do(ctx, mergeRequest{object: mo.name, fields: mo.paths, candidates: candidates, creator: t.CreatedByID})
		if err == nil {
			err = res.err
		}
		if err != nil {
			return "", false, err
		}
		values[key] = res.values
	}
	return tpl.fill(values), true, nil
}

// allowedMerge refuses the first merge field of body (in the body's order)
// whose Object.Field path is not on the allowlist. Paths compare without
// regard to case, as SOQL names do.
func (o *Outbound) allowedMerge(body string) error {
	for _, m := range mergeFieldRE.FindAllStringSubmatch(body, -1) {
		path := m[1] + m[2]
		if !slices.ContainsFunc(o.cfg.MergeFields, func(a string) bool { return strings.EqualFold(strings.TrimSpace(a), path) }) {
			return &MergeError{Reason: fmt.Sprintf("The merge field {!%s} is not allowed: switchboard fills only the fields listed in %s. An admin can add %s there.",
				path, mergeFieldsSetting, path)}
		}
	}
	return nil
}

// standardPrefixes are the key prefixes of the standard objects templates
// name most, fixed in every org (lower-case object name → prefix). Custom
// objects' prefixes differ by org: their candidates are all the Task's
// records, and the query keeps the ones of that object.
var standardPrefixes = map[string]string{
	"account": "001", "contact": "003", "lead": "00Q", "opportunity": "006", "case": "500", "user": "005",
}

func (t *Task) conversationRecord() string {
	if t.Conversation == nil {
		return ""
	}
	return t.Conversation.RecordID
}

// readMergeFields is the merge batcher's flush: one query per object and
// field set, for every candidate Id of the batch.
func (o *Outbound) readMergeFields(ctx context.Context, reqs []mergeRequest) ([]mergeResult, error) {
	unread, err := o.unreadable(ctx, reqs)
	if err != nil {
		return nil, err
	}
	refused := dropUnreadable(reqs, unread)
	groups, order := groupMergeRequests(reqs)
	for _, k := range order {
		if err := o.readMergeGroup(ctx, groups[k]); err != nil {
			return nil, err
		}
	}
	out := make([]mergeResult, len(reqs))
	for i, r := range reqs {
		out[i] = mergeResultOf(r, refused[i], groups[groupKey(r)])
	}
	return out, nil
}

// mergeGroup is the requests of a batch that name one object and field
// set: one query (per chunk of Ids) reads them all.
type mergeGroup struct {
	object string
	fields []string
	ids    []string
	byID   map[string]map[string]any // by 15-character Id
	err    error                     // a *MergeError: the org cannot fill these fields
}

// dropUnreadable removes from each request the candidates its creator
// cannot read (unread, from unreadable) and returns them, by request.
func dropUnreadable(reqs []mergeRequest, unread map[string]bool) (refused [][]string) {
	refused = make([][]string, len(reqs))
	for i := range reqs {
		r := &reqs[i]
		kept := r.candidates[:0:0]
		for _, id := range r.candidates {
			if unread[r.creator+"|"+id15(id)] {
				refused[i] = append(refused[i], id)
			} else {
				kept = append(kept, id)
			}
		}
		r.candidates = kept
	}
	return refused
}

// groupMergeRequests groups the requests that have candidates left by
// groupKey, in the order the groups first appear.
func groupMergeRequests(reqs []mergeRequest) (groups map[string]*mergeGroup, order []string) {
	groups = map[string]*mergeGroup{}
	for _, r := range reqs {
		if len(r.candidates) == 0 {
			continue
		}
		k := groupKey(r)
		g := groups[k]
		if g == nil {
			g = &mergeGroup{object: r.object, fields: r.fields, byID: map[string]map[string]any{}}
			groups[k] = g
			order = append(order, k)
		}
		g.ids = append(g.ids, r.candidates...)
	}
	return groups, order
}

// readMergeGroup reads g's records into g.byID. A query Salesforce refuses
// for the template's sake (a field or object the org or the integration
// user does not have) sets g.err; any other failure is returned, and every
// request of the batch retries.
func (o *Outbound) readMergeGroup(ctx context.Context, g *mergeGroup) error {
	g.ids = dedupe(g.ids)
	sel := "SELECT " + strings.Join(append([]string{"Id"}, g.fields...), ", ") + " FROM " + g.object + " WHERE Id IN "
	for _, chunk := range soql.ChunkIn(g.ids, inBudget) {
		in, err := soql.InList(chunk)
		if err != nil {
			return err
		}
		var rows []map[string]any
		if err := o.org.Query(ctx, sel+in, &rows); err != nil {
			var ce codedError
			if errors.As(err, &ce) {
				switch ce.ErrorCode() {
				case "INVALID_FIELD", "INVALID_TYPE", "MALFORMED_QUERY", "INVALID_QUERY_FILTER_OPERATOR":
					g.err = &MergeError{Reason: fmt.Sprintf("The message's merge fields for %s cannot be filled. Salesforce says: %s", g.object, salesforceMessage(err))}
					return nil
				}
			}
			return err // transient or unknown: every item retries
		}
		for _, row := range rows {
			if id, _ := row["Id"].(string); len(id) >= 15 {
				g.byID[id15(id)] = row
			}
		}
	}
	return nil
}

// mergeResultOf is one request's values from its group's records, or the
// MergeError that says why they cannot be filled.
func mergeResultOf(r mergeRequest, refused []string, g *mergeGroup) mergeResult {
	if len(r.candidates) == 0 {
		return mergeResult{err: &MergeError{Reason: fmt.Sprintf("The message has merge fields for %s, but the Task's creator (%s) cannot read %s: switchboard fills merge fields only from records the Task's creator can see.",
			r.object, cmp.Or(r.creator, "unknown"), strings.Join(refused, ", "))}}
	}
	if g.err != nil {
		return mergeResult{err: g.err}
	}
	var row map[string]any
	for _, id := range r.candidates {
		if len(id) >= 15 && g.byID[id15(id)] != nil {
			row = g.byID[id15(id)]
			break
		}
	}
	if row == nil {
		return mergeResult{err: &MergeError{Reason: fmt.Sprintf("The message has merge fields for %s, but none of the Task's WhoId, WhatId or conversation record (%s) is a %s the integration user can read.",
			r.object, strings.Join(r.candidates, ", "), r.object)}}
	}
	vals := make(map[string]string, len(r.fields)+1)
	vals["id"], _ = row["Id"].(string)
	for _, f := range r.fields {
		vals[strings.ToLower(f)] = fieldText(row, f)
	}
	return mergeResult{values: vals}
}

// accessBudget is how many record Ids one UserRecordAccess query may name
// (Salesforce refuses more than 200: object reference, UserRecordAccess).
const accessBudget = 200

// unreadable asks UserRecordAccess which candidates their request's creator
// cannot read, keyed "creator|15-character Id". Salesforce answers for one
// user a query, so the batch costs a query per creator (and per 200 Ids);
// a record it does not report is treated as unreadable.
func (o *Outbound) unreadable(ctx context.Context, reqs []mergeRequest) (map[string]bool, error) {
	byCreator := map[string][]string{}
	var creators []string
	out := map[string]bool{}
	for _, r := range reqs {
		if r.creator == "" || !looksLikeID(r.creator) {
			for _, id := range r.candidates {
				out[r.creator+"|"+id15(id)] = true
			}
			continue
		}
		if _, ok := byCreator[r.creator]; !ok {
			creators = append(creators, r.creator)
		}
		byCreator[r.creator] = append(byCreator[r.creator], r.candidates...)
	}
	for _, c := range creators {
		ids := dedupe(byCreator[c])
		readable := map[string]bool{}
		for start := 0; start < len(ids); start += accessBudget {
			chunk := ids[start:min(start+accessBudget, len(ids))]
			for _, sub := range soql.ChunkIn(chunk, inBudget) {
				in, err := soql.InList(sub)
				if err != nil {
					return nil, err
				}
				var rows []struct {
					RecordID string `json:"RecordId"`
					Read     bool   `json:"HasReadAccess"`
				}
				q := "SELECT RecordId, HasReadAccess FROM UserRecordAccess WHERE UserId = " + soql.Quote(c) + " AND RecordId IN " + in
				if err := o.org.Query(ctx, q, &rows); err != nil {
					return nil, fmt.Errorf("reading the Task creator's access to merge records: %w", err)
				}
				for _, row := range rows {
					if row.Read {
						readable[id15(row.RecordID)] = true
					}
				}
			}
		}
		for _, id := range ids {
			if !readable[id15(id)] {
				out[c+"|"+id15(id)] = true
			}
		}
	}
	return out, nil
}

// id15 is the case-sensitive 15-character form of an Id, which its
// 18-character form extends.
func id15(id string) string {
	if len(id) > 15 {
		return id[:15]
	}
	return id
}

// fieldText reads path ("Account.Name") from a record as text. A null
// lookup or a blank field is "".
func fieldText(row map[string]any, path string) string {
	var cur any = row
	for _, seg := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		// SOQL answers with the field's own capitalisation, which need not
		// be the template's.
		v, ok := m[seg]
		if !ok {
			for k, kv := range m {
				if strings.EqualFold(k, seg) {
					v, ok = kv, true
					break
				}
			}
		}
		if !ok || v == nil {
			return ""
		}
		cur = v
	}
	switch v := cur.(type) {
	case string:
		return v
	case bool:
		if v {
			return "true"
		}
		return "false"
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case map[string]any:
		return "" // a lookup named without a field
	default:
		return fmt.Sprint(v)
	}
}

// salesforceMessage is the first sentence of Salesforce's own words from an
// Org error. A SOQL error repeats the query and points at the column
// ("...\nERROR at Row:1:Column:12\nNo such column 'X' on entity 'Contact'.
// If you are attempting..."): the user needs the part after that.
func salesforceMessage(err error) string {
	var m interface{ ErrorMessage() string }
	if !errors.As(err, &m) || m.ErrorMessage() == "" {
		return err.Error()
	}
	msg := m.ErrorMessage()
	if i := strings.LastIndex(msg, "ERROR at Row:"); i >= 0 {
		if nl := strings.IndexByte(msg[i:], '\n'); nl >= 0 {
			msg = msg[i+nl+1:]
		}
	}
	if i := strings.Index(msg, ". "); i >= 0 {
		msg = msg[:i+1]
	}
	return strings.TrimSpace(msg)
}

func groupKey(r mergeRequest) string {
	return strings.ToLower(r.object + "|" + strings.Join(r.fields, ","))
}
