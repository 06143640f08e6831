package sfdc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"reflect"
	"strings"
)

// collectionLimit is the most records one sObject Collections request may
// carry (ref §2.6).
const collectionLimit = 200

// queryPage is one page of a SOQL result. TotalSize is the size of the whole
// result on every page (ref §2.2).
type queryPage struct {
	TotalSize int               `json:"totalSize"`
	Done      bool              `json:"done"`
	Records   []json.RawMessage `json:"records"`
	NextURL   string            `json:"nextRecordsUrl"`
}

// queryPages runs soql and calls fn with each page, following
// nextRecordsUrl until done (ref §2.2). fn's error stops the iteration and
// is returned.
func (c *Client) queryPages(ctx context.Context, soql string, fn func(queryPage) error) error {
	if strings.TrimSpace(soql) == "" {
		return errors.New("sfdc: empty SOQL query")
	}
	var first queryPage
	if _, err := c.doJSON(ctx, request{method: http.MethodGet, path: c.dataPath("query"), query: url.Values{"q": {soql}}}, nil, &first); err != nil {
		return err
	}
	return c.followPages(ctx, first, fn)
}

// followPages calls fn with page, then GETs and passes on each later page
// of its result until done (ref §2.2): queryPages and the engine's Query,
// whose first page may come out of a composite, share it.
func (c *Client) followPages(ctx context.Context, page queryPage, fn func(queryPage) error) error {
	for {
		if err := fn(page); err != nil {
			return err
		}
		if page.Done || page.NextURL == "" {
			return nil
		}
		// The locator URL is instance-relative; refuse anything else rather
		// than send the bearer token to another host.
		if !strings.HasPrefix(page.NextURL, "/services/data/") {
			return fmt.Errorf("sfdc: unexpected nextRecordsUrl %q", page.NextURL)
		}
		next := request{method: http.MethodGet, path: page.NextURL}
		page = queryPage{}
		if _, err := c.doJSON(ctx, next, nil, &page); err != nil {
			return err
		}
	}
}

// Query runs soql and decodes every record of every page into dst, a
// pointer to a slice of structs or maps, replacing its contents. Records
// carry an "attributes" object that struct targets may simply not declare.
func (c *Client) Query(ctx context.Context, soql string, dst any) error {
	add, err := recordAppender(dst)
	if err != nil {
		return err
	}
	return c.queryPages(ctx, soql, func(p queryPage) error { return add(p.Records) })
}

// recordAppender empties dst, a pointer to a slice, and returns a function
// that decodes records onto its end.
func recordAppender(dst any) (func([]json.RawMessage) error, error) {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Slice {
		return nil, fmt.Errorf("sfdc: Query needs a non-nil pointer to a slice, got %T", dst)
	}
	slice := v.Elem()
	slice.SetLen(0)
	elemType := slice.Type().Elem()
	return func(records []json.RawMessage) error {
		for _, raw := range records {
			e := reflect.New(elemType)
			if err := json.Unmarshal(raw, e.Interface()); err != nil {
				return fmt.Errorf("sfdc: decode query record into %s: %w", elemType, err)
			}
			slice.Set(reflect.Append(slice, e.Elem()))
		}
		return nil
	}, nil
}

// SaveResult is the outcome of one record write (ref §2.3, §2.6). Created is
// meaningful for upserts only.
type SaveResult struct {
	ID      string       `json:"id,omitempty"`
	Success bool         `json:"success"`
	Created bool         `json:"created,omitempty"`
	Errors  []FieldError `json:"errors"`
}

// Err is nil for a saved record and a *RecordError otherwise.
func (s SaveResult) Err() error {
	if s.Success {
		return nil
	}
	return &RecordError{ID: s.ID, Errors: s.Errors}
}

// Create inserts one record and returns its Id. record is a map or a struct
// marshalling to a JSON object without Id.
func (c *Client) Create(ctx context.Context, object string, record any) (string, error) {
	if err := need("Create", "object", object); err != nil {
		return "", err
	}
	fields, err := recordObject(record)
	if err != nil {
		return "", err
	}
	if hasID(fields) {
		return "", errors.New("sfdc: Create record must not carry an Id")
	}
	var res SaveResult
	if _, err := c.doJSON(ctx, request{method: http.MethodPost, path: c.dataPath("sobjects", object), create: true}, fields, &res); err != nil {
		return "", err
	}
	if err := res.Err(); err != nil {
		return "", err
	}
	return res.ID, nil
}

// Update changes the given fields of one record (204 No Content, ref §2.4).
func (c *Client) Update(ctx context.Context, object, id string, record any) error {
	if err := need("Update", "object", object, "id", id); err != nil {
		return err
	}
	fields, err := recordObject(record)
	if err != nil {
		return err
	}
	delete(fields, "Id")
	delete(fields, "id")
	_, err = c.doJSON(ctx, request{method: http.MethodPatch, path: c.dataPath("sobjects", object, id)}, fields, nil)
	return err
}

// Upsert writes record to the one record whose extField equals extValue,
// creating it if there is none (ref §2.5). It returns the record Id and
// whether it was created. extField in record is dropped: the value travels
// in the URL, and Salesforce refuses it in the body. Several matches give a *MultipleMatchesError and
// write nothing; an unknown object or external ID field gives an *APIError
// for which IsNotFound holds. The Id is empty only if the org answered
// 204 (API ≤ 45.0).
func (c *Client) Upsert(ctx context.Context, object, extField, extValue string, record any) (id string, created bool, err error) {
	if err := need("Upsert", "object", object, "external ID field", extField, "external ID value", extValue); err != nil {
		return "", false, err
	}
	fields, err := recordObject(record)
	if err != nil {
		return "", false, err
	}
	// ref §2.5: neither Id nor the external ID field may be in the body.
	if hasID(fields) {
		return "", false, errors.New("sfdc: Upsert record must not carry an Id")
	}
	delete(fields, extField)
	r := request{method: http.MethodPatch, path: c.dataPath("sobjects", object, extField, extValue)}
	b, err := json.Marshal(fields)
	if err != nil {
		return "", false, fmt.Errorf("sfdc: encode upsert body: %w", err)
	}
	r.body = b
	resp, err := c.send(ctx, r)
	if err != nil {
		return "", false, err
	}
	switch resp.status {
	case http.StatusMultipleChoices:
		return "", false, &MultipleMatchesError{Object: object, Field: extField, Value: extValue, IDs: matchIDs(resp.body)}
	case http.StatusNoContent:
		return "", false, nil
	case http.StatusOK, http.StatusCreated:
		var res SaveResult
		if err := json.Unmarshal(resp.body, &res); err != nil {
			return "", false, fmt.Errorf("sfdc: decode upsert response: %w", err)
		}
		if err := res.Err(); err != nil {
			return "", false, err
		}
		return res.ID, resp.status == http.StatusCreated, nil
	}
	return "", false, parseAPIError(r.method, r.path, resp.status, resp.body)
}

// matchIDs reads the Ids out of a 300 answer, which lists the matching
// records either as URLs or as record objects.
func matchIDs(body []byte) []string {
	var ids []string
	var urls []string
	if json.Unmarshal(body, &urls) == nil {
		for _, u := range urls {
			ids = append(ids, path.Base(u))
		}
		return ids
	}
	var recs []struct {
		ID         string `json:"Id"`
		Attributes struct {
			URL string `json:"url"`
		} `json:"attributes"`
	}
	if json.Unmarshal(body, &recs) == nil {
		for _, r := range recs {
			if r.ID == "" && r.Attributes.URL != "" {
				r.ID = path.Base(r.Attributes.URL)
			}
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// createMany inserts records (a slice of maps or structs, none with an Id)
// through sObject Collections, 200 per request, and returns one SaveResult
// per record in input order (ref §2.6).
//
// allOrNone is applied per request of 200, the most Salesforce allows in
// one transaction: with allOrNone, a failing request rolls back its own
// records only, earlier requests stay committed, and later ones are not sent
// (their results carry CodeNotAttempted). The error is non-nil only when a
// request as a whole failed; per-record failures are in the results.
func (c *Client) createMany(ctx context.Context, object string, records any, allOrNone bool) ([]SaveResult, error) {
	objs, err := collectionRecords(object, records, createCheck)
	if err != nil {
		return nil, err
	}
	return c.collection(ctx, request{method: http.MethodPost, path: c.dataPath("composite", "sobjects"), create: true}, objs, allOrNone)
}

// collectionBody is the body of an sObject Collections request (ref §2.6).
type collectionBody struct {
	AllOrNone bool                         `json:"allOrNone"`
	Records   []map[string]json.RawMessage `json:"records"`
}

// The record checks of createMany and of the engine's Save (org_adapter.go).
func createCheck(i int, f map[string]json.RawMessage) error {
	if hasID(f) {
		return fmt.Errorf("sfdc: create record %d must not carry an Id", i)
	}
	return nil
}

func updateCheck(i int, f map[string]json.RawMessage) error {
	if !hasID(f) {
		return fmt.Errorf("sfdc: update record %d has no Id", i)
	}
	return nil
}

func upsertCheck(extField string) func(int, map[string]json.RawMessage) error {
	return func(i int, f map[string]json.RawMessage) error {
		if hasID(f) {
			return fmt.Errorf("sfdc: upsert record %d must not carry an Id", i)
		}
		if v, ok := f[extField]; !ok || string(v) == "null" || string(v) == `""` {
			return fmt.Errorf("sfdc: upsert record %d has no %s value", i, extField)
		}
		return nil
	}
}

func (c *Client) collection(ctx context.Context, r request, objs []map[string]json.RawMessage, allOrNone bool) ([]SaveResult, error) {
	results := make([]SaveResult, 0, len(objs))
	for start := 0; start < len(objs); start += collectionLimit {
		chunk := objs[start:min(start+collectionLimit, len(objs))]
		var res []SaveResult
		_, err := c.doJSON(ctx, r, collectionBody{allOrNone, chunk}, &res)
		if err == nil && len(res) != len(chunk) {
			err = fmt.Errorf("sfdc: collection %s returned %d results for %d records", r.method, len(res), len(chunk))
		}
		if stop, err := appendChunk(&results, res, err, len(objs), allOrNone); stop {
			return results, err
		}
	}
	return results, nil
}

// appendChunk adds one request's results and decides whether to go on.
// When stopping, the unsent records are filled in as CodeNotAttempted so the
// caller always gets one result per input record.
func appendChunk(results *[]SaveResult, res []SaveResult, err error, total int, allOrNone bool) (stop bool, _ error) {
	if err == nil {
		*results = append(*results, res...)
		failed := false
		for _, s := range res {
			failed = failed || !s.Success
		}
		if !(allOrNone && failed) {
			return false, nil
		}
	}
	for len(*results) < total {
		*results = append(*results, SaveResult{Errors: []FieldError{{
			Code:    CodeNotAttempted,
			Message: "not sent: an earlier request of this allOrNone batch failed",
		}}})
	}
	return true, err
}

// collectionRecords marshals each element of records (a slice) to a JSON
// object, checks it, and adds the attributes.type every collection record
// needs (ref §2.6).
func collectionRecords(object string, records any, check func(int, map[string]json.RawMessage) error) ([]map[string]json.RawMessage, error) {
	if err := need("collection", "object", object); err != nil {
		return nil, err
	}
	v := reflect.ValueOf(records)
	if v.Kind() != reflect.Slice {
		return nil, fmt.Errorf("sfdc: collection records must be a slice, got %T", records)
	}
	attrs, _ := json.Marshal(map[string]string{"type": object})
	out := make([]map[string]json.RawMessage, v.Len())
	for i := range out {
		f, err := recordObject(v.Index(i).Interface())
		if err != nil {
			return nil, fmt.Errorf("sfdc: record %d: %w", i, err)
		}
		if err := check(i, f); err != nil {
			return nil, err
		}
		f["attributes"] = attrs
		out[i] = f
	}
	return out, nil
}

// recordObject marshals a record (map or struct) to its JSON fields.
func recordObject(record any) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(record)
	if err != nil {
		return nil, fmt.Errorf("sfdc: encode record: %w", err)
	}
	var f map[string]json.RawMessage
	if err := json.Unmarshal(b, &f); err != nil || f == nil {
		return nil, fmt.Errorf("sfdc: record must marshal to a JSON object, got %T", record)
	}
	return f, nil
}

func hasID(f map[string]json.RawMessage) bool {
	for _, k := range []string{"Id", "id"} {
		if v, ok := f[k]; ok && string(v) != "null" && string(v) != `""` {
			return true
		}
	}
	return false
}

// need checks required string arguments, given as name/value pairs.
func need(op string, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return fmt.Errorf("sfdc: %s needs a non-empty %s", op, pairs[i])
		}
	}
	return nil
}

// ObjectDescribe is the part of an sObject describe switchboard uses.
type ObjectDescribe struct {
	Name   string          `json:"name"`
	Label  string          `json:"label"`
	Custom bool            `json:"custom"`
	Fields []FieldDescribe `json:"fields"`
}

// FieldDescribe is one field of a describe.
type FieldDescribe struct {
	Name           string          `json:"name"`
	Type           string          `json:"type"` // string, picklist, reference, datetime, textarea, phone, boolean, double, …
	Length         int             `json:"length"`
	ExternalID     bool            `json:"externalId"`
	Unique         bool            `json:"unique"`
	Nillable       bool            `json:"nillable"`
	Custom         bool            `json:"custom"`
	ReferenceTo    []string        `json:"referenceTo"`
	PicklistValues []PicklistValue `json:"picklistValues"`
}

// PicklistValue is one value of a picklist field.
type PicklistValue struct {
	Value  string `json:"value"`
	Label  string `json:"label"`
	Active bool   `json:"active"`
}

// Field finds a field by API name; API names are case-insensitive.
func (d *ObjectDescribe) Field(name string) (FieldDescribe, bool) {
	for _, f := range d.Fields {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return FieldDescribe{}, false
}

// Describe returns an object's fields. An object that does not exist (or
// that the integration user cannot see) gives an error for which IsNotFound
// holds.
func (c *Client) Describe(ctx context.Context, object string) (*ObjectDescribe, error) {
	if err := need("Describe", "object", object); err != nil {
		return nil, err
	}
	var d ObjectDescribe
	if _, err := c.doJSON(ctx, request{method: http.MethodGet, path: c.dataPath("sobjects", object, "describe")}, nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}
