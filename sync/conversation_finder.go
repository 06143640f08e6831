package sync

import (
	"context"
	"fmt"
	"strings"

	"github.com/switchboard/switchboard/sfdc/soql"
)

// The conversation finder: the one place both directions find a customer's
// open thread on a channel and create the missing ones (SPEC §1: one open
// Conversation__c per channel and customer number). The caller holds
// Directory.lockThreads around a find and the creates it decides on, so two
// creators — outbound and inbound, here or in another replica — never both
// decide that a number has no thread.

// threadKey names a thread: a channel and a customer address in
// recipientKey form.
type threadKey struct{ channelID, recipient string }

func newThreadKey(channelID, recipient string) threadKey {
	return threadKey{channelID, recipientKey(recipient)}
}

// recipientKey is the one case rule for Message_Recipient__c. SOQL compares
// text case-insensitively on all but unique case-sensitive fields
// (salesforce.com SOQL "Comparison Operators"), so a thread whose recipient
// a user typed as "WhatsApp:+1…" comes back for "whatsapp:+1…" and must key
// the same. E.164 digits have no case; the "whatsapp:" prefix and
// alphanumeric sender ids do.
func recipientKey(addr string) string { return strings.ToLower(strings.TrimSpace(addr)) }

type openConvRow struct {
	ID        string `json:"Id"`
	ChannelID string `json:"Channel__c"`
	Recipient string `json:"Message_Recipient__c"`
	RecordID  string `json:"Record_Id__c"`
}

// openThread is an Open Conversation__c as the finder reads it.
type openThread struct{ ID, RecordID string }

// openThreads reads the Open conversations of recipients, by threadKey.
// When a customer has several open threads on a channel (made by hand, or
// before the lock), the oldest is the thread: rows come ordered by
// CreatedDate then Id (CreatedDate has second precision) and the first row
// of a key wins, so both directions and every replica pick the same one.
func (d *Directory) openThreads(ctx context.Context, recipients []string) (map[threadKey]openThread, error) {
	keys := make([]string, len(recipients))
	for i, r := range recipients {
		keys[i] = recipientKey(r)
	}
	out := map[threadKey]openThread{}
	for _, chunk := range soql.ChunkIn(dedupe(keys), inBudget) {
		in, err := soql.InList(chunk)
		if err != nil {
			return nil, err
		}
		var rows []openConvRow
		q := "SELECT Id, Channel__c, Message_Recipient__c, Record_Id__c FROM Conversation__c WHERE Status__c = 'Open' AND Message_Recipient__c IN " +
			in + " ORDER BY CreatedDate ASC, Id ASC"
		if err := d.org.Query(ctx, q, &rows); err != nil {
			return nil, fmt.Errorf("reading conversations: %w", err)
		}
		for _, r := range rows {
			k := newThreadKey(r.ChannelID, r.Recipient)
			if _, older := out[k]; !older {
				out[k] = openThread{ID: r.ID, RecordID: r.RecordID}
			}
		}
	}
	return out, nil
}

// newThread is what a new Open conversation holds: the customer as the
// caller normalised them, the record it is bound to and the queue that owns
// it (SPEC §1), each only when known.
type newThread struct {
	ChannelID, Recipient        string
	RecordID, ExternalChannelID string
	OwnerID                     string
}

// createThreads creates the conversations and returns one Id or one error
// per thread, so a thread Salesforce refuses fails only the messages that
// wanted it; err is for the call as a whole.
func (d *Directory) createThreads(ctx context.Context, threads []newThread) (ids []string, errs []error, err error) {
	recs := make([]Record, len(threads))
	for n, t := range threads {
		rec := Record{"Status__c": "Open", "Channel__c": t.ChannelID, "Message_Recipient__c": t.Recipient}
		if t.RecordID != "" {
			rec["Record_Id__c"] = t.RecordID
		}
		if t.ExternalChannelID != "" {
			rec["External_Channel__c"] = t.ExternalChannelID
		}
		if t.OwnerID != "" {
			rec["OwnerId"] = t.OwnerID
		}
		recs[n] = rec
	}
	res, err := d.org.Save(ctx, SaveOp{Kind: Create}, "Conversation__c", recs)
	if err != nil {
		return nil, nil, fmt.Errorf("creating conversations: %w", err)
	}
	if len(res) != len(threads) {
		return nil, nil, fmt.Errorf("creating conversations: %d results for %d records", len(res), len(threads))
	}
	ids, errs = make([]string, len(threads)), make([]error, len(threads))
	for n, r := range res {
		if r.Err != nil {
			errs[n] = fmt.Errorf("creating the conversation for %s: %w", threads[n].Recipient, r.Err)
			continue
		}
		ids[n] = r.ID
	}
	return ids, errs, nil
}
