package sfdctest

import (
	"net/http"
	"strings"
)

// itemResult is one per-record result of sObject Collections (ref §2.6):
// errors carry statusCode, not errorCode.
type itemResult struct {
	ID      string      `json:"id,omitempty"`
	Success bool        `json:"success"`
	Errors  []itemError `json:"errors"`
	Created *bool       `json:"created,omitempty"`
}

type itemError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

func failed(id string, e *sfError) itemResult {
	fields := e.fields
	if fields == nil {
		fields = []string{}
	}
	return itemResult{ID: id, Errors: []itemError{{StatusCode: e.code, Message: e.msg, Fields: fields}}}
}

func succeeded(id string, created *bool) itemResult {
	return itemResult{ID: id, Success: true, Errors: []itemError{}, Created: created}
}

type collectionBody struct {
	AllOrNone bool             `json:"allOrNone"`
	Records   []map[string]any `json:"records"`
}

func tooMany(n int) *sfError {
	return badRequest("EXCEEDED_ID_LIMIT", nil, "record limit reached. cannot submit more than %d records into this call (got %d)", maxCollection, n)
}

// finish applies allOrNone: if any item failed, every otherwise successful
// item is reported as rolled back and the transaction is not committed.
func finish(results []itemResult, allOrNone bool) bool {
	anyFailed := false
	for _, r := range results {
		anyFailed = anyFailed || !r.Success
	}
	if !anyFailed || !allOrNone {
		return true
	}
	for i, r := range results {
		if r.Success {
			results[i] = failed("", badRequest("ALL_OR_NONE_OPERATION_ROLLED_BACK", []string{},
				"Record rolled back because not all records were valid and the request was using AllOrNone header"))
		}
	}
	return false
}

// recordType reads attributes.type, which every collection record needs.
func (s *restState) recordType(rec map[string]any) (*object, *sfError) {
	attrs, _ := rec["attributes"].(map[string]any)
	name, _ := attrs["type"].(string)
	if name == "" {
		return nil, badRequest("INVALID_TYPE", nil, "Must send a concrete entity type.")
	}
	s.mu.Lock()
	o := s.db.object(name)
	s.mu.Unlock()
	if o == nil {
		return nil, badRequest("INVALID_TYPE", nil, "sObject type '%s' is not supported.", name)
	}
	return o, nil
}

// collectionWrite is POST (create) and PATCH (update) on
// composite/sobjects.
func (s *restState) collectionWrite(req *request, op string) (int, any, *sfError) {
	var body collectionBody
	if e := readBody(req.r, &body); e != nil {
		return 0, nil, e
	}
	if len(body.Records) > maxCollection {
		return 0, nil, tooMany(len(body.Records))
	}
	types := make([]*object, len(body.Records))
	for i, rec := range body.Records {
		o, e := s.recordType(rec)
		if e != nil {
			return 0, nil, e
		}
		types[i] = o
	}
	if op == "update" {
		if e := duplicateID(body.Records); e != nil {
			return 0, nil, e
		}
	}
	results := make([]itemResult, len(body.Records))
	s.apply(s.userID, true, func(t *tx) bool {
		for i, rec := range body.Records {
			o := types[i]
			if op == "create" {
				id, err := t.insert(o, rec, s.validator(o))
				if err != nil {
					results[i] = failed("", err)
				} else {
					results[i] = succeeded(id, nil)
				}
				continue
			}
			results[i] = s.updateItem(t, o, rec)
		}
		return finish(results, body.AllOrNone)
	})
	return http.StatusOK, results, nil
}

// duplicateID refuses an update that names one record twice. Salesforce
// refuses the whole request and writes none of it: the same check as
// Apex's "System.ListException: Duplicate id in list: <Id>" on a DML list,
// which is the message a collection gets; 400 with INVALID_BATCH_REQUEST is
// what the REST family documents for one record twice in one batch (UI API
// "Update a Batch of Records": "You can't perform multiple operations on
// the same record in one request … 400 … INVALID_BATCH_REQUEST"). The code
// for /composite/sobjects itself is UNVERIFIED; that it is a whole-request
// refusal, not a per-record error, is what production showed (issue 8.4:
// every job of the batch retried). A 15-character Id and its 18-character
// form name the same record.
func duplicateID(records []map[string]any) *sfError {
	seen := make(map[string]bool, len(records))
	for _, rec := range records {
		var id string
		for k, v := range rec {
			if strings.EqualFold(k, "Id") {
				id, _ = v.(string)
			}
		}
		id18, ok := canonicalID(id)
		if !ok {
			continue // a per-record MISSING_ARGUMENT or MALFORMED_ID
		}
		if seen[id18] {
			return badRequest("INVALID_BATCH_REQUEST", []string{}, "Duplicate id in list: %s", id18)
		}
		seen[id18] = true
	}
	return nil
}

func (s *restState) updateItem(t *tx, o *object, rec map[string]any) itemResult {
	fields := map[string]any{}
	id := ""
	for k, v := range rec {
		if strings.EqualFold(k, "Id") {
			id, _ = v.(string)
			continue
		}
		fields[k] = v
	}
	if id == "" {
		return failed("", badRequest("MISSING_ARGUMENT", []string{"Id"}, "Id not specified in an update call"))
	}
	if id18, ok := canonicalID(id); !ok || id18[:3] != o.Prefix {
		return failed("", badRequest("MALFORMED_ID", []string{"Id"}, "%s ID: id value of incorrect type: %s", o.Label, id))
	}
	if err := t.update(o, id, fields, s.validator(o)); err != nil {
		if err.code == "NOT_FOUND" {
			err = badRequest("INVALID_CROSS_REFERENCE_KEY", []string{}, "invalid cross reference id")
		}
		return failed(id, err)
	}
	id18, _ := canonicalID(id)
	return succeeded(id18, nil)
}

// collectionDelete is DELETE composite/sobjects?ids=…&allOrNone=….
func (s *restState) collectionDelete(req *request) (int, any, *sfError) {
	q := req.r.URL.Query()
	var ids []string
	for _, id := range strings.Split(q.Get("ids"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return 0, nil, badRequest("MISSING_ARGUMENT", nil, "ids parameter is required")
	}
	if len(ids) > maxCollection {
		return 0, nil, tooMany(len(ids))
	}
	results := make([]itemResult, len(ids))
	s.apply(s.userID, true, func(t *tx) bool {
		for i, id := range ids {
			if err := t.remove(id); err != nil {
				results[i] = failed(id, err)
			} else {
				results[i] = succeeded(id, nil)
			}
		}
		return finish(results, q.Get("allOrNone") == "true")
	})
	return http.StatusOK, results, nil
}

// collectionUpsert is PATCH composite/sobjects/{type}/{field}: one type,
// no Id, the External ID value inside each record (ref §2.6).
func (s *restState) collectionUpsert(req *request, typeName, fieldName string) (int, any, *sfError) {
	s.mu.Lock()
	o := s.db.object(typeName)
	s.mu.Unlock()
	if o == nil {
		return 0, nil, notFound()
	}
	f, err := externalField(o, fieldName)
	if err != nil {
		return 0, nil, err
	}
	var body collectionBody
	if e := readBody(req.r, &body); e != nil {
		return 0, nil, e
	}
	if len(body.Records) > maxCollection {
		return 0, nil, tooMany(len(body.Records))
	}
	keys := make([]string, len(body.Records))
	seen := map[string]int{}
	for i, rec := range body.Records {
		for k, v := range rec {
			if strings.EqualFold(k, f.Name) {
				keys[i], _ = v.(string)
			}
		}
		seen[strings.ToLower(keys[i])]++
	}
	results := make([]itemResult, len(body.Records))
	s.apply(s.userID, true, func(t *tx) bool {
		for i, rec := range body.Records {
			key := keys[i]
			switch {
			case key == "":
				results[i] = failed("", badRequest("MISSING_ARGUMENT", []string{f.Name}, "%s not specified", f.Name))
				continue
			case seen[strings.ToLower(key)] > 1:
				results[i] = failed("", badRequest("DUPLICATE_EXTERNAL_ID", []string{f.Name}, "Duplicate external id specified: %s", key))
				continue
			}
			if _, hasID := rec["Id"]; hasID {
				results[i] = failed("", badRequest("INVALID_FIELD", []string{"Id"}, "Id is not allowed in an upsert by external ID"))
				continue
			}
			ids := t.d.tables[o.Name].byExternalID(f.Name, key)
			switch len(ids) {
			case 0:
				id, err := t.insert(o, rec, s.validator(o))
				if err != nil {
					results[i] = failed("", err)
				} else {
					created := true
					results[i] = succeeded(id, &created)
				}
			case 1:
				if err := t.update(o, ids[0], rec, s.validator(o)); err != nil {
					results[i] = failed(ids[0], err)
				} else {
					created := false
					results[i] = succeeded(ids[0], &created)
				}
			default:
				results[i] = failed("", badRequest("DUPLICATE_EXTERNAL_ID", []string{f.Name},
					"%s: more than one record found for external id field: %v", f.Name, recordURLs(o, ids, req.version)))
			}
		}
		return finish(results, body.AllOrNone)
	})
	return http.StatusOK, results, nil
}
