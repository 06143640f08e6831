package sync

import (
	"context"
	"errors"
	"fmt"
	gosync "sync"
	"time"

	"go.uber.org/zap"

	"github.com/switchboard/switchboard/sfdc/soql"
)

// ConversationObserver is told about every conversation an event names, so
// caches of threads and channels can drop what changed (Inbound implements
// it). A deleted conversation arrives with only its Id.
type ConversationObserver interface {
	ConversationChanged(c Conversation)
}

// Conversations handles SwitchboardConversations events (SPEC §2, §3
// Conversations): when a thread is bound to a record, its Tasks move to
// that record.
type Conversations struct {
	org       Org
	log       *zap.Logger
	observers []ConversationObserver
	batch     *Batcher[string, error]

	mu       gosync.Mutex
	lastSeen map[string]string // conversation Id → Record_Id__c its Tasks were last moved to (or found on)
}

// NewConversations builds the event handler; window is the batch window
// (0: 25 ms); observers hear about every conversation an event names.
func NewConversations(org Org, log *zap.Logger, window time.Duration, observers ...ConversationObserver) *Conversations {
	if log == nil {
		log = zap.NewNop()
	}
	if window <= 0 {
		window = 25 * time.Millisecond
	}
	c := &Conversations{org: org, log: log, observers: observers, lastSeen: map[string]string{}}
	c.batch = &Batcher[string, error]{Window: window, Flush: c.flush}
	return c
}

// Handle processes one event naming conversationID. The notification is a
// hint (SPEC §2): the conversation is read before anything is done.
func (c *Conversations) Handle(ctx context.Context, conversationID string) error {
	if !looksLikeID(conversationID) {
		return permanentf("conversation event: %q is not a record Id", conversationID)
	}
	werr, err := c.batch.Do(ctx, conversationID)
	if err != nil {
		return fmt.Errorf("handling conversation %s: %w", conversationID, err)
	}
	return werr
}

// Reconcile catches up on bindings whose events a stream gap may have lost
// (a replay id Salesforce no longer has, an outage past the replay
// window): every conversation bound to a record and changed since since
// is handled as if its event had arrived, 200 per batch. Tasks already on
// the right record are not written. It returns how many conversations it
// looked at.
func (c *Conversations) Reconcile(ctx context.Context, since time.Time) (int, error) {
	var rows []struct {
		ID string `json:"Id"`
	}
	q := "SELECT Id FROM Conversation__c WHERE Record_Id__c != null AND LastModifiedDate >= " + soql.DateTime(since) + " ORDER BY LastModifiedDate"
	if err := c.org.Query(ctx, q, &rows); err != nil {
		return 0, fmt.Errorf("finding conversations changed since %s: %w", soql.DateTime(since), err)
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var failed error
	for start := 0; start < len(ids); start += 200 {
		chunk := ids[start:min(start+200, len(ids))]
		errs, err := c.flush(ctx, chunk)
		if err != nil {
			return start, err
		}
		for i, e := range errs {
			if e != nil && failed == nil {
				failed = fmt.Errorf("conversation %s: %w", chunk[i], e)
			}
		}
	}
	return len(ids), failed
}

type eventTask struct {
	ID             string `json:"Id"`
	WhoID          string `json:"WhoId"`
	WhatID         string `json:"WhatId"`
	ConversationID string `json:"Conversation__c"`
}

func (c *Conversations) flush(ctx context.Context, ids []string) ([]error, error) {
	uniq := dedupe(ids)
	convs, err := c.readConversations(ctx, uniq)
	if err != nil {
		return nil, err
	}
	moving, prev, errs := c.rebound(uniq, convs)
	for _, id := range uniq {
		conv, ok := findConv(convs, id)
		if !ok {
			conv = Conversation{ID: id}
		}
		for _, o := range c.observers {
			o.ConversationChanged(conv)
		}
	}
	if len(moving) > 0 {
		if err := c.moveTasks(ctx, moving, convs, prev, errs); err != nil {
			return nil, err
		}
	}
	out := make([]error, len(ids))
	for n, id := range ids {
		if conv, ok := findConv(convs, id); ok {
			out[n] = errs[conv.ID]
		} else {
			out[n] = errs[id]
		}
	}
	return out, nil
}

// readConversations reads the conversations named by ids, by their
// 18-character Id.
func (c *Conversations) readConversations(ctx context.Context, ids []string) (map[string]Conversation, error) {
	convs := map[string]Conversation{}
	for _, chunk := range soql.ChunkIn(ids, inBudget) {
		in, err := soql.InList(chunk)
		if err != nil {
			return nil, err
		}
		var rows []Conversation
		q := "SELECT Id, Status__c, Record_Id__c, Channel__c, Message_Recipient__c FROM Conversation__c WHERE Id IN " + in
		if err := c.org.Query(ctx, q, &rows); err != nil {
			return nil, fmt.Errorf("reading conversations: %w", err)
		}
		for _, r := range rows {
			convs[r.ID] = r
		}
	}
	return convs, nil
}

// rebound picks the conversations bound to a record other than the one
// last seen (moving), with the record each was bound to before (prev); a
// Record_Id__c that is no Id is a permanent error in errs.
func (c *Conversations) rebound(ids []string, convs map[string]Conversation) (moving []string, prev map[string]string, errs map[string]error) {
	errs, prev = map[string]error{}, map[string]string{}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		conv, ok := findConv(convs, id)
		if !ok {
			delete(c.lastSeen, id)
			continue
		}
		rec := conv.RecordID
		if rec == "" {
			// Unbound (or unbound again): Tasks keep what they have, and a
			// later binding, even to the same record, is a change again.
			delete(c.lastSeen, conv.ID)
			continue
		}
		if !looksLikeID(rec) {
			errs[id] = permanentf("conversation %s: Record_Id__c %q is not a record Id", id, rec)
			continue
		}
		last, seen := c.lastSeen[conv.ID]
		if seen && last == rec {
			continue
		}
		prev[conv.ID] = last
		moving = append(moving, conv.ID)
	}
	return moving, prev, errs
}

// moveTasks points the Tasks of the moving conversations at their new
// record; a conversation whose Tasks could not all be moved gets its error
// in errs and is not remembered as seen, so its event is retried.
func (c *Conversations) moveTasks(ctx context.Context, moving []string, convs map[string]Conversation, prev map[string]string, errs map[string]error) error {
	var tasks []eventTask
	for _, chunk := range soql.ChunkIn(moving, inBudget) {
		in, err := soql.InList(chunk)
		if err != nil {
			return err
		}
		var rows []eventTask
		// A Draft is the user's until they send it (SPEC §1a: never
		// touched by the sidecar), so it keeps its WhoId/WhatId here.
		// SOQL's != keeps Tasks whose status is null.
		if err := c.org.Query(ctx, "SELECT Id, WhoId, WhatId, Conversation__c FROM Task WHERE Conversation__c IN "+in+
			" AND Message_Status__c != '"+string(StatusDraft)+"'", &rows); err != nil {
			return fmt.Errorf("reading the conversations' tasks: %w", err)
		}
		tasks = append(tasks, rows...)
	}
	var recs []Record
	var recConv []string
	for _, t := range tasks {
		conv := convs[t.ConversationID]
		if r := relink(t, conv.RecordID, prev[conv.ID]); r != nil {
			recs = append(recs, r)
			recConv = append(recConv, conv.ID)
		}
	}
	if len(recs) > 0 {
		// Save chunks into sObject Collections calls of ≤200 records.
		res, err := c.org.Save(ctx, SaveOp{Kind: Update}, "Task", recs)
		if err != nil {
			return fmt.Errorf("moving tasks: %w", err)
		}
		for n, r := range res {
			switch {
			case r.Err == nil:
			case errors.Is(r.Err, ErrNotFound):
				// The Task, or the record it should point at, is gone;
				// retrying cannot change that.
				c.log.Warn("task could not be moved to the conversation's record",
					zap.String("conversation_id", recConv[n]), zap.Any("task_id", recs[n]["Id"]), zap.Error(r.Err))
			default:
				if errs[recConv[n]] == nil {
					errs[recConv[n]] = fmt.Errorf("moving task %v: %w", recs[n]["Id"], r.Err)
				}
			}
		}
	}
	c.mu.Lock()
	if len(c.lastSeen) > 200_000 {
		c.lastSeen = map[string]string{} // bounded: forgetting only costs a Task query
	}
	for _, id := range moving {
		if errs[id] == nil {
			c.lastSeen[id] = convs[id].RecordID
		}
	}
	c.mu.Unlock()
	c.log.Info("conversation tasks moved", zap.Int("conversations", len(moving)), zap.Int("tasks", len(recs)))
	return nil
}

// findConv looks an event's Id up among the rows read, which carry the
// 18-character form even when the event named the 15-character one.
func findConv(convs map[string]Conversation, id string) (Conversation, bool) {
	if c, ok := convs[id]; ok {
		return c, true
	}
	if len(id) == 15 {
		for k, c := range convs {
			if len(k) == 18 && k[:15] == id {
				return c, true
			}
		}
	}
	return Conversation{}, false
}

// relink returns the update that points t at rec, or nil if it already
// does. A Contact or Lead goes in WhoId, anything else in WhatId. The
// previous binding is cleared from the other field, and Salesforce's rule
// that a Task about a Lead cannot also have a WhatId is kept.
func relink(t eventTask, rec, prev string) Record {
	who, what := t.WhoID, t.WhatID
	if isWhoID(rec) {
		who = rec
		if rec[:3] == "00Q" || (prev != "" && what == prev) {
			what = ""
		}
	} else {
		what = rec
		if (who != "" && who[:min(3, len(who))] == "00Q") || (prev != "" && who == prev) {
			who = ""
		}
	}
	if sameID(who, t.WhoID) && sameID(what, t.WhatID) {
		return nil
	}
	r := Record{"Id": t.ID}
	if !sameID(who, t.WhoID) {
		r["WhoId"] = nilIfEmpty(who)
	}
	if !sameID(what, t.WhatID) {
		r["WhatId"] = nilIfEmpty(what)
	}
	return r
}

// sameID compares Ids, a 15-character one equal to its 18-character form.
func sameID(a, b string) bool {
	if len(a) == 18 && len(b) == 15 || len(a) == 15 && len(b) == 18 {
		return a[:15] == b[:15]
	}
	return a == b
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
