package sync

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/switchboard/switchboard/sfdc/soql"
)

// ConsentChange is one opt-out or opt-in of a customer number on a channel.
type ConsentChange struct {
	Customer  string // E.164 (or "whatsapp:+…"), as the outbound engine keys Opt_In__c
	ChannelID string // Channel__c Id
	Active    bool   // true: may receive messages again (START); false: opted out
	Keyword   string // what the customer sent ("STOP", "unstop"), or "21610"
	At        time.Time
}

// Consent writes Opt_In__c (SPEC §1): by upsert on UniqueId__c, batched,
// so processing a keyword twice is harmless. Changes from many goroutines
// share one read and one upsert per batch.
type Consent struct {
	org   Org
	log   *zap.Logger
	batch *Batcher[ConsentChange, error]
}

// NewConsent builds the consent writer; window is how long a change waits
// for company (0: 25 ms).
func NewConsent(org Org, log *zap.Logger, window time.Duration) *Consent {
	if log == nil {
		log = zap.NewNop()
	}
	if window <= 0 {
		window = 25 * time.Millisecond
	}
	c := &Consent{org: org, log: log}
	c.batch = &Batcher[ConsentChange, error]{Window: window, Flush: c.flush}
	return c
}

// Record applies one change. A change older than the last one stored for
// the same number and channel is skipped, so a STOP retried by the queue
// after the customer's later START cannot opt them out again.
func (c *Consent) Record(ctx context.Context, ch ConsentChange) error {
	if ch.Customer == "" || ch.ChannelID == "" {
		return permanentf("consent change needs a customer number and a channel (got %q, %q)", ch.Customer, ch.ChannelID)
	}
	if ch.At.IsZero() {
		ch.At = time.Now()
	}
	werr, err := c.batch.Do(ctx, ch)
	if err != nil {
		return fmt.Errorf("writing Opt_In__c: %w", err)
	}
	if werr != nil {
		return fmt.Errorf("writing Opt_In__c %s: %w", OptInKey(ch.Customer, ch.ChannelID), werr)
	}
	return nil
}

// OptOut records that Twilio refused a send with 21610 (the recipient is on
// Twilio's blocklist for that sender, twilio.md §7): the outbound engine
// calls it so the next send is rejected before reaching Twilio.
func (c *Consent) OptOut(ctx context.Context, customerE164, channelID string, at time.Time) error {
	return c.Record(ctx, ConsentChange{Customer: customerE164, ChannelID: channelID, Active: false,
		Keyword: fmt.Sprint(OptOutCode), At: at})
}

// optInRow is what the flush reads back to order changes.
type optInRow struct {
	UniqueID string `json:"UniqueId__c"`
	Active   bool   `json:"Active__c"`
	OptInAt  string `json:"Opt_In_Date_Time__c"`
	OptOutAt string `json:"Opt_Out_Date_Time__c"`
}

func (c *Consent) flush(ctx context.Context, changes []ConsentChange) ([]error, error) {
	// The newest change per key wins; the upsert collection refuses one key
	// twice in a request anyway (DUPLICATE_EXTERNAL_ID, salesforce.md §2.6).
	latest := map[string]int{}
	var keys []string
	for i, ch := range changes {
		k := OptInKey(ch.Customer, ch.ChannelID)
		j, seen := latest[k]
		if !seen {
			keys = append(keys, k)
		}
		if !seen || !ch.At.Before(changes[j].At) {
			latest[k] = i
		}
	}
	stored := map[string]time.Time{}
	for _, chunk := range soql.ChunkIn(keys, inBudget) {
		in, err := soql.InList(chunk)
		if err != nil {
			return nil, err
		}
		var rows []optInRow
		q := "SELECT UniqueId__c, Active__c, Opt_In_Date_Time__c, Opt_Out_Date_Time__c FROM Opt_In__c WHERE UniqueId__c IN " + in
		if err := c.org.Query(ctx, q, &rows); err != nil {
			return nil, fmt.Errorf("reading Opt_In__c: %w", err)
		}
		for _, r := range rows {
			last := parseOrgTime(r.OptInAt)
			if t := parseOrgTime(r.OptOutAt); t.After(last) {
				last = t
			}
			stored[strings.ToLower(r.UniqueID)] = last
		}
	}
	var recs []Record
	var recKeys []string
	for _, k := range keys {
		ch := changes[latest[k]]
		// Salesforce keeps milliseconds; compare at that precision so a
		// retry of the change just written is applied again, harmlessly.
		if last, ok := stored[strings.ToLower(k)]; ok && ch.At.Truncate(time.Millisecond).Before(last) {
			c.log.Info("consent change older than the stored one; skipped",
				zap.String("opt_in", k), zap.Bool("active", ch.Active), zap.Time("at", ch.At), zap.Time("stored", last))
			continue
		}
		rec := Record{"UniqueId__c": k, "Phone_Number__c": ch.Customer, "Channel__c": ch.ChannelID,
			"Active__c": ch.Active, "Keyword__c": clip(ch.Keyword, 40)}
		if ch.Active {
			rec["Opt_In_Date_Time__c"] = sfTime(ch.At)
		} else {
			rec["Opt_Out_Date_Time__c"] = sfTime(ch.At)
		}
		recs = append(recs, rec)
		recKeys = append(recKeys, k)
	}
	errByKey := map[string]error{}
	if len(recs) > 0 {
		res, err := c.org.Save(ctx, SaveOp{Kind: Upsert, ExtIDField: "UniqueId__c"}, "Opt_In__c", recs)
		if err != nil {
			return nil, err
		}
		for i, r := range res {
			if r.Err != nil {
				errByKey[recKeys[i]] = r.Err
			}
		}
	}
	out := make([]error, len(changes))
	for i, ch := range changes {
		out[i] = errByKey[OptInKey(ch.Customer, ch.ChannelID)]
	}
	return out, nil
}

// clip shortens s to at most n characters (not bytes).
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
