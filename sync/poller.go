package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	gosync "sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/switchboard/switchboard/sfdc/soql"
)

// PollerConfig tunes the status poller.
type PollerConfig struct {
	// Age: a Task is polled when its Message_Status_Check_Date__c (or, if
	// never checked, its Message_Send_Date__c) is older than this.
	Age time.Duration
	// MaxAge: Tasks sent longer ago are no longer polled. "sent" may be the
	// last status a message ever gets (twilio.md §4), so without a horizon
	// such Tasks would be fetched forever.
	MaxAge time.Duration
	// MaxPerPoll caps the Tasks one Poll handles; the rest wait for the next.
	MaxPerPoll int
	// Concurrency caps Twilio fetches in flight; Rate caps them per second.
	Concurrency int
	Rate        float64
	// DefaultAccountSID is used for a Task whose conversation's channel type
	// has no Account_Sid__c.
	DefaultAccountSID string
}

func (c *PollerConfig) defaults() {
	setDefault(&c.Age, 15*time.Minute)
	setDefault(&c.MaxAge, 72*time.Hour)
	setDefault(&c.MaxPerPoll, 2000)
	setDefault(&c.Concurrency, 8)
	setDefault(&c.Rate, 20)
}

// Poller is the fallback for lost status callbacks (SPEC §3 "Nothing is
// lost"): it asks Twilio about Tasks left in a non-final status and applies
// the answers through the callbacks' path, so the status order holds.
type Poller struct {
	cfg PollerConfig
	org Org
	tw  Messenger
	cb  *Callbacks
	log *zap.Logger
	lim *rate.Limiter
	now func() time.Time
}

// NewPoller builds the poller; cb is the status engine it applies through.
func NewPoller(cfg PollerConfig, org Org, tw Messenger, cb *Callbacks, log *zap.Logger) *Poller {
	cfg.defaults()
	if log == nil {
		log = zap.NewNop()
	}
	return &Poller{cfg: cfg, org: org, tw: tw, cb: cb, log: log,
		lim: rate.NewLimiter(rate.Limit(cfg.Rate), 1), now: time.Now}
}

// pollStatuses are the non-final statuses a Task with a SID can be in.
func pollStatuses() []string {
	var out []string
	for _, s := range []Status{StatusQueued, StatusSending, StatusSent} {
		if !s.Final() {
			out = append(out, string(s))
		}
	}
	return out
}

// Poll checks one round of due Tasks and returns how many it confirmed
// (their check date refreshed, with or without a new status). The error
// reports the query failing, or how many fetches failed; those Tasks are
// tried again next round.
func (p *Poller) Poll(ctx context.Context) (int, error) {
	now := p.now()
	due, horizon := soql.DateTime(now.Add(-p.cfg.Age)), soql.DateTime(now.Add(-p.cfg.MaxAge))
	in, err := soql.InList(pollStatuses())
	if err != nil {
		return 0, err
	}
	q := "SELECT Id, Message_Sid__c, Message_Status__c, Conversation__r.Channel__r.Channel_Type__r.Account_Sid__c FROM Task" +
		" WHERE Message_Type__c = 'Outbound' AND Message_Sid__c != null AND Message_Status__c IN " + in +
		" AND Message_Send_Date__c > " + horizon +
		" AND (Message_Status_Check_Date__c < " + due + " OR (Message_Status_Check_Date__c = null AND Message_Send_Date__c < " + due + "))" +
		" ORDER BY Message_Send_Date__c ASC LIMIT " + fmt.Sprint(p.cfg.MaxPerPoll)
	var tasks []Task
	if err := p.org.Query(ctx, q, &tasks); err != nil {
		return 0, fmt.Errorf("reading tasks to poll: %w", err)
	}
	var confirmed, failed int
	var firstErr error
	// In pages of one batch: the page's fetches run (capped and paced),
	// then its results are applied together, one read and one write.
	for start := 0; start < len(tasks); start += pollPage {
		page := tasks[start:min(start+pollPage, len(tasks))]
		items := make([]*statusItem, len(page))
		errs := make([]error, len(page))
		var wg gosync.WaitGroup
		sem := make(chan struct{}, p.cfg.Concurrency)
		for n, t := range page {
			if err := p.lim.Wait(ctx); err != nil {
				wg.Wait()
				return confirmed, err
			}
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				items[n], errs[n] = p.fetch(ctx, t)
			})
		}
		wg.Wait()
		// The callbacks' own flush: the same read-decide-write under the
		// same lock, so a poll and a callback cannot race a Task.
		var batch []statusItem
		var at []int
		for n := range page {
			if items[n] != nil {
				batch = append(batch, *items[n])
				at = append(at, n)
			}
		}
		if len(batch) > 0 {
			outs, err := p.cb.flush(ctx, batch)
			for j, n := range at {
				switch {
				case err != nil:
					errs[n] = fmt.Errorf("applying the polled status of %s: %w", page[n].MessageSID, err)
				case outs[j].err != nil:
					errs[n] = fmt.Errorf("applying the polled status of %s: %w", page[n].MessageSID, outs[j].err)
				case outs[j].found:
					items[n] = nil // confirmed
				}
			}
		}
		for n := range page {
			switch {
			case errs[n] != nil:
				failed++
				if firstErr == nil {
					firstErr = errs[n]
				}
			case items[n] == nil:
				confirmed++
			}
		}
	}
	if failed > 0 {
		return confirmed, fmt.Errorf("polling: %d of %d tasks failed, first: %w", failed, len(tasks), firstErr)
	}
	return confirmed, nil
}

// pollPage is how many Tasks are fetched before their statuses are applied:
// one sObject Collections call's worth.
const pollPage = 200

// fetch asks Twilio about t and returns the update to apply, or an error
// if Twilio could not answer (the Task is tried again next round).
func (p *Poller) fetch(ctx context.Context, t Task) (*statusItem, error) {
	acct := p.cfg.DefaultAccountSID
	if c := t.Conversation; c != nil && c.Channel != nil && c.Channel.ChannelType != nil && c.Channel.ChannelType.AccountSID != "" {
		acct = c.Channel.ChannelType.AccountSID
	}
	log := p.log.With(zap.String("task_id", t.ID), zap.String("message_sid", t.MessageSID))
	if acct == "" {
		return nil, fmt.Errorf("task %s: no Account SID on its channel type and no default", t.ID)
	}
	item := &statusItem{u: StatusUpdate{SID: t.MessageSID, AccountSID: acct, At: p.now()}}
	msg, err := p.tw.Fetch(ctx, acct, t.MessageSID)
	if err != nil {
		var se *SendError
		if !errors.As(err, &se) || se.Kind != Permanent {
			return nil, fmt.Errorf("fetching %s: %w", t.MessageSID, err)
		}
		// Twilio does not know the message (deleted, other account): only
		// the check date is refreshed, so it is not asked again every round.
		log.Warn("twilio cannot report the message's status", zap.Error(err))
		return item, nil
	}
	st, err := FromTwilio(strings.ToLower(msg.Status))
	if err != nil {
		log.Warn("twilio reported an unknown status; only the check date is refreshed", zap.String("twilio_status", msg.Status))
		return item, nil
	}
	item.u.Status, item.u.ErrorCode, item.st = msg.Status, msg.ErrorCode, st
	return item, nil
}
