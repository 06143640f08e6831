package sfdc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	sbsync "github.com/switchboard/switchboard/sync"
)

// orgOptions tune the adapter Org returns. Zero values select the defaults.
type orgOptions struct {
	// Window is how long the first waiting call waits for company before
	// it goes out (2 ms by default): short enough that a lone call is not
	// noticeably delayed, long enough for the engine's batchers, which
	// flush together under load, to meet in one composite.
	Window time.Duration
	// MaxInFlight is how many Salesforce calls the adapter has out at once
	// (2 by default). While they are out, new calls queue and leave
	// together in the next composite, so packing grows with load.
	MaxInFlight int
	// Pace is the least time between the starts of two flushes while the
	// adapter is busy — its latest flush was shared, or found another call
	// still out (50 ms by default; negative: none). A full batch never
	// waits for it, and a call in a quiet or strictly sequential flow never
	// meets it. It gives the waiting calls of the other batchers time to
	// join, the packing a real org's 50–300 ms round trip gives smart
	// batching by itself and a fast org (the simulator) would defeat.
	Pace time.Duration
}

// Org adapts the client to what the engine needs from Salesforce
// (sbsync.Org). It is the only place sfdc knows the engine's types: the
// arrow points inward, as in the Standard Package Layout.
//
// Calls from different goroutines that wait at about the same moment
// share one POST /composite, which Salesforce counts as one API call
// (ref §2.7): every query and every sObject Collections request of ≤200
// records is one subrequest, five to a composite (the limit for query and
// collection subrequests). Each caller gets its own result or error; a
// failed subrequest fails only its owner. Each Org value multiplexes only
// its own callers, so the engine should share one.
func (c *Client) Org() sbsync.Org { return c.orgWith(orgOptions{}) }

// orgWith is Org with tuning.
func (c *Client) orgWith(opts orgOptions) sbsync.Org {
	o := &engineOrg{c: c, window: opts.Window, pace: opts.Pace, maxInFlight: opts.MaxInFlight}
	if o.window <= 0 {
		o.window = 2 * time.Millisecond
	}
	if o.maxInFlight <= 0 {
		o.maxInFlight = 2
	}
	if o.pace == 0 {
		o.pace = 50 * time.Millisecond
	}
	return o
}

// engineOrg is the multiplexer: the smart batching of sync.Batcher, one
// level down, across batchers. A flush takes up to maxHeavySubrequests
// waiting calls when a slot is free and the batch is full or its oldest
// call has waited the window.
type engineOrg struct {
	c           *Client
	window      time.Duration
	pace        time.Duration
	maxInFlight int

	mu        sync.Mutex
	pending   []*muxCall
	firstAt   time.Time // when the oldest pending call arrived
	lastStart time.Time // when the latest flush started
	busy      bool      // the latest flush was shared, or found a call out
	timer     *time.Timer
	timerAt   time.Time
	inFlight  int
}

// muxCall is one query or collection request waiting for a flush: sub is
// its form as a composite subrequest, plain as a REST call of its own.
type muxCall struct {
	ctx   context.Context
	sub   subrequest
	plain request
	done  chan muxResult
}

// plainURLBudget is the longest request URI a lone call is sent with as a
// plain GET: Salesforce refuses URIs over 16,384 bytes (414) and URI plus
// headers over that (431, ref §2.1), so half of it leaves room for headers.
const plainURLBudget = 8192

type muxResult struct {
	body json.RawMessage
	err  error
	// sub marks an error of the call's own subrequest, which nothing has
	// retried yet (a plain call's error has been through send's retries).
	sub bool
}

// do runs one call through the multiplexer. A subrequest that failed for a
// transient reason (a row lock, ref §2.8) is queued again after a backoff,
// as send would retry a plain call; a create only when Salesforce provably
// wrote nothing. Any other subrequest error is its owner's answer.
func (o *engineOrg) do(ctx context.Context, sub subrequest, plain request) (json.RawMessage, error) {
	return o.await(ctx, o.enqueue(ctx, sub, plain))
}

// await waits for first, a call already queued, and requeues it as do says.
func (o *engineOrg) await(ctx context.Context, first *muxCall) (json.RawMessage, error) {
	sub, plain := first.sub, first.plain
	for attempt := 0; ; attempt++ {
		c := first
		if attempt > 0 {
			c = o.enqueue(ctx, sub, plain)
		}
		r := o.wait(ctx, c)
		if r.err == nil {
			return r.body, nil
		}
		var ae *APIError
		retry := r.sub && errors.As(r.err, &ae) && ((!plain.create && ae.retryable()) || ae.rejected())
		// A composite that carried someone's create is not replayed after an
		// ambiguous failure (ErrOutcomeUnknown); this call, if idempotent,
		// may safely go again on its own.
		retry = retry || (!plain.create && errors.Is(r.err, ErrOutcomeUnknown))
		if retry && attempt < o.c.retries {
			if err := o.c.sleep(ctx, attempt); err != nil {
				return nil, err
			}
			continue
		}
		return nil, r.err
	}
}

func (o *engineOrg) enqueue(ctx context.Context, sub subrequest, plain request) *muxCall {
	return o.enqueueAll(newMuxCall(ctx, sub, plain))[0]
}

func newMuxCall(ctx context.Context, sub subrequest, plain request) *muxCall {
	return &muxCall{ctx: ctx, sub: sub, plain: plain, done: make(chan muxResult, 1)}
}

// enqueueAll queues calls under one lock, so a Save's chunks meet in one
// flush however the scheduler runs their goroutines.
func (o *engineOrg) enqueueAll(calls ...*muxCall) []*muxCall {
	o.mu.Lock()
	if len(o.pending) == 0 {
		o.firstAt = time.Now()
	}
	o.pending = append(o.pending, calls...)
	o.startLocked()
	o.mu.Unlock()
	return calls
}

func (o *engineOrg) wait(ctx context.Context, c *muxCall) muxResult {
	select {
	case r := <-c.done:
		return r
	case <-ctx.Done():
		// A call whose caller has left is dropped at flush time if it has
		// not gone out yet; the caller (a job) will come back for it.
		return muxResult{err: ctx.Err()}
	}
}

func (o *engineOrg) timerFired() {
	o.mu.Lock()
	o.timer = nil
	o.startLocked()
	o.mu.Unlock()
}

// startLocked starts flushes while a slot is free and a batch is due: full
// (maxHeavySubrequests waiting), or its oldest call has waited the window
// and, when busy, the previous flush started at least the pace ago.
// Otherwise it arms the timer for the moment the batch becomes due.
func (o *engineOrg) startLocked() {
	for o.inFlight < o.maxInFlight && len(o.pending) > 0 {
		now := time.Now()
		dueAt := o.firstAt.Add(o.window)
		if paced := o.lastStart.Add(o.pace); o.busy && paced.After(dueAt) {
			dueAt = paced
		}
		if len(o.pending) < maxHeavySubrequests && now.Before(dueAt) {
			o.armLocked(dueAt.Sub(now))
			return
		}
		n := min(len(o.pending), maxHeavySubrequests)
		batch := o.pending[:n:n]
		o.pending = append([]*muxCall(nil), o.pending[n:]...)
		o.lastStart = now
		o.busy = n > 1 || o.inFlight > 0
		o.inFlight++
		go o.flush(batch)
	}
	if len(o.pending) == 0 && o.timer != nil {
		o.timer.Stop()
		o.timer = nil
	}
}

func (o *engineOrg) armLocked(d time.Duration) {
	at := time.Now().Add(d)
	if o.timer != nil {
		if !at.Before(o.timerAt) {
			return // already armed for no later than that
		}
		o.timer.Stop()
	}
	o.timer, o.timerAt = time.AfterFunc(d, o.timerFired), at
}

func (o *engineOrg) flush(batch []*muxCall) {
	live := batch[:0]
	for _, c := range batch {
		if c.ctx.Err() == nil {
			live = append(live, c)
		}
	}
	switch len(live) {
	case 0:
	case 1:
		if len(live[0].sub.URL) <= plainURLBudget {
			// Nothing to share the call with: a plain REST call costs the
			// same one API call, keeps the org's per-resource counters and
			// gateway behaviour exactly as before, and spares the composite
			// envelope. It runs on its caller's context: no one else
			// depends on it.
			c := live[0]
			resp, err := o.c.send(c.ctx, c.plain)
			c.done <- muxResult{body: resp.body, err: err}
			break
		}
		// A query too long for a GET's URI travels in a composite body,
		// where the 16 KB URI limit does not apply (ref §2.1, §2.9).
		fallthrough
	default:
		subs := make([]subrequest, len(live))
		for i, c := range live {
			subs[i] = c.sub
			subs[i].ReferenceID = fmt.Sprintf("r%d", i)
		}
		// Its own context, as sync.Batcher's flushes: one impatient caller
		// must not cancel the other four. The client's HTTP timeout bounds it.
		// allOrNone=false: the engine's writes are independent of each other.
		res, err := o.c.composite(context.Background(), false, subs)
		for i, c := range live {
			if err != nil {
				c.done <- muxResult{err: err}
				continue
			}
			r := muxResult{body: res[i].Body, sub: true}
			if res[i].Err != nil {
				r.err = res[i].Err
			}
			c.done <- r
		}
	}
	o.mu.Lock()
	o.inFlight--
	o.startLocked()
	o.mu.Unlock()
}

// Query runs soql and decodes every record into dst, a pointer to a slice,
// like Client.Query. The first page travels in a composite when other calls
// are waiting; later pages (nextRecordsUrl, ref §2.2) are plain GETs.
func (o *engineOrg) Query(ctx context.Context, soql string, dst any) error {
	add, err := recordAppender(dst)
	if err != nil {
		return err
	}
	sub, err := o.c.querySubrequest("q", soql)
	if err != nil {
		return err
	}
	body, err := o.do(ctx, sub, request{method: http.MethodGet, path: o.c.dataPath("query"), query: url.Values{"q": {soql}}})
	if err != nil {
		return err
	}
	var first queryPage
	if err := json.Unmarshal(body, &first); err != nil {
		return fmt.Errorf("sfdc: decode query response: %w", err)
	}
	return o.c.followPages(ctx, first, func(p queryPage) error { return add(p.Records) })
}

// Save always sends allOrNone=false: one record that fails validation must
// not hold back the other 199 of its request. Updates of one record are
// sent as one (coalesceUpdates), each of them getting its result. Records
// go 200 to a subrequest; the chunks of one Save are waiting at the same
// moment, so they share composites with each other and with other callers.
func (o *engineOrg) Save(ctx context.Context, op sbsync.SaveOp, object string, records []sbsync.Record) ([]sbsync.SaveResult, error) {
	if len(records) == 0 {
		return nil, nil
	}
	var (
		method, path string
		check        func(int, map[string]json.RawMessage) error
		create       bool
	)
	switch op.Kind {
	case sbsync.Create:
		method, path, check, create = http.MethodPost, o.c.dataPath("composite", "sobjects"), createCheck, true
	case sbsync.Update:
		method, path, check = http.MethodPatch, o.c.dataPath("composite", "sobjects"), updateCheck
	case sbsync.Upsert:
		if err := need("Save upsert", "external ID field", op.ExtIDField); err != nil {
			return nil, err
		}
		method, path, check = http.MethodPatch, o.c.dataPath("composite", "sobjects", object, op.ExtIDField), upsertCheck(op.ExtIDField)
	default:
		return nil, fmt.Errorf("sfdc: unknown save kind %d", op.Kind)
	}
	var slot []int
	if op.Kind == sbsync.Update {
		records, slot = coalesceUpdates(records)
	}
	objs, err := collectionRecords(object, records, check)
	if err != nil {
		return nil, err
	}
	type chunkResult struct {
		res []SaveResult
		err error
	}
	chunks := (len(objs) + collectionLimit - 1) / collectionLimit
	results := make([]chunkResult, chunks)
	calls := make([]*muxCall, chunks)
	for k := range chunks {
		chunk := objs[k*collectionLimit : min((k+1)*collectionLimit, len(objs))]
		b, err := json.Marshal(collectionBody{false, chunk})
		if err != nil {
			return nil, fmt.Errorf("sfdc: encode %s records: %w", object, err)
		}
		sub := subrequest{Method: method, URL: path, ReferenceID: "s", Body: json.RawMessage(b)}
		calls[k] = newMuxCall(ctx, sub, request{method: method, path: path, body: b, create: create})
	}
	o.enqueueAll(calls...)
	var wg sync.WaitGroup
	for k := range chunks {
		size := min((k+1)*collectionLimit, len(objs)) - k*collectionLimit
		wg.Go(func() {
			body, err := o.await(ctx, calls[k])
			if err == nil {
				err = json.Unmarshal(body, &results[k].res)
				if err != nil {
					err = fmt.Errorf("sfdc: decode collection %s response: %w", method, err)
				} else if len(results[k].res) != size {
					err = fmt.Errorf("sfdc: collection %s returned %d results for %d records", method, len(results[k].res), size)
				}
			}
			results[k].err = err
		})
	}
	wg.Wait()
	out := make([]sbsync.SaveResult, 0, len(records))
	for _, cr := range results {
		if cr.err != nil {
			return nil, cr.err
		}
		for _, r := range cr.res {
			out = append(out, sbsync.SaveResult{ID: r.ID, Created: r.Created, Err: engineRecordError(r)})
		}
	}
	if slot != nil {
		each := make([]sbsync.SaveResult, len(slot))
		for i, j := range slot {
			each[i] = out[j]
		}
		out = each
	}
	return out, nil
}

// coalesceUpdates turns the updates of one record into one, merged by the
// engine's rule (sbsync.MergeUpdates: later fields win, a status never
// goes back), because Salesforce refuses a collection that names an Id
// twice, the whole request (sfdctest's duplicateID): the batchers gather
// independent jobs, two of which may record the same Task. slot[i] is the
// index of the record that carries records[i].
func coalesceUpdates(records []sbsync.Record) (_ []sbsync.Record, slot []int) {
	slot = make([]int, len(records))
	at := make(map[string]int, len(records))
	out := make([]sbsync.Record, 0, len(records))
	for i, r := range records {
		key, ok := idKey(r["Id"])
		if j, seen := at[key]; ok && seen {
			out[j] = sbsync.MergeUpdates(out[j], r)
			slot[i] = j
			continue
		}
		if ok {
			at[key] = len(out)
		}
		slot[i] = len(out)
		out = append(out, r)
	}
	return out, slot
}

// idKey is what makes two record Ids the same record: the first 15
// characters, case-sensitive; the 18-character form only appends three
// characters encoding their case, so the API accepts either.
func idKey(v any) (string, bool) {
	id, _ := v.(string)
	switch len(id) {
	case 15, 18:
		return id[:15], true
	}
	return "", false
}

// engineRecordError wraps sbsync.ErrNotFound around an item that failed
// because its record is gone, and sbsync.ErrDuplicate around one a unique
// field refused, so the engine can tell "drop it" from "retry it" from
// "it exists already" without reading Salesforce error codes.
func engineRecordError(r SaveResult) error {
	err := r.Err()
	if err == nil {
		return nil
	}
	for _, fe := range r.Errors {
		switch fe.Code {
		case CodeEntityIsDeleted, CodeNotFound, "INVALID_CROSS_REFERENCE_KEY", "INVALID_ID_FIELD":
			return fmt.Errorf("%w: %w", sbsync.ErrNotFound, err)
		case CodeDuplicateValue:
			return fmt.Errorf("%w: %w", sbsync.ErrDuplicate, err)
		}
	}
	return err
}
