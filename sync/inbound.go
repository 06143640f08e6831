package sync

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	gosync "sync"
	"time"

	"go.uber.org/zap"
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
	setDefault(&c.DefaultRegion, "US")
	setDefault(&c.BatchWindow, 25*time.Millisecond)
	setDefault(&c.ChannelTTL, 5*time.Minute)
	setDefault(&c.ChannelRetry, 5*time.Second)
	setDefault(&c.ConversationTTL, 10*time.Minute)
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
