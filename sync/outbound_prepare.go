package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"go.uber.org/zap"

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

// prepare resolves sender and recipient and validates the Task. It returns
// a rejection reason for the user, or (nil, "") when a lookup failed and the
// job should be retried.
func (o *Outbound) prepare(ctx context.Context, t *Task) (*prepared, string) {
	var ch *Channel
	var recipient string
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
			return nil, "The Task has no conversation and twilio.default_channel is not set, so there is no number to send from."
		}
		var err error
		ch, err = o.channelByName(ctx, o.cfg.DefaultChannel)
		if err != nil {
			o.log.Warn("loading default channel", zap.Error(err))
			return nil, ""
		}
		if ch == nil {
			return nil, fmt.Sprintf("The default channel %q (twilio.default_channel) does not exist in Salesforce.", o.cfg.DefaultChannel)
		}
	}
	if !ch.Active {
		return nil, fmt.Sprintf("Channel %q is not active (Active__c is unchecked).", ch.Name)
	}
	body := strings.TrimSpace(t.Description)
	if body == "" {
		return nil, "The message body (Description) is empty."
	}
	body, merged, err := o.merge(ctx, t)
	if err != nil {
		var me *MergeError
		if errors.As(err, &me) {
			return nil, me.Reason
		}
		o.log.Warn("reading the message's merge fields", zap.String("task_id", t.ID), zap.Error(err))
		return nil, ""
	}
	if merged && strings.TrimSpace(body) == "" {
		return nil, "The message body is empty once its merge fields are filled."
	}
	maxLen := ch.ChannelType.MaxLength()
	if n := utf8.RuneCountInString(body); n > maxLen {
		if merged {
			return nil, fmt.Sprintf("The message is %d characters long once its merge fields are filled; channel %q allows at most %d.", n, ch.Name, maxLen)
		}
		return nil, fmt.Sprintf("The message is %d characters long; channel %q allows at most %d.", n, ch.Name, maxLen)
	}
	if ch.ChannelType == nil || ch.ChannelType.AccountSID == "" {
		return nil, fmt.Sprintf("Channel %q has no Channel_Type__c with an Account_Sid__c.", ch.Name)
	}
	var newConv *convKey
	if recipient == "" && t.Conversation == nil {
		// No thread yet: the customer's number comes from the WhoId record
		// through the External_Channel__c registry, and a conversation is
		// created for it.
		if t.WhoID == "" {
			return nil, "The Task has no conversation and no WhoId, so there is no one to send to."
		}
		ph, err := o.dir.phones.Do(ctx, t.WhoID)
		if err != nil {
			o.log.Warn("loading the WhoId's phone", zap.String("task_id", t.ID), zap.Error(err))
			return nil, ""
		}
		if ph.E164 == "" {
			return nil, fmt.Sprintf("No valid phone number found on record %s in any External_Channel__c field.", t.WhoID)
		}
		recipient = ph.E164
		newConv = &convKey{ChannelID: ch.ID, Recipient: ph.E164, RecordID: t.WhoID, ExternalChannelID: ph.ExternalChannelID, QueueName: ch.QueueName}
	}
	if recipient == "" {
		return nil, "The Task's conversation has no Message_Recipient__c."
	}
	to, err := NormalizeNumber(recipient, o.cfg.DefaultRegion)
	if err != nil {
		return nil, fmt.Sprintf("The recipient %q is not a valid phone number.", recipient)
	}
	// WhatsApp addresses carry "whatsapp:" on both ends (twilio.md §10.1).
	// A conversation started by a WhatsApp message already has it; a
	// number from a Contact's phone field does not.
	whatsapp := ch.ChannelType.Provider == ProviderWhatsApp
	switch {
	case whatsapp && !strings.HasPrefix(to, whatsappPrefix):
		to = whatsappPrefix + to
	case !whatsapp && strings.HasPrefix(to, whatsappPrefix):
		return nil, fmt.Sprintf("The recipient %s is a WhatsApp address, but channel %q sends SMS (its Channel_Type__c Provider__c is not %q).", to, ch.Name, ProviderWhatsApp)
	}
	if newConv != nil {
		newConv.Recipient = to // inbound WhatsApp keys its conversations the same way
	}
	optedOut, err := o.optin.Do(ctx, OptInKey(to, ch.ID))
	if err != nil {
		o.log.Warn("loading opt-outs", zap.Error(err))
		return nil, ""
	}
	if optedOut {
		return nil, fmt.Sprintf("The recipient %s has opted out of channel %q (replied STOP); they must text START before they can be messaged again.", to, ch.Name)
	}
	p := &prepared{accountSID: ch.ChannelType.AccountSID, channel: ch, merged: merged, out: Outgoing{
		To: to, Body: body, StatusCallback: o.cfg.StatusCallback,
	}}
	if newConv != nil {
		id, err := o.dir.convs.Do(ctx, *newConv)
		if err != nil || id == "" {
			o.log.Warn("creating the conversation", zap.String("task_id", t.ID), zap.Error(err))
			return nil, ""
		}
		p.conversationID = id
	}
	if ch.MessagingServiceSID != "" {
		p.out.MessagingServiceSID = ch.MessagingServiceSID
	} else {
		p.out.From = ch.PhoneNumber
		if whatsapp && !strings.HasPrefix(p.out.From, whatsappPrefix) {
			p.out.From = whatsappPrefix + p.out.From
		}
	}
	return p, ""
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
	q := "SELECT Id, Name, Phone_Number__c, Messaging_Service_Sid__c, Active__c, Queue_Name__c, Channel_Type__c, " +
		"Channel_Type__r.Account_Sid__c, Channel_Type__r.Max_Message_Length__c, Channel_Type__r.Provider__c FROM Channel__c WHERE Name = " + soql.Quote(name) + " LIMIT 1"
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
