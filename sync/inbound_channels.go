package sync

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"
)

// channelIndex is the inbound engine's cache of Channel__c, by the
// addresses a message can name its channel with, and of the queues that
// own new conversations.
type channelIndex struct {
	byAddress map[string][]*Channel // normalised Phone_Number__c
	byService map[string][]*Channel // Messaging_Service_Sid__c
	byID      map[string]*Channel
	queues    map[string]string // lower-cased DeveloperName → Group Id
}

type queueRow struct {
	ID            string `json:"Id"`
	DeveloperName string `json:"DeveloperName"`
}

// channelKey normalises a channel address for lookup: "whatsapp:" is a
// transport prefix on the same number, and short codes stay as they are.
func (i *Inbound) channelKey(raw string) string {
	s, _ := splitWhatsApp(strings.TrimSpace(raw))
	k, _ := CustomerAddress(s, i.cfg.DefaultRegion)
	return k
}

func (i *Inbound) loadChannels(ctx context.Context) (*channelIndex, error) {
	var chans []*Channel
	if err := i.org.Query(ctx, "SELECT "+ChannelFields+" FROM Channel__c", &chans); err != nil {
		return nil, fmt.Errorf("reading channels: %w", err)
	}
	var queues []queueRow
	if err := i.org.Query(ctx, "SELECT Id, DeveloperName FROM Group WHERE Type = 'Queue'", &queues); err != nil {
		return nil, fmt.Errorf("reading queues: %w", err)
	}
	idx := &channelIndex{byAddress: map[string][]*Channel{}, byService: map[string][]*Channel{},
		byID: map[string]*Channel{}, queues: map[string]string{}}
	for _, c := range chans {
		idx.byID[c.ID] = c
		if c.PhoneNumber != "" {
			k := i.channelKey(c.PhoneNumber)
			idx.byAddress[k] = append(idx.byAddress[k], c)
		}
		if s := strings.TrimSpace(c.MessagingServiceSID); s != "" {
			idx.byService[s] = append(idx.byService[s], c)
		}
	}
	for _, q := range queues {
		idx.queues[strings.ToLower(q.DeveloperName)] = q.ID
	}
	for _, c := range chans {
		if q := strings.TrimSpace(c.QueueName); q != "" && idx.queues[strings.ToLower(q)] == "" {
			i.log.Warn("Channel__c.Queue_Name__c names no queue (Group of Type Queue with that DeveloperName); its new conversations stay with the integration user",
				zap.String("channel", c.Name), zap.String("queue", q))
		}
	}
	return idx, nil
}

// channels returns the cached index, reloading it when stale or, if
// reloadMiss, when the last load is older than ChannelRetry.
func (i *Inbound) channels(ctx context.Context, reloadMiss bool) (*channelIndex, error) {
	i.chMu.Lock()
	defer i.chMu.Unlock()
	age := time.Since(i.chLoaded)
	if i.chans != nil && age < i.cfg.ChannelTTL && (!reloadMiss || age < i.cfg.ChannelRetry) {
		return i.chans, nil
	}
	idx, err := i.loadChannels(ctx)
	if err != nil {
		return nil, err
	}
	i.chans, i.chLoaded = idx, time.Now()
	return idx, nil
}

// InvalidateChannels drops the Channel__c and queue cache (a channel or a
// queue changed); the next message reloads it.
func (i *Inbound) InvalidateChannels() {
	i.chMu.Lock()
	i.chans = nil
	i.chMu.Unlock()
}

// knowsChannel reports whether the cache holds channel id.
func (i *Inbound) knowsChannel(id string) bool {
	i.chMu.Lock()
	defer i.chMu.Unlock()
	return i.chans != nil && i.chans.byID[id] != nil
}

func (idx *channelIndex) find(addr, service, accountSID string) *Channel {
	if c := pickChannel(idx.byAddress[addr], accountSID); c != nil {
		return c
	}
	return pickChannel(idx.byService[service], accountSID)
}

// pickChannel prefers an active channel of the message's account.
func pickChannel(cands []*Channel, accountSID string) *Channel {
	var best *Channel
	bestScore := -1
	for _, c := range cands {
		score := 0
		if c.Active {
			score += 2
		}
		if accountSID != "" && c.ChannelType != nil && c.ChannelType.AccountSID == accountSID {
			score++
		}
		if score > bestScore {
			best, bestScore = c, score
		}
	}
	return best
}

func (i *Inbound) channelFor(ctx context.Context, m InboundMessage) (*Channel, *channelIndex, error) {
	addr, service := i.channelKey(m.To), strings.TrimSpace(m.MessagingServiceSID)
	if addr == "" && service == "" {
		return nil, nil, permanentf("inbound message %s: neither To nor MessagingServiceSid is set", m.SID)
	}
	idx, err := i.channels(ctx, false)
	if err != nil {
		return nil, nil, err
	}
	ch := idx.find(addr, service, m.AccountSID)
	if ch == nil {
		// Perhaps the channel was created since the cache was filled.
		if idx, err = i.channels(ctx, true); err != nil {
			return nil, nil, err
		}
		ch = idx.find(addr, service, m.AccountSID)
	}
	if ch == nil {
		return nil, nil, permanentf("inbound message %s: no Channel__c has Phone_Number__c %q or Messaging_Service_Sid__c %q", m.SID, m.To, service)
	}
	if !ch.Active {
		// Deactivating a channel stops sending from it; a customer's reply
		// is still a record of what they said, so it is kept.
		i.log.Warn("inbound message for an inactive channel; recorded anyway",
			zap.String("message_sid", m.SID), zap.String("channel", ch.Name))
	}
	return ch, idx, nil
}
