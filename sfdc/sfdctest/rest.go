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
	if e := s.takeFaultLocked(r, true); e != nil {
		return e
	}
	if write && s.lockRows > 0 {
		s.lockRows--
		s.db.seq++
		return badRequest("UNABLE_TO_LOCK_ROW", nil, "unable to obtain exclusive access to this record or 1 records: %s", newID("00T", s.db.seq))
	}
	return nil
}

// takeFaultLocked uses up one turn of the first injected fault that
// matches r. A code-less fault is a gateway's, so it answers only a whole
// HTTP call (wholeCall), never a composite subrequest.
func (s *restState) takeFaultLocked(r *http.Request, wholeCall bool) *sfError {
	for i, f := range s.faults {
		if (f.code == "" && !wholeCall) || (f.method != "" && !strings.EqualFold(f.method, r.Method)) || !strings.Contains(r.URL.Path, f.path) {
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
