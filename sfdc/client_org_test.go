package sfdc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
	"github.com/switchboard/switchboard/sfdc/soql"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func authConfig(org *sfdctest.Org, flow string) AuthConfig {
	cfg := AuthConfig{Flow: flow, LoginURL: org.URL(), ClientID: sfdctest.DefaultClientID}
	switch flow {
	case FlowJWT:
		cfg.Username, cfg.PrivateKeyPEM = sfdctest.DefaultUsername, org.JWTPrivateKeyPEM()
	case FlowClientCredentials:
		cfg.ClientSecret = sfdctest.DefaultClientSecret
	case FlowRefreshToken:
		cfg.ClientSecret, cfg.RefreshToken = sfdctest.DefaultClientSecret, sfdctest.DefaultRefreshToken
	case FlowPassword:
		cfg.ClientSecret = sfdctest.DefaultClientSecret
		cfg.Username, cfg.Password, cfg.SecurityToken = sfdctest.DefaultUsername, sfdctest.DefaultPassword, sfdctest.DefaultSecurityToken
	}
	return cfg
}

func newAuth(t *testing.T, cfg AuthConfig) *Auth {
	t.Helper()
	a, err := NewAuth(cfg, &http.Client{Timeout: 10 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// newClient returns a client on org with fast retries; tweak adjusts the config.
func newClient(t *testing.T, org *sfdctest.Org, tweak ...func(*ClientConfig)) *Client {
	t.Helper()
	cfg := ClientConfig{HTTPClient: &http.Client{Timeout: 10 * time.Second}, RetryBaseDelay: time.Millisecond, RetryMaxDelay: 5 * time.Millisecond}
	for _, f := range tweak {
		f(&cfg)
	}
	c, err := NewClient(newAuth(t, authConfig(org, FlowClientCredentials)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type taskRow struct {
	ID      string `json:"Id"`
	Subject string `json:"Subject"`
}

func TestLoginWithEveryGrant(t *testing.T) {
	org := sfdctest.Start(t)
	for _, flow := range []string{FlowJWT, FlowClientCredentials, FlowRefreshToken, FlowPassword} {
		t.Run(flow, func(t *testing.T) {
			a := newAuth(t, authConfig(org, flow))
			before := org.Issued()
			creds, err := a.Credentials(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if creds.AccessToken == "" || creds.InstanceURL != org.URL() {
				t.Fatalf("credentials %+v, want a token and instance %s", creds, org.URL())
			}
			again, err := a.Credentials(context.Background())
			if err != nil || again != creds || org.Issued() != before+1 {
				t.Fatalf("second Credentials call logged in again (issued %d → %d)", before, org.Issued())
			}
			c, err := NewClient(a, ClientConfig{})
			if err != nil {
				t.Fatal(err)
			}
			var rows []taskRow
			if err := c.Query(context.Background(), "SELECT Id, Subject FROM Task", &rows); err != nil {
				t.Fatalf("REST call with %s token: %v", flow, err)
			}
		})
	}
}

func TestLoginRejectionsAreAuthErrors(t *testing.T) {
	org := sfdctest.Start(t)
	cases := map[string]func(*AuthConfig){
		"bad secret":   func(c *AuthConfig) { c.Flow, c.ClientSecret = FlowClientCredentials, "wrong" },
		"bad password": func(c *AuthConfig) { *c = authConfig(org, FlowPassword); c.Password = "wrong" },
		"bad client": func(c *AuthConfig) {
			c.Flow, c.ClientID, c.ClientSecret = FlowClientCredentials, "nope", sfdctest.DefaultClientSecret
		},
		"bad refresh": func(c *AuthConfig) { *c = authConfig(org, FlowRefreshToken); c.RefreshToken = "revoked" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := authConfig(org, FlowClientCredentials)
			mutate(&cfg)
			_, err := newAuth(t, cfg).Credentials(context.Background())
			var ae *AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v (%T), want *AuthError", err, err)
			}
			if ae.Status != http.StatusBadRequest || !strings.HasPrefix(ae.Code, "invalid_") || ae.Description == "" {
				t.Fatalf("AuthError %+v: want HTTP 400, an invalid_* code and a description", ae)
			}
			if !strings.Contains(err.Error(), ae.Description) || IsRetryable(err) {
				t.Fatalf("error %q must carry the description and not be retryable", err)
			}
		})
	}
}

func TestRevokedTokenCausesOneLoginForConcurrentRequests(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org)
	ctx := context.Background()
	if _, err := c.Versions(ctx); err != nil {
		t.Fatal(err)
	}
	before := org.Issued()
	org.RevokeTokens()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			var rows []taskRow
			errs <- c.Query(ctx, "SELECT Id FROM Task", &rows)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := org.Issued(); got != before+1 {
		t.Fatalf("20 requests after revocation issued %d new tokens, want 1", got-before)
	}
}

func TestRepeated401IsFinalAfterOneRelogin(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org)
	ctx := context.Background()
	if _, err := c.Versions(ctx); err != nil {
		t.Fatal(err)
	}
	before, calls := org.Issued(), c.Calls()
	org.FailNext("GET", "/query", 5, 401, CodeInvalidSession, "Session expired or invalid")
	var rows []taskRow
	err := c.Query(ctx, "SELECT Id FROM Task", &rows)
	var ae *APIError
	if !errors.Is(err, ErrSessionInvalid) || !errors.As(err, &ae) || ae.Status != 401 {
		t.Fatalf("error %v, want ErrSessionInvalid wrapping the 401", err)
	}
	if org.Issued() != before+1 || c.Calls()-calls != 2 {
		t.Fatalf("logins %d, requests %d; want 1 re-login and 2 requests", org.Issued()-before, c.Calls()-calls)
	}

	// ref §1.9: this text is not cured by a new token, so no login at all.
	before, calls = org.Issued(), c.Calls()
	org.FailNext("GET", "/query", 1, 401, CodeInvalidSession, "This session is not valid for use with the REST API")
	if err := c.Query(ctx, "SELECT Id FROM Task", &rows); !errors.Is(err, ErrSessionInvalid) {
		t.Fatalf("error %v, want ErrSessionInvalid", err)
	}
	if org.Issued() != before || c.Calls()-calls != 1 {
		t.Fatalf("REST-not-allowed 401: %d logins, %d requests; want 0 and 1", org.Issued()-before, c.Calls()-calls)
	}
}

func TestTransientErrorsAreRetried(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org)
	ctx := context.Background()
	id, err := c.Create(ctx, "Task", map[string]any{"Subject": "lock me"})
	if err != nil {
		t.Fatal(err)
	}

	calls := c.Calls()
	org.LockRows(2)
	if err := c.Update(ctx, "Task", id, map[string]any{"Subject": "locked twice"}); err != nil {
		t.Fatalf("update after two UNABLE_TO_LOCK_ROW: %v", err)
	}
	if n := c.Calls() - calls; n != 3 {
		t.Fatalf("row lock twice then success took %d requests, want 3", n)
	}

	calls = c.Calls()
	org.FailNext("GET", "/query", 1, 503, CodeServerUnavailable, "server is unavailable")
	var rows []taskRow
	if err := c.Query(ctx, "SELECT Id, Subject FROM Task WHERE Id = "+soql.Quote(id), &rows); err != nil || len(rows) != 1 || rows[0].Subject != "locked twice" {
		t.Fatalf("query after 503: %v %+v", err, rows)
	}
	if n := c.Calls() - calls; n != 2 {
		t.Fatalf("503 then success took %d requests, want 2", n)
	}

	calls = c.Calls()
	org.FailNext("PATCH", "/sobjects/Task", 1, 400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Subject is too rude")
	err = c.Update(ctx, "Task", id, map[string]any{"Subject": "rude"})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "FIELD_CUSTOM_VALIDATION_EXCEPTION" || ae.Message != "Subject is too rude" || IsRetryable(err) {
		t.Fatalf("validation error %v, want the APIError, not retryable", err)
	}
	if n := c.Calls() - calls; n != 1 {
		t.Fatalf("400 validation took %d requests, want 1 (no retry)", n)
	}

	calls = c.Calls()
	org.FailNext("GET", "/query", 10, 403, CodeRequestLimitExceeded, "TotalRequests Limit exceeded.")
	if err := c.Query(ctx, "SELECT Id FROM Task", &rows); !errors.As(err, &ae) || ae.Code != CodeRequestLimitExceeded {
		t.Fatalf("daily limit: %v", err)
	}
	if n := c.Calls() - calls; n != 1 {
		t.Fatalf("daily limit took %d requests, want 1 (no retry)", n)
	}
}

func TestCreateIsReplayedOnlyWhenItCannotHaveLanded(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org, func(cfg *ClientConfig) { cfg.MaxRetries = 2 })
	ctx := context.Background()

	// A 502 may come after the insert committed: never replay a create on it.
	calls := c.Calls()
	org.FailNext("POST", "/sobjects/Task", 1, 502, "", "Salesforce Edge wasn't able to communicate")
	_, err := c.Create(ctx, "Task", map[string]any{"Subject": "maybe landed"})
	var ae *APIError
	if !errors.Is(err, ErrOutcomeUnknown) || !errors.As(err, &ae) || ae.Status != 502 || IsRetryable(err) {
		t.Fatalf("create after 502: %v, want ErrOutcomeUnknown wrapping the 502, not retryable", err)
	}
	if n := c.Calls() - calls; n != 1 {
		t.Fatalf("create after 502: %d requests, want 1", n)
	}
	// A 503 rejects the call outright, so the create is replayed.
	org.FailNext("POST", "/sobjects/Task", 1, 503, CodeServerUnavailable, "down for maintenance")
	if _, err := c.Create(ctx, "Task", map[string]any{"Subject": "after 503"}); err != nil {
		t.Fatalf("create after 503: %v", err)
	}

	// A dial failure sent nothing, so even a create is retried.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	dc, err := NewClient(fixedCreds{Credentials{AccessToken: "x", InstanceURL: dead}}, ClientConfig{MaxRetries: 2, RetryBaseDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dc.Create(ctx, "Task", map[string]any{"Subject": "nowhere"}); err == nil || !IsRetryable(err) {
		t.Fatalf("create against a closed port: %v, want a retryable network error", err)
	}
	if dc.Calls() != 3 {
		t.Fatalf("dial failures: %d attempts, want 3 (1 + 2 retries)", dc.Calls())
	}
}

// fixedCreds is a TokenSource with one fixed session, for clients pointed at
// something that is not an org.
type fixedCreds struct{ c Credentials }

func (f fixedCreds) Credentials(context.Context) (Credentials, error) { return f.c, nil }
func (f fixedCreds) Reauthenticate(context.Context, Credentials) (Credentials, error) {
	return f.c, nil
}

func TestQueryFollowsPagesAndEscapesLiterals(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org)
	ctx := context.Background()
	org.SetQueryPageSize(200)
	for i := range 250 {
		if _, err := c.Create(ctx, "Task", map[string]any{"Subject": fmt.Sprintf("page %03d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	calls := c.Calls()
	var pages, total int
	err := c.queryPages(ctx, "SELECT Id, Subject FROM Task", func(p queryPage) error {
		pages++
		total += len(p.Records)
		if p.TotalSize != 250 {
			t.Errorf("page %d totalSize %d, want 250", pages, p.TotalSize)
		}
		return nil
	})
	if err != nil || pages != 2 || total != 250 || c.Calls()-calls != 2 {
		t.Fatalf("queryPages: err %v, %d pages, %d records, %d requests; want 2 pages, 250 records, 2 requests", err, pages, total, c.Calls()-calls)
	}
	var rows []taskRow
	if err := c.Query(ctx, "SELECT Id, Subject FROM Task", &rows); err != nil || len(rows) != 250 {
		t.Fatalf("Query over two pages: %v, %d rows", err, len(rows))
	}

	tricky := `O'Brien said "C:\temp\new" 100%_`
	id, err := c.Create(ctx, "Task", map[string]any{"Subject": tricky})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Query(ctx, "SELECT Id, Subject FROM Task WHERE Subject = "+soql.Quote(tricky), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].ID != id || rows[0].Subject != tricky {
		t.Fatalf("literal round trip: %+v, want the one record %s with Subject %q", rows, id, tricky)
	}
	in, _ := soql.InList([]string{id, `x'\`})
	if err := c.Query(ctx, "SELECT Id FROM Task WHERE Id IN "+in, &rows); err != nil || len(rows) != 1 {
		t.Fatalf("IN list: %v %+v", err, rows)
	}

	if err := c.Query(ctx, "SELECT Id FROM Task", rows); err == nil {
		t.Fatal("Query into a non-pointer accepted")
	}
	var ae *APIError
	if err := c.Query(ctx, "SELECT Id FRM Task", &rows); !errors.As(err, &ae) || ae.Status != 400 || IsRetryable(err) {
		t.Fatalf("malformed query: %v", err)
	}
}

func TestGetUpdateDelete(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org)
	ctx := context.Background()
	id, err := c.Create(ctx, "Task", map[string]any{"Subject": "one", "Description": "body"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, "Task", id, map[string]any{"Subject": "two"}); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := c.Get(ctx, "Task", id, []string{"Subject", "Description"}, &got); err != nil {
		t.Fatal(err)
	}
	if got["Subject"] != "two" || got["Description"] != "body" {
		t.Fatalf("Get = %v", got)
	}
	if err := c.Delete(ctx, "Task", id); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, "Task", id, nil, &got); !IsNotFound(err) {
		t.Fatalf("Get after Delete: %v, want not found", err)
	}
	if _, err := c.Create(ctx, "Task", map[string]any{"Id": id}); err == nil {
		t.Fatal("Create with an Id accepted")
	}
	if err := c.Update(ctx, "", id, nil); err == nil {
		t.Fatal("Update without object accepted")
	}
}

func TestUpsertCreatedUpdatedAndAmbiguous(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org)
	ctx := context.Background()
	key := "+14155550100|a01000000000001"
	id, created, err := c.Upsert(ctx, "Opt_In__c", "UniqueId__c", key, map[string]any{"Active__c": true, "Keyword__c": "START"})
	if err != nil || !created || id == "" {
		t.Fatalf("first upsert: %q %v %v, want created", id, created, err)
	}
	id2, created, err := c.Upsert(ctx, "Opt_In__c", "UniqueId__c", key, map[string]any{"Active__c": false, "Keyword__c": "STOP", "UniqueId__c": key})
	if err != nil || created || id2 != id {
		t.Fatalf("second upsert: %q %v %v, want update of %s", id2, created, err, id)
	}
	var rec map[string]any
	if err := c.Get(ctx, "Opt_In__c", id, []string{"Keyword__c", "Active__c"}, &rec); err != nil || rec["Keyword__c"] != "STOP" {
		t.Fatalf("after update: %v %v", rec, err)
	}

	// Duplicates of an external ID cannot arise through the API; plant them.
	a, _ := org.Insert("Task", map[string]any{"Subject": "dup 1", "Message_Sid__c": "SM00000000000000000000000000000001"})
	b, _ := org.Insert("Task", map[string]any{"Subject": "dup 2", "Message_Sid__c": "SM00000000000000000000000000000001"})
	_, _, err = c.Upsert(ctx, "Task", "Message_Sid__c", "SM00000000000000000000000000000001", map[string]any{"Subject": "which?"})
	var mm *MultipleMatchesError
	if !errors.As(err, &mm) || !slices.Contains(mm.IDs, a) || !slices.Contains(mm.IDs, b) || len(mm.IDs) != 2 {
		t.Fatalf("ambiguous upsert: %v, want MultipleMatchesError listing %s and %s", err, a, b)
	}
	if _, _, err := c.Upsert(ctx, "Task", "No_Such__c", "x", map[string]any{}); !IsNotFound(err) {
		t.Fatalf("unknown external ID field: %v, want not found", err)
	}
}

func TestCollectionsChunkAndReportPerRecord(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org)
	ctx := context.Background()
	recs := make([]map[string]any, 450)
	for i := range recs {
		recs[i] = map[string]any{"Subject": fmt.Sprintf("bulk %03d", i)}
	}
	calls := c.Calls()
	res, err := c.createMany(ctx, "Task", recs, false)
	if err != nil || len(res) != 450 || c.Calls()-calls != 3 || org.Calls()["POST composite/sobjects"] != 3 {
		t.Fatalf("createMany 450: err %v, %d results, %d requests (org saw %v); want 450 results in 3 requests", err, len(res), c.Calls()-calls, org.Calls())
	}
	ids := make([]string, len(res))
	for i, r := range res {
		if !r.Success || r.ID == "" {
			t.Fatalf("result %d: %+v", i, r)
		}
		ids[i] = r.ID
	}
	var got map[string]any
	if err := c.Get(ctx, "Task", ids[321], []string{"Subject"}, &got); err != nil || got["Subject"] != "bulk 321" {
		t.Fatalf("results out of input order: %v %v", got, err)
	}

	// A record with a bad value fails alone without allOrNone...
	bad := []map[string]any{{"Subject": "u0"}, {"Subject": "bad", "Message_Status__c": "Bogus"}, {"Subject": "u2"}}
	res, err = c.createMany(ctx, "Task", bad, false)
	if err != nil || !res[0].Success || res[1].Success || !res[2].Success || len(res[1].Errors) == 0 {
		t.Fatalf("partial failure: %v %+v", err, res)
	}
	var re *RecordError
	if !errors.As(res[1].Err(), &re) || re.Errors[0].Code == "" {
		t.Fatalf("failed item error %v", res[1].Err())
	}
	// ...and takes its request down with allOrNone.
	bad[0]["Subject"], bad[2]["Subject"] = "v0", "v2"
	res, err = c.createMany(ctx, "Task", bad, true)
	if err != nil || res[0].Success || res[1].Success || res[2].Success {
		t.Fatalf("allOrNone: %v %+v", err, res)
	}
	var committed []map[string]any
	if err := c.Query(ctx, "SELECT Id FROM Task WHERE Subject IN ('v0', 'v2')", &committed); err != nil || len(committed) != 0 {
		t.Fatalf("allOrNone committed a record: %v %v", committed, err)
	}

	// With allOrNone, a failing chunk stops the later ones.
	big := make([]map[string]any, 450)
	for i := range big {
		big[i] = map[string]any{"Subject": "w"}
	}
	big[10]["Message_Status__c"] = "Bogus"
	calls = c.Calls()
	res, err = c.createMany(ctx, "Task", big, true)
	if err != nil || len(res) != 450 || c.Calls()-calls != 1 {
		t.Fatalf("allOrNone over chunks: err %v, %d results, %d requests; want 450 results, 1 request", err, len(res), c.Calls()-calls)
	}
	if res[300].Success || res[300].Errors[0].Code != CodeNotAttempted || !IsRetryable(res[300].Err()) {
		t.Fatalf("unsent record result %+v", res[300])
	}

	if _, err := c.createMany(ctx, "Task", "not a slice", false); err == nil {
		t.Fatal("createMany of a string accepted")
	}
}

func TestLimitsHeaderAndWarning(t *testing.T) {
	org := sfdctest.Start(t)
	core, logs := observer.New(zap.WarnLevel)
	var seen []Limits
	var mu sync.Mutex
	c := newClient(t, org, func(cfg *ClientConfig) {
		cfg.Logger = zap.New(core)
		cfg.OnLimits = func(l Limits) { mu.Lock(); seen = append(seen, l); mu.Unlock() }
	})
	ctx := context.Background()
	var rows []taskRow
	org.SetAPIUsage(1000, 10000)
	if err := c.Query(ctx, "SELECT Id FROM Task", &rows); err != nil {
		t.Fatal(err)
	}
	l := c.Limits()
	if l.Max != 10000 || l.Used < 1000 || l.Used > 1001 || l.At.IsZero() {
		t.Fatalf("Limits = %+v, want about 1000/10000", l)
	}
	if logs.Len() != 0 {
		t.Fatalf("warned at 10%%: %v", logs.All())
	}
	org.SetAPIUsage(8500, 10000)
	for range 3 {
		if err := c.Query(ctx, "SELECT Id FROM Task", &rows); err != nil {
			t.Fatal(err)
		}
	}
	if n := logs.FilterMessageSnippet("daily API").Len(); n != 1 {
		t.Fatalf("%d warnings above 80%%, want exactly 1 per crossing", n)
	}
	org.SetAPIUsage(100, 10000)
	_ = c.Query(ctx, "SELECT Id FROM Task", &rows)
	org.SetAPIUsage(9000, 10000)
	_ = c.Query(ctx, "SELECT Id FROM Task", &rows)
	if n := logs.FilterMessageSnippet("daily API").Len(); n != 2 {
		t.Fatalf("%d warnings after a second crossing, want 2", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 6 {
		t.Fatalf("OnLimits called %d times, want once per response", len(seen))
	}
}

func TestDescribeAndVersions(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org)
	ctx := context.Background()
	d, err := c.Describe(ctx, "Task")
	if err != nil {
		t.Fatal(err)
	}
	f, ok := d.Field("message_sid__c")
	if !ok || !f.ExternalID || !f.Unique {
		t.Fatalf("Task.Message_Sid__c describe %+v", f)
	}
	st, _ := d.Field("Message_Status__c")
	if !slices.ContainsFunc(st.PicklistValues, func(p PicklistValue) bool { return p.Value == "Pending" }) {
		t.Fatalf("Message_Status__c picklist %+v", st.PicklistValues)
	}
	if _, err := c.Describe(ctx, "No_Such__c"); !IsNotFound(err) {
		t.Fatalf("describe of a missing object: %v", err)
	}
	vs, err := c.Versions(ctx)
	if err != nil || !slices.ContainsFunc(vs, func(v Version) bool { return v.Version == DefaultAPIVersion }) {
		t.Fatalf("Versions = %v, %v; want %s listed", vs, err, DefaultAPIVersion)
	}
}

func TestShortOutageIsRiddenOutButALongOneIsReported(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org, func(cfg *ClientConfig) {
		cfg.MaxRetries, cfg.RetryBaseDelay, cfg.RetryMaxDelay = 6, 10*time.Millisecond, 40*time.Millisecond
	})
	ctx := context.Background()
	var rows []taskRow
	if err := c.Query(ctx, "SELECT Id FROM Task", &rows); err != nil {
		t.Fatal(err)
	}
	org.SetUnavailable(60 * time.Millisecond)
	if err := c.Query(ctx, "SELECT Id FROM Task", &rows); err != nil {
		t.Fatalf("query across a 60 ms outage: %v", err)
	}
	org.SetUnavailable(time.Minute)
	calls := c.Calls()
	err := c.Query(ctx, "SELECT Id FROM Task", &rows)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable || !IsRetryable(err) {
		t.Fatalf("long outage: %v, want the 503, retryable by the caller later", err)
	}
	if n := c.Calls() - calls; n != 7 {
		t.Fatalf("long outage: %d requests, want 7 (1 + MaxRetries)", n)
	}
	ctxShort, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
	defer cancel()
	if err := c.Query(ctxShort, "SELECT Id FROM Task", &rows); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("retry wait must honour the context: %v", err)
	}
}

// FuzzQuoteAgainstOrg writes a value, then finds it again with a WHERE
// clause built by Quote, so the escaper is checked against the simulated
// org's SOQL parser (ref §2.9), not only against a reader written here.
func FuzzQuoteAgainstOrg(f *testing.F) {
	for _, s := range []string{`O'Brien`, `C:\temp\new`, `\'`, `'' OR Subject != ''`, "tab\there\nnew line", `"quoted" 50%_off`, `\\\`} {
		f.Add(s)
	}
	org := sfdctest.Start(f)
	a, err := NewAuth(authConfig(org, FlowClientCredentials), nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	c, err := NewClient(a, ClientConfig{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// JSON cannot carry invalid UTF-8, Salesforce stores "" as null, and
		// Subject holds 255 characters.
		if !utf8.ValidString(s) || strings.TrimSpace(s) == "" || utf8.RuneCountInString(s) > 255 || strings.ContainsRune(s, 0) {
			t.Skip()
		}
		ctx := context.Background()
		id, err := c.Create(ctx, "Task", map[string]any{"Subject": s})
		if err != nil {
			t.Skipf("org refused the value itself: %v", err)
		}
		var rows []taskRow
		if err := c.Query(ctx, "SELECT Id, Subject FROM Task WHERE Subject = "+soql.Quote(s)+" AND Id = "+soql.Quote(id), &rows); err != nil {
			t.Fatalf("query for %q: %v", s, err)
		}
		if len(rows) != 1 || rows[0].Subject != s {
			t.Fatalf("value %q came back as %+v", s, rows)
		}
	})
}

func TestReauthenticateLogsInOnlyForTheCurrentToken(t *testing.T) {
	org := sfdctest.Start(t)
	for _, flow := range []string{FlowJWT, FlowRefreshToken} {
		t.Run(flow, func(t *testing.T) {
			a := newAuth(t, authConfig(org, flow))
			ctx := context.Background()
			first, err := a.Credentials(ctx)
			if err != nil {
				t.Fatal(err)
			}
			second, err := a.Reauthenticate(ctx, first)
			if err != nil || second.AccessToken == first.AccessToken {
				t.Fatalf("Reauthenticate(current) = %v, %v; want a new token", second, err)
			}
			before := org.Issued()
			again, err := a.Reauthenticate(ctx, first) // a late caller still holding the first token
			if err != nil || again != second || org.Issued() != before {
				t.Fatalf("Reauthenticate(stale) logged in again or returned %v, %v", again, err)
			}
			if cur, _ := a.Credentials(ctx); cur != second || a.logins.Load() != 2 {
				t.Fatalf("Credentials = %v after %d logins", cur, a.logins.Load())
			}
			canceled, cancel := context.WithCancel(ctx)
			cancel()
			if _, err := a.Reauthenticate(canceled, second); !errors.Is(err, context.Canceled) {
				t.Fatalf("canceled Reauthenticate: %v", err)
			}
		})
	}
}
