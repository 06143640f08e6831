package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/switchboard/switchboard/sfdc/soql"
)

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
