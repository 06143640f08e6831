package sfdctest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Composite limits (ref §2.7, [D-COMPOSITE]): 25 subrequests, of which at
// most 5 may be sObject Collections or query/queryAll requests.
const (
	maxSubrequests      = 25
	maxHeavySubrequests = 5
)

// compositeRolledBack is the body of every other subrequest of an
// allOrNone composite that failed (ref §2.7).
const compositeRolledBack = "The transaction was rolled back since another operation in the same transaction failed."

type compositeBody struct {
	AllOrNone bool `json:"allOrNone"`
	// CollateSubrequests is accepted and ignored: running subrequests in
	// their given order is one of the orders collation may produce.
	CollateSubrequests *bool          `json:"collateSubrequests"`
	CompositeRequest   []compositeSub `json:"compositeRequest"`
}

type compositeSub struct {
	Method      string            `json:"method"`
	URL         string            `json:"url"`
	ReferenceID string            `json:"referenceId"`
	Body        json.RawMessage   `json:"body"`
	HTTPHeaders map[string]string `json:"httpHeaders"`
}

type compositeResult struct {
	Body           any               `json:"body"`
	HTTPHeaders    map[string]string `json:"httpHeaders"`
	HTTPStatusCode int               `json:"httpStatusCode"`
	ReferenceID    string            `json:"referenceId"`
}

// refIDRE is what a referenceId may contain (Composite Subrequest Result,
// "Behavior and Responses If There Are Illegal Characters in Reference IDs").
var refIDRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// refRE matches @{refId.path} with path a chain of .field and [n]; field
// names are case-sensitive (the docs warn @{refAccount.Id} fails where the
// response has "id").
var refRE = regexp.MustCompile(`@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[[0-9]+\])+)\}`)

func isComposite(segs []string) bool { return len(segs) == 1 && segs[0] == "composite" }

// heavySub reports the subrequests that count against the limit of 5:
// sObject Collections, query and queryAll.
func heavySub(u string) bool {
	p := u
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	segs := strings.Split(strings.Trim(p, "/"), "/")
	// services / data / vXX.X / resource …
	if len(segs) < 4 || segs[0] != "services" || segs[1] != "data" {
		return false
	}
	switch segs[3] {
	case "query", "queryAll":
		return true
	case "composite":
		return len(segs) > 4 && segs[4] == "sobjects"
	}
	return false
}

func limitExceeded(format string, args ...any) *sfError {
	// The exact code and text of these two refusals are not in any page
	// we could retrieve (ref §7 item 11 lists composite details as
	// UNVERIFIED); the status and the array shape follow ref §2.8.
	return badRequest("LIMIT_EXCEEDED", nil, format, args...)
}

// composite is POST /composite (ref §2.7). Every subrequest goes through
// route like a top-level request, inside one transaction of the org: with
// allOrNone the first failure rolls everything back and every other
// subrequest answers PROCESSING_HALTED; without it each failed subrequest
// rolls back only its own writes and the others commit. The top-level
// status is 200 either way, and the call counts once (serve counted it).
func (s *restState) composite(req *request) (int, any, *sfError) {
	var body compositeBody
	if e := readBody(req.r, &body); e != nil {
		return 0, nil, e
	}
	subs := body.CompositeRequest
	if len(subs) == 0 {
		return 0, nil, badRequest("INVALID_INPUT", nil, "compositeRequest must contain at least one subrequest")
	}
	if len(subs) > maxSubrequests {
		return 0, nil, limitExceeded("Exceeded max limit of subrequests: %d subrequests were sent, a composite request may have at most %d", len(subs), maxSubrequests)
	}
	heavy := 0
	seen := map[string]bool{}
	for i, sub := range subs {
		if sub.ReferenceID == "" {
			return 0, nil, badRequest("INVALID_INPUT", []string{"referenceId"}, "subrequest %d has no referenceId", i)
		}
		if !refIDRE.MatchString(sub.ReferenceID) {
			return 0, nil, badRequest("INVALID_INPUT", []string{"referenceId"}, "referenceId %q may only contain letters, numbers and underscores", sub.ReferenceID)
		}
		if seen[sub.ReferenceID] {
			return 0, nil, badRequest("INVALID_INPUT", []string{"referenceId"}, "Duplicate referenceId provided in the request: %s", sub.ReferenceID)
		}
		seen[sub.ReferenceID] = true
		switch sub.Method {
		case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		default:
			return 0, nil, badRequest("INVALID_INPUT", []string{"method"}, "subrequest %s: method %q is not one of POST, PUT, PATCH, GET, DELETE (case-sensitive)", sub.ReferenceID, sub.Method)
		}
		if sub.URL == "" {
			return 0, nil, badRequest("INVALID_INPUT", []string{"url"}, "subrequest %s has no url", sub.ReferenceID)
		}
		for h := range sub.HTTPHeaders {
			switch strings.ToLower(h) {
			case "accept", "authorization", "content-type":
				// [D-COMPOSITE] request body: these are inherited from the
				// top-level request, and naming them fails the whole call.
				return 0, nil, badRequest("INVALID_INPUT", nil, "subrequest %s may not set the %s header: subrequests inherit it from the composite request", sub.ReferenceID, h)
			}
		}
		if heavySub(sub.URL) {
			heavy++
		}
	}
	if heavy > maxHeavySubrequests {
		return 0, nil, limitExceeded("Exceeded max limit of sObject Collections and query subrequests: %d were sent, a composite request may have at most %d", heavy, maxHeavySubrequests)
	}

	results := make([]compositeResult, len(subs))
	s.apply(s.userID, true, func(t *tx) bool {
		view := s.compositeView(t)
		refs := map[string]any{}
		failedAt := -1
		for i, sub := range subs {
			res := s.runSub(req, view, sub, refs)
			res.ReferenceID = sub.ReferenceID
			results[i] = res
			if res.HTTPStatusCode >= 400 {
				if body.AllOrNone {
					failedAt = i
					break
				}
				continue
			}
			refs[sub.ReferenceID] = plainJSON(res.Body)
		}
		s.locOrder = view.locOrder
		if failedAt < 0 {
			return true
		}
		for i := range results {
			if i != failedAt {
				results[i] = compositeResult{HTTPHeaders: map[string]string{}, HTTPStatusCode: http.StatusBadRequest, ReferenceID: subs[i].ReferenceID,
					Body: []map[string]any{{"errorCode": "PROCESSING_HALTED", "message": compositeRolledBack}}}
			}
		}
		return false
	})
	return http.StatusOK, map[string]any{"compositeResponse": results}, nil
}

// compositeView is a restState over the same data whose apply is a
// savepoint of t. Its handlers lock the view's own mutex, while the caller
// (apply on s) holds s.mu for the whole composite, so no other request sees
// its uncommitted writes.
func (s *restState) compositeView(t *tx) *restState {
	return &restState{org: s.org, db: s.db, userID: s.userID, adminID: s.adminID, locators: s.locators, locOrder: s.locOrder,
		pageSize: s.pageSize, apiLimit: s.apiLimit, calls: map[string]int{}, topics: s.topics, active: map[string]bool{}, outer: t}
}

// savepoint runs fn as a nested transaction: if fn reports failure, only
// its own writes are undone.
func (t *tx) savepoint(fn func(t *tx) bool) {
	undo, changes := len(t.undo), len(t.changes)
	if fn(t) {
		return
	}
	for i := len(t.undo) - 1; i >= undo; i-- {
		t.undo[i]()
	}
	t.undo, t.changes = t.undo[:undo], t.changes[:changes]
}

// runSub executes one subrequest through view; s.mu is held.
func (s *restState) runSub(top *request, view *restState, sub compositeSub, refs map[string]any) compositeResult {
	fail := func(e *sfError) compositeResult {
		item := map[string]any{"errorCode": e.code, "message": e.msg}
		if len(e.fields) > 0 {
			item["fields"] = e.fields
		}
		return compositeResult{Body: []map[string]any{item}, HTTPHeaders: map[string]string{}, HTTPStatusCode: e.status}
	}
	u, e := resolveRefs(sub.URL, refs)
	if e != nil {
		return fail(e)
	}
	var body []byte
	if len(sub.Body) > 0 && string(sub.Body) != "null" {
		var v any
		if err := json.Unmarshal(sub.Body, &v); err != nil {
			return fail(badRequest("JSON_PARSER_ERROR", nil, "subrequest body: %v", err))
		}
		v, e = resolveValue(v, refs)
		if e != nil {
			return fail(e)
		}
		body, _ = json.Marshal(v)
	}
	hr, err := http.NewRequestWithContext(top.r.Context(), sub.Method, u, bytes.NewReader(body))
	if err != nil || !strings.HasPrefix(hr.URL.Path, "/services/data/") {
		return fail(notFound())
	}
	if q := top.r.Header.Get("Sforce-Query-Options"); q != "" {
		hr.Header.Set("Sforce-Query-Options", q)
	}
	for k, v := range sub.HTTPHeaders {
		hr.Header.Set(k, v)
	}
	hr.Header.Set("Content-Type", "application/json")
	raw := strings.Split(strings.TrimSuffix(strings.TrimPrefix(hr.URL.EscapedPath(), "/services/data/"), "/"), "/")
	segs := make([]string, len(raw))
	for i, p := range raw {
		if segs[i], err = url.PathUnescape(p); err != nil {
			return fail(notFound())
		}
	}
	ver, ok := strings.CutPrefix(segs[0], "v")
	n, perr := strconv.ParseFloat(ver, 64)
	if !ok || perr != nil || n < minAPIVersion || n > maxAPIVersion || !strings.HasSuffix(ver, ".0") {
		return fail(notFound())
	}
	sr := &request{r: hr, version: ver, segs: segs[1:]}
	if len(sr.segs) > 0 && sr.segs[0] == "composite" && !(len(sr.segs) > 1 && sr.segs[1] == "sobjects") {
		return fail(badRequest("INVALID_INPUT", []string{"url"}, "%s is not supported in a composite subrequest; only sObject Collections of the composite resources are", hr.URL.Path))
	}
	// Fault knobs apply per subrequest when they carry an error code (a
	// Salesforce answer); a code-less fault is a gateway's and can only
	// answer a whole HTTP call.
	if e := s.takeFaultLocked(hr, false); e != nil {
		return fail(e)
	}
	if isWrite(hr.Method, sr.segs) && s.lockRows > 0 {
		s.lockRows--
		s.db.seq++
		return fail(badRequest("UNABLE_TO_LOCK_ROW", nil, "unable to obtain exclusive access to this record or 1 records: %s", newID("00T", s.db.seq)))
	}
	status, out, e := view.route(sr)
	if e != nil {
		return fail(e)
	}
	headers := map[string]string{}
	if status == http.StatusCreated && len(sr.segs) >= 2 && sr.segs[0] == "sobjects" {
		if m, ok := out.(map[string]any); ok {
			if id, ok := m["id"].(string); ok {
				headers["Location"] = "/services/data/v" + ver + "/sobjects/" + sr.segs[1] + "/" + id
			}
		}
	}
	if status == http.StatusNoContent {
		out = nil
	}
	return compositeResult{Body: out, HTTPHeaders: headers, HTTPStatusCode: status}
}

// plainJSON turns a handler's answer into the generic JSON form references
// are resolved against.
func plainJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// resolveValue replaces references in every string of a decoded JSON body.
// A string that is exactly one reference takes the referenced value with
// its JSON type; otherwise the values are spliced into the text.
func resolveValue(v any, refs map[string]any) (any, *sfError) {
	switch x := v.(type) {
	case string:
		if m := refRE.FindStringSubmatch(x); m != nil && m[0] == x {
			return lookupRef(m[1], m[2], refs)
		}
		s, e := resolveRefs(x, refs)
		return s, e
	case map[string]any:
		for k, e := range x {
			r, err := resolveValue(e, refs)
			if err != nil {
				return nil, err
			}
			x[k] = r
		}
	case []any:
		for i, e := range x {
			r, err := resolveValue(e, refs)
			if err != nil {
				return nil, err
			}
			x[i] = r
		}
	}
	return v, nil
}

// resolveRefs splices referenced values into s (a URL or a body string).
func resolveRefs(s string, refs map[string]any) (string, *sfError) {
	var bad *sfError
	out := refRE.ReplaceAllStringFunc(s, func(m string) string {
		sm := refRE.FindStringSubmatch(m)
		v, e := lookupRef(sm[1], sm[2], refs)
		if e != nil {
			if bad == nil {
				bad = e
			}
			return m
		}
		switch x := v.(type) {
		case string:
			return x
		case nil:
			return "null"
		default:
			b, _ := json.Marshal(x)
			return string(b)
		}
	})
	return out, bad
}

var refStepRE = regexp.MustCompile(`\.([A-Za-z0-9_]+)|\[([0-9]+)\]`)

// lookupRef walks path (".records[0].Id") through the response of ref. A
// reference to a subrequest that has not run, failed, or lacks the value
// fails this subrequest with PROCESSING_HALTED, the answer Salesforce gives
// (text as seen in client test fixtures, e.g. CumulusCI).
func lookupRef(ref, path string, refs map[string]any) (any, *sfError) {
	halted := func() *sfError {
		return badRequest("PROCESSING_HALTED", nil, "Invalid reference specified. No value for %s%s found in %s. Provided referenceId ('%s') must be a valid referenceId from a previous subrequest that succeeded.", ref, path, ref, ref)
	}
	cur, ok := refs[ref]
	if !ok {
		return nil, halted()
	}
	for _, step := range refStepRE.FindAllStringSubmatch(path, -1) {
		switch {
		case step[1] != "":
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, halted()
			}
			if cur, ok = m[step[1]]; !ok {
				return nil, halted()
			}
		default:
			a, ok := cur.([]any)
			n, _ := strconv.Atoi(step[2])
			if !ok || n >= len(a) {
				return nil, halted()
			}
			cur = a[n]
		}
	}
	if cur == nil {
		return nil, halted()
	}
	return cur, nil
}

// String makes compositeResult readable in test failures.
func (r compositeResult) String() string {
	return fmt.Sprintf("%s %d %v", r.ReferenceID, r.HTTPStatusCode, r.Body)
}
