package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/switchboard/switchboard/config"
	"github.com/switchboard/switchboard/sfdc"
)

// instanceID names this instance in Switchboard_Status__c.Instance__c:
// stable while it runs, different for each replica and each restart (host
// name, process id, start time), and a random suffix for instances that
// share a process and a second (tests, the demo).
func instanceID(started time.Time) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	return fmt.Sprintf("%s-%d-%s-%06x", host, os.Getpid(), started.UTC().Format("20060102T150405Z"), rand.N(1<<24))
}

// runHeartbeat upserts this instance's Switchboard_Status__c row every
// engine.heartbeat_interval (SPEC §1a), the first time as soon as the
// stream is subscribed (or after one interval, if it is not by then), so a
// fresh start is not reported as unsubscribed. It returns when ctx ends. A
// failed beat is logged and the next one tries again: the row going stale
// is itself the alarm the Administration tab raises.
func (m *Main) runHeartbeat(ctx context.Context) {
	every := m.cfg.Engine.HeartbeatInterval
	if every <= 0 {
		return
	}
	first := time.NewTimer(every)
	defer first.Stop()
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
wait:
	for !m.stream.Subscribed() {
		select {
		case <-ctx.Done():
			return
		case <-first.C:
			break wait
		case <-poll.C:
		}
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		bctx, cancel := context.WithTimeout(ctx, min(every, 30*time.Second))
		if err := m.beat(bctx); err != nil && ctx.Err() == nil {
			m.log.Warn("heartbeat: writing Switchboard_Status__c failed; trying again at the next beat", zap.Error(err))
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// beat writes the row: one Salesforce call (the upsert). Everything else
// it reports is known without asking the org: the login's cached session,
// the limits the last call reported, the stream's state and the store.
func (m *Main) beat(ctx context.Context) error {
	checks, st := m.runtimeChecks(ctx)
	lines := make([]string, len(checks))
	for i, c := range checks {
		lines[i] = c.String()
	}
	_, _, err := m.client.UpsertStatus(ctx, sfdc.Status{
		Instance:         m.instance,
		Version:          version,
		StartedAt:        sfdc.Time{Time: m.started},
		LastHeartbeat:    sfdc.Time{Time: time.Now()},
		IntervalSeconds:  m.cfg.Engine.HeartbeatInterval.Seconds(),
		StreamSubscribed: m.stream.Subscribed(),
		QueueBacklog:     st.backlog,
		DeadLetters:      st.dead,
		PublicURL:        m.cfg.Server.PublicURL,
		Checks:           strings.Join(lines, "\n"),
	})
	if sfdc.IsNotFound(err) {
		return fmt.Errorf("%s is not in the org: deploy sfdc/metadata (sf project deploy start) and assign Switchboard_Integration, or turn the heartbeat off with %s=0: %w",
			sfdc.StatusObject, config.EnvName("engine.heartbeat_interval"), err)
	}
	return err
}

// runtimeChecks are the checks of `switchboard doctor` that describe a
// running instance rather than its setup: the login, the org's API usage,
// the stream and the store.
func (m *Main) runtimeChecks(ctx context.Context) ([]check, storeState) {
	creds, err := m.auth.Credentials(ctx)
	out := []check{loginCheck(m.cfg.Salesforce, creds, err), apiCallsCheck(m.client.Limits(), m.cfg.Engine.APIBudget)}
	subscribed := "streaming: subscribed to " + strings.Join(streamChannels, " and ")
	if m.stream.Subscribed() {
		out = append(out, passed(subscribed))
	} else {
		out = append(out, failed("streaming", "not subscribed to "+strings.Join(streamChannels, " and ")+
			", so new outbound Tasks wait for the next sweep (engine.sweep_interval)",
			"run `switchboard doctor` with this instance's settings: it says why (login, PushTopics, the Streaming API permission, the org's client limit); `switchboard setup` recreates the PushTopics"))
	}
	c, st := storeCheck(ctx, m.store, storeWhat(m.cfg.Store.URL))
	out = append(out, c)
	return out, st
}
