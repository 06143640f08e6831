package sfdctest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
)

const v = "/services/data/v62.0"

var httpc = &http.Client{Timeout: 10 * time.Second}

// tokenReq posts a token request; host, if set, overrides the Host header.
func tokenReq(t testing.TB, org *sfdctest.Org, form url.Values, host string, basic ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, org.URL()+"/services/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if host != "" {
		req.Host = host
	}
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	resp, err := httpc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("token response is not a JSON object: %v", err)
	}
	return resp.StatusCode, body
}

func login(t testing.TB, org *sfdctest.Org) string {
	t.Helper()
	status, body := tokenReq(t, org, url.Values{"grant_type": {"client_credentials"},
		"client_id": {sfdctest.DefaultClientID}, "client_secret": {sfdctest.DefaultClientSecret}}, "")
	if status != 200 {
		t.Fatalf("login: %d %v", status, body)
	}
	return body["access_token"].(string)
}

// api is a bare REST client over real HTTP.
type api struct {
	t   testing.TB
	org *sfdctest.Org
	tok string
}

func newAPI(t testing.TB) *api {
	org := sfdctest.Start(t)
	return &api{t: t, org: org, tok: login(t, org)}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t testing.TB, into any) {
	t.Helper()
	if err := json.Unmarshal(r.body, into); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// restErr decodes the REST error array and returns the first element.
func (r reply) restErr(t *testing.T) (code, msg string) {
	t.Helper()
	var errs []struct {
		Message   string   `json:"message"`
		ErrorCode string   `json:"errorCode"`
		Fields    []string `json:"fields"`
	}
	r.json(t, &errs)
	if len(errs) == 0 {
		t.Fatalf("empty error array")
	}
	return errs[0].ErrorCode, errs[0].Message
}

func (a *api) do(method, path string, body any) reply {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.org.URL()+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpc.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func (a *api) query(soql string) reply {
	return a.do(http.MethodGet, v+"/query?q="+url.QueryEscape(soql), nil)
}

// records runs a query that must succeed and returns its records.
func (a *api) records(soql string) []map[string]any {
	a.t.Helper()
	r := a.query(soql)
	if r.status != 200 {
		a.t.Fatalf("query %q: %d %s", soql, r.status, r.body)
	}
	var page struct {
		Records []map[string]any `json:"records"`
	}
	r.json(a.t, &page)
	return page.Records
}

// create posts a record that must be created and returns its Id.
func (a *api) create(object string, fields map[string]any) string {
	a.t.Helper()
	r := a.do(http.MethodPost, v+"/sobjects/"+object, fields)
	if r.status != 201 {
		a.t.Fatalf("create %s: %d %s", object, r.status, r.body)
	}
	var res struct {
		ID string `json:"id"`
	}
	r.json(a.t, &res)
	return res.ID
}

// wantErr asserts a REST error status and code.
func wantErr(t *testing.T, r reply, status int, code string) string {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d (%s), want %d %s", r.status, r.body, status, code)
	}
	got, msg := r.restErr(t)
	if got != code {
		t.Fatalf("errorCode %s (%s), want %s", got, msg, code)
	}
	return msg
}
