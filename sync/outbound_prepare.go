package sync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/switchboard/switchboard/sfdc/soql"
)

// prepared is a validated message ready to send.
type prepared struct {
	accountSID     string
	channel        *Channel
	out            Outgoing
	conversationID string // set when the engine created the conversation
	merged         bool   // out.Body is not Description (merge fields filled, or an edit after the send): write it back
}

func (p *prepared) sender() string {
	if p.out.From != "" {
		return p.out.From
	}
	return p.out.MessagingServiceSID
}

// Rejection is why a Task is refused before anything is sent: a problem
// the user fixes in Salesforce (no channel, empty body, opted-out
// recipient, ...). Retrying cannot help, so the Task ends in Error with
// Reason as its Error_Description__c.
type Rejection struct {
	Reason string
}

func (r *Rejection) Error() string { return r.Reason }

func rejectf(format string, args ...any) error {
	return &Rejection{Reason: fmt.Sprintf(format, args...)}
}

// prepare resolves sender and recipient and validates the Task. Its error
// is a *Rejection for the user, or a failed lookup (the job is retried).
func (o *Outbound) prepare(ctx context.Context, t *Task) (*prepared, error) {
	ch, recipient, err := o.senderChannel(ctx, t)
	if err != nil {
		return nil, err
	}
	body, merged, err := o.checkBody(ctx, t, ch)
	if err != nil {
		return nil, err
	}
	to, newConv, err := o.recipientOf(ctx, t, ch, recipient)
	if err != nil {
		return nil, err
	}
	optedOut, err := o.optin.Do(ctx, OptInKey(to, ch.ID))
	if err != nil {
		return nil, fmt.Errorf("loading opt-outs: %w", err)
	}
	if optedOut {
		return nil, rejectf("The recipient %s has opted out of channel %q (replied STOP); they must text START before they can be messaged again.", to, ch.Name)
	}
	p := &prepared{accountSID: ch.ChannelType.AccountSID, channel: ch, merged: merged, out: Outgoing{
		To: to, Body: body, StatusCallback: o.cfg.StatusCallback,
	}}
	if newConv != nil {
		id, err := o.dir.convs.Do(ctx, *newConv)
		if err != nil || id == "" {
			return nil, fmt.Errorf("creating the conversation: %w", cmp.Or(err, errors.New("no id returned")))
		}
		p.conversationID = id
	}
	if ch.MessagingServiceSID != "" {
		p.out.MessagingServiceSID = ch.MessagingServiceSID
	} else {
		p.out.From = ch.PhoneNumber
		if ch.ChannelType.Provider == ProviderWhatsApp && !strings.HasPrefix(p.out.From, whatsappPrefix) {
			p.out.From = whatsappPrefix + p.out.From
		}
	}
	return p, nil
}

// senderChannel is the channel the Task is sent from (its conversation's,
// or twilio.default_channel), active and with an account, and the
// conversation's recipient ("" when the Task has no conversation).
func (o *Outbound) senderChannel(ctx context.Context, t *Task) (ch *Channel, recipient string, err error) {
	if t.Conversation != nil {
		recipient = t.Conversation.Recipient
		if t.Conversation.Channel != nil {
			// A copy: duplicate jobs for one Task share the loaded record.
			c := *t.Conversation.Channel
			c.ID = t.Conversation.ChannelID
			ch = &c
		}
	}
	if ch == nil {
		if o.cfg.DefaultChannel == "" {
			return nil, "", rejectf("The Task has no conversation and twilio.default_channel is not set, so there is no number to send from.")
		}
		ch, err = o.channelByName(ctx, o.cfg.DefaultChannel)
		if err != nil {
			return nil, "", fmt.Errorf("loading default channel: %w", err)
		}
		if ch == nil {
			return nil, "", rejectf("The default channel %q (twilio.default_channel) does not exist in Salesforce.", o.cfg.DefaultChannel)
		}
	}
	if p := CheckChannel(ch, nil); p != nil {
		return nil, "", &Rejection{Reason: p.Reason}
	}
	return ch, recipient, nil
}

// checkBody is the text to send (merge fields filled; merged says it is
// not Description as written), within the channel's length.
func (o *Outbound) checkBody(ctx context.Context, t *Task, ch *Channel) (body string, merged bool, err error) {
	if strings.TrimSpace(t.Description) == "" {
		return "", false, rejectf("The message body (Description) is empty.")
	}
	body, merged, err = o.merge(ctx, t)
	if err != nil {
		var me *MergeError
		if errors.As(err, &me) {
			return "", false, &Rejection{Reason: me.Reason}
		}
		return "", false, fmt.Errorf("reading the message's merge fields: %w", err)
	}
	if merged && strings.TrimSpace(body) == "" {
		return "", false, rejectf("The message body is empty once its merge fields are filled.")
	}
	maxLen := ch.ChannelType.MaxLength()
	if n := utf8.RuneCountInString(body); n > maxLen {
		if merged {
			return "", false, rejectf("The message is %d characters long once its merge fields are filled; channel %q allows at most %d.", n, ch.Name, maxLen)
		}
		return "", false, rejectf("The message is %d characters long; channel %q allows at most %d.", n, ch.Name, maxLen)
	}
	return body, merged, nil
}

// recipientOf is the address to send to, and the conversation to create
// for it when the Task has none (nil otherwise).
func (o *Outbound) recipientOf(ctx context.Context, t *Task, ch *Channel, recipient string) (string, *convKey, error) {
	var newConv *convKey
	if recipient == "" && t.Conversation == nil {
		// No thread yet: the customer's number comes from the WhoId record
		// through the External_Channel__c registry, and a conversation is
		// created for it.
		if t.WhoID == "" {
			return "", nil, rejectf("The Task has no conversation and no WhoId, so there is no one to send to.")
		}
		ph, err := o.dir.phones.Do(ctx, t.WhoID)
		if err != nil {
			return "", nil, fmt.Errorf("loading the WhoId's phone: %w", err)
		}
		if ph.E164 == "" {
			return "", nil, rejectf("No valid phone number found on record %s in any External_Channel__c field.", t.WhoID)
		}
		recipient = ph.E164
		newConv = &convKey{ChannelID: ch.ID, Recipient: ph.E164, RecordID: t.WhoID, ExternalChannelID: ph.ExternalChannelID, QueueName: ch.QueueName}
	}
	if recipient == "" {
		return "", nil, rejectf("The Task's conversation has no Message_Recipient__c.")
	}
	to, err := NormalizeNumber(recipient, o.cfg.DefaultRegion)
	if err != nil {
		return "", nil, rejectf("The recipient %q is not a valid phone number.", recipient)
	}
	// WhatsApp addresses carry "whatsapp:" on both ends (twilio.md §10.1).
	// A conversation started by a WhatsApp message already has it; a
	// number from a Contact's phone field does not.
	whatsapp := ch.ChannelType.Provider == ProviderWhatsApp
	switch {
	case whatsapp && !strings.HasPrefix(to, whatsappPrefix):
		to = whatsappPrefix + to
	case !whatsapp && strings.HasPrefix(to, whatsappPrefix):
		return "", nil, rejectf("The recipient %s is a WhatsApp address, but channel %q sends SMS (its Channel_Type__c Provider__c is not %q).", to, ch.Name, ProviderWhatsApp)
	}
	if newConv != nil {
		newConv.Recipient = to // inbound WhatsApp keys its conversations the same way
	}
	return to, newConv, nil
}

// channelByName reads a channel with its type, cached until Invalidate.
func (o *Outbound) channelByName(ctx context.Context, name string) (*Channel, error) {
	o.mu.Lock()
	ch, ok := o.channels[name]
	o.mu.Unlock()
	if ok {
		return ch, nil
	}
	var rows []*Channel
	q := "SELECT " + ChannelFields + " FROM Channel__c WHERE Name = " + soql.Quote(name) + " LIMIT 1"
	if err := o.org.Query(ctx, q, &rows); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	o.mu.Lock()
	o.channels[name] = rows[0]
	o.mu.Unlock()
	return rows[0], nil
}

// InvalidateChannels drops cached channels (a Channel__c changed).
func (o *Outbound) InvalidateChannels() {
	o.mu.Lock()
	o.channels = map[string]*Channel{}
	o.mu.Unlock()
}
