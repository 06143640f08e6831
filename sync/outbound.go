package sync

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/switchboard/switchboard/sfdc/soql"
)

// Ledger is the durable send ledger (sync/store implements it). An entry is
// written before Twilio is called and completed after, so that a crash, a
// duplicate event or a second replica can never send one Pending transition
// twice (SPEC §3 "Exactly once").
type Ledger interface {
	// BeginSend records the intent to send. fresh is true for exactly one
	// caller per key; the others get the existing entry.
	BeginSend(ctx context.Context, in SendIntent) (e LedgerEntry, fresh bool, err error)
	// CompleteSend records Twilio's SID for key.
	CompleteSend(ctx context.Context, key, sid, status string) error
	// FailSend records that Twilio refused the message for good.
	FailSend(ctx context.Context, key, reason string) error
	// AbandonSend removes the intent created or claimed at owned, whose
	// create provably did not happen (429, refused connection, no time
	// left), so the retry starts fresh. An intent another job claimed
	// since is left alone.
	AbandonSend(ctx context.Context, key string, owned time.Time) error
	// ClaimStaleIntents takes over every intent of one (account, To,
	// From) group created or last claimed before staleBefore, each for
	// exactly one caller across goroutines, processes and replicas; the
	// entries carry the claim's new ClaimedAt, oldest first.
	ClaimStaleIntents(ctx context.Context, accountSID, to, from string, staleBefore time.Time) ([]LedgerEntry, error)
	// SIDOwners returns, for each of sids a ledger entry holds, its key.
	SIDOwners(ctx context.Context, sids []string) (map[string]string, error)
	// LatestSend returns the entry of the Task's most recent transition.
	LatestSend(ctx context.Context, taskID string) (e LedgerEntry, ok bool, err error)
	// UnresolvedSends lists entries untouched for at least olderThan that
	// are not recorded, oldest first (at most 1,000).
	UnresolvedSends(ctx context.Context, olderThan time.Duration) ([]LedgerEntry, error)
	// MarkRecorded notes that the outcome is written to Salesforce.
	MarkRecorded(ctx context.Context, key string) error
}

// SendIntent is what the ledger keeps about a send before it happens: enough
// to find the message at Twilio if the process dies mid-call.
type SendIntent struct {
	Key        string // SendKey: one Pending transition of a Task
	TaskID     string
	AccountSID string
	To         string
	From       string // the number, or the Messaging Service's MG SID
	Body       string
}

// LedgerState is where a send stands.
type LedgerState string

const (
	LedgerIntent   LedgerState = "intent"   // create may or may not have reached Twilio
	LedgerSent     LedgerState = "sent"     // Twilio accepted it: SID known
	LedgerFailed   LedgerState = "failed"   // Twilio refused it for good
	LedgerRecorded LedgerState = "recorded" // outcome written to Salesforce
)

// LedgerEntry is a stored send.
type LedgerEntry struct {
	SendIntent
	State     LedgerState
	SID       string
	Status    string
	Reason    string
	CreatedAt time.Time // when the intent was first written
	// ClaimedAt is when an intent was created or last claimed by a job
	// (ClaimStaleIntents): the owner's token. For other states, the last change.
	ClaimedAt time.Time
}

// OutboundConfig tunes the outbound engine.
type OutboundConfig struct {
	DefaultChannel string // Channel__c Name for Tasks without a conversation
	DefaultRegion  string // how to read national numbers ("US")
	StatusCallback string // server.public_url + /twilio/status
	// BatchWindow is how long a Salesforce read or write waits to fill a
	// batch of up to 200 records.
	BatchWindow time.Duration
	// WriteWindow is the same for Task write-backs (SID, status, errors).
	// They are not on the way to Twilio, so they can wait longer and share
	// calls under a burst (200 ms by default).
	WriteWindow time.Duration
	// MaxConcurrentSends caps Twilio create calls in flight.
	MaxConcurrentSends int
	// SenderRate is messages per second per sender (Channel__c Name);
	// absent or 0 means unpaced (Twilio queues per sender).
	SenderRate map[string]float64
	// MergeFields are the Object.Field paths a Description's merge fields
	// may name (merge.go); none when empty.
	MergeFields []string

	// MinSendTime is the least time a job must have left before it starts
	// a Twilio create (the Twilio client's timeout is the natural value).
	MinSendTime time.Duration
	// IntentGrace is how long a send intent may belong to a job still
	// waiting on Twilio: above the longest a create call can take (the job
	// timeout). Younger intents found by other jobs are left alone.
	IntentGrace time.Duration

	// OnRecorded, if set, is called after a Task's SID is written, so that
	// status callbacks that arrived first (parked) are applied now. Its
	// error is logged only: parked callbacks are rechecked on their own.
	OnRecorded func(ctx context.Context, sid string) error
	// OnOptOut, if set, records that Twilio refused a send with 21610: the
	// customer opted out of that sender (SPEC §3, twilio.md §7).
	OnOptOut func(ctx context.Context, customerE164, channelID string, at time.Time) error
	// ThreadLock, if set, is held (with this process's own lock) while the
	// engine decides which numbers have no open conversation and creates
	// theirs, so that replicas never both create a thread for one new
	// number. The store's Lock does it across replicas on PostgreSQL.
	ThreadLock func(ctx context.Context) (unlock func(), err error)
	// ResolveLock, if set, is held (with this process's own lock) while
	// the stale intents of one (recipient, sender) group are matched to
	// Twilio's messages, so that replicas never give one message to two
	// Tasks. The store's Lock does it across replicas on PostgreSQL.
	ResolveLock func(ctx context.Context, group string) (unlock func(), err error)
}

func (c *OutboundConfig) defaults() {
	setDefault(&c.DefaultRegion, "US")
	setDefault(&c.BatchWindow, 25*time.Millisecond)
	setDefault(&c.WriteWindow, 200*time.Millisecond)
	setDefault(&c.MaxConcurrentSends, 64)
	setDefault(&c.IntentGrace, 30*time.Second)
	setDefault(&c.MinSendTime, 5*time.Second)
}

// Outbound sends Pending outbound Tasks. Its Send method is the handler of
// one queued send job; many run concurrently and their Salesforce reads and
// writes are coalesced into batches.
type Outbound struct {
	cfg    OutboundConfig
	org    Org
	tw     Messenger
	ledger Ledger
	log    *zap.Logger

	dir   *Directory
	load  *Batcher[string, *Task]
	write *Batcher[Record, error]
	optin *Batcher[string, bool]
	// mergeRead reads merge fields (merge.go) for Tasks whose body has them.
	mergeRead *Batcher[mergeRequest, mergeResult]
	sem       chan struct{}

	mu       gosync.Mutex
	limiters map[string]*rate.Limiter

	resolving [64]chan struct{} // see lockResolution
	started   time.Time         // intents claimed before it belong to an earlier process
	backlog   backlog           // estimated queue per sender at Twilio

	unrecorded gosync.Map          // SIDs sent but not yet on their Task (Unrecorded)
	channels   map[string]*Channel // by Name, with ChannelType; invalidated by events
}

// NewOutbound builds the outbound engine.
func NewOutbound(cfg OutboundConfig, org Org, tw Messenger, ledger Ledger, log *zap.Logger) *Outbound {
	cfg.defaults()
	if log == nil {
		log = zap.NewNop()
	}
	o := &Outbound{
		cfg: cfg, org: org, tw: tw, ledger: ledger, log: log,
		sem:      make(chan struct{}, cfg.MaxConcurrentSends),
		limiters: map[string]*rate.Limiter{},
		channels: map[string]*Channel{},
		started:  time.Now(),
	}
	for i := range o.resolving {
		o.resolving[i] = make(chan struct{}, 1)
	}
	o.dir = newDirectory(org, cfg.DefaultRegion, cfg)
	o.load = &Batcher[string, *Task]{Window: cfg.BatchWindow, Flush: o.loadTasks}
	o.write = &Batcher[Record, error]{Window: cfg.WriteWindow, Flush: o.writeTasks}
	o.optin = &Batcher[string, bool]{Window: cfg.BatchWindow, Flush: o.loadOptOuts}
	o.mergeRead = &Batcher[mergeRequest, mergeResult]{Window: cfg.BatchWindow, Flush: o.readMergeFields}
	return o
}

// Directory exposes the outbound engine's number directory, so the inbound
// engine shares its registry cache and its conversation lock.
func (o *Outbound) Directory() *Directory { return o.dir }

// taskFields are read for every outbound Task, with its conversation,
// channel and channel type, in one query per 200 Tasks.
var taskFields = []string{
	"Id", "Description", "WhoId", "WhatId", "Message_Type__c", "Message_Status__c", "Message_Sid__c",
	"Conversation__c", "SystemModstamp", "CreatedById",
	"Conversation__r.Id", "Conversation__r.Status__c", "Conversation__r.Message_Recipient__c", "Conversation__r.Channel__c",
	"Conversation__r.Record_Id__c",
	"Conversation__r.Channel__r.Id", "Conversation__r.Channel__r.Name", "Conversation__r.Channel__r.Phone_Number__c",
	"Conversation__r.Channel__r.Messaging_Service_Sid__c", "Conversation__r.Channel__r.Active__c",
	"Conversation__r.Channel__r.Channel_Type__r.Account_Sid__c",
	"Conversation__r.Channel__r.Channel_Type__r.Max_Message_Length__c",
	"Conversation__r.Channel__r.Channel_Type__r.Provider__c",
}

// inBudget keeps a 200-item IN list in one query: 200 Opt_In__c keys
// ("+14155550100|a0Z…", about 45 bytes each once URL-encoded) are 9 kB,
// still well under the 16 kB URI limit with the rest of the query
// (salesforce.md §2.1, §2.9).
const inBudget = 12000

func (o *Outbound) loadTasks(ctx context.Context, ids []string) ([]*Task, error) {
	byID := map[string]*Task{}
	for _, chunk := range soql.ChunkIn(dedupe(ids), inBudget) {
		in, err := soql.InList(chunk)
		if err != nil {
			return nil, err
		}
		var tasks []*Task
		q := "SELECT " + strings.Join(taskFields, ", ") + " FROM Task WHERE Id IN " + in
		if err := o.org.Query(ctx, q, &tasks); err != nil {
			return nil, err
		}
		for _, t := range tasks {
			byID[t.ID] = t
		}
	}
	out := make([]*Task, len(ids))
	for i, id := range ids {
		out[i] = byID[id] // nil: deleted, or not visible to the integration user
	}
	return out, nil
}

// loadOptOuts answers, for each "<E.164>|<Channel Id>" key, whether the
// customer opted out of that channel.
func (o *Outbound) loadOptOuts(ctx context.Context, keys []string) ([]bool, error) {
	out := map[string]bool{}
	for _, chunk := range soql.ChunkIn(dedupe(keys), inBudget) {
		in, err := soql.InList(chunk)
		if err != nil {
			return nil, err
		}
		var rows []OptIn
		if err := o.org.Query(ctx, "SELECT UniqueId__c, Active__c FROM Opt_In__c WHERE Active__c = false AND UniqueId__c IN "+in, &rows); err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.UniqueID] = true
		}
	}
	res := make([]bool, len(keys))
	for i, k := range keys {
		res[i] = out[k]
	}
	return res, nil
}

// Send handles one queued send of taskID. A nil error means the job is done
// (sent, refused for good, or nothing to do); an error means try again
// later, and a *RetryError says when.
func (o *Outbound) Send(ctx context.Context, taskID string) error {
	log := o.log.With(zap.String("task_id", taskID))
	t, err := o.load.Do(ctx, taskID)
	if err != nil {
		return fmt.Errorf("loading task: %w", err)
	}
	if t == nil {
		log.Info("task no longer exists; nothing to send")
		return nil
	}
	if !t.IsPendingOutbound() {
		log.Debug("task is not pending outbound; skipped", zap.String("status", string(t.MessageStatus)))
		return nil
	}

	msg, err := o.prepare(ctx, t)
	var rej *Rejection
	switch {
	case errors.As(err, &rej):
		log.Info("task rejected before sending", zap.String("reason", rej.Reason))
		return o.record(ctx, Record{"Id": t.ID, "Message_Status__c": string(StatusError),
			"Error_Description__c": rej.Reason, "Status": "Completed"})
	case err != nil:
		log.Warn("resolving the task's recipient or channel", zap.Error(err))
		// The cause stays in the chain: the policy snoozes an outage.
		return fmt.Errorf("resolving the task's recipient or channel failed; will retry: %w", err)
	}

	// The ledger key names the Pending transition, not the record's
	// version: an edit of a Pending Task (a Subject fixed, a Flow stamping
	// a field, an integration touching it) changes SystemModstamp but not
	// the transition, and must not send it again. What tells transitions
	// apart is what this sidecar already recorded: generation n+1 starts
	// only once generation n's outcome (a SID, or Failed) is written to
	// the Task (the ledger says "recorded") and a fresh read of the Task
	// still finds it Pending — a user, having seen that outcome, set it
	// back to Pending (SPEC §1 "retry"). Anything else is generation n.
	gen, waited := 1, false
	for hops := 0; ; hops++ {
		if hops == maxHops {
			return &RetryError{After: time.Second, Err: fmt.Errorf("task %s changed under this job %d times", t.ID, hops)}
		}
		key := SendKey(t.ID, gen)
		entry, fresh, err := o.ledger.BeginSend(ctx, SendIntent{
			Key: key, TaskID: t.ID, AccountSID: msg.accountSID, To: msg.out.To, From: msg.sender(), Body: msg.out.Body,
		})
		if err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		if fresh {
			return o.sendNow(ctx, log, key, entry.ClaimedAt, t, msg)
		}
		switch entry.State {
		case LedgerRecorded:
			next, restart, err := o.nextGeneration(ctx, log, t, gen, entry.SID)
			switch {
			case err != nil:
				return err
			case restart:
				// Changed again since this job read it: start over from the
				// current record, so its current recipient and body are used.
				return o.Send(ctx, t.ID)
			case next == 0:
				return nil
			}
			gen = next
			continue
		case LedgerSent:
			log.Info("already sent; recording the outcome", zap.String("message_sid", entry.SID))
			if entry.Body != msg.out.Body {
				// Edited while in flight: the Task shows what was sent.
				msg.out.Body, msg.merged = entry.Body, true
			}
			return o.recordSent(ctx, key, t, msg, Sent{SID: entry.SID, Status: entry.Status, DateCreated: entry.CreatedAt})
		case LedgerFailed:
			return o.recordFailed(ctx, key, t, msg, entry.Reason, 0)
		case LedgerIntent:
			if err := o.settleIntent(ctx, key, entry, &waited); err != nil {
				return err
			}
			continue
		default:
			return fmt.Errorf("ledger: entry %s is in an unknown state %q", key, entry.State)
		}
	}
}

// nextGeneration: the ledger has generation gen of t recorded. Either this
// is a duplicate job that read the Task before the first one wrote it back
// (next 0: nothing to do), or the user set the Task back to Pending since
// (next is the transition to send), or the Task changed again since this
// job read it (restart). Our write-back made the Task non-Pending and
// read-after-write holds, so a fresh read tells them apart.
func (o *Outbound) nextGeneration(ctx context.Context, log *zap.Logger, t *Task, gen int, sid string) (next int, restart bool, err error) {
	cur, err := o.load.Do(ctx, t.ID)
	if err != nil {
		return 0, false, fmt.Errorf("re-reading task: %w", err)
	}
	if !cur.IsPendingOutbound() {
		log.Debug("already sent and recorded; duplicate job", zap.String("message_sid", sid))
		return 0, false, nil
	}
	if cur.SystemModstamp != t.SystemModstamp {
		return 0, true, nil
	}
	// Set back to Pending after an outcome: the transition after the
	// Task's latest, unless that one is still open.
	last, ok, err := o.ledger.LatestSend(ctx, t.ID)
	if err != nil {
		return 0, false, fmt.Errorf("ledger: %w", err)
	}
	next = gen + 1
	if n, isGen := sendGeneration(last.Key, t.ID); ok && isGen {
		next = max(next, n)
		if last.State == LedgerRecorded {
			next = max(next, n+1)
		}
	}
	log.Info("task set back to Pending after its outcome was recorded; a new transition", zap.Int("generation", next))
	return next, false, nil
}

// settleIntent handles an intent this job does not own. nil means read the
// entry again (a resolution finished, or this job resolved the group);
// otherwise the job waits (a *RetryError) or fails.
func (o *Outbound) settleIntent(ctx context.Context, key string, entry LedgerEntry, waited *bool) error {
	if wait := o.untilStale(entry); wait > 0 {
		if entry.ClaimedAt.After(entry.CreatedAt) && !*waited {
			// Claimed by a resolution (resolveGroup), which holds its
			// group's lock until the intent is completed or dropped:
			// a listing's time, not IntentGrace.
			*waited = true
			unlock, err := o.lockResolution(ctx, groupOf(entry))
			if err == nil {
				unlock()
				return nil
			}
		}
		// Another job may still be waiting on Twilio with this intent
		// (a duplicate event, a sweep, a rescued job): a lookup now
		// could miss a create in flight and send twice. Once the
		// intent is older than any send can take, a lookup is final.
		return &RetryError{After: wait, Err: fmt.Errorf("send %s is in flight elsewhere", key)}
	}
	// The intent's job is gone. Resolve every stale intent of its
	// (recipient, sender) group against one listing at Twilio; the caller
	// then reads this one again: sent (found at Twilio), or gone (not
	// found: this job sends it afresh).
	return o.resolveGroup(ctx, groupOf(entry), entry)
}

// maxHops bounds how often one job moves between ledger entries of a Task
// (resolutions, new generations) before it yields.
const maxHops = 8

// SendKey is the ledger key of a Task's gen-th Pending transition.
func SendKey(taskID string, gen int) string { return fmt.Sprintf("%s#%d", taskID, gen) }

// sendGeneration reads SendKey back; false for a key of another form.
func sendGeneration(key, taskID string) (int, bool) {
	rest, ok := strings.CutPrefix(key, taskID+"#")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n > 0
}

// untilStale is how long an intent may still belong to a live job. An
// intent last claimed before this process started belongs to an earlier
// one (killed) or to another replica: every such intent is given the same
// deadline, this process's start plus IntentGrace, so that after a crash
// they all turn stale together and each group is resolved in one pass
// instead of one listing per intent.
func (o *Outbound) untilStale(e LedgerEntry) time.Duration {
	wait := o.cfg.IntentGrace - time.Since(e.ClaimedAt)
	if e.ClaimedAt.Before(o.started) {
		wait = max(wait, time.Until(o.started.Add(o.cfg.IntentGrace)))
	}
	return wait
}

func (o *Outbound) limiter(ch *Channel) *rate.Limiter {
	r := o.cfg.SenderRate[ch.Name]
	if r <= 0 {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	l, ok := o.limiters[ch.Name]
	if !ok {
		l = rate.NewLimiter(rate.Limit(r), 1)
		o.limiters[ch.Name] = l
	}
	return l
}

// sendNow calls Twilio for the intent key that this job owns (created or
// claimed at owned).
func (o *Outbound) sendNow(ctx context.Context, log *zap.Logger, key string, owned time.Time, t *Task, msg *prepared) error {
	// Until Twilio is called the create provably has not happened: giving
	// up before then drops the intent, so the next run starts fresh
	// instead of waiting IntentGrace and looking the message up.
	notSent := func(why error) error {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := o.ledger.AbandonSend(actx, key, owned); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		return &RetryError{After: 50 * time.Millisecond, Err: why}
	}
	if l := o.limiter(msg.channel); l != nil {
		if err := l.Wait(ctx); err != nil {
			return notSent(err)
		}
	}
	select {
	case o.sem <- struct{}{}:
	case <-ctx.Done():
		return notSent(ctx.Err())
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < o.cfg.MinSendTime {
		// A create cut off by the job's deadline would leave its outcome
		// unknown; under load (a long wait for a Twilio slot) that turns
		// into a storm of lookups. Start it only with time to finish.
		<-o.sem
		return notSent(fmt.Errorf("less than %s left in this run for the Twilio call", o.cfg.MinSendTime))
	}
	sent, err := o.tw.Send(ctx, msg.accountSID, msg.out)
	<-o.sem
	if err == nil {
		o.unrecorded.Store(sent.SID, struct{}{}) // until recordSent has written it
		log.Info("sent", zap.String("message_sid", sent.SID), zap.String("twilio_status", sent.Status))
		if o.cfg.SenderRate[msg.channel.Name] <= 0 {
			if drain, warn := o.backlog.add(msg.sender(), max(sent.Segments, 1), time.Now()); warn {
				log.Warn("this sender's queue at Twilio is close to full; Twilio fails what waits longer than 10 hours. Pace it with twilio.sender_rates or add numbers",
					zap.String("sender", msg.sender()), zap.String("channel", msg.channel.Name), zap.Duration("estimated_drain", drain.Round(time.Minute)))
			}
		}
		if err := o.ledger.CompleteSend(ctx, key, sent.SID, sent.Status); err != nil {
			// Twilio has the message; the ledger entry stays "intent" and a
			// retry will find it by lookup instead of sending again.
			return fmt.Errorf("ledger: %w", err)
		}
		return o.recordSent(ctx, key, t, msg, sent)
	}
	se := classifySend(err)
	switch se.Kind {
	case Permanent:
		log.Info("twilio refused the message", zap.Int("twilio_code", se.Code), zap.String("reason", se.Description))
		if se.Code == OptOutCode && o.cfg.OnOptOut != nil {
			// Before the ledger says "failed": if this write fails, the retry
			// finds the intent, finds no message at Twilio, and asks again.
			if err := o.cfg.OnOptOut(ctx, msg.out.To, msg.channel.ID, time.Now()); err != nil {
				return &RetryError{After: time.Second, Err: fmt.Errorf("recording the opt-out: %w", err)}
			}
		}
		if err := o.ledger.FailSend(ctx, key, se.Description); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		return o.recordFailed(ctx, key, t, msg, se.Description, se.Code)
	case Ambiguous:
		// Leave the intent: the retry looks the message up first.
		log.Warn("send outcome unknown; will look it up at Twilio before retrying", zap.Error(se))
		return &RetryError{After: time.Second, Err: se}
	default:
		if err := o.ledger.AbandonSend(ctx, key, owned); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		after := se.RetryAfter
		if after <= 0 {
			after = time.Second
		}
		log.Info("twilio asked us to retry later", zap.Error(se), zap.Duration("after", after))
		return &RetryError{After: after, Err: se}
	}
}

func dedupe(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	out := ss[:0:0]
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
