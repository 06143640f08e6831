package sfdc

import (
	"context"
	"fmt"

	sbsync "github.com/switchboard/switchboard/sync"
)

// Org adapts the client to what the engine needs from Salesforce
// (sbsync.Org). It is the only place sfdc knows the engine's types: the
// arrow points inward, as in the Standard Package Layout.
func (c *Client) Org() sbsync.Org { return engineOrg{c} }

type engineOrg struct{ c *Client }

func (o engineOrg) Query(ctx context.Context, soql string, dst any) error {
	return o.c.Query(ctx, soql, dst)
}

// Save always sends allOrNone=false: one record that fails validation must
// not hold back the other 199 of its request.
func (o engineOrg) Save(ctx context.Context, op sbsync.SaveOp, object string, records []sbsync.Record) ([]sbsync.SaveResult, error) {
	if len(records) == 0 {
		return nil, nil
	}
	var (
		res []SaveResult
		err error
	)
	switch op.Kind {
	case sbsync.Create:
		res, err = o.c.CreateMany(ctx, object, records, false)
	case sbsync.Update:
		res, err = o.c.UpdateMany(ctx, object, records, false)
	case sbsync.Upsert:
		res, err = o.c.UpsertMany(ctx, object, op.ExtIDField, records, false)
	default:
		return nil, fmt.Errorf("sfdc: unknown save kind %d", op.Kind)
	}
	if err != nil {
		return nil, err
	}
	out := make([]sbsync.SaveResult, len(res))
	for i, r := range res {
		out[i] = sbsync.SaveResult{ID: r.ID, Created: r.Created, Err: engineRecordError(r)}
	}
	return out, nil
}

// engineRecordError wraps sbsync.ErrNotFound around an item that failed
// because its record is gone, so the engine can tell "drop it" from
// "retry it" without reading Salesforce error codes.
func engineRecordError(r SaveResult) error {
	err := r.Err()
	if err == nil {
		return nil
	}
	for _, fe := range r.Errors {
		switch fe.Code {
		case CodeEntityIsDeleted, CodeNotFound, "INVALID_CROSS_REFERENCE_KEY", "INVALID_ID_FIELD":
			return fmt.Errorf("%w: %w", sbsync.ErrNotFound, err)
		}
	}
	return err
}
