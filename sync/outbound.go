package sync

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	gosync "sync"
	"time"
	"unicode/utf8"

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
	// ClaimIntent takes over an intent created or last claimed before
	// staleBefore, for exactly one caller across goroutines, processes and
	// replicas; the entry it returns carries the claim's new ClaimedAt.
	ClaimIntent(ctx context.Context, key string, staleBefore time.Time) (e LedgerEntry, claimed bool, err error)
	// MarkRecorded notes that the outcome is written to Salesforce.
	MarkRecorded(ctx context.Context, key string) error
}

// SendIntent is what the ledger keeps about a send before it happens: enough
// to find the message at Twilio if the process dies mid-call.
type SendIntent struct {
	Key        string // TaskID@SystemModstamp: one Pending transition
	TaskID     string
	AccountSID string
	To, From   string
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
	// (ClaimIntent): the owner's token. For other states, the last change.
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
	// FindWindow is how far around the ledger's intent time an ambiguous
	// create is looked for at Twilio.
	FindWindow time.Duration

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
}

func (c *OutboundConfig) defaults() {
	if c.DefaultRegion == "" {
		c.DefaultRegion = "US"
	}
	if c.BatchWindow <= 0 {
		c.BatchWindow = 25 * time.Millisecond
	}
	if c.WriteWindow <= 0 {
		c.WriteWindow = 200 * time.Millisecond
	}
	if c.MaxConcurrentSends <= 0 {
		c.MaxConcurrentSends = 64
	}
	if c.FindWindow <= 0 {
		c.FindWindow = 10 * time.Minute
	}
	if c.IntentGrace <= 0 {
		c.IntentGrace = 30 * time.Second
	}
	if c.MinSendTime <= 0 {
		c.MinSendTime = 5 * time.Second
	}
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

	resolving [64]gosync.Mutex // see lockResolution
	backlog   backlog          // estimated queue per sender at Twilio

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
	}
	o.dir = newDirectory(org, cfg.DefaultRegion, cfg)
	o.load = &Batcher[string, *Task]{Window: cfg.BatchWindow, Flush: o.loadTasks}
	o.write = &Batcher[Record, error]{Window: cfg.WriteWindow, Flush: o.writeTasks}
	o.optin = &Batcher[string, bool]{Window: cfg.BatchWindow, Flush: o.loadOptOuts}
	o.mergeRead = &Batcher[mergeRequest, mergeResult]{Window: cfg.BatchWindow, Flush: o.readMergeFields}
	return o
}

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

func (o *Outbound) writeTasks(ctx context.Context, recs []Record) ([]error, error) {
	res, err := o.org.Save(ctx, SaveOp{Kind: Update}, "Task", recs)
	if err != nil {
		return nil, err
	}
	out := make([]error, len(recs))
	for i, r := range res {
		out[i] = r.Err
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
// later, and a *RetryAfter error says when.
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
	if t.MessageType != "Outbound" || t.MessageStatus != StatusPending {
		log.Debug("task is not pending outbound; skipped", zap.String("status", string(t.MessageStatus)))
		return nil
	}

	msg, reject := o.prepare(ctx, t)
	if reject != "" {
		log.Info("task rejected before sending", zap.String("reason", reject))
		return o.record(ctx, Record{"Id": t.ID, "Message_Status__c": string(StatusError),
			"Error_Description__c": reject, "Status": "Completed"})
	}
	if msg == nil {
		return errors.New("resolving the task's recipient or channel failed; will retry")
	}

	// One ledger key per Pending transition. SystemModstamp alone is not
	// enough: Salesforce datetimes have second precision, so a user who
	// sets a refused Task back to Pending within the second of our
	// write-back produces the same stamp. The generation suffix tells those
	// transitions apart (see the LedgerRecorded case).
	base := t.ID + "@" + t.SystemModstamp
	for gen := 1; gen <= maxGenerations; gen++ {
		key := base
		if gen > 1 {
			key = fmt.Sprintf("%s#%d", base, gen)
		}
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
			// Either a duplicate job that read the Task before the first one
			// wrote it back, or the user set the Task back to Pending since.
			// Our write-back made the Task non-Pending and read-after-write
			// holds, so a fresh read tells them apart.
			cur, err := o.load.Do(ctx, t.ID)
			if err != nil {
				return fmt.Errorf("re-reading task: %w", err)
			}
			if cur == nil || cur.MessageType != "Outbound" || cur.MessageStatus != StatusPending {
				log.Debug("already sent and recorded; duplicate job", zap.String("message_sid", entry.SID))
				return nil
			}
			if cur.SystemModstamp != t.SystemModstamp {
				// Changed again since this job read it: start over from the
				// current record, so its current recipient and body are used.
				return o.Send(ctx, t.ID)
			}
			log.Info("task set back to Pending within the second of the last outcome; a new transition", zap.Int("generation", gen+1))
			continue
		case LedgerSent:
			log.Info("already sent; recording the outcome", zap.String("message_sid", entry.SID))
			msg.out.Body = entry.Body // what was sent, should a merge field have changed since
			return o.recordSent(ctx, key, t, msg, Sent{SID: entry.SID, Status: entry.Status, DateCreated: entry.CreatedAt})
		case LedgerFailed:
			return o.recordFailed(ctx, key, t, msg, entry.Reason, 0)
		case LedgerIntent:
			if age := time.Since(entry.ClaimedAt); age < o.cfg.IntentGrace {
				// Another job may still be waiting on Twilio with this intent
				// (a duplicate event, a sweep, a rescued job): a lookup now
				// could miss a create in flight and send twice. Once the
				// intent is older than any send can take, a lookup is final.
				return &RetryError{After: o.cfg.IntentGrace - age, Err: fmt.Errorf("send %s is in flight elsewhere", key)}
			}
			// The intent's job is gone. Take it over in the ledger first:
			// several jobs (a duplicate event, a sweep, a rescued job, another
			// replica) may find it stale at once, and only the one that wins
			// the claim may look the message up and send.
			claimed, ok, err := o.ledger.ClaimIntent(ctx, key, time.Now().Add(-o.cfg.IntentGrace))
			if err != nil {
				return fmt.Errorf("ledger: %w", err)
			}
			if !ok {
				return &RetryError{After: o.cfg.IntentGrace, Err: fmt.Errorf("send %s was claimed by another job", key)}
			}
			// One resolution at a time per customer and sender, held until
			// the SID is on the Task: two Tasks with the same words must not
			// both take the same message for theirs. The lookup covers every
			// owner's sends since the original intent (CreatedAt, which no
			// claim changes).
			unlock := o.lockResolution(entry.To + "|" + entry.From)
			found, err := o.resolveAmbiguous(ctx, entry)
			if err != nil {
				unlock()
				return err
			}
			if found != nil {
				log.Info("ambiguous send found at Twilio; not sending again", zap.String("message_sid", found.SID))
				err := o.ledger.CompleteSend(ctx, key, found.SID, found.Status)
				if err == nil {
					msg.out.Body = entry.Body
					err = o.recordSent(ctx, key, t, msg, *found)
				} else {
					err = fmt.Errorf("ledger: %w", err)
				}
				unlock()
				return err
			}
			unlock()
			log.Info("ambiguous send not found at Twilio; sending")
			return o.sendNow(ctx, log, key, claimed.ClaimedAt, t, msg)
		}
		return fmt.Errorf("ledger: entry %s is in an unknown state %q", key, entry.State)
	}
	return &PermanentError{Err: fmt.Errorf("task %s was set back to Pending more than %d times within one second", t.ID, maxGenerations)}
}

// maxGenerations bounds the Pending transitions of one Task within one
// second of SystemModstamp that are told apart.
const maxGenerations = 50

// prepared is a validated message ready to send.
type prepared struct {
	accountSID     string
	channel        *Channel
	out            Outgoing
	conversationID string // set when the engine created the conversation
	merged         bool   // out.Body is Description with its merge fields filled
}

func (p *prepared) sender() string {
	if p.out.From != "" {
		return p.out.From
	}
	return p.out.MessagingServiceSID
}

// prepare resolves sender and recipient and validates the Task. It returns
// a rejection reason for the user, or (nil, "") when a lookup failed and the
// job should be retried.
func (o *Outbound) prepare(ctx context.Context, t *Task) (*prepared, string) {
	var ch *Channel
	var recipient string
	if t.Conversation != nil {
		recipient = t.Conversation.Recipient
		if t.Conversation.Channel != nil {
			// A copy: duplicate jobs for one Task share the loaded record.
			c := *t.Conversation.Channel
			c.ID = t.Conversation.ChannelID
			ch = &c
		}
	}
	if ch == nil {
		if o.cfg.DefaultChannel == "" {
			return nil, "The Task has no conversation and twilio.default_channel is not set, so there is no number to send from."
		}
		var err error
		ch, err = o.channelByName(ctx, o.cfg.DefaultChannel)
		if err != nil {
			o.log.Warn("loading default channel", zap.Error(err))
			return nil, ""
		}
		if ch == nil {
			return nil, fmt.Sprintf("The default channel %q (twilio.default_channel) does not exist in Salesforce.", o.cfg.DefaultChannel)
		}
	}
	if p := CheckChannel(ch, nil); p != nil {
		return nil, p.Reason
	}
	body := strings.TrimSpace(t.Description)
	if body == "" {
		return nil, "The message body (Description) is empty."
	}
	body, merged, err := o.merge(ctx, t)
	if err != nil {
		var me *MergeError
		if errors.As(err, &me) {
			return nil, me.Reason
		}
		o.log.Warn("reading the message's merge fields", zap.String("task_id", t.ID), zap.Error(err))
		return nil, ""
	}
	if merged && strings.TrimSpace(body) == "" {
		return nil, "The message body is empty once its merge fields are filled."
	}
	maxLen := ch.ChannelType.MaxLength()
	if n := utf8.RuneCountInString(body); n > maxLen {
		if merged {
			return nil, fmt.Sprintf("The message is %d characters long once its merge fields are filled; channel %q allows at most %d.", n, ch.Name, maxLen)
		}
		return nil, fmt.Sprintf("The message is %d characters long; channel %q allows at most %d.", n, ch.Name, maxLen)
	}
	var newConv *convKey
	if recipient == "" && t.Conversation == nil {
		// No thread yet: the customer's number comes from the WhoId record
		// through the External_Channel__c registry, and a conversation is
		// created for it.
		if t.WhoID == "" {
			return nil, "The Task has no conversation and no WhoId, so there is no one to send to."
		}
		ph, err := o.dir.phones.Do(ctx, t.WhoID)
		if err != nil {
			o.log.Warn("loading the WhoId's phone", zap.String("task_id", t.ID), zap.Error(err))
			return nil, ""
		}
		if ph.E164 == "" {
			return nil, fmt.Sprintf("No valid phone number found on record %s in any External_Channel__c field.", t.WhoID)
		}
		recipient = ph.E164
		newConv = &convKey{ChannelID: ch.ID, Recipient: ph.E164, RecordID: t.WhoID, ExternalChannelID: ph.ExternalChannelID, QueueName: ch.QueueName}
	}
	if recipient == "" {
		return nil, "The Task's conversation has no Message_Recipient__c."
	}
	to, err := NormalizeNumber(recipient, o.cfg.DefaultRegion)
	if err != nil {
		return nil, fmt.Sprintf("The recipient %q is not a valid phone number.", recipient)
	}
	// WhatsApp addresses carry "whatsapp:" on both ends (twilio.md §10.1).
	// A conversation started by a WhatsApp message already has it; a
	// number from a Contact's phone field does not.
	whatsapp := ch.ChannelType.Provider == ProviderWhatsApp
	switch {
	case whatsapp && !strings.HasPrefix(to, whatsappPrefix):
		to = whatsappPrefix + to
	case !whatsapp && strings.HasPrefix(to, whatsappPrefix):
		return nil, fmt.Sprintf("The recipient %s is a WhatsApp address, but channel %q sends SMS (its Channel_Type__c Provider__c is not %q).", to, ch.Name, ProviderWhatsApp)
	}
	if newConv != nil {
		newConv.Recipient = to // inbound WhatsApp keys its conversations the same way
	}
	optedOut, err := o.optin.Do(ctx, OptInKey(to, ch.ID))
	if err != nil {
		o.log.Warn("loading opt-outs", zap.Error(err))
		return nil, ""
	}
	if optedOut {
		return nil, fmt.Sprintf("The recipient %s has opted out of channel %q (replied STOP); they must text START before they can be messaged again.", to, ch.Name)
	}
	p := &prepared{accountSID: ch.ChannelType.AccountSID, channel: ch, merged: merged, out: Outgoing{
		To: to, Body: body, StatusCallback: o.cfg.StatusCallback,
	}}
	if newConv != nil {
		id, err := o.dir.convs.Do(ctx, *newConv)
		if err != nil || id == "" {
			o.log.Warn("creating the conversation", zap.String("task_id", t.ID), zap.Error(err))
			return nil, ""
		}
		p.conversationID = id
	}
	if ch.MessagingServiceSID != "" {
		p.out.MessagingServiceSID = ch.MessagingServiceSID
	} else {
		p.out.From = ch.PhoneNumber
		if whatsapp && !strings.HasPrefix(p.out.From, whatsappPrefix) {
			p.out.From = whatsappPrefix + p.out.From
		}
	}
	return p, ""
}

// channelByName reads a channel with its type, cached until Invalidate.
func (o *Outbound) channelByName(ctx context.Context, name string) (*Channel, error) {
	o.mu.Lock()
	ch, ok := o.channels[name]
	o.mu.Unlock()
	if ok {
		return ch, nil
	}
	var rows []*Channel
	q := "SELECT " + ChannelFields + " FROM Channel__c WHERE Name = " + soql.Quote(name) + " LIMIT 1"
	if err := o.org.Query(ctx, q, &rows); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	o.mu.Lock()
	o.channels[name] = rows[0]
	o.mu.Unlock()
	return rows[0], nil
}

// InvalidateChannels drops cached channels (a Channel__c changed).
func (o *Outbound) InvalidateChannels() {
	o.mu.Lock()
	o.channels = map[string]*Channel{}
	o.mu.Unlock()
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

// resolveAmbiguous looks for a message the ledger may have sent: same
// recipient, sender and body, created around the intent. Two Tasks may
// send the same words to the same customer, so a candidate is only ours if
// Twilio created it after our intent was written (less clock skew) and no
// other Task already carries its SID.
func (o *Outbound) resolveAmbiguous(ctx context.Context, e LedgerEntry) (*Sent, error) {
	found, err := o.tw.Find(ctx, e.AccountSID, FindQuery{
		To: e.To, From: e.From,
		After:  e.CreatedAt.Add(-o.cfg.FindWindow),
		Before: e.CreatedAt.Add(o.cfg.FindWindow),
	})
	if err != nil {
		return nil, &RetryError{After: 2 * time.Second, Err: fmt.Errorf("looking up an ambiguous send: %w", err)}
	}
	var candidates []Sent
	for _, m := range found {
		// Twilio's date_created has second precision and its clock is not
		// ours: allow a few seconds before the intent.
		if m.Body == e.Body && (m.DateCreated.IsZero() || !m.DateCreated.Before(e.CreatedAt.Add(-clockSkew))) {
			candidates = append(candidates, m)
		}
	}
	if len(candidates) == 0 {
		o.log.Info("ambiguous send: no candidate at Twilio", zap.String("task_id", e.TaskID), zap.Int("listed", len(found)),
			zap.Time("intent_at", e.CreatedAt), zap.String("to", e.To), zap.String("from", e.From))
		return nil, nil
	}
	claimed, err := o.sidsCarried(ctx, candidates, e.TaskID)
	if err != nil {
		return nil, &RetryError{After: 2 * time.Second, Err: fmt.Errorf("checking which messages other tasks carry: %w", err)}
	}
	// Oldest first: our create was the first of its kind after the intent.
	slices.SortFunc(candidates, func(a, b Sent) int { return a.DateCreated.Compare(b.DateCreated) })
	for i := range candidates {
		if !claimed[candidates[i].SID] {
			return &candidates[i], nil
		}
	}
	o.log.Info("ambiguous send: every candidate belongs to another task", zap.String("task_id", e.TaskID), zap.Int("candidates", len(candidates)))
	return nil, nil
}

// lockResolution serialises ambiguous-send resolutions that could claim
// the same Twilio message (same customer and sender). Striped, so memory
// stays bounded; a collision only serialises two unrelated resolutions.
func (o *Outbound) lockResolution(key string) (unlock func()) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	mu := &o.resolving[h.Sum32()%uint32(len(o.resolving))]
	mu.Lock()
	return mu.Unlock
}

// clockSkew is how far Twilio's clock may be behind ours.
const clockSkew = 5 * time.Second

// sidsCarried returns which of the messages' SIDs a Task other than
// taskID already carries. It runs only on the rare ambiguous path.
func (o *Outbound) sidsCarried(ctx context.Context, ms []Sent, taskID string) (map[string]bool, error) {
	sids := make([]string, len(ms))
	for i, m := range ms {
		sids[i] = m.SID
	}
	in, err := soql.InList(sids)
	if err != nil {
		return nil, err
	}
	var rows []Task
	if err := o.org.Query(ctx, "SELECT Id, Message_Sid__c FROM Task WHERE Message_Sid__c IN "+in, &rows); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, r := range rows {
		if r.ID != taskID {
			out[r.MessageSID] = true
		}
	}
	return out, nil
}

// Unrecorded reports whether this process has sid from Twilio but has not
// written it to its Task yet: a status callback for it can wait a moment
// instead of reading Salesforce, finding nothing and being parked.
func (o *Outbound) Unrecorded(sid string) bool {
	_, ok := o.unrecorded.Load(sid)
	return ok
}

func (o *Outbound) recordSent(ctx context.Context, key string, t *Task, msg *prepared, s Sent) error {
	o.unrecorded.Store(s.SID, struct{}{})
	defer o.unrecorded.Delete(s.SID)
	st, err := FromTwilio(s.Status)
	if err != nil || !Advances(StatusPending, st) {
		st = StatusQueued
	}
	at := s.DateCreated
	if at.IsZero() {
		at = time.Now()
	}
	rec := Record{"Id": t.ID, "Message_Sid__c": s.SID, "Message_Status__c": string(st),
		"Message_Send_Date__c": sfTime(at), "Status": "Completed", "Error_Description__c": nil,
		"Subject": subject("to", msg.out.To)}
	if msg.merged {
		// The Task shows what the customer read, not the template.
		rec["Description"] = msg.out.Body
	}
	if msg.conversationID != "" {
		rec["Conversation__c"] = msg.conversationID
	}
	if err := o.record(ctx, rec); err != nil {
		return err
	}
	if o.cfg.OnRecorded != nil {
		if err := o.cfg.OnRecorded(ctx, s.SID); err != nil {
			o.log.Warn("applying parked status callbacks", zap.String("task_id", t.ID), zap.String("message_sid", s.SID), zap.Error(err))
		}
	}
	return o.ledger.MarkRecorded(ctx, key)
}

func (o *Outbound) recordFailed(ctx context.Context, key string, t *Task, msg *prepared, reason string, code int) error {
	rec := Record{"Id": t.ID, "Message_Status__c": string(StatusFailed), "Error_Description__c": reason, "Status": "Completed"}
	if err := o.record(ctx, rec); err != nil {
		return err
	}
	return o.ledger.MarkRecorded(ctx, key)
}

// record writes a Task update through the batcher; a Task deleted meanwhile
// is not an error.
func (o *Outbound) record(ctx context.Context, rec Record) error {
	werr, err := o.write.Do(ctx, rec)
	if err != nil {
		return fmt.Errorf("writing task: %w", err)
	}
	if werr != nil {
		if errors.Is(werr, ErrNotFound) {
			return nil
		}
		return fmt.Errorf("writing task: %w", werr)
	}
	return nil
}

// RetryError asks the queue to run the job again after After without
// counting it as a failed attempt (throttling, outages).
type RetryError struct {
	After time.Duration
	Err   error
}

func (e *RetryError) Error() string { return fmt.Sprintf("retry in %s: %v", e.After, e.Err) }
func (e *RetryError) Unwrap() error { return e.Err }

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
