package sfdctest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Error is a Salesforce error returned by the test-side record methods
// (Insert, Update, Delete, Query): the same code and message the REST API
// would send.
type Error struct {
	Status  int
	Code    string
	Message string
	Fields  []string
}

func (e *Error) Error() string { return fmt.Sprintf("sfdctest: %s: %s", e.Code, e.Message) }

func toError(e *sfError) error {
	if e == nil {
		return nil
	}
	return &Error{Status: e.status, Code: e.code, Message: e.msg, Fields: e.fields}
}

// FailNext makes the next n requests whose method matches (empty: any) and
// whose URL path contains pathContains fail with status and a Salesforce
// error body (ref §2.8). An empty errorCode sends message as plain text, as
// a gateway error would. The token endpoint honours it too, with the OAuth
// error shape. A later FailNext with the same method and pathContains
// replaces the earlier one, including what is left of its count; n ≤ 0
// just clears it.
func (o *Org) FailNext(method, pathContains string, n, status int, errorCode, message string) {
	o.rest.mu.Lock()
	defer o.rest.mu.Unlock()
	o.rest.faults = slices.DeleteFunc(o.rest.faults, func(f *fault) bool {
		return strings.EqualFold(f.method, method) && f.path == pathContains
	})
	if n > 0 {
		o.rest.faults = append(o.rest.faults, &fault{method: method, path: pathContains, n: n, status: status, code: errorCode, msg: message})
	}
}

// LockRows makes the next n REST writes fail with 400 UNABLE_TO_LOCK_ROW.
func (o *Org) LockRows(n int) {
	o.rest.mu.Lock()
	defer o.rest.mu.Unlock()
	o.rest.lockRows = max(n, 0)
}

// SetLatency delays every REST call by d.
func (o *Org) SetLatency(d time.Duration) {
	o.rest.mu.Lock()
	defer o.rest.mu.Unlock()
	o.rest.latency = d
}

// SetUnavailable makes every REST call answer 503 SERVER_UNAVAILABLE for d.
func (o *Org) SetUnavailable(d time.Duration) {
	o.rest.mu.Lock()
	defer o.rest.mu.Unlock()
	o.rest.downTill = time.Now().Add(d)
}

// SetQueryPageSize caps query pages at n records (Salesforce's default is
// 2000), so pagination can be tested with few records. n ≤ 0 restores it.
func (o *Org) SetQueryPageSize(n int) {
	o.rest.mu.Lock()
	defer o.rest.mu.Unlock()
	o.rest.pageSize = max(n, 0)
}

// Calls counts REST calls by route, e.g. "GET query", "POST sobjects",
// "PATCH composite/sobjects", "GET describe". The token endpoint and the
// version list are not counted.
func (o *Org) Calls() map[string]int {
	o.rest.mu.Lock()
	defer o.rest.mu.Unlock()
	return maps.Clone(o.rest.calls)
}

// TotalCalls is the sum of Calls.
func (o *Org) TotalCalls() int {
	o.rest.mu.Lock()
	defer o.rest.mu.Unlock()
	n := 0
	for _, c := range o.rest.calls {
		n += c
	}
	return n
}

// ResetCalls zeroes Calls.
func (o *Org) ResetCalls() {
	o.rest.mu.Lock()
	defer o.rest.mu.Unlock()
	o.rest.calls = map[string]int{}
}

// SetAPIUsage sets the daily API counter reported in Sforce-Limit-Info;
// once used reaches limit, calls get 403 REQUEST_LIMIT_EXCEEDED.
func (o *Org) SetAPIUsage(used, limit int) {
	o.rest.mu.Lock()
	defer o.rest.mu.Unlock()
	o.rest.apiUsed, o.rest.apiLimit = used, limit
}

// DropField removes a field from the schema (describe, SOQL, writes), for
// schema-check tests. It reports whether the field existed.
func (o *Org) DropField(object, field string) bool {
	o.rest.mu.Lock()
	defer o.rest.mu.Unlock()
	obj := o.rest.db.object(object)
	if obj == nil || field == "Id" || !obj.dropField(field) {
		return false
	}
	o.rest.refreshTopicsLocked()
	return true
}

// DropObject removes an object from the schema, as if it were never
// deployed. It reports whether the object existed.
func (o *Org) DropObject(object string) bool {
	o.rest.mu.Lock()
	defer o.rest.mu.Unlock()
	obj := o.rest.db.object(object)
	if obj == nil {
		return false
	}
	delete(o.rest.db.objects, strings.ToLower(obj.Name))
	o.rest.refreshTopicsLocked()
	return true
}

// UserID is the Id of the integration user every API session acts as;
// records written through REST carry it in CreatedById/LastModifiedById,
// while Insert/Update/Delete act as a different (admin) user.
func (o *Org) UserID() string { return o.rest.userID }

// Insert creates a record directly, as a user or Flow would: it does not
// count as an API call, fires PushTopic notifications, and validates like
// the API except that External ID uniqueness is not enforced, so tests can
// plant the duplicates the API refuses.
func (o *Org) Insert(object string, fields map[string]any) (string, error) {
	return o.InsertAs(o.rest.adminID, object, fields)
}

// InsertAs is Insert done by user userID (a User Id, e.g. from
// Insert("User", …)): the record's CreatedById, and its OwnerId unless
// fields set one, as when an agent saves a record in the UI.
func (o *Org) InsertAs(userID, object string, fields map[string]any) (string, error) {
	obj, err := o.objectFor(object)
	if err != nil {
		return "", err
	}
	var id string
	var e *sfError
	o.rest.apply(userID, false, func(t *tx) bool {
		id, e = t.insert(obj, fields, o.rest.validator(obj))
		return e == nil
	})
	return id, toError(e)
}

// Update changes a record directly, as a UI edit would, firing PushTopic
// notifications.
func (o *Org) Update(object, id string, fields map[string]any) error {
	obj, err := o.objectFor(object)
	if err != nil {
		return err
	}
	var e *sfError
	o.rest.apply(o.rest.adminID, false, func(t *tx) bool {
		e = t.update(obj, id, fields, o.rest.validator(obj))
		return e == nil
	})
	return toError(e)
}

// Delete removes a record directly, firing PushTopic delete notifications.
func (o *Org) Delete(object, id string) error {
	obj, err := o.objectFor(object)
	if err != nil {
		return err
	}
	var e *sfError
	o.rest.apply(o.rest.adminID, false, func(t *tx) bool {
		var tb *table
		var r *row
		if tb, r, e = t.d.find(obj, id); e == nil {
			e = t.removeRow(tb, r)
		}
		return e == nil
	})
	return toError(e)
}

func (o *Org) objectFor(name string) (*object, error) {
	o.rest.mu.Lock()
	defer o.rest.mu.Unlock()
	obj := o.rest.db.object(name)
	if obj == nil {
		return nil, &Error{Status: 404, Code: "NOT_FOUND", Message: fmt.Sprintf("sObject type '%s' is not supported.", name)}
	}
	return obj, nil
}

// Get returns a record with every field as REST renders it (datetimes as
// Salesforce strings), or false if there is none.
func (o *Org) Get(object, id string) (map[string]any, bool) {
	o.rest.mu.Lock()
	defer o.rest.mu.Unlock()
	obj := o.rest.db.object(object)
	if obj == nil {
		return nil, false
	}
	_, r, err := o.rest.db.find(obj, id)
	if err != nil {
		return nil, false
	}
	return plain(render(obj, r, fmt.Sprint(maxAPIVersion)+".0", nil)), true
}

// Records returns every live record of object in creation order.
func (o *Org) Records(object string) []map[string]any {
	o.rest.mu.Lock()
	defer o.rest.mu.Unlock()
	tb := o.rest.db.table(object)
	if tb == nil {
		return nil
	}
	rows := tb.live()
	out := make([]map[string]any, len(rows))
	for i, r := range rows {
		out[i] = plain(render(tb.obj, r, fmt.Sprint(maxAPIVersion)+".0", nil))
	}
	return out
}

// Query runs SOQL without counting an API call and returns every matching
// record (no pages), rendered as REST does. COUNT() is refused: use the
// length of the result.
func (o *Org) Query(soql string) ([]map[string]any, error) {
	o.rest.mu.Lock()
	defer o.rest.mu.Unlock()
	q, err := o.rest.db.parseSOQL(soql)
	if err != nil {
		return nil, toError(err.sfError())
	}
	if q.count {
		return nil, &Error{Status: 400, Code: "MALFORMED_QUERY", Message: "Org.Query does not do COUNT(); count the records instead"}
	}
	rows, serr := o.rest.db.execute(q)
	if serr != nil {
		return nil, toError(serr)
	}
	out := make([]map[string]any, len(rows))
	for i, r := range rows {
		out[i] = plain(o.rest.db.renderQuery(q, r, fmt.Sprint(maxAPIVersion)+".0"))
	}
	return out, nil
}

// plain drops the attributes entry from a rendered record, so tests can
// compare field maps directly.
func plain(m map[string]any) map[string]any {
	delete(m, "attributes")
	return m
}
