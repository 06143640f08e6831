package sync

import "context"

// OutboundThread is one key of the outbound direction's find-or-create.
type OutboundThread struct{ ChannelID, Recipient, RecordID, QueueName string }

// NewDirectoryForTest builds the Directory the outbound engine builds.
func NewDirectoryForTest(org Org) *Directory { return newDirectory(org, "US", OutboundConfig{}) }

// FindOrCreateOutbound runs the outbound direction's find-or-create on
// keys as one batch, returning each key's conversation Id or error.
func (d *Directory) FindOrCreateOutbound(ctx context.Context, keys []OutboundThread) ([]string, []error, error) {
	ck := make([]convKey, len(keys))
	for i, k := range keys {
		ck[i] = convKey{ChannelID: k.ChannelID, Recipient: k.Recipient, RecordID: k.RecordID, QueueName: k.QueueName}
	}
	res, err := d.findOrCreateConversations(ctx, ck)
	if err != nil {
		return nil, nil, err
	}
	ids, errs := make([]string, len(res)), make([]error, len(res))
	for i, r := range res {
		ids[i], errs[i] = r.ID, r.Err
	}
	return ids, errs, nil
}
