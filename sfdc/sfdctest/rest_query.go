package sfdctest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// GET /query and its next pages: a SOQL result larger than a page is kept
// under a query locator that nextRecordsUrl names (ref §2.2).

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
