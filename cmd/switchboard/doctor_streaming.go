package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/switchboard/switchboard/sfdc"
)

// checkStreaming runs a short-lived stream: it handshakes and subscribes
// both topics, then disconnects as soon as the stream is subscribed, or
// reports the first session failure the stream reports (sfdc.SessionEnd).
// Events that arrive meanwhile are dropped: the daemon's own subscription
// and replay checkpoint are untouched (a separate Bayeux client).
func (d *doctor) checkStreaming(ctx context.Context) {
	channels := streamChannels
	what := "streaming: handshake and subscribe to " + strings.Join(channels, " and ")
	if !d.topicOK {
		d.skip("streaming", "needs "+strings.Join(streamChannels, " and ")+" to exist and be active")
		return
	}
	ends := make(chan sfdc.SessionEnd, 1)
	s, err := sfdc.NewStream(sfdc.StreamConfig{
		Auth: d.auth, APIVersion: d.cfg.Salesforce.APIVersion, HTTPClient: d.hc, Logger: zap.NewNop(),
		Channels: channels,
		Handle:   func(context.Context, string, []sfdc.Event) error { return nil },
		OnSessionEnd: func(e sfdc.SessionEnd) {
			if e.Continued && e.Cause != sfdc.CauseBusy {
				return // a replay-id fallback; doctor subscribes from -1 anyway
			}
			select { // the first report is the one doctor explains
			case ends <- e:
			default:
			}
		},
		RequestTimeout: d.opts.timeout,
	})
	if err != nil {
		d.fail("streaming", err.Error(), "set "+keyRef("salesforce.api_version")+" to "+sfdc.DefaultAPIVersion)
		return
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Run(runCtx)
	}()
	defer func() {
		stop()
		<-done
	}()
	deadline := time.NewTimer(d.opts.timeout)
	defer deadline.Stop()
	// Subscribed has no hook of its own; polling it is cheap.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			d.fail("streaming", "interrupted", "run doctor again")
			return
		case <-deadline.C:
			d.fail("streaming", fmt.Sprintf("no subscription within %s", d.opts.timeout),
				"check the network path to the org's instance /cometd/"+d.cfg.Salesforce.APIVersion+" (proxies must allow long-polling POSTs held for 2 minutes)")
			return
		case e := <-ends:
			problem, fix := explainStream(e)
			d.fail("streaming", problem, fix)
			return
		case <-tick.C:
		}
		if s.Subscribed() {
			d.pass(what)
			return
		}
	}
}

// explainStream maps why a stream session ended to advice; the error
// strings are those of ref §3.6.
func explainStream(e sfdc.SessionEnd) (problem, fix string) {
	perms := "the integration user needs API Enabled, Streaming API, and Read on PushTopic, Task and Conversation__c (Switchboard_Integration permission set)"
	msg := ""
	if e.Err != nil {
		msg = e.Err.Error()
	}
	if e.Cause == sfdc.CauseBusy && e.Continued {
		return "Salesforce answered a subscribe with 503::Server is too busy",
			"try again in a few minutes; if it persists check https://status.salesforce.com for the org's instance"
	}
	switch e.Cause {
	case sfdc.CauseAuth:
		return "the streaming endpoint refused the session: " + msg, perms + "; the Connected App's OAuth scopes must include api"
	case sfdc.CauseBusy:
		return "Salesforce refused the handshake as too busy: " + msg,
			"try again in a few minutes; if it persists check https://status.salesforce.com for the org's instance"
	case sfdc.CauseLimit:
		return "an org streaming allocation is used up: " + msg,
			"stop other subscribers (every switchboard replica is one) or wait a minute for abandoned clients to expire; the daily event allocation renews over 24 hours"
	case sfdc.CauseSubscribeFailed:
		return "a subscribe was refused: " + msg, "run `switchboard setup`; " + perms
	default:
		return "the handshake failed (" + string(e.Cause) + "): " + msg,
			"check " + keyRef("salesforce.api_version") + " (37.0 or later) and that nothing between here and the instance's /cometd endpoint drops cookies or long-polling requests"
	}
}
