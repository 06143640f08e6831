package sfdctest

import (
	"net/http"
	"slices"
	"strings"
)

// The sObject row resources: create, get, update and delete by Id, and get
// and upsert by external Id.

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
