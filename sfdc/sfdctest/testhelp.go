package sfdctest

import (
	"fmt"
	"strings"
	"time"
)

// TB is the part of testing.TB the helpers below use; *testing.T and
// *testing.B satisfy it. sfdctest is linked into the binary (for
// `switchboard demo`), so it does not import package testing.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Start starts an org with the default Options for a test and closes it
// when the test ends.
func Start(t TB) *Org {
	t.Helper()
	org, err := NewOrg(Options{})
	if err != nil {
		t.Fatalf("sfdctest: starting the simulated org: %v", err)
	}
	t.Cleanup(org.Close)
	return org
}

// Eventually polls cond every 10 ms until it holds, and fails t once
// limit has passed: the one poll-until helper of the tests that drive the
// simulators.
func Eventually(t TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
			return // a TB whose Fatalf does not stop the goroutine
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// SeedChannel describes the first channel an admin creates after setup: a
// queue, a Channel_Type__c for the Twilio account and an active
// Channel__c owned by the queue (SPEC §1).
type SeedChannel struct {
	AccountSID string
	Number     string // Phone_Number__c, E.164
	Name       string // Channel__c Name
	QueueName  string // the queue's DeveloperName; its Name has spaces for the underscores
	MaxLength  int    // Max_Message_Length__c; 0 leaves it unset
}

// Seeded is what SeedChannel created.
type Seeded struct {
	QueueID, ChannelTypeID, ChannelID string
}

// SeedChannel creates the queue, channel type and channel of c.
func (o *Org) SeedChannel(c SeedChannel) (Seeded, error) {
	var s Seeded
	var err error
	if s.QueueID, err = o.Insert("Group", map[string]any{
		"Name": strings.ReplaceAll(c.QueueName, "_", " "), "DeveloperName": c.QueueName, "Type": "Queue",
	}); err != nil {
		return s, fmt.Errorf("sfdctest: seeding the queue: %w", err)
	}
	ct := map[string]any{"Name": "Twilio", "Account_Sid__c": c.AccountSID, "Provider__c": "Twilio SMS"}
	if c.MaxLength > 0 {
		ct["Max_Message_Length__c"] = c.MaxLength
	}
	if s.ChannelTypeID, err = o.Insert("Channel_Type__c", ct); err != nil {
		return s, fmt.Errorf("sfdctest: seeding the channel type: %w", err)
	}
	if s.ChannelID, err = o.Insert("Channel__c", map[string]any{
		"Name": c.Name, "Phone_Number__c": c.Number, "Channel_Type__c": s.ChannelTypeID,
		"Active__c": true, "Queue_Name__c": c.QueueName,
	}); err != nil {
		return s, fmt.Errorf("sfdctest: seeding the channel: %w", err)
	}
	return s, nil
}
