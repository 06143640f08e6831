package sync

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	gosync "sync"

	"github.com/switchboard/switchboard/sfdc/soql"
)

// Directory finds customers' numbers on records, the records that hold a
// number, and the conversations that thread them (its thread queries are
// the conversation finder, conversation_finder.go). It reads the
// External_Channel__c registry (which object fields hold phone numbers) and
// batches its queries: one per registered object per batch, never one per
// message. The outbound engine owns it; the inbound engine shares it.
type Directory struct {
	org    Org
	region string

	regMu    gosync.Mutex
	registry []ExternalChannel // nil until loaded

	phones *Batcher[string, whoPhone]
	convs  convBatcher
	convMu gosync.Mutex // one find-or-create at a time, so two batches never both create a thread
	// threadLock extends convMu across replicas (OutboundConfig.ThreadLock).
	threadLock func(ctx context.Context) (func(), error)
}

// threadResult is a key's conversation, or why it could not be created.
type threadResult struct {
	ID  string
	Err error
}

// convBatcher batches the outbound engine's find-or-create calls and hands
// each caller its own key's result.
type convBatcher struct {
	b *Batcher[convKey, threadResult]
}

func (c convBatcher) Do(ctx context.Context, k convKey) (string, error) {
	r, err := c.b.Do(ctx, k)
	if err != nil {
		return "", err
	}
	return r.ID, r.Err
}

// whoPhone is a record's customer number and the registry row it came from.
type whoPhone struct {
	E164              string
	Raw               string
	ExternalChannelID string
}

type convKey struct {
	ChannelID, Recipient, RecordID, ExternalChannelID string
	QueueName                                         string // the channel's Queue_Name__c: the new thread's owner
}

func newDirectory(org Org, region string, cfg OutboundConfig) *Directory {
	d := &Directory{org: org, region: region, threadLock: cfg.ThreadLock}
	d.phones = &Batcher[string, whoPhone]{Window: cfg.BatchWindow, Flush: d.loadPhones}
	d.convs = convBatcher{&Batcher[convKey, threadResult]{Window: cfg.BatchWindow, Flush: d.findOrCreateConversations}}
	return d
}

// Registry returns the External_Channel__c rows, mobile fields first (a
// text is likelier to reach a mobile), cached until InvalidateRegistry.
func (d *Directory) Registry(ctx context.Context) ([]ExternalChannel, error) {
	d.regMu.Lock()
	defer d.regMu.Unlock()
	if d.registry != nil {
		return d.registry, nil
	}
	var rows []ExternalChannel
	if err := d.org.Query(ctx, "SELECT Id, Name, Object_API_Name__c, Field_API_Name__c, Channel_Type__c FROM External_Channel__c", &rows); err != nil {
		return nil, err
	}
	sort.SliceStable(rows, func(i, j int) bool {
		mi, mj := strings.Contains(rows[i].FieldName, "Mobile"), strings.Contains(rows[j].FieldName, "Mobile")
		if mi != mj {
			return mi
		}
		return rows[i].ObjectName < rows[j].ObjectName
	})
	d.registry = rows
	return rows, nil
}

// InvalidateRegistry forgets the cached registry.
func (d *Directory) InvalidateRegistry() {
	d.regMu.Lock()
	d.registry = nil
	d.regMu.Unlock()
}

// byObject groups registry rows by object, keeping their order.
func byObject(reg []ExternalChannel) (objects []string, fields map[string][]ExternalChannel) {
	fields = map[string][]ExternalChannel{}
	for _, r := range reg {
		if !validAPIName(r.ObjectName) || !validAPIName(r.FieldName) {
			continue // a typo in a registry row must not break every query
		}
		if _, ok := fields[r.ObjectName]; !ok {
			objects = append(objects, r.ObjectName)
		}
		fields[r.ObjectName] = append(fields[r.ObjectName], r)
	}
	return objects, fields
}

// loadPhones reads, for each record Id, the first registered phone field
// that holds a valid number.
func (d *Directory) loadPhones(ctx context.Context, ids []string) ([]whoPhone, error) {
	reg, err := d.Registry(ctx)
	if err != nil {
		return nil, err
	}
	objects, fields := byObject(reg)
	found := map[string]whoPhone{}
	for _, obj := range objects {
		names := []string{"Id"}
		for _, f := range fields[obj] {
			names = append(names, f.FieldName)
		}
		for _, chunk := range soql.ChunkIn(dedupe(ids), inBudget) {
			in, err := soql.InList(chunk)
			if err != nil {
				return nil, err
			}
			var rows []map[string]any
			q := "SELECT " + strings.Join(dedupe(names), ", ") + " FROM " + obj + " WHERE Id IN " + in
			if err := d.org.Query(ctx, q, &rows); err != nil {
				return nil, fmt.Errorf("reading %s phones: %w", obj, err)
			}
			for _, row := range rows {
				id, _ := row["Id"].(string)
				if _, done := found[id]; done {
					continue
				}
				for _, f := range fields[obj] {
					raw, _ := row[f.FieldName].(string)
					if raw == "" {
						continue
					}
					if e164, err := NormalizeNumber(raw, d.region); err == nil {
						found[id] = whoPhone{E164: e164, Raw: raw, ExternalChannelID: f.ID}
						break
					}
				}
			}
		}
	}
	out := make([]whoPhone, len(ids))
	for i, id := range ids {
		out[i] = found[id]
	}
	return out, nil
}

// findOrCreateConversations returns the Open conversation of each
// (channel, recipient), creating the missing ones bound to the record. A
// conversation Salesforce refuses to create fails only its keys.
func (d *Directory) findOrCreateConversations(ctx context.Context, keys []convKey) ([]threadResult, error) {
	unlock, err := d.lockThreads(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	recipients := make([]string, len(keys))
	for i, k := range keys {
		recipients[i] = k.Recipient
	}
	open, err := d.openThreads(ctx, recipients)
	if err != nil {
		return nil, err
	}
	found := map[threadKey]threadResult{}
	for tk, t := range open {
		found[tk] = threadResult{ID: t.ID}
	}
	queues, err := d.queueIDs(ctx, keys, found)
	if err != nil {
		return nil, err
	}
	var create []newThread
	var createFor []threadKey
	for _, k := range keys {
		tk := newThreadKey(k.ChannelID, k.Recipient)
		if _, ok := found[tk]; ok {
			continue
		}
		found[tk] = threadResult{} // reserve, so a batch with two Tasks to one number makes one thread
		create = append(create, newThread{ChannelID: k.ChannelID, Recipient: k.Recipient, RecordID: k.RecordID,
			// SPEC §1: the queue named by the channel owns its threads.
			ExternalChannelID: k.ExternalChannelID, OwnerID: queues[strings.ToLower(k.QueueName)]})
		createFor = append(createFor, tk)
	}
	if len(create) > 0 {
		ids, errs, err := d.createThreads(ctx, create)
		if err != nil {
			return nil, err
		}
		for n, tk := range createFor {
			found[tk] = threadResult{ID: ids[n], Err: errs[n]}
		}
	}
	out := make([]threadResult, len(keys))
	for i, k := range keys {
		out[i] = found[newThreadKey(k.ChannelID, k.Recipient)]
	}
	return out, nil
}

// queueIDs resolves the queues named by the keys whose thread does not
// exist yet (Group of Type Queue by DeveloperName, lower-cased), in one
// query, and only when a thread is about to be created.
func (d *Directory) queueIDs(ctx context.Context, keys []convKey, found map[threadKey]threadResult) (map[string]string, error) {
	var names []string
	for _, k := range keys {
		if _, exists := found[newThreadKey(k.ChannelID, k.Recipient)]; !exists && strings.TrimSpace(k.QueueName) != "" {
			names = append(names, strings.TrimSpace(k.QueueName))
		}
	}
	out := map[string]string{}
	if len(names) == 0 {
		return out, nil
	}
	in, err := soql.InList(dedupe(names))
	if err != nil {
		return nil, err
	}
	var rows []struct {
		ID            string `json:"Id"`
		DeveloperName string `json:"DeveloperName"`
	}
	if err := d.org.Query(ctx, "SELECT Id, DeveloperName FROM Group WHERE Type = 'Queue' AND DeveloperName IN "+in, &rows); err != nil {
		return nil, fmt.Errorf("reading queues: %w", err)
	}
	for _, r := range rows {
		out[strings.ToLower(r.DeveloperName)] = r.ID
	}
	return out, nil
}

// validAPIName accepts Salesforce API names (letters, digits, underscores),
// which is all that may be spliced into SOQL unquoted.
func validAPIName(s string) bool {
	if s == "" || len(s) > 80 {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// lockThreads takes the find-or-create lock: this process's, then the
// replicas' (ThreadLock). A failure to get the latter fails the batch,
// which is retried: creating without it could duplicate a thread.
func (d *Directory) lockThreads(ctx context.Context) (func(), error) {
	d.convMu.Lock()
	if d.threadLock == nil {
		return d.convMu.Unlock, nil
	}
	unlock, err := d.threadLock(ctx)
	if err != nil {
		d.convMu.Unlock()
		return nil, fmt.Errorf("taking the conversation lock: %w", err)
	}
	return func() { unlock(); d.convMu.Unlock() }, nil
}

// ---- matching numbers to records ----------------------------------------

// numberMatch is one record holding a number in a registered field.
type numberMatch struct {
	Object, RecordID string
	Fields           []ExternalChannel // the registry rows that matched, in registry order
}

// wideBudget caps the URL-encoded WHERE clause of a matching query, or an
// IN list of 200 message SIDs, so the latter is one query. LIKE patterns
// are long once encoded (each % is %25), so a long batch of numbers is
// split (matchNumbers). It is inBudget's size, which leaves room under the
// 16,384-byte URI limit (salesforce.md §2.1) for the path and the SELECT
// list.
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
