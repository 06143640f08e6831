package sfdc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
	sbsync "github.com/switchboard/switchboard/sync"
)

type subjectRow struct {
	ID      string `json:"Id"`
	Subject string `json:"Subject"`
}

// 50 goroutines issue mixed queries and saves at once: they share a few
// composite calls, every caller gets its own result, and the failing ones
// (a malformed query, a deleted record) fail only themselves.
func TestOrgMultiplexesConcurrentCallers(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org)
	ctx := context.Background()
	const n = 50
	ids := make([]string, n)
	for i := range ids {
		id, err := org.Insert("Task", map[string]any{"Subject": fmt.Sprintf("task %02d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	gone := ids[7]
	if err := org.Delete("Task", gone); err != nil {
		t.Fatal(err)
	}
	eng := c.orgWith(orgOptions{Window: 20 * time.Millisecond, Pace: -1})
	org.ResetCalls()

	errs := make([]error, n)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range n {
		wg.Go(func() {
			start.Wait()
			errs[i] = func() error {
				switch {
				case i == 3:
					var rows []subjectRow
					err := eng.Query(ctx, "SELECT Id FROM Task WHERE", &rows)
					var ae *APIError
					if !errors.As(err, &ae) || ae.Code != "MALFORMED_QUERY" {
						return fmt.Errorf("malformed query: %v, want an *APIError MALFORMED_QUERY", err)
					}
					return nil
				case i == 7:
					res, err := eng.Save(ctx, sbsync.SaveOp{Kind: sbsync.Update}, "Task", []sbsync.Record{{"Id": gone, "Subject": "x"}})
					if err != nil || len(res) != 1 || !errors.Is(res[0].Err, sbsync.ErrNotFound) {
						return fmt.Errorf("update of a deleted task: %v %+v, want ErrNotFound on the record", err, res)
					}
					return nil
				case i%3 == 0:
					var rows []subjectRow
					if err := eng.Query(ctx, fmt.Sprintf("SELECT Id, Subject FROM Task WHERE Id = '%s'", ids[i]), &rows); err != nil {
						return err
					}
					if len(rows) != 1 || rows[0].ID != ids[i] || rows[0].Subject != fmt.Sprintf("task %02d", i) {
						return fmt.Errorf("query %d got %+v", i, rows)
					}
					return nil
				case i%3 == 1:
					res, err := eng.Save(ctx, sbsync.SaveOp{Kind: sbsync.Update}, "Task", []sbsync.Record{{"Id": ids[i], "Subject": fmt.Sprintf("updated %02d", i)}})
					if err != nil || len(res) != 1 || res[0].Err != nil || res[0].ID != ids[i] {
						return fmt.Errorf("update %d: %v %+v", i, err, res)
					}
					return nil
				default:
					sid := fmt.Sprintf("SM%032d", i)
					res, err := eng.Save(ctx, sbsync.SaveOp{Kind: sbsync.Upsert, ExtIDField: "Message_Sid__c"}, "Task", []sbsync.Record{{"Message_Sid__c": sid, "Subject": "upserted"}})
					if err != nil || len(res) != 1 || res[0].Err != nil || !res[0].Created || res[0].ID == "" {
						return fmt.Errorf("upsert %d: %v %+v", i, err, res)
					}
					return nil
				}
			}()
		})
	}
	start.Done()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	calls := org.Calls()
	t.Logf("%d callers: %v", n, calls)
	// 50 calls, five to a composite: ten, give or take a lone call or two
	// where the scheduler split a group.
	if org.TotalCalls() > 15 || calls["POST composite"] < 8 {
		t.Fatalf("calls %v, want about 10 composites", calls)
	}
	for i := range n {
		if i%3 == 1 && i != 7 {
			if r, _ := org.Get("Task", ids[i]); r["Subject"] != fmt.Sprintf("updated %02d", i) {
				t.Fatalf("task %d subject %v", i, r["Subject"])
			}
		}
	}
}

// A call with nothing to share goes out as the plain REST call it stands
// for, after at most the window.
func TestOrgLoneCallIsAPlainRESTCall(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org)
	eng := c.Org()
	ctx := context.Background()
	id, err := org.Insert("Task", map[string]any{"Subject": "alone"})
	if err != nil {
		t.Fatal(err)
	}
	org.ResetCalls()
	var rows []subjectRow
	if err := eng.Query(ctx, "SELECT Id, Subject FROM Task", &rows); err != nil || len(rows) != 1 || rows[0].ID != id {
		t.Fatalf("query: %v %+v", err, rows)
	}
	if _, err := eng.Save(ctx, sbsync.SaveOp{Kind: sbsync.Update}, "Task", []sbsync.Record{{"Id": id, "Subject": "still alone"}}); err != nil {
		t.Fatal(err)
	}
	if c := org.Calls(); c["GET query"] != 1 || c["PATCH composite/sobjects"] != 1 || len(c) != 2 {
		t.Fatalf("calls %v, want one plain query and one plain collection update", c)
	}
	// Errors of a plain call keep their types too.
	err = eng.Query(ctx, "SELECT Nope__c FROM Task", &rows)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "INVALID_FIELD" {
		t.Fatalf("bad field: %v", err)
	}
	if err := eng.Query(ctx, "SELECT Id FROM Task", rows); err == nil {
		t.Fatal("Query into a non-pointer accepted")
	}
	if _, err := eng.Save(ctx, sbsync.SaveOp{Kind: sbsync.Create}, "Task", []sbsync.Record{{"Id": id}}); err == nil {
		t.Fatal("create with an Id accepted")
	}
	if _, err := eng.Save(ctx, sbsync.SaveOp{Kind: sbsync.Upsert}, "Task", []sbsync.Record{{"Subject": "x"}}); err == nil {
		t.Fatal("upsert without an external ID field accepted")
	}
}

// A Save of 450 records is three subrequests of one composite; results come
// back in input order.
func TestOrgBigSaveIsSeveralSubrequestsOfOneCall(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org)
	eng := c.Org()
	recs := make([]sbsync.Record, 450)
	for i := range recs {
		recs[i] = sbsync.Record{"Subject": fmt.Sprintf("bulk %03d", i)}
	}
	recs[321]["Message_Status__c"] = "Bogus"
	org.ResetCalls()
	res, err := eng.Save(context.Background(), sbsync.SaveOp{Kind: sbsync.Create}, "Task", recs)
	if err != nil {
		t.Fatal(err)
	}
	if c := org.Calls(); c["POST composite"] != 1 || org.TotalCalls() != 1 {
		t.Fatalf("calls %v, want one composite", c)
	}
	if len(res) != 450 {
		t.Fatalf("%d results", len(res))
	}
	for i, r := range res {
		if i == 321 {
			if r.Err == nil {
				t.Fatal("invalid record saved")
			}
			continue
		}
		if r.Err != nil {
			t.Fatalf("record %d: %v", i, r.Err)
		}
		if got, _ := org.Get("Task", r.ID); got["Subject"] != fmt.Sprintf("bulk %03d", i) {
			t.Fatalf("result %d points at %v", i, got["Subject"])
		}
	}
}

// A query whose first page comes back in a composite follows
// nextRecordsUrl with plain GETs.
func TestOrgQueryPagesAfterAComposite(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org)
	eng := c.orgWith(orgOptions{Window: 20 * time.Millisecond})
	for i := range 450 {
		if _, err := org.Insert("Account", map[string]any{"Name": fmt.Sprint("acc ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	org.SetQueryPageSize(200)
	org.ResetCalls()
	var wg sync.WaitGroup
	counts := make([]int, 2)
	errs := make([]error, 2)
	for k := range 2 {
		wg.Go(func() {
			var rows []struct {
				ID string `json:"Id"`
			}
			errs[k] = eng.Query(context.Background(), "SELECT Id FROM Account", &rows)
			counts[k] = len(rows)
		})
	}
	wg.Wait()
	for k := range 2 {
		if errs[k] != nil || counts[k] != 450 {
			t.Fatalf("caller %d: %d rows, %v", k, counts[k], errs[k])
		}
	}
	if c := org.Calls(); c["POST composite"] != 1 || c["GET query"] != 4 {
		t.Fatalf("calls %v, want one composite for both first pages and four GETs for the rest", c)
	}
}

// A locked row fails its own subrequest; the adapter queues that call again
// and it succeeds, while its neighbour was never affected.
func TestOrgRetriesALockedSubrequest(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org)
	eng := c.orgWith(orgOptions{Window: 20 * time.Millisecond})
	a, _ := org.Insert("Task", map[string]any{"Subject": "a"})
	b, _ := org.Insert("Task", map[string]any{"Subject": "b"})
	org.LockRows(1)
	org.ResetCalls()
	var wg sync.WaitGroup
	for _, id := range []string{a, b} {
		wg.Go(func() {
			res, err := eng.Save(context.Background(), sbsync.SaveOp{Kind: sbsync.Update}, "Task", []sbsync.Record{{"Id": id, "Subject": "saved"}})
			if err != nil || res[0].Err != nil {
				t.Errorf("save %s: %v %+v", id, err, res)
			}
		})
	}
	wg.Wait()
	for _, id := range []string{a, b} {
		if r, _ := org.Get("Task", id); r["Subject"] != "saved" {
			t.Fatalf("task %s: %v", id, r["Subject"])
		}
	}
	if c := org.Calls(); c["POST composite"] != 1 || c["PATCH composite/sobjects"] != 1 {
		t.Fatalf("calls %v, want the composite and one plain retry of the locked save", c)
	}
}

// A caller that gives up does not take the others down with it, and its
// call is not sent if it had not gone out yet.
func TestOrgCancelledCallerLeavesOthersAlone(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org)
	eng := c.orgWith(orgOptions{Window: 50 * time.Millisecond})
	id, _ := org.Insert("Task", map[string]any{"Subject": "x"})
	org.ResetCalls()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var cancelledErr, otherErr error
	wg.Go(func() {
		_, cancelledErr = eng.Save(ctx, sbsync.SaveOp{Kind: sbsync.Update}, "Task", []sbsync.Record{{"Id": id, "Subject": "from the impatient caller"}})
	})
	wg.Go(func() {
		var rows []subjectRow
		otherErr = eng.Query(context.Background(), "SELECT Id, Subject FROM Task", &rows)
	})
	time.Sleep(10 * time.Millisecond)
	cancel()
	wg.Wait()
	if !errors.Is(cancelledErr, context.Canceled) || otherErr != nil {
		t.Fatalf("cancelled: %v; other: %v", cancelledErr, otherErr)
	}
	if r, _ := org.Get("Task", id); r["Subject"] != "x" {
		t.Fatalf("the abandoned write went out: %v", r["Subject"])
	}
	if c := org.Calls(); c["GET query"] != 1 || org.TotalCalls() != 1 {
		t.Fatalf("calls %v, want the surviving query alone", c)
	}
}

// A whole composite that fails (here: every retry answered 503) fails the
// callers in it, with the error the client reports.
func TestOrgWholeCompositeFailureReachesItsCallers(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org, func(cfg *ClientConfig) { cfg.MaxRetries = -1 })
	eng := c.orgWith(orgOptions{Window: 20 * time.Millisecond})
	org.FailNext(http.MethodPost, "/composite", 1, 503, "SERVER_UNAVAILABLE", "down for maintenance")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for k := range 2 {
		wg.Go(func() {
			var rows []subjectRow
			errs[k] = eng.Query(context.Background(), "SELECT Id FROM Task", &rows)
		})
	}
	wg.Wait()
	for _, err := range errs {
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != 503 || !IsRetryable(err) {
			t.Fatalf("%v, want the retryable 503", err)
		}
	}
}

// BenchmarkOrgConcurrentQueries prints how many Salesforce calls 1,000
// concurrent single-record queries take through the adapter.
func BenchmarkOrgConcurrentQueries(b *testing.B) {
	org := sfdctest.Start(b)
	c, err := NewClient(newAuthB(b, org), ClientConfig{HTTPClient: &http.Client{Timeout: 10 * time.Second}})
	if err != nil {
		b.Fatal(err)
	}
	eng := c.Org()
	org.ResetCalls()
	b.ResetTimer()
	var wg sync.WaitGroup
	for range b.N {
		wg.Go(func() {
			var rows []subjectRow
			if err := eng.Query(context.Background(), "SELECT Id FROM Task", &rows); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(org.TotalCalls())/float64(b.N), "sfcalls/query")
}

func newAuthB(b *testing.B, org *sfdctest.Org) *Auth {
	a, err := NewAuth(authConfig(org, FlowClientCredentials), &http.Client{Timeout: 10 * time.Second}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// A lone query too long for a GET still goes out: inside a composite body.
func TestOrgLongLoneQueryTravelsInAComposite(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org)
	eng := c.Org()
	id, _ := org.Insert("Task", map[string]any{"Subject": "needle"})
	in := make([]string, 600)
	for i := range in {
		in[i] = fmt.Sprintf("'haystack %04d'", i)
	}
	in[599] = "'needle'"
	soql := "SELECT Id FROM Task WHERE Subject IN (" + strings.Join(in, ", ") + ")"
	org.ResetCalls()
	var rows []subjectRow
	if err := eng.Query(context.Background(), soql, &rows); err != nil || len(rows) != 1 || rows[0].ID != id {
		t.Fatalf("long query: %v %+v", err, rows)
	}
	if c := org.Calls(); c["POST composite"] != 1 || org.TotalCalls() != 1 {
		t.Fatalf("calls %v, want one composite", c)
	}
}

// When a composite carrying a create fails ambiguously, the create's owner
// learns the outcome is unknown, while an idempotent neighbour is simply
// sent again.
func TestOrgAmbiguousCompositeFailureRetriesOnlyIdempotentCalls(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org)
	eng := c.orgWith(orgOptions{Window: 20 * time.Millisecond})
	org.FailNext(http.MethodPost, "/composite", 1, 504, "", "gateway timeout")
	var wg sync.WaitGroup
	var createErr, queryErr error
	wg.Go(func() {
		_, createErr = eng.Save(context.Background(), sbsync.SaveOp{Kind: sbsync.Create}, "Task", []sbsync.Record{{"Subject": "maybe"}})
	})
	wg.Go(func() {
		var rows []subjectRow
		queryErr = eng.Query(context.Background(), "SELECT Id FROM Task", &rows)
	})
	wg.Wait()
	if !errors.Is(createErr, ErrOutcomeUnknown) {
		t.Fatalf("create: %v, want ErrOutcomeUnknown", createErr)
	}
	if queryErr != nil {
		t.Fatalf("query: %v, want it retried and answered", queryErr)
	}
}

// TestOrgSaveWritesOneRecordOnce: a Save that updates one Task twice (two
// jobs recording one outcome, as an 18- and a 15-character Id too) sends
// it once, merged by the engine's rule, and every caller's record gets the
// result; a chunk of 200 distinct records stays one request. Salesforce
// refuses a collection that names an Id twice, whole (sfdctest), so
// before the merge every record of the batch failed.
func TestOrgSaveWritesOneRecordOnce(t *testing.T) {
	org := sfdctest.Start(t)
	c := newClient(t, org)
	ctx := context.Background()
	a, err := org.Insert("Task", map[string]any{"Subject": "a", "Message_Status__c": "Pending"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := org.Insert("Task", map[string]any{"Subject": "b"})
	if err != nil {
		t.Fatal(err)
	}
	eng := c.Org()
	org.ResetCalls()
	recs := []sbsync.Record{
		{"Id": a, "Message_Status__c": "Delivered", "Message_Sid__c": "SM00000000000000000000000000000001"},
		{"Id": b, "Subject": "b2"},
		{"Id": a[:15], "Message_Status__c": "Queued", "Subject": "a2", "Error_Description__c": nil},
		{"Id": a, "Status": "Completed"},
	}
	res, err := eng.Save(ctx, sbsync.SaveOp{Kind: sbsync.Update}, "Task", recs)
	if err != nil {
		t.Fatalf("save: %v", err)
	}
	if len(res) != len(recs) {
		t.Fatalf("%d results for %d records", len(res), len(recs))
	}
	for i, r := range res {
		want := a
		if i == 1 {
			want = b
		}
		if r.Err != nil || r.ID != want {
			t.Errorf("result %d: %+v, want success for %s", i, r, want)
		}
	}
	got, _ := org.Get("Task", a)
	if got["Message_Status__c"] != "Delivered" || got["Subject"] != "a2" || got["Status"] != "Completed" || got["Message_Sid__c"] != "SM00000000000000000000000000000001" {
		t.Errorf("task a: %v", got)
	}
	if got, _ := org.Get("Task", b); got["Subject"] != "b2" {
		t.Errorf("task b: %v", got)
	}
	if n := org.TotalCalls(); n != 1 {
		t.Errorf("%d calls, want 1: %v", n, org.Calls())
	}
	if recs[2]["Subject"] != "a2" || len(recs[0]) != 3 {
		t.Errorf("Save changed its caller's records: %v", recs)
	}
}

// A nextRecordsUrl that is not instance-relative is refused, by the client's
// Query and the engine's alike (one page loop, followPages), so the bearer
// token is never sent to another host.
func TestQueryRefusesAForeignNextRecordsURL(t *testing.T) {
	var elsewhere int
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere++ }))
	defer foreign.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"totalSize":2,"done":false,"records":[{"Id":"00T000000000001AAA"}],"nextRecordsUrl":%q}`, foreign.URL+"/services/data/v62.0/query/01g-1")
	}))
	defer srv.Close()
	c, err := NewClient(&staticTokens{instance: srv.URL, tok: "t"}, ClientConfig{HTTPClient: srv.Client(), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	for name, query := range map[string]func(context.Context, string, any) error{"Client.Query": c.Query, "Org().Query": c.Org().Query} {
		var rows []subjectRow
		if err := query(context.Background(), "SELECT Id FROM Task", &rows); err == nil || !strings.Contains(err.Error(), "unexpected nextRecordsUrl") {
			t.Errorf("%s: err %v, want the foreign nextRecordsUrl refused", name, err)
		}
	}
	if elsewhere != 0 {
		t.Errorf("%d requests went to the other host", elsewhere)
	}
}
