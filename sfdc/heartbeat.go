package sfdc

import (
	"context"
	"fmt"
	"unicode/utf8"
)

// StatusObject is SPEC §1a's one-row-per-instance heartbeat object.
const StatusObject = "Switchboard_Status__c"

// Lengths of the Switchboard_Status__c fields that have one
// (sfdc/metadata: Name is the standard 80-character Text name field,
// Checks__c a 32,768-character Long Text Area). Longer values are cut
// rather than refused: a heartbeat that fails on length tells nobody
// anything.
const (
	statusNameLength   = 80
	statusChecksLength = 32768
)

// Status is one instance's Switchboard_Status__c row.
type Status struct {
	Instance         string  `json:"Instance__c"`
	Name             string  `json:"Name"`
	Version          string  `json:"Version__c"`
	StartedAt        Time    `json:"Started_At__c"`
	LastHeartbeat    Time    `json:"Last_Heartbeat__c"`
	IntervalSeconds  float64 `json:"Heartbeat_Interval_Seconds__c"`
	StreamSubscribed bool    `json:"Stream_Subscribed__c"`
	QueueBacklog     int64   `json:"Queue_Backlog__c"`
	DeadLetters      int64   `json:"Dead_Letters__c"`
	PublicURL        string  `json:"Public_Url__c"`
	Checks           string  `json:"Checks__c"`
}

// UpsertStatus writes the instance's row in one call: an upsert on
// Instance__c (External ID, Unique), so the first beat creates the row and
// every later one updates it, and replicas never touch each other's rows.
func (c *Client) UpsertStatus(ctx context.Context, s Status) (id string, created bool, err error) {
	if s.Instance == "" {
		return "", false, fmt.Errorf("sfdc: %s needs an instance id", StatusObject)
	}
	if s.Name == "" {
		s.Name = s.Instance
	}
	s.Name = truncateRunes(s.Name, statusNameLength)
	s.Checks = truncateRunes(s.Checks, statusChecksLength)
	return c.Upsert(ctx, StatusObject, "Instance__c", s.Instance, s)
}

// truncateRunes cuts s to at most n characters (Salesforce counts
// characters, not bytes) without splitting one.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}
