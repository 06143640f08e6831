package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
)

func (o *Outbound) writeTasks(ctx context.Context, recs []Record) ([]error, error) {
	res, err := o.org.Save(ctx, SaveOp{Kind: Update}, "Task", recs)
	if err != nil {
		return nil, err
	}
	out := make([]error, len(recs))
	for i, r := range res {
		out[i] = r.Err
	}
	return out, nil
}

// Unrecorded reports whether this process has sid from Twilio but has not
// written it to its Task yet: a status callback for it can wait a moment
// instead of reading Salesforce, finding nothing and being parked.
func (o *Outbound) Unrecorded(sid string) bool {
	_, ok := o.unrecorded.Load(sid)
	return ok
}

func (o *Outbound) recordSent(ctx context.Context, key string, t *Task, msg *prepared, s Sent) error {
	o.unrecorded.Store(s.SID, struct{}{})
	defer o.unrecorded.Delete(s.SID)
	st, err := FromTwilio(s.Status)
	if err != nil || !Advances(StatusPending, st) {
		st = StatusQueued
	}
	at := s.DateCreated
	if at.IsZero() {
		at = time.Now()
	}
	rec := Record{"Id": t.ID, "Message_Sid__c": s.SID, "Message_Status__c": string(st),
		"Message_Send_Date__c": sfTime(at), "Status": "Completed", "Error_Description__c": nil,
		"Subject": subject("to", msg.out.To)}
	if msg.merged {
		// The Task shows what the customer read, not the template.
		rec["Description"] = msg.out.Body
	}
	if msg.conversationID != "" {
		rec["Conversation__c"] = msg.conversationID
	}
	if err := o.record(ctx, rec); err != nil {
		return err
	}
	if o.cfg.OnRecorded != nil {
		if err := o.cfg.OnRecorded(ctx, s.SID); err != nil {
			o.log.Warn("applying parked status callbacks", zap.String("task_id", t.ID), zap.String("message_sid", s.SID), zap.Error(err))
		}
	}
	return o.ledger.MarkRecorded(ctx, key)
}

func (o *Outbound) recordFailed(ctx context.Context, key string, t *Task, msg *prepared, reason string, code int) error {
	rec := Record{"Id": t.ID, "Message_Status__c": string(StatusFailed), "Error_Description__c": reason, "Status": "Completed"}
	if err := o.record(ctx, rec); err != nil {
		return err
	}
	return o.ledger.MarkRecorded(ctx, key)
}

// record writes a Task update through the batcher; a Task deleted meanwhile
// is not an error.
func (o *Outbound) record(ctx context.Context, rec Record) error {
	werr, err := o.write.Do(ctx, rec)
	if err != nil {
		return fmt.Errorf("writing task: %w", err)
	}
	if werr != nil {
		if errors.Is(werr, ErrNotFound) {
			return nil
		}
		return fmt.Errorf("writing task: %w", werr)
	}
	return nil
}
