package sync

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
)

// inConvKey asks the conversation batcher for the thread of one inbound
// message.
type inConvKey struct {
	ChannelID, ChannelTypeID string
	QueueID                  string // Group Id of the channel's queue, "" for none
	Customer                 string
	Phone                    bool   // Customer is an E.164 number that records may hold
	SID                      string // the message the thread is wanted for
}

// inConvResult is the thread found or created for an inConvKey.
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

// cachedConv is an open thread the inbound engine knows (ConversationTTL).
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
		t, ok := open[p]
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
