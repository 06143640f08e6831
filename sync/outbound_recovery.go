package sync

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	gosync "sync"
	"time"

	"go.uber.org/zap"

	"github.com/switchboard/switchboard/sfdc/soql"
)

// Recover settles what an earlier process left in the ledger: at this
// process's start plus IntentGrace, when every intent it left is stale, it
// runs Send for each Task with an unresolved entry, up to concurrency at a
// time. The sweep's queued jobs would do the same, but after a kill -9 a
// job that waits (a snooze) waits for River's scheduler, which runs only
// once the dead leader's lease has expired (dependencies.md §1.3: about
// 15 s). It returns how many Tasks it handled; what it could not settle
// is left to the queue.
func (o *Outbound) Recover(ctx context.Context, concurrency int) (int, error) {
	t := time.NewTimer(time.Until(o.started.Add(o.cfg.IntentGrace)))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return 0, nil
	}
	entries, err := o.ledger.UnresolvedSends(ctx, 0)
	if err != nil {
		return 0, fmt.Errorf("ledger: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if e.ClaimedAt.Before(o.started) {
			ids = append(ids, e.TaskID)
		}
	}
	ids = dedupe(ids)
	sem := make(chan struct{}, max(concurrency, 1))
	var wg gosync.WaitGroup
	for _, id := range ids {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return len(ids), nil
		}
		wg.Go(func() {
			defer func() { <-sem }()
			// As long as a job may run, so that a create is started only
			// with time to finish (MinSendTime).
			sctx, cancel := context.WithTimeout(ctx, o.cfg.IntentGrace/2)
			defer cancel()
			if err := o.Send(sctx, id); err != nil {
				o.log.Info("recovery left a send to the queue", zap.String("task_id", id), zap.Error(err))
			}
		})
	}
	wg.Wait()
	return len(ids), nil
}

// resolveGroup settles every stale intent of e's (account, recipient,
// sender) group at once: it claims them in the ledger, lists Twilio once
// for the window since the oldest, and gives each intent, oldest first,
// the oldest listed message with its body that Twilio created after it
// (less clock skew) and that nothing else holds. A message is held if a
// ledger entry has its SID or a Task carries it: two Tasks may send the
// same words to the same customer, and one message is never two Tasks'.
// Found intents are completed; the others provably never reached Twilio
// and are dropped, so that their jobs send them afresh.
//
// The lock covers the claim, the listing and the ledger writes, not the
// Salesforce write-back: once a SID is in the ledger, the next resolution
// sees it held.
func (o *Outbound) resolveGroup(ctx context.Context, group string, e LedgerEntry) error {
	unlock, err := o.lockResolution(ctx, group)
	if err != nil {
		return &RetryError{After: time.Second, Err: fmt.Errorf("waiting to resolve sends to %s: %w", e.To, err)}
	}
	defer unlock()
	intents, err := o.ledger.ClaimStaleIntents(ctx, e.AccountSID, e.To, e.From, time.Now().Add(-o.cfg.IntentGrace))
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	if len(intents) == 0 {
		return nil // resolved by another job meanwhile
	}
	q := FindQuery{To: e.To, After: intents[0].CreatedAt.Add(-clockSkew), Before: time.Now().Add(clockSkew)}
	if IsMessagingServiceSID(e.From) {
		// Twilio picks the number: the messages' From is never the MG SID.
		q.MessagingServiceSID = e.From
	} else {
		q.From = e.From
	}
	listed, err := o.tw.Find(ctx, e.AccountSID, q)
	if err != nil {
		// The claims stand: the intents turn stale again after IntentGrace.
		return &RetryError{After: 2 * time.Second, Err: fmt.Errorf("looking up %d ambiguous sends: %w", len(intents), err)}
	}
	bodies := map[string]bool{}
	for _, in := range intents {
		bodies[in.Body] = true
	}
	var candidates []Sent
	for _, m := range listed {
		// Twilio's date_created has second precision and its clock is not
		// ours: allow a few seconds before the intent.
		if bodies[m.Body] && (m.DateCreated.IsZero() || !m.DateCreated.Before(q.After)) {
			candidates = append(candidates, m)
		}
	}
	held, err := o.heldSIDs(ctx, candidates)
	if err != nil {
		return &RetryError{After: 2 * time.Second, Err: fmt.Errorf("checking which messages other sends hold: %w", err)}
	}
	slices.SortStableFunc(candidates, func(a, b Sent) int { return a.DateCreated.Compare(b.DateCreated) })
	found := make([]*Sent, len(intents))
	for i, in := range intents {
		for j := range candidates {
			c := &candidates[j]
			if held[c.SID] || c.Body != in.Body || (!c.DateCreated.IsZero() && c.DateCreated.Before(in.CreatedAt.Add(-clockSkew))) {
				continue
			}
			held[c.SID] = true
			found[i] = c
			break
		}
	}
	var (
		wg    gosync.WaitGroup
		errMu gosync.Mutex
		first error
		sent  int
	)
	for i, in := range intents {
		if found[i] != nil {
			sent++
		}
		wg.Add(1)
		go func(in LedgerEntry, f *Sent) { // concurrent, so the store writes them in shared transactions
			defer wg.Done()
			var err error
			if f != nil {
				err = o.ledger.CompleteSend(ctx, in.Key, f.SID, f.Status)
			} else {
				err = o.ledger.AbandonSend(ctx, in.Key, in.ClaimedAt)
			}
			if err != nil {
				errMu.Lock()
				first = cmp.Or(first, err)
				errMu.Unlock()
			}
		}(in, found[i])
	}
	wg.Wait()
	o.log.Info("resolved ambiguous sends at Twilio", zap.String("to", e.To), zap.String("from", e.From), zap.Int("intents", len(intents)),
		zap.Int("listed", len(listed)), zap.Int("found", sent), zap.Int("to_send", len(intents)-sent), zap.Time("oldest_intent", intents[0].CreatedAt))
	if first != nil {
		return fmt.Errorf("ledger: %w", first)
	}
	return nil
}

// groupOf names the (account, recipient, sender) group of a send.
func groupOf(e LedgerEntry) string { return e.AccountSID + "|" + e.To + "|" + e.From }

// lockResolution serialises the resolutions that could give the same
// Twilio message to two Tasks (same customer and sender): striped in this
// process, so memory stays bounded (a collision only serialises two
// unrelated groups), and across replicas with ResolveLock.
func (o *Outbound) lockResolution(ctx context.Context, group string) (unlock func(), err error) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(group))
	stripe := o.resolving[h.Sum32()%uint32(len(o.resolving))]
	select {
	case stripe <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	local := func() { <-stripe }
	if o.cfg.ResolveLock == nil {
		return local, nil
	}
	remote, err := o.cfg.ResolveLock(ctx, group)
	if err != nil {
		local()
		return nil, err
	}
	return func() { remote(); local() }, nil
}

// clockSkew is how far Twilio's clock may be behind ours.
const clockSkew = 5 * time.Second

// heldSIDs returns which of the messages' SIDs a ledger entry holds or a
// Task carries (the ledger forgets recorded entries after its retention;
// the Tasks do not).
func (o *Outbound) heldSIDs(ctx context.Context, ms []Sent) (map[string]bool, error) {
	sids := make([]string, len(ms))
	for i, m := range ms {
		sids[i] = m.SID
	}
	out := map[string]bool{}
	owners, err := o.ledger.SIDOwners(ctx, sids)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	var rest []string
	for _, sid := range sids {
		if _, ok := owners[sid]; ok {
			out[sid] = true
		} else {
			rest = append(rest, sid)
		}
	}
	for _, chunk := range soql.ChunkIn(dedupe(rest), inBudget) {
		in, err := soql.InList(chunk)
		if err != nil {
			return nil, err
		}
		var rows []Task
		if err := o.org.Query(ctx, "SELECT Id, Message_Sid__c FROM Task WHERE Message_Sid__c IN "+in, &rows); err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.MessageSID] = true
		}
	}
	return out, nil
}
