package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/switchboard/switchboard/sfdc/soql"
)

// StatusUpdate is one delivery status of an outbound message: a status
// callback (twilio.md §5.4) or the answer of a poll.
type StatusUpdate struct {
	SID        string    `json:"sid"`
	AccountSID string    `json:"account_sid,omitempty"`
	Status     string    `json:"status"` // Twilio's lower-case MessageStatus
	ErrorCode  int       `json:"error_code,omitempty"`
	At         time.Time `json:"at"` // when the sidecar received it; parking expiry counts from here
}

// Parking keeps callbacks that arrived before their Task carried the SID
// (sync/store implements it durably, so a restart loses none).
type Parking interface {
	Park(ctx context.Context, sid string, payload []byte, expires time.Time) error
	// TakeParked returns and removes what is parked under sids.
	TakeParked(ctx context.Context, sids []string) (map[string][][]byte, error)
}

// CallbacksConfig tunes status handling.
type CallbacksConfig struct {
	// BatchWindow is how long a read or write waits to fill a batch.
	BatchWindow time.Duration
	// ParkTTL is how long a callback waits for its Task to carry the SID
	// (counted from StatusUpdate.At). After that the job fails permanently.
	ParkTTL time.Duration
	// ParkRecheck is when a parked callback's job runs again, in case the
	// SID was written without ApplyParked being called (a crash, another
	// replica). ApplyParked normally applies it long before.
	ParkRecheck time.Duration
	// Unrecorded, if set, says that this process is about to write sid to
	// its Task (Outbound.Unrecorded): such a callback waits UnrecordedWait
	// (200 ms by default) without a Salesforce call, rather than reading,
	// finding no Task and being parked.
	Unrecorded     func(sid string) bool
	UnrecordedWait time.Duration
	// Describe turns a Twilio error code into Error_Description__c text,
	// e.g. "30007 — message filtered by the carrier". nil: "Twilio error N".
	Describe func(code int) string
}

func (c *CallbacksConfig) defaults() {
	setDefault(&c.BatchWindow, 25*time.Millisecond)
	setDefault(&c.ParkTTL, time.Hour)
	setDefault(&c.UnrecordedWait, 200*time.Millisecond)
	setDefault(&c.ParkRecheck, 30*time.Second)
	if c.Describe == nil {
		c.Describe = func(code int) string { return fmt.Sprintf("Twilio error %d", code) }
	}
}

// Callbacks applies delivery statuses to Tasks (SPEC §3 Status callbacks):
// only forwards in the status order, with the error description and the
// check date, batched and coalesced.
type Callbacks struct {
	cfg    CallbacksConfig
	org    Org
	park   Parking
	log    *zap.Logger
	batch  *Batcher[statusItem, statusOutcome]
	done   *recentSet // "SID|status" applied
	parked *recentSet // SIDs this process parked

	applyMu gosync.Mutex // one read-decide-write at a time, so two batches cannot race a Task

	seenMu    gosync.Mutex
	firstSeen map[string]time.Time // for updates without At

	applied, ignored atomic.Int64 // statuses written / not advancing (CallbackStats)
}

// CallbackStats counts what status updates did, for metrics.
type CallbackStats struct {
	Applied int64 // a Task's Message_Status__c moved up
	Ignored int64 // the status did not rank above the Task's (late, duplicate)
}

// Stats returns the counters since start.
func (c *Callbacks) Stats() CallbackStats {
	return CallbackStats{Applied: c.applied.Load(), Ignored: c.ignored.Load()}
}

// NewCallbacks builds the status engine. park may be nil (then an early
// callback is only retried by the queue).
func NewCallbacks(cfg CallbacksConfig, org Org, park Parking, log *zap.Logger) *Callbacks {
	cfg.defaults()
	if log == nil {
		log = zap.NewNop()
	}
	c := &Callbacks{cfg: cfg, org: org, park: park, log: log,
		done: newRecentSet(time.Hour, 200_000), parked: newRecentSet(cfg.ParkTTL, 100_000),
		firstSeen: map[string]time.Time{}}
	c.batch = &Batcher[statusItem, statusOutcome]{Window: cfg.BatchWindow, Flush: c.flush}
	return c
}

// statusItem is one update in a batch; st "" only refreshes the check date
// (a poll that could not read the status but should not retry at once).
type statusItem struct {
	u  StatusUpdate
	st Status
}

type statusOutcome struct {
	found bool // a Task carries the SID
	err   error
}

var (
	errNoTask        = errors.New("no Task carries this message SID yet")
	errBeingRecorded = errors.New("the SID is being written to its Task")
)

// Handle applies one status callback. nil: applied, or nothing to apply (a
// duplicate, a status that does not advance). A *RetryError: the Task does
// not carry the SID yet; the callback is parked and the job should run
// again later. A *PermanentError: the callback is malformed, or it waited
// ParkTTL in vain (logged; dead-letter it).
func (c *Callbacks) Handle(ctx context.Context, u StatusUpdate) error {
	u.SID = strings.TrimSpace(u.SID)
	u.Status = strings.ToLower(strings.TrimSpace(u.Status))
	if !messageSIDRE.MatchString(u.SID) {
		return permanentf("status callback: MessageSid %q is not a Twilio message SID", u.SID)
	}
	st, err := FromTwilio(u.Status)
	if err != nil {
		return &PermanentError{Err: fmt.Errorf("status callback for %s: %w", u.SID, err)}
	}
	if u.At.IsZero() {
		u.At = c.firstSeenAt(u.SID + "|" + u.Status)
	}
	dedupe := u.SID + "|" + u.Status
	if c.done.Has(dedupe) {
		return nil
	}
	if c.cfg.Unrecorded != nil && c.cfg.Unrecorded(u.SID) {
		return &RetryError{After: c.cfg.UnrecordedWait, Err: errBeingRecorded}
	}
	out, err := c.batch.Do(ctx, statusItem{u: u, st: st})
	if err != nil {
		return fmt.Errorf("applying status: %w", err)
	}
	if out.err != nil {
		return fmt.Errorf("applying status %s to %s: %w", u.Status, u.SID, out.err)
	}
	if !out.found {
		return c.parkOne(ctx, u)
	}
	c.done.Add(dedupe)
	c.forgetSeen(dedupe)
	if c.parked.Has(u.SID) {
		// This job outlived ApplyParked (or ran on the replica that parked):
		// whatever else waits under the SID can be applied now.
		c.parked.Delete(u.SID)
		if err := c.ApplyParked(ctx, []string{u.SID}); err != nil {
			c.log.Warn("applying parked callbacks", zap.String("message_sid", u.SID), zap.Error(err))
		}
	}
	return nil
}

func (c *Callbacks) firstSeenAt(key string) time.Time {
	c.seenMu.Lock()
	defer c.seenMu.Unlock()
	t, ok := c.firstSeen[key]
	if !ok {
		t = time.Now()
		if len(c.firstSeen) > 100_000 {
			c.firstSeen = map[string]time.Time{} // bounded; a forgotten key only restarts its clock
		}
		c.firstSeen[key] = t
	}
	return t
}

func (c *Callbacks) forgetSeen(key string) {
	c.seenMu.Lock()
	delete(c.firstSeen, key)
	c.seenMu.Unlock()
}

// parkOne keeps u until its Task carries the SID, or reports it expired.
func (c *Callbacks) parkOne(ctx context.Context, u StatusUpdate) error {
	expires := u.At.Add(c.cfg.ParkTTL)
	if !time.Now().Before(expires) {
		c.log.Error("status callback expired: no Task carried its SID in time; dead-lettering it",
			zap.String("message_sid", u.SID), zap.String("status", u.Status), zap.Time("received", u.At), zap.Duration("waited", c.cfg.ParkTTL))
		return permanentf("status %s for %s: %v after waiting %s", u.Status, u.SID, errNoTask, c.cfg.ParkTTL)
	}
	if c.park != nil {
		payload, err := json.Marshal(u)
		if err != nil {
			return err
		}
		if err := c.park.Park(ctx, u.SID, payload, expires); err != nil {
			return fmt.Errorf("parking status %s for %s: %w", u.Status, u.SID, err)
		}
		c.parked.Add(u.SID)
	}
	c.log.Info("status callback parked until a Task carries its SID",
		zap.String("message_sid", u.SID), zap.String("status", u.Status), zap.Time("expires", expires))
	return &RetryError{After: min(c.cfg.ParkRecheck, time.Until(expires)), Err: errNoTask}
}

// ApplyParked applies the callbacks parked under sids. The outbound engine
// calls it right after it writes Message_Sid__c. What still finds no Task
// is parked again until it expires.
func (c *Callbacks) ApplyParked(ctx context.Context, sids []string) error {
	if c.park == nil || len(sids) == 0 {
		return nil
	}
	got, err := c.park.TakeParked(ctx, sids)
	if err != nil {
		return fmt.Errorf("taking parked callbacks: %w", err)
	}
	var (
		wg   gosync.WaitGroup
		mu   gosync.Mutex
		errs []error
	)
	for sid, payloads := range got {
		for _, p := range payloads {
			var u StatusUpdate
			if err := json.Unmarshal(p, &u); err != nil {
				c.log.Error("unreadable parked callback dropped", zap.String("message_sid", sid), zap.Error(err))
				continue
			}
			st, err := FromTwilio(u.Status)
			if err != nil {
				c.log.Error("parked callback with an unknown status dropped", zap.String("message_sid", sid), zap.Error(err))
				continue
			}
			wg.Go(func() {
				out, err := c.batch.Do(ctx, statusItem{u: u, st: st})
				if err == nil {
					err = out.err
				}
				if err == nil && out.found {
					c.done.Add(u.SID + "|" + u.Status)
					return
				}
				if err == nil {
					// Still no Task: back to the car park, or out if expired.
					err = c.parkOne(ctx, u)
					var re *RetryError
					if errors.As(err, &re) {
						err = nil
					}
				} else if c.park != nil {
					// A Salesforce failure must not lose it.
					if p, merr := json.Marshal(u); merr == nil {
						if perr := c.park.Park(ctx, u.SID, p, u.At.Add(c.cfg.ParkTTL)); perr != nil {
							err = errors.Join(err, perr)
						}
					}
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// statusTask is what a flush reads about a Task.
type statusTask struct {
	ID            string `json:"Id"`
	MessageSID    string `json:"Message_Sid__c"`
	MessageStatus Status `json:"Message_Status__c"`
}

// flush reads every Task of the batch in one query per 200 SIDs and writes
// each at most once: of several statuses for one SID in the window (sent,
// then delivered) only the highest is written.
func (c *Callbacks) flush(ctx context.Context, items []statusItem) ([]statusOutcome, error) {
	c.applyMu.Lock()
	defer c.applyMu.Unlock()
	bySID := map[string][]int{}
	var sids []string
	for n, it := range items {
		if _, ok := bySID[it.u.SID]; !ok {
			sids = append(sids, it.u.SID)
		}
		bySID[it.u.SID] = append(bySID[it.u.SID], n)
	}
	tasks := map[string][]statusTask{}
	for _, chunk := range soql.ChunkIn(sids, wideBudget) {
		in, err := soql.InList(chunk)
		if err != nil {
			return nil, err
		}
		var rows []statusTask
		if err := c.org.Query(ctx, "SELECT Id, Message_Sid__c, Message_Status__c FROM Task WHERE Message_Sid__c IN "+in, &rows); err != nil {
			return nil, fmt.Errorf("reading tasks by SID: %w", err)
		}
		for _, r := range rows {
			tasks[r.MessageSID] = append(tasks[r.MessageSID], r)
		}
	}
	var recs []Record
	var recSID []string
	for _, sid := range sids {
		idxs := bySID[sid]
		best, at := -1, time.Time{}
		for _, n := range idxs {
			it := items[n]
			if it.u.At.After(at) {
				at = it.u.At
			}
			if it.st == "" {
				continue
			}
			if best < 0 || rank[it.st] > rank[items[best].st] ||
				(rank[it.st] == rank[items[best].st] && it.u.At.Before(items[best].u.At)) {
				best = n
			}
		}
		if at.IsZero() {
			at = time.Now()
		}
		for _, t := range tasks[sid] {
			rec := Record{"Id": t.ID, "Message_Status_Check_Date__c": sfTime(at)}
			if best >= 0 && Advances(t.MessageStatus, items[best].st) {
				b := items[best]
				rec["Message_Status__c"] = string(b.st)
				if b.u.ErrorCode != 0 {
					rec["Error_Description__c"] = c.cfg.Describe(b.u.ErrorCode)
				}
				c.applied.Add(1)
				c.ignored.Add(int64(len(idxs) - 1))
			} else if best >= 0 && t.MessageStatus != items[best].st {
				c.ignored.Add(int64(len(idxs)))
				c.log.Debug("status does not advance; only the check date is written",
					zap.String("message_sid", sid), zap.String("current", string(t.MessageStatus)), zap.String("ignored", string(items[best].st)))
			}
			recs = append(recs, rec)
			recSID = append(recSID, sid)
		}
	}
	errBySID := map[string]error{}
	if len(recs) > 0 {
		res, err := c.org.Save(ctx, SaveOp{Kind: Update}, "Task", recs)
		if err != nil {
			return nil, fmt.Errorf("writing statuses: %w", err)
		}
		for n, r := range res {
			// A Task deleted since the read has nothing left to update.
			if r.Err != nil && !errors.Is(r.Err, ErrNotFound) {
				errBySID[recSID[n]] = r.Err
			}
		}
	}
	out := make([]statusOutcome, len(items))
	for n, it := range items {
		out[n] = statusOutcome{found: len(tasks[it.u.SID]) > 0, err: errBySID[it.u.SID]}
	}
	return out, nil
}
