package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	sbsync "github.com/switchboard/switchboard/sync"
	"github.com/switchboard/switchboard/twilio"
)

// ---- Twilio -----------------------------------------------------------

func (d *doctor) checkTwilio(ctx context.Context) {
	if d.problems["twilio"] {
		d.skip("Twilio credentials", "the twilio.* settings above are not usable")
		return
	}
	tw := d.cfg.Twilio
	var err error
	d.tw, err = twilio.NewAccounts(tw.Accounts, twilio.Options{BaseURL: tw.APIBaseURL, Timeout: d.opts.timeout})
	if err != nil {
		d.fail("Twilio credentials", err.Error(), "correct "+keyRef("twilio.auth_token")+" or the entries of "+keyRef("twilio.accounts")+" (auth tokens are letters and digits)")
		return
	}
	for _, sid := range d.tw.SIDs() {
		what := "Twilio credentials of " + sid
		tokenKey := "twilio.auth_token"
		if sid != tw.AccountSID {
			tokenKey = "twilio.accounts"
		}
		cctx, cancel := d.ctx(ctx)
		err := d.tw.Check(cctx, sid)
		cancel()
		if err == nil {
			d.twOK[sid] = true
			d.pass(what + " (at " + tw.APIBaseURL + ")")
			continue
		}
		d.twFault[sid] = "needs working Twilio credentials of " + sid
		var te *twilio.Error
		errors.As(err, &te)
		switch {
		case te != nil && te.Code == 20003:
			fix := "set " + keyRef("twilio.auth_token") + " to the Auth Token of " + sid + " (Twilio Console → Account → API keys & tokens)"
			if tokenKey == "twilio.accounts" {
				fix = "correct the token of " + sid + " in " + keyRef("twilio.accounts") + " (SID:TOKEN pairs; Twilio Console → Account → API keys & tokens)"
			}
			d.fail(what, "Twilio rejected the account SID or auth token (20003)", fix)
		case te != nil && te.Code == 20005:
			d.fail(what, "the Twilio account is not active (20005)", "reactivate "+sid+" in the Twilio Console, or remove it from the settings")
		case te != nil && te.HTTPStatus == 0:
			d.fail(what, "no answer from Twilio: "+te.Description, "check "+keyRef("twilio.api_base_url")+" and the network or proxy between here and Twilio")
		default:
			d.fail(what, err.Error(), "check "+keyRef("twilio.account_sid")+" and "+keyRef("twilio.api_base_url"))
		}
	}
}

func (d *doctor) checkChannels(ctx context.Context) {
	switch {
	case !d.orgOK:
		d.skip("channels", "needs a Salesforce login")
		return
	case d.tw == nil:
		d.skip("channels", "needs usable Twilio settings")
		return
	}
	for _, p := range d.missing {
		if p.Object == "Channel__c" || p.Object == "Channel_Type__c" {
			d.skip("channels", "needs Channel__c and Channel_Type__c as SPEC §1 defines them (see schema)")
			return
		}
	}
	qctx, cancel := d.ctx(ctx)
	defer cancel()
	var channels []sbsync.Channel
	err := d.client.Query(qctx, "SELECT "+sbsync.ChannelFields+" FROM Channel__c WHERE Active__c = true", &channels)
	if err != nil {
		d.fail("channels", "reading Channel__c and Channel_Type__c failed: "+err.Error(), "give the integration user Read on both (Switchboard_Integration permission set)")
		return
	}
	if len(channels) == 0 {
		d.fail("channels", "no active Channel__c: switchboard has no number to send from",
			"create a Channel__c with Phone_Number__c (or Messaging_Service_Sid__c), a Channel_Type__c whose Account_Sid__c is configured, and Active__c checked")
		return
	}
	if dc := d.cfg.Twilio.DefaultChannel; dc != "" && !slices.ContainsFunc(channels, func(c sbsync.Channel) bool { return c.Name == dc }) {
		d.fail("configuration twilio.default_channel", fmt.Sprintf("%q is not the Name of an active Channel__c", dc),
			"set "+keyRef("twilio.default_channel")+" to one of: "+strings.Join(channelNames(channels), ", "))
	}
	sort.Slice(channels, func(i, j int) bool { return channels[i].Name < channels[j].Name })
	for i := range channels {
		ch := &channels[i]
		if p := sbsync.CheckChannel(ch, d.tw.Has); p != nil {
			problem, fix := explainChannel(ch, p)
			d.fail("channel "+ch.Name, problem, fix)
			continue
		}
		d.checkChannel(ctx, ch)
	}
}

// explainChannel words a channel's problem (sync.CheckChannel, the rule
// sending applies too) for an admin: what is wrong and where to fix it.
func explainChannel(ch *sbsync.Channel, p *sbsync.ChannelProblem) (problem, fix string) {
	ct := ch.ChannelType
	switch p.Fault {
	case sbsync.ChannelNoType:
		return "has no Channel_Type__c, so switchboard does not know its Twilio account",
			"set Channel_Type__c on Channel__c " + ch.Name + " (" + ch.ID + ") to the channel type of its Twilio account"
	case sbsync.ChannelNoAccount:
		return fmt.Sprintf("its Channel_Type__c %s has no Account_Sid__c", ct.Name),
			"set Account_Sid__c on Channel_Type__c " + ct.Name + " to the AC… SID of its Twilio account"
	case sbsync.ChannelNoCredentials:
		acct := strings.TrimSpace(ct.AccountSID)
		return fmt.Sprintf("its Channel_Type__c %s names Twilio account %s, which has no credentials here", ct.Name, acct),
			"add " + acct + ":<auth token> to " + keyRef("twilio.accounts") + ", or correct Account_Sid__c on Channel_Type__c " + ct.Name
	case sbsync.ChannelNoSender:
		return "has neither Phone_Number__c nor Messaging_Service_Sid__c", "set one of them on Channel__c " + ch.Name
	case sbsync.ChannelBadServiceSID:
		return fmt.Sprintf("Messaging_Service_Sid__c %q is not a Messaging Service SID (MG and 32 hex digits)", ch.MessagingServiceSID),
			"set Messaging_Service_Sid__c on Channel__c " + ch.Name + " to the service's SID (Twilio Console → Messaging → Services)"
	case sbsync.ChannelBadPhone:
		return fmt.Sprintf("Phone_Number__c %q is not in E.164 form, so Twilio refuses it as a sender", ch.PhoneNumber),
			"set Phone_Number__c on Channel__c " + ch.Name + " to the number in E.164, e.g. +14155550100"
	default:
		return p.Reason, "correct Channel__c " + ch.Name
	}
}

func channelNames(cs []sbsync.Channel) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	sort.Strings(out)
	return out
}

// checkChannel checks a channel that passed sync.CheckChannel against its
// Twilio account: the number or service exists there and routes inbound
// messages to switchboard.
func (d *doctor) checkChannel(ctx context.Context, ch *sbsync.Channel) {
	what := "channel " + ch.Name
	ct := ch.ChannelType
	acct := strings.TrimSpace(ct.AccountSID)
	if !d.twOK[acct] {
		d.skip(what, d.twFault[acct])
		return
	}
	wantIn, wantStatus := "", ""
	if !d.problems["server"] {
		wantIn, wantStatus = d.cfg.Server.PublicURL+pathInbound, d.cfg.Server.PublicURL+pathStatus
	}
	consoleNumber := "Twilio Console → Phone Numbers → Manage → Active numbers → " + ch.PhoneNumber + " → Messaging Configuration → A message comes in: Webhook " + wantIn + ", HTTP POST"
	lctx, cancel := d.ctx(ctx)
	defer cancel()

	numberRouted := ch.MessagingServiceSID == ""
	if ch.MessagingServiceSID != "" {
		svc, err := d.tw.MessagingService(lctx, acct, ch.MessagingServiceSID)
		if errors.Is(err, twilio.ErrNotFound) {
			d.fail(what, fmt.Sprintf("Messaging Service %s is not a service of Twilio account %s", ch.MessagingServiceSID, acct),
				"correct Messaging_Service_Sid__c on Channel__c "+ch.Name+", or Account_Sid__c on its Channel_Type__c "+ct.Name)
			return
		}
		if err != nil {
			d.fail(what, "looking up Messaging Service "+ch.MessagingServiceSID+" failed: "+err.Error(), "check "+keyRef("twilio.api_base_url")+" and run doctor again")
			return
		}
		consoleSvc := "Twilio Console → Messaging → Services → " + ch.MessagingServiceSID + " → Integration → Incoming Messages: Send a webhook, Request URL " + wantIn + ", HTTP POST"
		if svc.StatusCallback != "" && wantStatus != "" && !sameURL(svc.StatusCallback, wantStatus) {
			// A message's own StatusCallback overrides the service's (ref
			// §2.1) and switchboard sets one on every send, so only messages
			// sent by others report there.
			d.warn(what, fmt.Sprintf("Messaging Service %s sends delivery status to %s; switchboard's sends override it, but messages sent through the service by anything else never reach Salesforce", ch.MessagingServiceSID, svc.StatusCallback),
				"clear the service's Delivery Status Callback, or set it to "+wantStatus)
		}
		switch {
		case svc.UseInboundWebhookOnNumber && ch.PhoneNumber == "":
			d.warn(what, fmt.Sprintf("Messaging Service %s hands inbound messages to each sender number's own webhook, which doctor cannot check without Phone_Number__c", ch.MessagingServiceSID),
				"make sure every number of the service has 'A message comes in' set to "+wantIn+" (HTTP POST), or switch the service to Send a webhook: "+consoleSvc)
		case svc.UseInboundWebhookOnNumber:
			numberRouted = true
		default:
			d.checkInboundWebhook(what, "Messaging Service "+ch.MessagingServiceSID, acct, "inbound webhook",
				svc.InboundRequestURL, svc.InboundMethod, wantIn, consoleSvc)
		}
		if !numberRouted && ch.PhoneNumber == "" {
			return
		}
	}
	if ch.PhoneNumber == "" {
		return
	}
	n, err := d.tw.IncomingNumber(lctx, acct, ch.PhoneNumber)
	if errors.Is(err, twilio.ErrNotFound) {
		d.fail(what, fmt.Sprintf("%s is not a phone number of Twilio account %s", ch.PhoneNumber, acct),
			"correct Phone_Number__c on Channel__c "+ch.Name+" (E.164, e.g. +14155550100), or Account_Sid__c on its Channel_Type__c "+ct.Name+", or buy or port the number into "+acct)
		return
	}
	if err != nil {
		d.fail(what, "looking up "+ch.PhoneNumber+" failed: "+err.Error(), "correct Phone_Number__c on Channel__c "+ch.Name+" or check "+keyRef("twilio.api_base_url"))
		return
	}
	if !numberRouted {
		// The service routes inbound messages; the number only has to exist.
		return
	}
	if n.StatusCallback != "" && wantStatus != "" && !sameURL(n.StatusCallback, wantStatus) {
		// On this resource status_callback reports calls; message status goes
		// to each message's StatusCallback, which switchboard sets (ref §2.1).
		d.warn(what, fmt.Sprintf("%s has a status callback to %s (call status; switchboard's messages carry their own status URL)", ch.PhoneNumber, n.StatusCallback),
			"nothing, if that endpoint is meant for calls; otherwise clear it or set it to "+wantStatus)
	}
	if wantIn != "" && n.SMSApplicationSID != "" {
		d.warn(what, fmt.Sprintf("%s hands messages to TwiML App %s, whose Messaging Request URL doctor does not check", ch.PhoneNumber, n.SMSApplicationSID),
			"make sure that app's Messaging Request URL is "+wantIn+" (HTTP POST), or set the number itself: "+consoleNumber)
		return
	}
	d.checkInboundWebhook(what, ch.PhoneNumber, acct, "'A message comes in' webhook", n.SMSURL, n.SMSMethod, wantIn, consoleNumber)
}

// checkInboundWebhook is the one verdict on where a Twilio resource (a
// Messaging Service or a phone number, named by subject) sends inbound
// messages: to switchboard's wantIn, by POST. webhook names the setting in
// Twilio's words; wantIn is empty when server.public_url is not usable.
func (d *doctor) checkInboundWebhook(what, subject, acct, webhook, gotURL, gotMethod, wantIn, console string) {
	switch {
	case wantIn == "":
		d.pass(fmt.Sprintf("%s: %s is in account %s (its webhook is not checked: server.public_url is not usable)", what, subject, acct))
	case gotURL == "":
		d.fail(what, fmt.Sprintf("%s has no %s: Twilio drops replies to it", subject, webhook), console)
	case !sameURL(gotURL, wantIn) || !strings.EqualFold(orPost(gotMethod), http.MethodPost):
		d.fail(what, fmt.Sprintf("%s sends inbound messages to %s %s, not to switchboard at POST %s", subject, orPost(gotMethod), gotURL, wantIn), console)
	default:
		d.pass(fmt.Sprintf("%s: %s in %s sends inbound messages to %s", what, subject, acct, wantIn))
	}
}

func orPost(m string) string {
	if m == "" {
		return http.MethodPost
	}
	return strings.ToUpper(m)
}

// sameURL compares webhook URLs as Twilio calls them: scheme and host
// case-insensitive, a default port equal to none, a trailing slash
// ignored, and the fragment dropped (it carries connection overrides,
// ref §5.2, and is never sent).
func sameURL(a, b string) bool {
	norm := func(s string) string {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil {
			return s
		}
		u.Fragment, u.RawFragment = "", ""
		u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
		if (u.Scheme == "https" && u.Port() == "443") || (u.Scheme == "http" && u.Port() == "80") {
			u.Host = u.Hostname()
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		u.RawPath = ""
		return u.String()
	}
	return norm(a) == norm(b)
}
