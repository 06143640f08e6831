package sync

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	gosync "sync"
	"time"

	"go.uber.org/zap"

	"github.com/switchboard/switchboard/sfdc/soql"
)

// InboundMessage is one message a customer sent to a channel, as the
// webhook server persisted it (twilio.md §5.3).
type InboundMessage struct {
	SID                 string // MessageSid
	AccountSID          string
	From                string // the customer: E.164, a short code, an alphanumeric id, or "whatsapp:+…"
	To                  string // the channel's number
	MessagingServiceSID string // set when the number is in a Messaging Service
	Body                string
	MediaURLs           []string // MediaUrl0…MediaUrl{NumMedia-1}
	OptOutType          string   // STOP / START / HELP with Advanced Opt-Out (twilio.md §7)
	ReceivedAt          time.Time
}

// InboundConfig tunes the inbound engine.
type InboundConfig struct {
	// DefaultRegion reads national numbers ("US"), as the outbound engine does.
	DefaultRegion string
	// BatchWindow is how long a Salesforce read or write waits to fill a
	// batch of up to 200 records.
	BatchWindow time.Duration
	// ChannelTTL bounds how long the Channel__c and queue cache is trusted
	// without an invalidation (Channel__c has no PushTopic).
	ChannelTTL time.Duration
	// ChannelRetry is the least time between two reloads caused by a
	// message for a number the cache does not know, so a burst of messages
	// to an unconfigured number does not become a burst of queries.
	ChannelRetry time.Duration
	// ConversationTTL bounds how long a known open thread is reused without
	// reading Salesforce again; SwitchboardConversations events invalidate
	// entries sooner (Conversations.Handle).
	ConversationTTL time.Duration
	// Now is the clock the memory of recent messages ages by (time.Now
	// when nil); tests move it instead of sleeping.
	Now func() time.Time
}

func (c *InboundConfig) defaults() {
	if c.DefaultRegion == "" {
		c.DefaultRegion = "US"
	}
	if c.BatchWindow <= 0 {
		c.BatchWindow = 25 * time.Millisecond
	}
	if c.ChannelTTL <= 0 {
		c.ChannelTTL = 5 * time.Minute
	}
	if c.ChannelRetry <= 0 {
		c.ChannelRetry = 5 * time.Second
	}
	if c.ConversationTTL <= 0 {
		c.ConversationTTL = 10 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Inbound records customers' messages in Salesforce (SPEC §3 Inbound). Its
// Handle method is the handler of one queued inbound job; many run
// concurrently and their Salesforce work is coalesced into batches.
type Inbound struct {
	cfg     InboundConfig
	org     Org
	log     *zap.Logger
	dir     *Directory
	consent *Consent

	convs  *Batcher[inConvKey, inConvResult]
	tasks  *Batcher[Record, taskWrite]
	recent *recentSet // SIDs recorded by this process

	chMu     gosync.Mutex
	chans    *channelIndex
	chLoaded time.Time

	cacheMu  gosync.Mutex
	convByKy map[threadKey]cachedConv
	convByID map[string]threadKey
}

// NewInbound builds the inbound engine. dir should be the outbound engine's
// Directory (Outbound.Directory), so the External_Channel__c registry is read
// once and inbound and outbound never both create a thread for one number;
// nil builds a private one. consent may be shared with the outbound engine
// (for 21610); nil builds a private one.
func NewInbound(cfg InboundConfig, org Org, dir *Directory, consent *Consent, log *zap.Logger) *Inbound {
	cfg.defaults()
	if log == nil {
		log = zap.NewNop()
	}
	if dir == nil {
		dir = newDirectory(org, cfg.DefaultRegion, OutboundConfig{BatchWindow: cfg.BatchWindow})
	}
	if consent == nil {
		consent = NewConsent(org, log, cfg.BatchWindow)
	}
	in := &Inbound{cfg: cfg, org: org, log: log, dir: dir, consent: consent,
		recent:   newRecentSet(10*time.Minute, 100_000),
		convByKy: map[threadKey]cachedConv{}, convByID: map[string]threadKey{}}
	in.recent.now = cfg.Now
	in.convs = &Batcher[inConvKey, inConvResult]{Window: cfg.BatchWindow, Flush: in.flushConversations}
	in.tasks = &Batcher[Record, taskWrite]{Window: cfg.BatchWindow, Flush: in.flushTasks}
	return in
}

// Directory exposes the outbound engine's number directory, so the inbound
// engine shares its registry cache and its conversation lock.
func (o *Outbound) Directory() *Directory { return o.dir }

// Consent is the Opt_In__c writer the inbound engine uses; the outbound
// engine calls its OptOut on Twilio error 21610.
func (i *Inbound) Consent() *Consent { return i.consent }

// messageSIDRE is a Twilio message SID (twilio.md §1.1): SM/MM and 32 hex
// digits. Other two-letter prefixes are accepted so a new message kind is
// recorded rather than dead-lettered.
var messageSIDRE = regexp.MustCompile(`^[A-Z]{2}[0-9a-fA-F]{32}$`)

// Handle records one inbound message: its thread, its Task, and any consent
// keyword. A nil error means it is in Salesforce; a *PermanentError means it
// never can be as it stands (dead-letter it); anything else is retryable.
//
// Handling the same message twice creates nothing new and changes nothing.
// m.ReceivedAt is when the webhook first arrived (the queued job's creation
// time, not when it runs), so a retry of this delivery carries the time its
// Task was created with and finishes the keyword it may not have recorded,
// while a later delivery of the same MessageSid — Twilio's retry, or a
// signed request an attacker replays — finds the Task from another time
// and is a replay: consent, threads and the Task stay as they are. The org
// decides (the Task's create is refused as a duplicate), not a memory that
// forgets and that each replica has its own of.
func (i *Inbound) Handle(ctx context.Context, m InboundMessage) error {
	sid := strings.TrimSpace(m.SID)
	if !messageSIDRE.MatchString(sid) {
		return permanentf("inbound message: MessageSid %q is not a Twilio message SID", m.SID)
	}
	if strings.TrimSpace(m.From) == "" {
		return permanentf("inbound message %s: no From", sid)
	}
	if i.recent.Has(sid) {
		return nil
	}
	log := i.log.With(zap.String("message_sid", sid))
	ch, idx, err := i.channelFor(ctx, m)
	if err != nil {
		return err
	}
	key := inConvKey{ChannelID: ch.ID, ChannelTypeID: ch.ChannelTypeID}
	if q := strings.TrimSpace(ch.QueueName); q != "" {
		key.QueueID = idx.queues[strings.ToLower(q)] // a missing queue is logged when channels load
	}
	cust, kind := CustomerAddress(m.From, i.cfg.DefaultRegion)
	key.Customer, key.Phone, key.SID = cust, kind == SenderPhone, sid
	at := m.ReceivedAt
	if at.IsZero() {
		at = i.cfg.Now()
	}
	conv, err := i.convs.Do(ctx, key)
	if err != nil {
		return fmt.Errorf("finding the conversation: %w", err)
	}
	if conv.Err != nil {
		return fmt.Errorf("finding the conversation: %w", conv.Err)
	}
	var w taskWrite
	if t := conv.Existing; t != nil {
		// No open thread, and the message's Task exists: no thread was
		// made for it, and no Task is written.
		w = taskWrite{id: t.ID, replay: !sameInstant(t.MessageSendDate, sfTime(at))}
	} else {
		if conv.ID == "" {
			return errors.New("finding the conversation: no conversation Id came back")
		}
		rec := Record{
			"Message_Sid__c": sid, "Message_Type__c": "Inbound", "Message_Status__c": string(StatusReceived),
			"Description": inboundDescription(m.Body, m.MediaURLs), "Message_Send_Date__c": sfTime(at),
			"Status": "Completed", "Subject": clip(subject("from", cust), 255), "Conversation__c": conv.ID,
		}
		if f := linkField(conv.RecordID); f != "" {
			rec[f] = conv.RecordID
		}
		if w, err = i.tasks.Do(ctx, rec); err != nil {
			return fmt.Errorf("writing the inbound task: %w", err)
		}
		if w.err != nil {
			return fmt.Errorf("writing the inbound task: %w", w.err)
		}
	}
	if w.replay {
		log.Info("message already recorded from an earlier delivery; this one changes nothing",
			zap.String("task_id", w.id), zap.Time("received_at", at))
		i.recent.Add(sid)
		return nil
	}

	switch k := ClassifyKeyword(m.Body, m.OptOutType); {
	case k != KeywordStop && k != KeywordStart:
	case kind != SenderPhone:
		// Consent is keyed by a number we could message; a short code or
		// an alphanumeric sender cannot be messaged at all.
		log.Info("consent keyword from a sender that is not a phone number; not recorded",
			zap.String("from", cust), zap.String("keyword", k.String()))
	default:
		word := strings.ToUpper(strings.TrimSpace(m.Body))
		if keywords[word] == KeywordNone && m.OptOutType != "" {
			// An Advanced Opt-Out custom keyword: the body is the word.
			word = clip(word, 40)
			if word == "" {
				word = strings.ToUpper(m.OptOutType)
			}
		}
		if err := i.consent.Record(ctx, ConsentChange{Customer: cust, ChannelID: ch.ID, Active: k == KeywordStart,
			Keyword: word, At: at}); err != nil {
			return err
		}
		log.Info("consent recorded", zap.String("customer", cust), zap.String("channel", ch.Name), zap.Bool("active", k == KeywordStart))
	}
	i.recent.Add(sid)
	return nil
}

// inboundDescription is the Task body. The SPEC has no media field, so an
// MMS's media count and URLs follow the text in Description.
func inboundDescription(body string, media []string) string {
	if len(media) == 0 {
		return body
	}
	var b strings.Builder
	b.WriteString(body)
	if body != "" {
		b.WriteString("\n\n")
	}
	noun := "attachments"
	if len(media) == 1 {
		noun = "attachment"
	}
	fmt.Fprintf(&b, "[%d media %s]", len(media), noun)
	for _, u := range media {
		b.WriteString("\n")
		b.WriteString(u)
	}
	return b.String()
}

// linkField says which Task lookup a bound record goes in: WhoId for a
// Contact or Lead, WhatId for anything else, "" for no (valid) record.
func linkField(recordID string) string {
	switch {
	case !looksLikeID(recordID):
		return ""
	case isWhoID(recordID):
		return "WhoId"
	}
	return "WhatId"
}

// ---- channels --------------------------------------------------------

type channelIndex struct {
	byAddress map[string][]*Channel // normalised Phone_Number__c
	byService map[string][]*Channel // Messaging_Service_Sid__c
	byID      map[string]*Channel
	queues    map[string]string // lower-cased DeveloperName → Group Id
}

type queueRow struct {
	ID            string `json:"Id"`
	DeveloperName string `json:"DeveloperName"`
}

// channelKey normalises a channel address for lookup: "whatsapp:" is a
// transport prefix on the same number, and short codes stay as they are.
func (i *Inbound) channelKey(raw string) string {
	s, _ := splitWhatsApp(strings.TrimSpace(raw))
	k, _ := CustomerAddress(s, i.cfg.DefaultRegion)
	return k
}

func (i *Inbound) loadChannels(ctx context.Context) (*channelIndex, error) {
	var chans []*Channel
	q := "SELECT Id, Name, Phone_Number__c, Messaging_Service_Sid__c, Queue_Name__c, Active__c, Channel_Type__c, " +
		"Channel_Type__r.Account_Sid__c FROM Channel__c"
	if err := i.org.Query(ctx, q, &chans); err != nil {
		return nil, fmt.Errorf("reading channels: %w", err)
	}
	var queues []queueRow
	if err := i.org.Query(ctx, "SELECT Id, DeveloperName FROM Group WHERE Type = 'Queue'", &queues); err != nil {
		return nil, fmt.Errorf("reading queues: %w", err)
	}
	idx := &channelIndex{byAddress: map[string][]*Channel{}, byService: map[string][]*Channel{},
		byID: map[string]*Channel{}, queues: map[string]string{}}
	for _, c := range chans {
		idx.byID[c.ID] = c
		if c.PhoneNumber != "" {
			k := i.channelKey(c.PhoneNumber)
			idx.byAddress[k] = append(idx.byAddress[k], c)
		}
		if s := strings.TrimSpace(c.MessagingServiceSID); s != "" {
			idx.byService[s] = append(idx.byService[s], c)
		}
	}
	for _, q := range queues {
		idx.queues[strings.ToLower(q.DeveloperName)] = q.ID
	}
	for _, c := range chans {
		if q := strings.TrimSpace(c.QueueName); q != "" && idx.queues[strings.ToLower(q)] == "" {
			i.log.Warn("Channel__c.Queue_Name__c names no queue (Group of Type Queue with that DeveloperName); its new conversations stay with the integration user",
				zap.String("channel", c.Name), zap.String("queue", q))
		}
	}
	return idx, nil
}

// channels returns the cached index, reloading it when stale or, if
// reloadMiss, when the last load is older than ChannelRetry.
func (i *Inbound) channels(ctx context.Context, reloadMiss bool) (*channelIndex, error) {
	i.chMu.Lock()
	defer i.chMu.Unlock()
	age := time.Since(i.chLoaded)
	if i.chans != nil && age < i.cfg.ChannelTTL && (!reloadMiss || age < i.cfg.ChannelRetry) {
		return i.chans, nil
	}
	idx, err := i.loadChannels(ctx)
	if err != nil {
		return nil, err
	}
	i.chans, i.chLoaded = idx, time.Now()
	return idx, nil
}

// InvalidateChannels drops the Channel__c and queue cache (a channel or a
// queue changed); the next message reloads it.
func (i *Inbound) InvalidateChannels() {
	i.chMu.Lock()
	i.chans = nil
	i.chMu.Unlock()
}

// knowsChannel reports whether the cache holds channel id.
func (i *Inbound) knowsChannel(id string) bool {
	i.chMu.Lock()
	defer i.chMu.Unlock()
	return i.chans != nil && i.chans.byID[id] != nil
}

func (idx *channelIndex) find(addr, service, accountSID string) *Channel {
	if c := pickChannel(idx.byAddress[addr], accountSID); c != nil {
		return c
	}
	return pickChannel(idx.byService[service], accountSID)
}

// pickChannel prefers an active channel of the message's account.
func pickChannel(cands []*Channel, accountSID string) *Channel {
	var best *Channel
	bestScore := -1
	for _, c := range cands {
		score := 0
		if c.Active {
			score += 2
		}
		if accountSID != "" && c.ChannelType != nil && c.ChannelType.AccountSID == accountSID {
			score++
		}
		if score > bestScore {
			best, bestScore = c, score
		}
	}
	return best
}

func (i *Inbound) channelFor(ctx context.Context, m InboundMessage) (*Channel, *channelIndex, error) {
	addr, service := i.channelKey(m.To), strings.TrimSpace(m.MessagingServiceSID)
	if addr == "" && service == "" {
		return nil, nil, permanentf("inbound message %s: neither To nor MessagingServiceSid is set", m.SID)
	}
	idx, err := i.channels(ctx, false)
	if err != nil {
		return nil, nil, err
	}
	ch := idx.find(addr, service, m.AccountSID)
	if ch == nil {
		// Perhaps the channel was created since the cache was filled.
		if idx, err = i.channels(ctx, true); err != nil {
			return nil, nil, err
		}
		ch = idx.find(addr, service, m.AccountSID)
	}
	if ch == nil {
		return nil, nil, permanentf("inbound message %s: no Channel__c has Phone_Number__c %q or Messaging_Service_Sid__c %q", m.SID, m.To, service)
	}
	if !ch.Active {
		// Deactivating a channel stops sending from it; a customer's reply
		// is still a record of what they said, so it is kept.
		i.log.Warn("inbound message for an inactive channel; recorded anyway",
			zap.String("message_sid", m.SID), zap.String("channel", ch.Name))
	}
	return ch, idx, nil
}

// ---- conversations -----------------------------------------------------

type inConvKey struct {
	ChannelID, ChannelTypeID string
	QueueID                  string // Group Id of the channel's queue, "" for none
	Customer                 string
	Phone                    bool   // Customer is an E.164 number that records may hold
	SID                      string // the message the thread is wanted for
}

type inConvResult struct {
	ID, RecordID string
	// Existing is the message's Task, found instead of a thread to
	// create: the message is in the org already (a replay, or this
	// delivery retried) and its thread was closed since.
	Existing *Task
	Err      error
}

// thread is the key's thread in the finder's case rule, so "ACME" and
// "acme" in one batch make one thread, as they would find one.
func (k inConvKey) thread() threadKey { return newThreadKey(k.ChannelID, k.Customer) }

type cachedConv struct {
	id, recordID string
	at           time.Time
}

func (i *Inbound) cached(p threadKey) (cachedConv, bool) {
	i.cacheMu.Lock()
	defer i.cacheMu.Unlock()
	c, ok := i.convByKy[p]
	if !ok || time.Since(c.at) > i.cfg.ConversationTTL {
		return cachedConv{}, false
	}
	return c, true
}

func (i *Inbound) remember(p threadKey, c cachedConv) {
	i.cacheMu.Lock()
	defer i.cacheMu.Unlock()
	if old, ok := i.convByKy[p]; ok {
		delete(i.convByID, old.id)
	}
	i.convByKy[p] = c
	i.convByID[c.id] = p
}

// ForgetConversation drops a conversation from the thread cache (it was
// closed, rebound or deleted); the next message re-reads Salesforce.
func (i *Inbound) ForgetConversation(id string) {
	i.cacheMu.Lock()
	defer i.cacheMu.Unlock()
	if p, ok := i.convByID[id]; ok {
		delete(i.convByKy, p)
		delete(i.convByID, id)
	}
}

// ConversationChanged is how Conversations tells the inbound engine about
// an event: the thread is re-read, and a channel the cache has never seen
// triggers a channel reload.
func (i *Inbound) ConversationChanged(c Conversation) {
	i.ForgetConversation(c.ID)
	if c.ChannelID != "" && !i.knowsChannel(c.ChannelID) {
		i.InvalidateChannels()
	}
}

// flushConversations finds the Open conversation of every (channel,
// customer), creating the missing ones — bound to the customer's record
// when exactly one matches, owned by the channel's queue. A Closed
// conversation is never reopened: the query asks for Open ones only.
func (i *Inbound) flushConversations(ctx context.Context, keys []inConvKey) ([]inConvResult, error) {
	found := map[threadKey]cachedConv{}
	var missing []inConvKey
	seen := map[threadKey]bool{}
	for _, k := range keys {
		p := k.thread()
		if seen[p] {
			continue
		}
		seen[p] = true
		if c, ok := i.cached(p); ok {
			found[p] = c
			continue
		}
		missing = append(missing, k)
	}
	errs := map[threadKey]error{}
	known := map[string]Task{} // by lower-cased SID
	if len(missing) > 0 {
		sids := map[threadKey][]string{}
		for _, k := range keys {
			p := k.thread()
			sids[p] = append(sids[p], k.SID)
		}
		if err := i.findOrCreate(ctx, missing, sids, found, known, errs); err != nil {
			return nil, err
		}
	}
	out := make([]inConvResult, len(keys))
	for n, k := range keys {
		p := k.thread()
		if err := errs[p]; err != nil {
			out[n] = inConvResult{Err: err}
			continue
		}
		if t, ok := known[strings.ToLower(k.SID)]; ok {
			out[n] = inConvResult{Existing: &t}
			continue
		}
		c := found[p]
		out[n] = inConvResult{ID: c.id, RecordID: c.recordID}
	}
	return out, nil
}

// findOrCreate finds the open threads of keys through the conversation
// finder, binds unbound ones whose customer's record exists by now, and
// creates the missing ones (a message whose Task exists gets none). A
// thread Salesforce refuses to create fails only its key, in errs.
func (i *Inbound) findOrCreate(ctx context.Context, keys []inConvKey, sids map[threadKey][]string, found map[threadKey]cachedConv,
	known map[string]Task, errs map[threadKey]error) error {
	// The Directory's lock: the outbound engine creates threads too, and
	// two creators must not both decide a number has none.
	unlock, err := i.dir.lockThreads(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	// A batch that held the lock before this one may have just made the
	// threads this one is missing.
	var customers []string
	kept := keys[:0:0]
	for _, k := range keys {
		p := k.thread()
		if c, ok := i.cached(p); ok {
			found[p] = c
			continue
		}
		kept = append(kept, k)
		customers = append(customers, k.Customer)
	}
	if keys = kept; len(keys) == 0 {
		return nil
	}
	open, err := i.dir.openThreads(ctx, customers)
	if err != nil {
		return err
	}
	now := time.Now()
	// Matching is needed for the threads to create, and for open threads
	// found unbound: the customer's record may exist by now.
	var create, unbound []inConvKey
	var phones []string
	for _, k := range keys {
		p := k.thread()
		t, ok := open[newThreadKey(k.ChannelID, k.Customer)]
		switch {
		case !ok:
			create = append(create, k)
		case t.RecordID == "" && k.Phone:
			unbound = append(unbound, k)
		}
		if ok {
			c := cachedConv{id: t.ID, recordID: t.RecordID, at: now}
			found[p] = c
			i.remember(p, c)
		}
		if (!ok || t.RecordID == "") && k.Phone {
			phones = append(phones, bareNumber(k.Customer))
		}
	}
	if len(create) == 0 && len(unbound) == 0 {
		return nil
	}
	matches, err := i.dir.matchNumbers(ctx, dedupe(phones))
	if err != nil {
		return fmt.Errorf("matching numbers to records: %w", err)
	}
	if err := i.bindOpen(ctx, unbound, matches, found); err != nil {
		return err
	}
	if create, err = i.withoutRecordedTasks(ctx, create, sids, known); err != nil || len(create) == 0 {
		return err
	}
	threads := make([]newThread, len(create))
	for n, k := range create {
		threads[n] = newThread{ChannelID: k.ChannelID, Recipient: k.Customer, OwnerID: k.QueueID}
		if c, ok := i.bind(k, matches); ok {
			threads[n].RecordID, threads[n].ExternalChannelID = c.RecordID, c.ExternalChannelID
		}
	}
	ids, createErrs, err := i.dir.createThreads(ctx, threads)
	if err != nil {
		return err
	}
	for n, k := range create {
		p := k.thread()
		if createErrs[n] != nil {
			errs[p] = createErrs[n]
			continue
		}
		c := cachedConv{id: ids[n], recordID: threads[n].RecordID, at: now}
		found[p] = c
		i.remember(p, c)
	}
	return nil
}

// bind picks the one record holding the key's number, or logs why there is none.
func (i *Inbound) bind(k inConvKey, matches map[string][]numberMatch) (candidate, bool) {
	if !k.Phone {
		return candidate{}, false
	}
	cands := applicable(matches[bareNumber(k.Customer)], k.ChannelTypeID)
	if len(cands) > 1 {
		names := make([]string, len(cands))
		for j, c := range cands {
			names[j] = c.Object + " " + c.RecordID
		}
		i.log.Warn("several records hold the customer's number; conversation left unbound",
			zap.String("customer", k.Customer), zap.String("channel_id", k.ChannelID), zap.Strings("candidates", names))
	}
	if len(cands) != 1 {
		return candidate{}, false
	}
	return cands[0], true
}

// bindOpen binds open threads found unbound to the one record now holding
// their customer's number. Binding fires a SwitchboardConversations event,
// and Conversations moves the thread's earlier Tasks to the record.
func (i *Inbound) bindOpen(ctx context.Context, unbound []inConvKey, matches map[string][]numberMatch, found map[threadKey]cachedConv) error {
	var upd []Record
	var updFor []inConvKey
	var updRec []string
	for _, k := range unbound {
		if c, ok := i.bind(k, matches); ok {
			upd = append(upd, Record{"Id": found[k.thread()].id,
				"Record_Id__c": c.RecordID, "External_Channel__c": c.ExternalChannelID})
			updFor, updRec = append(updFor, k), append(updRec, c.RecordID)
		}
	}
	if len(upd) == 0 {
		return nil
	}
	res, err := i.org.Save(ctx, SaveOp{Kind: Update}, "Conversation__c", upd)
	if err != nil {
		return fmt.Errorf("binding conversations: %w", err)
	}
	for n, r := range res {
		p := updFor[n].thread()
		if r.Err != nil {
			// The message still threads; the binding is tried again when
			// the thread is next read.
			i.log.Warn("binding an open conversation to its record failed", zap.String("conversation_id", found[p].id), zap.Error(r.Err))
			continue
		}
		c := found[p]
		c.recordID = updRec[n]
		found[p] = c
		i.remember(p, c)
	}
	return nil
}

// withoutRecordedTasks keeps the keys a thread is to be made for: a message
// new to the org. One whose Task exists — replayed after its thread was
// closed — would leave an empty thread in the inbox: it gets none, and its
// Task goes in known.
func (i *Inbound) withoutRecordedTasks(ctx context.Context, create []inConvKey, sids map[threadKey][]string, known map[string]Task) ([]inConvKey, error) {
	if len(create) == 0 {
		return nil, nil
	}
	var want []string
	for _, k := range create {
		want = append(want, sids[k.thread()]...)
	}
	tasks, err := i.existingTasks(ctx, want)
	if err != nil {
		return nil, err
	}
	fresh := create[:0:0]
	for _, k := range create {
		all := sids[k.thread()]
		if !slices.ContainsFunc(all, func(sid string) bool { _, ok := tasks[strings.ToLower(sid)]; return !ok }) {
			for _, sid := range all {
				known[strings.ToLower(sid)] = tasks[strings.ToLower(sid)]
			}
			continue
		}
		fresh = append(fresh, k)
	}
	return fresh, nil
}

// bareNumber drops the WhatsApp transport prefix: records hold the number.
func bareNumber(addr string) string {
	number, _ := splitWhatsApp(addr)
	return number
}

// ---- matching numbers to records ----------------------------------------

// numberMatch is one record holding a number in a registered field.
type numberMatch struct {
	Object, RecordID string
	Fields           []ExternalChannel // the registry rows that matched, in registry order
}

// candidate is a record a conversation could be bound to.
type candidate struct {
	Object, RecordID, ExternalChannelID string
}

// applicable keeps the matches through registry rows of the channel's type
// (a row without Channel_Type__c applies to every type).
func applicable(ms []numberMatch, channelTypeID string) []candidate {
	var out []candidate
	for _, m := range ms {
		for _, f := range m.Fields {
			if f.ChannelTypeID == "" || channelTypeID == "" || f.ChannelTypeID == channelTypeID {
				out = append(out, candidate{Object: m.Object, RecordID: m.RecordID, ExternalChannelID: f.ID})
				break
			}
		}
	}
	return out
}

// wideBudget caps the URL-encoded WHERE clause of a matching query, or an
// IN list of 200 message SIDs, so either is one query. LIKE patterns are
// long once encoded (each % is %25), so this is larger than inBudget, yet
// leaves room under the 16,384-byte URI limit (salesforce.md §2.1) for the
// path and the SELECT list.
const wideBudget = 12000

// matchNumbers finds, for each E.164 number, the records whose registered
// phone fields hold it however it was typed. Salesforce cannot normalise a
// phone field in SOQL, so one query per registered object per batch
// over-matches with DigitsPattern and each candidate is confirmed by
// normalising the stored value (a very long batch is split so each query
// URL stays within wideBudget).
func (d *Directory) matchNumbers(ctx context.Context, numbers []string) (map[string][]numberMatch, error) {
	out := map[string][]numberMatch{}
	want := map[string]bool{}
	type term struct{ number, pattern string }
	var terms []term
	for _, n := range numbers {
		if p := DigitsPattern(n); p != "" && !want[n] {
			want[n] = true
			terms = append(terms, term{n, p})
		}
	}
	if len(terms) == 0 {
		return out, nil
	}
	reg, err := d.Registry(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading External_Channel__c: %w", err)
	}
	objects, fields := byObject(reg)
	for _, obj := range objects {
		names := []string{"Id"}
		for _, f := range fields[obj] {
			names = append(names, f.FieldName)
		}
		names = dedupe(names)
		var groups [][]string
		var cur []string
		size := 0
		for _, t := range terms {
			var parts []string
			for _, f := range names[1:] {
				parts = append(parts, f+" LIKE "+soql.Quote(t.pattern))
			}
			clause := strings.Join(parts, " OR ")
			n := len(url.QueryEscape(clause + " OR "))
			if len(cur) > 0 && size+n > wideBudget {
				groups, cur, size = append(groups, cur), nil, 0
			}
			cur = append(cur, clause)
			size += n
		}
		groups = append(groups, cur)
		for _, g := range groups {
			var rows []map[string]any
			q := "SELECT " + strings.Join(names, ", ") + " FROM " + obj + " WHERE " + strings.Join(g, " OR ")
			if err := d.org.Query(ctx, q, &rows); err != nil {
				return nil, fmt.Errorf("matching numbers on %s: %w", obj, err)
			}
			for _, row := range rows {
				id, _ := row["Id"].(string)
				byNumber := map[string]*numberMatch{}
				for _, f := range fields[obj] {
					raw, _ := row[f.FieldName].(string)
					if raw == "" {
						continue
					}
					e164, err := NormalizeNumber(raw, d.region)
					if err != nil || !want[e164] {
						continue
					}
					m := byNumber[e164]
					if m == nil {
						m = &numberMatch{Object: obj, RecordID: id}
						byNumber[e164] = m
					}
					m.Fields = append(m.Fields, f)
				}
				for n, m := range byNumber {
					out[n] = append(out[n], *m)
				}
			}
		}
	}
	for n := range out {
		sort.SliceStable(out[n], func(a, b int) bool { return out[n][a].RecordID < out[n][b].RecordID })
	}
	return out, nil
}

// ---- tasks ------------------------------------------------------------

// taskWrite is what creating one inbound Task came to.
type taskWrite struct {
	id     string
	replay bool // the Task exists from another delivery of the message
	err    error
}

// flushTasks creates inbound Tasks. Message_Sid__c is unique, so a message
// whose Task exists is refused (DUPLICATE_VALUE, salesforce.md §2.8) and
// nothing about that Task changes — an upsert would rewrite its date and
// thread. The refused ones are then read back: the Task's
// Message_Send_Date__c says whether it came from this delivery (a retried
// job: finish its work) or another (a replay: do nothing).
func (i *Inbound) flushTasks(ctx context.Context, recs []Record) ([]taskWrite, error) {
	// One SID twice in a request is refused (DUPLICATE_VALUE), and it is
	// one message anyway: the first is written, the others compared to it.
	first := map[string]int{}
	var uniq []Record
	for _, r := range recs {
		sid := r["Message_Sid__c"].(string)
		if _, ok := first[sid]; !ok {
			first[sid] = len(uniq)
			uniq = append(uniq, r)
		}
	}
	res, err := i.org.Save(ctx, SaveOp{Kind: Create}, "Task", uniq)
	if err != nil {
		return nil, err
	}
	out := make([]taskWrite, len(uniq))
	var retry []int
	for n, r := range res {
		out[n] = taskWrite{id: r.ID, err: r.Err}
		if r.Err != nil && !errors.Is(r.Err, ErrDuplicate) {
			if _, who := uniq[n]["WhoId"]; who {
				retry = append(retry, n)
			} else if _, what := uniq[n]["WhatId"]; what {
				retry = append(retry, n)
			}
		}
	}
	if len(retry) > 0 {
		// The bound record may be gone or of a kind Tasks cannot relate to;
		// the message matters more than the link, so write it unlinked.
		again := make([]Record, len(retry))
		for j, n := range retry {
			r := Record{}
			for k, v := range uniq[n] {
				if k != "WhoId" && k != "WhatId" {
					r[k] = v
				}
			}
			again[j] = r
			i.log.Warn("inbound task could not be linked to the conversation's record; writing it unlinked",
				zap.Any("message_sid", r["Message_Sid__c"]), zap.Error(out[n].err))
		}
		res, err := i.org.Save(ctx, SaveOp{Kind: Create}, "Task", again)
		if err != nil {
			return nil, err
		}
		for j, r := range res {
			out[retry[j]] = taskWrite{id: r.ID, err: r.Err}
		}
	}
	var dups []string
	for n, w := range out {
		if w.err != nil && errors.Is(w.err, ErrNotFound) {
			// The conversation was deleted under us: forget it, and the
			// retry threads the message anew.
			if id, _ := uniq[n]["Conversation__c"].(string); id != "" {
				i.ForgetConversation(id)
			}
		}
		if w.err != nil && errors.Is(w.err, ErrDuplicate) {
			dups = append(dups, uniq[n]["Message_Sid__c"].(string))
		}
	}
	existing, err := i.existingTasks(ctx, dups)
	if err != nil {
		return nil, err
	}
	for n, w := range out {
		if w.err == nil || !errors.Is(w.err, ErrDuplicate) {
			continue
		}
		sid := uniq[n]["Message_Sid__c"].(string)
		t, ok := existing[strings.ToLower(sid)]
		if !ok {
			continue // refused for a duplicate, yet not there: deleted since; the retry creates it
		}
		out[n] = taskWrite{id: t.ID, replay: !sameInstant(t.MessageSendDate, uniq[n]["Message_Send_Date__c"])}
	}
	final := make([]taskWrite, len(recs))
	for n, r := range recs {
		w := out[first[r["Message_Sid__c"].(string)]]
		if w.err == nil && !sameInstant(r["Message_Send_Date__c"], uniq[first[r["Message_Sid__c"].(string)]]["Message_Send_Date__c"]) {
			// The same message delivered twice into one batch: the first
			// delivery wrote it, this one is a replay of it.
			w.replay = true
		}
		final[n] = w
	}
	return final, nil
}

// existingTasks reads the Tasks holding these SIDs, by lower-cased SID
// (External IDs match without regard to case).
func (i *Inbound) existingTasks(ctx context.Context, sids []string) (map[string]Task, error) {
	out := map[string]Task{}
	for _, chunk := range soql.ChunkIn(dedupe(sids), wideBudget) {
		in, err := soql.InList(chunk)
		if err != nil {
			return nil, err
		}
		var rows []Task
		if err := i.org.Query(ctx, "SELECT Id, Message_Sid__c, Message_Send_Date__c FROM Task WHERE Message_Sid__c IN "+in, &rows); err != nil {
			return nil, fmt.Errorf("reading inbound tasks recorded before: %w", err)
		}
		for _, t := range rows {
			out[strings.ToLower(t.MessageSID)] = t
		}
	}
	return out, nil
}

// sameInstant compares two Salesforce datetimes (strings as sent or as
// read) at the millisecond Salesforce keeps.
func sameInstant(a, b any) bool {
	ta, _ := a.(string)
	tb, _ := b.(string)
	x, y := parseOrgTime(ta), parseOrgTime(tb)
	return !x.IsZero() && x.Truncate(time.Millisecond).Equal(y.Truncate(time.Millisecond))
}
