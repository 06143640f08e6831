package sfdctest

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	minAPIVersion = 59
	maxAPIVersion = 64
	// defaultPageSize is Salesforce's default query batch (ref §2.2).
	defaultPageSize = 2000
	// maxLocators bounds the open query cursors kept for nextRecordsUrl.
	maxLocators = 64
	// maxCollection is the sObject Collections record limit (ref §2.6).
	maxCollection = 200
)

var releaseNames = map[int]string{59: "Winter '24", 60: "Spring '24", 61: "Summer '24", 62: "Winter '25", 63: "Spring '25", 64: "Summer '25"}

// restState is the REST half of the org: data, query cursors, limits and
// fault injection. mu guards everything except the active PushTopic names,
// which the CometD side reads while a publish holds pubMu.
type restState struct {
	org *Org

	mu       sync.Mutex
	db       *db
	userID   string // the integration user every API login acts as
	adminID  string // the user test-side writes act as (a UI edit or Flow)
	locators map[string]*locator
	locOrder []string
	pageSize int
	apiUsed  int
	apiLimit int
	faults   []*fault
	lockRows int
	latency  time.Duration
	downTill time.Time
	calls    map[string]int
	topics   []*topic

	// pubMu keeps notifications in commit order without holding mu while
	// the CometD side delivers them.
	pubMu sync.Mutex

	activeMu sync.Mutex
	active   map[string]bool

	// notifyHook, when set (by internal tests), sees every notification
	// the engine publishes.
	notifyHook func(channel, event string, sobject map[string]any)

	// outer is set only on the view a /composite request dispatches its
	// subrequests through (composite.go): apply then runs as a savepoint of
	// the composite's one transaction instead of committing on its own.
	outer *tx
}

type locator struct {
	version string
	records []map[string]any
}

type fault struct {
	method, path string
	n, status    int
	code, msg    string
}

func newRESTState(o *Org, opts Options) *restState {
	limit := opts.DailyAPILimit
	if limit <= 0 {
		limit = 100000
	}
	s := &restState{org: o, db: newDB(time.Now), locators: map[string]*locator{}, apiLimit: limit,
		calls: map[string]int{}, active: map[string]bool{}}
	t := s.db.begin("", true)
	s.userID, _ = t.insert(s.db.object("User"), map[string]any{"Username": DefaultUsername, "FirstName": "Integration", "LastName": "User", "Email": "integration@switchboard.example"}, nil)
	s.adminID, _ = t.insert(s.db.object("User"), map[string]any{"Username": "admin@switchboard.example", "FirstName": "Org", "LastName": "Admin", "Email": "admin@switchboard.example"}, nil)
	// Both see every record: the integration user has View All (the
	// Switchboard_Integration permission set), the admin Modify All Data.
	s.db.sharing.admins[s.userID], s.db.sharing.admins[s.adminID] = true, true
	for _, c := range t.commit() {
		s.db.tables["User"].rows[c.id].vals["CreatedById"] = s.adminID
		s.db.tables["User"].rows[c.id].vals["LastModifiedById"] = s.adminID
	}
	return s
}

// pushTopicActive reports whether a PushTopic record with this Name exists
// and IsActive; the CometD server refuses subscriptions to anything else.
// Channel names are case-sensitive (ref §4.1).
func (r *restState) pushTopicActive(name string) bool {
	r.activeMu.Lock()
	defer r.activeMu.Unlock()
	return r.active[name]
}

// apply runs fn in one transaction as user by; fn returns whether to
// commit. Committed changes go through the notification engine, and the
// notifications are published in commit order after mu is released.
func (s *restState) apply(by string, api bool, fn func(t *tx) bool) {
	if s.outer != nil {
		s.outer.savepoint(fn)
		return
	}
	s.mu.Lock()
	t := s.db.begin(by, api)
	var notes []notification
	if fn(t) {
		changes := t.commit()
		if slices.ContainsFunc(changes, func(c change) bool { return c.obj.Name == "PushTopic" }) {
			s.refreshTopicsLocked()
		}
		notes = s.db.notifications(s.topics, changes)
	} else {
		t.rollback()
	}
	s.pubMu.Lock()
	s.mu.Unlock()
	defer s.pubMu.Unlock()
	for _, n := range notes {
		s.org.bayeux.publish(n.channel, n.event, n.sobject)
		if s.notifyHook != nil {
			s.notifyHook(n.channel, n.event, n.sobject)
		}
	}
}

func (s *restState) refreshTopicsLocked() {
	s.topics = s.db.activeTopics()
	active := map[string]bool{}
	for _, r := range s.db.tables["PushTopic"].live() {
		if on, _ := r.vals["IsActive"].(bool); on {
			active[r.vals["Name"].(string)] = true
		}
	}
	s.activeMu.Lock()
	s.active = active
	s.activeMu.Unlock()
}

func (o *Org) registerREST(mux *http.ServeMux) {
	mux.HandleFunc("/services/data/", o.rest.serve)
	mux.HandleFunc("/services/oauth2/token", o.serveToken)
}

// request is one REST call after routing.
type request struct {
	r       *http.Request
	version string
	segs    []string // path segments after /services/data/vXX.X/, unescaped
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	if status != http.StatusNoContent && body != nil {
		_ = json.NewEncoder(w).Encode(body)
	}
}

// writeError sends the REST error array of ref §2.8. A fault injected with
// no error code sends its message as plain text, as a gateway would.
func writeError(w http.ResponseWriter, e *sfError) {
	if e.code == "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(e.status)
		_, _ = io.WriteString(w, e.msg)
		return
	}
	item := map[string]any{"message": e.msg, "errorCode": e.code}
	if len(e.fields) > 0 {
		item["fields"] = e.fields
	}
	writeJSON(w, e.status, []any{item})
}

func (s *restState) serve(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.EscapedPath(), "/services/data/")
	if rest == "" {
		// ref §2.1: the version list needs no session and is not counted.
		if r.Method != http.MethodGet {
			writeError(w, methodNotAllowed(r.Method, "GET"))
			return
		}
		writeJSON(w, http.StatusOK, versions())
		return
	}
	raw := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	segs := make([]string, len(raw))
	for i, p := range raw {
		u, err := url.PathUnescape(p)
		if err != nil {
			writeError(w, notFound())
			return
		}
		segs[i] = u
	}
	req := &request{r: r, segs: segs[1:]}
	key := routeKey(r.Method, req.segs)
	s.mu.Lock()
	s.calls[key]++
	latency, down := s.latency, time.Now().Before(s.downTill)
	s.mu.Unlock()
	if latency > 0 {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(latency):
		}
	}
	if down {
		writeError(w, &sfError{status: http.StatusServiceUnavailable, code: "SERVER_UNAVAILABLE", msg: "Server temporarily unavailable: down for maintenance or overloaded"})
		return
	}
	if !s.org.tokens.check(bearer(r)) {
		writeError(w, &sfError{status: http.StatusUnauthorized, code: "INVALID_SESSION_ID", msg: "Session expired or invalid"})
		return
	}
	// A /composite call takes its row locks per write subrequest
	// (composite.go), as Salesforce reports them per subrequest.
	if e := s.admit(w, r, isWrite(r.Method, req.segs) && !isComposite(req.segs)); e != nil {
		writeError(w, e)
		return
	}
	v, ok := strings.CutPrefix(segs[0], "v")
	n, err := strconv.ParseFloat(v, 64)
	if !ok || err != nil || n < minAPIVersion || n > maxAPIVersion || !strings.HasSuffix(v, ".0") {
		writeError(w, notFound())
		return
	}
	req.version = v
	status, body, e := s.route(req)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, status, body)
}

// admit counts the call against the daily quota (ref §2.1), sets
// Sforce-Limit-Info, and applies injected faults and row locks.
func (s *restState) admit(w http.ResponseWriter, r *http.Request, write bool) *sfError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.apiUsed >= s.apiLimit {
		w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", s.apiUsed, s.apiLimit))
		return &sfError{status: http.StatusForbidden, code: "REQUEST_LIMIT_EXCEEDED", msg: "TotalRequests Limit exceeded."}
	}
	s.apiUsed++
	w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", s.apiUsed, s.apiLimit))
	if e := s.takeFaultLocked(r); e != nil {
		return e
	}
	if write && s.lockRows > 0 {
		s.lockRows--
		s.db.seq++
		return badRequest("UNABLE_TO_LOCK_ROW", nil, "unable to obtain exclusive access to this record or 1 records: %s", newID("00T", s.db.seq))
	}
	return nil
}

func (s *restState) takeFaultLocked(r *http.Request) *sfError {
	for i, f := range s.faults {
		if (f.method != "" && !strings.EqualFold(f.method, r.Method)) || !strings.Contains(r.URL.Path, f.path) {
			continue
		}
		f.n--
		if f.n <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return &sfError{status: f.status, code: f.code, msg: f.msg}
	}
	return nil
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	for _, scheme := range []string{"Bearer ", "OAuth "} {
		if len(h) > len(scheme) && strings.EqualFold(h[:len(scheme)], scheme) {
			return strings.TrimSpace(h[len(scheme):])
		}
	}
	return ""
}

func isWrite(method string, segs []string) bool {
	if len(segs) == 0 || (segs[0] != "sobjects" && segs[0] != "composite") {
		return false
	}
	return method == http.MethodPost || method == http.MethodPatch || method == http.MethodDelete
}

// routeKey names a call for Org.Calls: method and resource family.
func routeKey(method string, segs []string) string {
	if len(segs) == 0 {
		return method + " /"
	}
	switch segs[0] {
	case "sobjects":
		if len(segs) == 3 && segs[2] == "describe" {
			return method + " describe"
		}
	case "composite":
		if len(segs) > 1 && segs[1] == "sobjects" {
			return method + " composite/sobjects"
		}
	}
	return method + " " + segs[0]
}

func versions() []map[string]string {
	var out []map[string]string
	for v := minAPIVersion; v <= maxAPIVersion; v++ {
		out = append(out, map[string]string{"label": releaseNames[v], "url": fmt.Sprintf("/services/data/v%d.0", v), "version": fmt.Sprintf("%d.0", v)})
	}
	return out
}

func methodNotAllowed(method, allowed string) *sfError {
	return &sfError{status: http.StatusMethodNotAllowed, code: "METHOD_NOT_ALLOWED", msg: fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are %s", method, allowed)}
}

func (s *restState) route(req *request) (int, any, *sfError) {
	m, segs := req.r.Method, req.segs
	allow := func(want string) *sfError {
		if !slices.Contains(strings.Split(want, ","), m) {
			return methodNotAllowed(m, want)
		}
		return nil
	}
	switch {
	case len(segs) == 0:
		if e := allow("GET"); e != nil {
			return 0, nil, e
		}
		base := "/services/data/v" + req.version
		return http.StatusOK, map[string]string{"query": base + "/query", "sobjects": base + "/sobjects", "composite": base + "/composite"}, nil
	case segs[0] == "query" && len(segs) <= 2:
		if e := allow("GET"); e != nil {
			return 0, nil, e
		}
		if len(segs) == 2 {
			return s.queryMore(req, segs[1])
		}
		return s.query(req)
	case segs[0] == "sobjects":
		return s.routeSObjects(req, allow)
	case segs[0] == "ui-api":
		res := s.serveUIAPI(req)
		return res.status, res.body, nil
	case segs[0] == "graphql" && len(segs) == 1:
		if e := allow("POST"); e != nil {
			return 0, nil, e
		}
		res := s.serveGraphQL(req)
		return res.status, res.body, nil
	case isComposite(segs):
		if e := allow("POST"); e != nil {
			return 0, nil, e
		}
		return s.composite(req)
	case segs[0] == "composite" && len(segs) >= 2 && segs[1] == "sobjects":
		switch {
		case len(segs) == 2 && m == http.MethodPost:
			return s.collectionWrite(req, "create")
		case len(segs) == 2 && m == http.MethodPatch:
			return s.collectionWrite(req, "update")
		case len(segs) == 2 && m == http.MethodDelete:
			return s.collectionDelete(req)
		case len(segs) == 4 && m == http.MethodPatch:
			return s.collectionUpsert(req, segs[2], segs[3])
		case len(segs) == 2 || len(segs) == 4:
			return 0, nil, allow(map[bool]string{true: "POST,PATCH,DELETE", false: "PATCH"}[len(segs) == 2])
		}
	}
	return 0, nil, notFound()
}

func (s *restState) routeSObjects(req *request, allow func(string) *sfError) (int, any, *sfError) {
	segs, m := req.segs, req.r.Method
	if len(segs) == 1 {
		if e := allow("GET"); e != nil {
			return 0, nil, e
		}
		return s.globalDescribe(req)
	}
	s.mu.Lock()
	o := s.db.object(segs[1])
	s.mu.Unlock()
	if o == nil {
		return 0, nil, notFound()
	}
	switch len(segs) {
	case 2:
		if e := allow("GET,POST"); e != nil {
			return 0, nil, e
		}
		if m == http.MethodPost {
			return s.create(req, o)
		}
		return http.StatusOK, map[string]any{"objectDescribe": map[string]any{"name": o.Name, "label": o.Label, "keyPrefix": o.Prefix, "custom": o.Custom}, "recentItems": []any{}}, nil
	case 3:
		if segs[2] == "describe" {
			if e := allow("GET"); e != nil {
				return 0, nil, e
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			return http.StatusOK, o.describe(req.version), nil
		}
		if e := allow("GET,PATCH,DELETE"); e != nil {
			return 0, nil, e
		}
		switch m {
		case http.MethodGet:
			return s.get(req, o, segs[2])
		case http.MethodPatch:
			return s.update(req, o, segs[2])
		}
		return s.delete(o, segs[2])
	case 4:
		if e := allow("GET,PATCH"); e != nil {
			return 0, nil, e
		}
		if m == http.MethodGet {
			return s.getByExternalID(req, o, segs[2], segs[3])
		}
		return s.upsert(req, o, segs[2], segs[3])
	}
	return 0, nil, notFound()
}

// readBody decodes a JSON request body (gzip if the client compressed it,
// which ref §2.1 allows).
func readBody(r *http.Request, into any) *sfError {
	var rd io.Reader = r.Body
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			return badRequest("JSON_PARSER_ERROR", nil, "bad gzip body: %v", err)
		}
		defer gz.Close()
		rd = gz
	}
	dec := json.NewDecoder(io.LimitReader(rd, 32<<20))
	if err := dec.Decode(into); err != nil {
		return badRequest("JSON_PARSER_ERROR", nil, "Unexpected character in the request body: %v", err)
	}
	return nil
}

func (s *restState) globalDescribe(req *request) (int, any, *sfError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []map[string]any
	for _, o := range s.db.objects {
		list = append(list, map[string]any{"name": o.Name, "label": o.Label, "keyPrefix": o.Prefix, "custom": o.Custom,
			"urls": map[string]string{"sobject": "/services/data/v" + req.version + "/sobjects/" + o.Name}})
	}
	slices.SortFunc(list, func(a, b map[string]any) int { return strings.Compare(a["name"].(string), b["name"].(string)) })
	return http.StatusOK, map[string]any{"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": list}, nil
}

func (s *restState) query(req *request) (int, any, *sfError) {
	soql := req.r.URL.Query().Get("q")
	if soql == "" {
		return 0, nil, badRequest("MALFORMED_QUERY", nil, "A query string has to be specified")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.db.parseSOQL(soql)
	if err != nil {
		return 0, nil, err.sfError()
	}
	rows, serr := s.db.execute(q)
	if serr != nil {
		return 0, nil, serr
	}
	if q.count {
		return http.StatusOK, map[string]any{"totalSize": len(rows), "done": true, "records": []any{}}, nil
	}
	recs := make([]map[string]any, len(rows))
	for i, r := range rows {
		recs[i] = s.db.renderQuery(q, r, req.version)
	}
	size := s.pageSizeLocked(req.r)
	if len(recs) <= size {
		return http.StatusOK, map[string]any{"totalSize": len(recs), "done": true, "records": recs}, nil
	}
	s.db.seq++
	loc := newID("01g", s.db.seq)
	s.locators[loc] = &locator{version: req.version, records: recs}
	s.locOrder = append(s.locOrder, loc)
	if len(s.locOrder) > maxLocators {
		delete(s.locators, s.locOrder[0])
		s.locOrder = s.locOrder[1:]
	}
	return http.StatusOK, pageOf(loc, s.locators[loc], 0, size), nil
}

// pageSizeLocked honours Sforce-Query-Options batchSize loosely (200–2000,
// ref §2.2 FAKE) and the SetQueryPageSize knob, whichever is smaller.
func (s *restState) pageSizeLocked(r *http.Request) int {
	size := defaultPageSize
	for _, opt := range strings.Split(r.Header.Get("Sforce-Query-Options"), ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(opt), "batchSize="); ok {
			if n, err := strconv.Atoi(v); err == nil {
				size = min(max(n, 200), defaultPageSize)
			}
		}
	}
	if s.pageSize > 0 {
		size = min(size, s.pageSize)
	}
	return size
}

func pageOf(loc string, l *locator, offset, size int) map[string]any {
	end := min(offset+size, len(l.records))
	page := map[string]any{"totalSize": len(l.records), "done": end >= len(l.records), "records": l.records[offset:end]}
	if end < len(l.records) {
		page["nextRecordsUrl"] = fmt.Sprintf("/services/data/v%s/query/%s-%d", l.version, loc, end)
	}
	return page
}

func (s *restState) queryMore(req *request, seg string) (int, any, *sfError) {
	i := strings.LastIndexByte(seg, '-')
	s.mu.Lock()
	defer s.mu.Unlock()
	if i > 0 {
		offset, err := strconv.Atoi(seg[i+1:])
		if l := s.locators[seg[:i]]; l != nil && err == nil && offset >= 0 && offset <= len(l.records) {
			return http.StatusOK, pageOf(seg[:i], l, offset, s.pageSizeLocked(req.r)), nil
		}
	}
	return 0, nil, badRequest("INVALID_QUERY_LOCATOR", nil, "invalid query locator")
}

func saveResult(id string, created *bool) map[string]any {
	m := map[string]any{"id": id, "success": true, "errors": []any{}}
	if created != nil {
		m["created"] = *created
	}
	return m
}

func (s *restState) create(req *request, o *object) (int, any, *sfError) {
	var body map[string]any
	if e := readBody(req.r, &body); e != nil {
		return 0, nil, e
	}
	var id string
	var err *sfError
	s.apply(s.userID, true, func(t *tx) bool {
		id, err = t.insert(o, body, s.validator(o))
		return err == nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, saveResult(id, nil), nil
}

// validator returns the extra save check of an object (PushTopic's).
func (s *restState) validator(o *object) func(*table, map[string]any, string) *sfError {
	if o.Name == "PushTopic" {
		return s.db.validateTopic
	}
	return nil
}

func (s *restState) get(req *request, o *object, id string) (int, any, *sfError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var fields []*field
	if list := req.r.URL.Query().Get("fields"); list != "" {
		for _, name := range strings.Split(list, ",") {
			f := o.field(strings.TrimSpace(name))
			if f == nil {
				return 0, nil, badRequest("INVALID_FIELD", nil, "No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", name, o.Name)
			}
			fields = append(fields, f)
		}
		fields = append(fields, o.field("Id"))
	}
	_, r, err := s.db.find(o, id)
	if err != nil {
		// A GET of a deleted or unknown record is a plain 404 (ref §2.8).
		if err.status == http.StatusNotFound {
			return 0, nil, notFound()
		}
		return 0, nil, err
	}
	return http.StatusOK, render(o, r, req.version, fields), nil
}

func (s *restState) update(req *request, o *object, id string) (int, any, *sfError) {
	var body map[string]any
	if e := readBody(req.r, &body); e != nil {
		return 0, nil, e
	}
	var err *sfError
	s.apply(s.userID, true, func(t *tx) bool {
		err = t.update(o, id, body, s.validator(o))
		return err == nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (s *restState) delete(o *object, id string) (int, any, *sfError) {
	var err *sfError
	s.apply(s.userID, true, func(t *tx) bool {
		var tb *table
		var r *row
		if tb, r, err = t.d.find(o, id); err == nil {
			err = t.removeRow(tb, r)
		}
		return err == nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// externalField resolves the field of an upsert URL: an External ID field,
// or 404 with the text of ref §2.5.
func externalField(o *object, name string) (*field, *sfError) {
	f := o.field(name)
	if f == nil || !f.ExternalID {
		return nil, &sfError{status: http.StatusNotFound, code: "NOT_FOUND", msg: "Provided external ID field does not exist or is not accessible: " + name}
	}
	return f, nil
}

func (s *restState) getByExternalID(req *request, o *object, fieldName, value string) (int, any, *sfError) {
	f, err := externalField(o, fieldName)
	if err != nil {
		return 0, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tb := s.db.tables[o.Name]
	ids := tb.byExternalID(f.Name, value)
	switch len(ids) {
	case 0:
		return 0, nil, notFound()
	case 1:
		return http.StatusOK, render(o, tb.rows[ids[0]], req.version, nil), nil
	}
	return http.StatusMultipleChoices, recordURLs(o, ids, req.version), nil
}

func recordURLs(o *object, ids []string, version string) []string {
	slices.Sort(ids)
	urls := make([]string, len(ids))
	for i, id := range ids {
		urls[i] = "/services/data/v" + version + "/sobjects/" + o.Name + "/" + id
	}
	return urls
}

// upsert is PATCH sobjects/{type}/{field}/{value} (ref §2.5): 201 created,
// 200 updated (API ≥ 46.0), 300 with the matching records when the value is
// ambiguous, 404 for a field that is not an External ID.
func (s *restState) upsert(req *request, o *object, fieldName, value string) (int, any, *sfError) {
	f, err := externalField(o, fieldName)
	if err != nil {
		return 0, nil, err
	}
	var body map[string]any
	if e := readBody(req.r, &body); e != nil {
		return 0, nil, e
	}
	for k, v := range body {
		if strings.EqualFold(k, "Id") {
			return 0, nil, badRequest("INVALID_FIELD", []string{"Id"}, "Id is not allowed in the request body of an upsert")
		}
		if strings.EqualFold(k, f.Name) && v != value {
			return 0, nil, badRequest("INVALID_FIELD", []string{f.Name}, "The value of the external ID field %s in the request body doesn't match the value in the URL", f.Name)
		}
	}
	updateOnly := req.r.URL.Query().Get("updateOnly") == "true"
	var id string
	var status int
	var ambiguous []string
	s.apply(s.userID, true, func(t *tx) bool {
		ids := t.d.tables[o.Name].byExternalID(f.Name, value)
		switch {
		case len(ids) > 1:
			ambiguous = ids
			return false
		case len(ids) == 1:
			id, status = ids[0], http.StatusOK
			err = t.update(o, id, body, s.validator(o))
		case updateOnly:
			err = notFound()
		default:
			withKey := map[string]any{f.Name: value}
			for k, v := range body {
				withKey[k] = v
			}
			status = http.StatusCreated
			id, err = t.insert(o, withKey, s.validator(o))
		}
		return err == nil
	})
	if ambiguous != nil {
		return http.StatusMultipleChoices, recordURLs(o, ambiguous, req.version), nil
	}
	if err != nil {
		return 0, nil, err
	}
	created := status == http.StatusCreated
	return status, saveResult(id, &created), nil
}
