package sfdc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Composite limits (ref §2.7): at most 25 subrequests in one call, and at
// most 5 of them sObject Collections or query/queryAll requests.
const (
	maxSubrequests      = 25
	maxHeavySubrequests = 5
)

// subrequest is one request of a /composite call (ref §2.7).
type subrequest struct {
	Method string // GET, POST, PATCH, PUT or DELETE
	// URL is from the instance root and already escaped, e.g.
	// /services/data/v62.0/query?q=SELECT+Id+FROM+Task. It may hold
	// @{referenceId.field} references to earlier subrequests.
	URL         string
	ReferenceID string // letters, digits and underscores; unique in the call
	Body        any    // marshalled to JSON; nil for none
}

// heavy reports whether s counts against the limit of 5.
func (s subrequest) heavy() bool {
	p := s.URL
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	segs := strings.Split(strings.Trim(p, "/"), "/")
	if len(segs) < 4 {
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

// subResponse is the outcome of one subrequest. Err is set, from the REST
// error array in Body (ref §2.8), when Status is 400 or more.
type subResponse struct {
	ReferenceID string
	Status      int
	Body        json.RawMessage
	Err         *APIError
}

var referenceIDRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// Composite sends subs in one POST /composite, which Salesforce counts as
// one API call (ref §2.7), and returns one subResponse per subrequest, in
// the order of subs.
//
// The call as a whole is sent like any other: re-authenticated on a 401
// and retried on a transient failure (503, a row lock on the whole
// request, a network error). If any subrequest is a POST, a failure that
// may have reached Salesforce is not replayed (ErrOutcomeUnknown, as for
// Create). A failed subrequest is not retried: its error is in its
// subResponse for its owner to judge, and the top-level error is nil.
func (c *Client) composite(ctx context.Context, allOrNone bool, subs []subrequest) ([]subResponse, error) {
	if len(subs) == 0 {
		return nil, errors.New("sfdc: Composite needs at least one subrequest")
	}
	if len(subs) > maxSubrequests {
		return nil, fmt.Errorf("sfdc: Composite got %d subrequests; Salesforce allows %d", len(subs), maxSubrequests)
	}
	type wireSub struct {
		Method      string `json:"method"`
		URL         string `json:"url"`
		ReferenceID string `json:"referenceId"`
		Body        any    `json:"body,omitempty"`
	}
	wire := make([]wireSub, len(subs))
	seen := map[string]bool{}
	heavy, create := 0, false
	for i, s := range subs {
		switch s.Method {
		case http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
		default:
			return nil, fmt.Errorf("sfdc: subrequest %d: method %q is not GET, POST, PATCH, PUT or DELETE", i, s.Method)
		}
		if !referenceIDRE.MatchString(s.ReferenceID) {
			return nil, fmt.Errorf("sfdc: subrequest %d: referenceId %q must be letters, digits and underscores", i, s.ReferenceID)
		}
		if seen[s.ReferenceID] {
			return nil, fmt.Errorf("sfdc: subrequest %d: referenceId %q is used twice", i, s.ReferenceID)
		}
		seen[s.ReferenceID] = true
		// The URL is instance-relative; anything else would be a request
		// Salesforce refuses, or a path the token must not travel to.
		if !strings.HasPrefix(s.URL, "/services/data/") {
			return nil, fmt.Errorf("sfdc: subrequest %s: url %q must start with /services/data/", s.ReferenceID, s.URL)
		}
		if s.heavy() {
			heavy++
		}
		create = create || s.Method == http.MethodPost
		wire[i] = wireSub{s.Method, s.URL, s.ReferenceID, s.Body}
	}
	if heavy > maxHeavySubrequests {
		return nil, fmt.Errorf("sfdc: Composite got %d query and collection subrequests; Salesforce allows %d", heavy, maxHeavySubrequests)
	}
	// collateSubrequests=false: results are mapped back by referenceId
	// either way, but in-order execution keeps a caller's implicit
	// dependencies (a write before a read of the same rows) intact.
	body := map[string]any{"allOrNone": allOrNone, "collateSubrequests": false, "compositeRequest": wire}
	var out struct {
		CompositeResponse []struct {
			Body           json.RawMessage `json:"body"`
			HTTPStatusCode int             `json:"httpStatusCode"`
			ReferenceID    string          `json:"referenceId"`
		} `json:"compositeResponse"`
	}
	r := request{method: http.MethodPost, path: c.dataPath("composite"), create: create}
	if _, err := c.doJSON(ctx, r, body, &out); err != nil {
		return nil, err
	}
	byRef := make(map[string]int, len(out.CompositeResponse))
	for i, cr := range out.CompositeResponse {
		byRef[cr.ReferenceID] = i
	}
	res := make([]subResponse, len(subs))
	for i, s := range subs {
		j, ok := byRef[s.ReferenceID]
		if !ok {
			return nil, fmt.Errorf("sfdc: composite response has no result for subrequest %s (%d results for %d subrequests)", s.ReferenceID, len(out.CompositeResponse), len(subs))
		}
		cr := out.CompositeResponse[j]
		sr := subResponse{ReferenceID: s.ReferenceID, Status: cr.HTTPStatusCode, Body: cr.Body}
		if cr.HTTPStatusCode >= 400 {
			sr.Err = parseAPIError(s.Method, subPath(s.URL), cr.HTTPStatusCode, cr.Body)
		}
		res[i] = sr
	}
	return res, nil
}

// subPath is a subrequest URL without its query, for error messages: a
// query's SOQL can be long and is the caller's to log.
func subPath(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// querySubrequest builds a query subrequest: the SOQL travels URL-encoded
// in the subrequest's url, inside the composite body, so the 16 KB URI
// limit of a plain GET (ref §2.1, §2.9) does not apply to it.
func (c *Client) querySubrequest(referenceID, soql string) (subrequest, error) {
	if strings.TrimSpace(soql) == "" {
		return subrequest{}, errors.New("sfdc: empty SOQL query")
	}
	return subrequest{Method: http.MethodGet, URL: c.dataPath("query") + "?" + url.Values{"q": {soql}}.Encode(), ReferenceID: referenceID}, nil
}
