package sfdctest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
)

func TestStreamingHandshakeAndFirstConnect(t *testing.T) {
	org := sfdctest.Start(t)
	b := newBayeux(t, org, login(t, org))
	r := b.handshake()
	if r.str("id") != "1" || r.str("version") != "1.0" || r.str("minimumVersion") != "1.0" {
		t.Fatalf("handshake reply: %v", r)
	}
	if !regexp.MustCompile(`^[0-9a-z]{20,}$`).MatchString(b.clientID) {
		t.Fatalf("clientId %q", b.clientID)
	}
	if ext := r.obj("ext"); ext["replay"] != true || ext["payload.format"] != true {
		t.Fatalf("handshake ext %v, want replay and payload.format true", ext)
	}
	if ct, _ := r["supportedConnectionTypes"].([]any); len(ct) != 1 || ct[0] != "long-polling" {
		t.Fatalf("supportedConnectionTypes %v", r["supportedConnectionTypes"])
	}
	wantAdvice(t, r, map[string]any{"reconnect": "retry", "interval": 0, "timeout": 110000})
	u, _ := url.Parse(org.URL() + cometdPath)
	var names []string
	for _, c := range b.hc.Jar.Cookies(u) {
		names = append(names, c.Name)
	}
	if !strings.Contains(strings.Join(names, ","), "BAYEUX_BROWSER") {
		t.Fatalf("cookies after handshake: %v, want BAYEUX_BROWSER", names)
	}
	if org.Handshakes() != 1 || org.StreamClients() != 1 {
		t.Fatalf("Handshakes %d StreamClients %d", org.Handshakes(), org.StreamClients())
	}

	// ref §3.2: the first connect is answered at once, with advice.
	start := time.Now()
	ack, evs := b.connect()
	if !ack.successful() || len(evs) != 0 || ack.str("clientId") != b.clientID || ack.str("id") != "2" {
		t.Fatalf("first connect: %v %v", ack, evs)
	}
	wantAdvice(t, ack, map[string]any{"reconnect": "retry", "interval": 0, "timeout": 110000})
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("first connect was held %v", d)
	}

	// A numeric id is echoed as a number (ref §3.6: ids come both ways).
	_, out := b.post([]byte(`[{"channel":"/meta/unsubscribe","clientId":"` + b.clientID + `","subscription":"/topic/X","id":7}]`))
	if n, ok := out[0]["id"].(json.Number); !ok || n.String() != "7" || !out[0].successful() {
		t.Fatalf("unsubscribe reply %v, want numeric id 7 and success", out)
	}

	// A second handshake from the same jar keeps its BAYEUX_BROWSER.
	before := b.hc.Jar.Cookies(u)
	b.handshake()
	if after := b.hc.Jar.Cookies(u); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("cookies changed on re-handshake: %v → %v", before, after)
	}
	if org.StreamClients() != 2 || len(org.StreamClientIDs()) != 2 {
		t.Fatalf("two sessions from one jar: StreamClients %d", org.StreamClients())
	}
}

func TestStreamingRequestShape(t *testing.T) {
	org := sfdctest.Start(t)
	tok := login(t, org)
	b := newBayeux(t, org, tok)

	for path, want := range map[string]string{
		"/cometd":        "400::API version in the URI is mandatory. URI format: '/cometd/64.0'",
		"/cometd/":       "400::API version in the URI is mandatory. URI format: '/cometd/64.0'",
		"/cometd/36.0":   "400::Unsupported API version. Only API versions '37.0' and later are supported. URI format: '/cometd/64.0'",
		"/cometd/62":     "400::Unsupported API version. Only API versions '37.0' and later are supported. URI format: '/cometd/64.0'",
		"/cometd/99.0":   "400::Unsupported API version. Only API versions '37.0' and later are supported. URI format: '/cometd/64.0'",
		"/cometd/62.0/x": "400::Unsupported API version. Only API versions '37.0' and later are supported. URI format: '/cometd/64.0'",
	} {
		b.path = path
		status, out := b.send(map[string]any{"channel": "/meta/handshake", "supportedConnectionTypes": []string{"long-polling"}})
		if status != 400 || len(out) != 1 || out[0].str("error") != want || out[0].str("channel") != "/meta/handshake" {
			t.Errorf("%s: %d %v, want 400 %q", path, status, out, want)
		}
	}
	// CometD clients may append the message type to the URL; a trailing
	// slash is fine too (ref §3.1 example).
	for _, path := range []string{"/cometd/62.0/handshake", "/cometd/37.0/", "/cometd/64.0"} {
		b.path = path
		b.handshake()
	}
	b.path = cometdPath

	resp, err := http.Get(org.URL() + cometdPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Fatalf("GET: %d, want 405", resp.StatusCode)
	}

	big := `[{"channel":"/meta/handshake","pad":"` + strings.Repeat("x", 32800) + `"}]`
	if status, out := b.post([]byte(big)); status != 413 || out[0].str("error") != "413::Maximum Request Size Exceeded" {
		t.Fatalf("oversized body: %d %v", status, out)
	}
	for body, want := range map[string]string{
		`{"channel":`: "400::the request body is not a Bayeux message",
		`"handshake"`: "400::the request body must be a JSON array of Bayeux messages",
		`[]`:          "400::the request holds no Bayeux message",
		`[null]`:      "400::a Bayeux message must be a JSON object, not null",
	} {
		if status, out := b.post([]byte(body)); status != 400 || !strings.HasPrefix(out[0].str("error"), want) {
			t.Errorf("body %s: %d %v, want 400 %q", body, status, out, want)
		}
	}
	// A single message object (not an array) is accepted, as CometD does.
	if _, out := b.post([]byte(`{"channel":"/meta/handshake","id":"9","supportedConnectionTypes":["long-polling"]}`)); !out[0].successful() || out[0].str("id") != "9" {
		t.Fatalf("bare message: %v", out)
	}
	b.handshake()
	wantError(t, b.one(map[string]any{"channel": ""}), "400::Channel name not specified", nil)
	wantError(t, b.one(map[string]any{"channel": "/topic/SwitchboardTasks", "data": map[string]any{}}), "403::Restricted channel", nil)
	wantError(t, b.one(map[string]any{"channel": "/meta/ping"}), "400::Unknown meta channel {/meta/ping}", nil)
	wantError(t, b.one(map[string]any{"channel": "/meta/handshake", "supportedConnectionTypes": []string{"callback-polling"}}),
		"400::Invalid connection type {callback-polling}", map[string]any{"reconnect": "none"})
	wantError(t, b.one(map[string]any{"channel": "/meta/connect", "connectionType": "websocket"}), "400::Invalid connection type {websocket}", nil)
}

func TestStreamingAuthentication(t *testing.T) {
	org, tok := streamOrg(t)

	// Bearer (the brief), OAuth (Camel, jsforce) and the raw token
	// (EMP-Connector) all authenticate (ref §3.1).
	for _, auth := range []string{"Bearer " + tok, "OAuth " + tok, tok} {
		b := newBayeux(t, org, tok)
		b.auth = auth
		b.handshake()
	}

	none := newBayeux(t, org, tok)
	none.auth = ""
	r := none.one(map[string]any{"channel": "/meta/handshake", "supportedConnectionTypes": []string{"long-polling"}})
	wantError(t, r, "403::Handshake denied", map[string]any{"reconnect": "none"})
	if failureReason(r) != "401::Request requires authentication" {
		t.Fatalf("no token: failureReason %q", failureReason(r))
	}

	b := newBayeux(t, org, tok)
	b.start(tasksChannel, -1)
	held := b.connectAsync()
	waitHeld(t, org, 1)
	org.RevokeTokens()

	// ref §3.3: authentication is re-validated while connected; the held
	// poll ends with 401 when it ends.
	out := await(t, held, "held connect after revoke")
	wantError(t, out[0], "401::Authentication invalid", map[string]any{"reconnect": "none", "interval": 0})

	// ref §3.6: every later request gets the Salesforce answer.
	ack, _ := b.connect()
	wantError(t, ack, "401::Authentication invalid", map[string]any{"reconnect": "none", "interval": 0})
	if ack.str("clientId") != b.clientID {
		t.Fatalf("401 reply carries clientId %q", ack.str("clientId"))
	}
	sub := b.subscribe(tasksChannel, map[string]any{tasksChannel: -1})
	wantError(t, sub, "401::Authentication invalid", map[string]any{"reconnect": "none", "interval": 0})
	if sub.str("subscription") != tasksChannel {
		t.Fatalf("subscribe failure without subscription: %v", sub)
	}
	hs := b.one(map[string]any{"channel": "/meta/handshake", "supportedConnectionTypes": []string{"long-polling"}})
	wantError(t, hs, "403::Handshake denied", map[string]any{"reconnect": "none"})
	if failureReason(hs) != "401::Authentication invalid" {
		t.Fatalf("handshake failureReason %q", failureReason(hs))
	}

	// A fresh token works again, as after a re-login.
	b.auth = "Bearer " + login(t, org)
	b.start(tasksChannel, -1)
}

func TestStreamingCookieRequired(t *testing.T) {
	org, tok := streamOrg(t)
	b := newBayeux(t, org, tok)
	b.handshake()

	// Same session, a client that dropped its cookies.
	bare := newBayeux(t, org, tok)
	bare.clientID = b.clientID
	want := "400::Client " + b.clientID + " has established a session, but no BAYEUX_BROWSER cookie present"
	ack, _ := bare.connect()
	wantError(t, ack, want, nil)
	wantError(t, bare.subscribe(tasksChannel, nil), want, nil)

	// A cookie from another jar is not this session's either.
	other := newBayeux(t, org, tok)
	other.handshake()
	other.clientID = b.clientID
	ack, _ = other.connect()
	wantError(t, ack, want, nil)

	org.DropCookieCheck(true)
	if ack, _ := bare.connect(); !ack.successful() {
		t.Fatalf("cookie check off: %v", ack)
	}
	if r := bare.subscribe(tasksChannel, nil); !r.successful() {
		t.Fatalf("cookie check off: %v", r)
	}
	org.DropCookieCheck(false)
	ack, _ = bare.connect()
	wantError(t, ack, want, nil)
	// The session itself is intact: the right jar still works.
	if r := b.subscribe(tasksChannel, nil); !r.successful() {
		t.Fatalf("own jar after a cookie-less request: %v", r)
	}
}

func TestStreamingUnknownAndExpiredClients(t *testing.T) {
	org, tok := streamOrg(t)
	handshakeAdvice := map[string]any{"reconnect": "handshake", "interval": 0}

	b := newBayeux(t, org, tok)
	b.handshake()
	real := b.clientID
	b.clientID = "nosuchclient00000000000000"
	ack, _ := b.connect()
	wantError(t, ack, "403::Unknown client", handshakeAdvice)
	wantError(t, b.subscribe(tasksChannel, nil), "403::Unknown client", handshakeAdvice)
	b.clientID = ""
	wantError(t, b.one(map[string]any{"channel": "/meta/connect", "connectionType": "long-polling"}), "403::Client has not completed handshake", handshakeAdvice)
	b.clientID = real

	// ExpireClient: a held connect ends at once with 403::Unknown client
	// (ref §3.6), and so does every later request.
	b.connect()
	held := b.connectAsync()
	waitHeld(t, org, 1)
	org.ExpireClient(b.clientID)
	out := await(t, held, "held connect after ExpireClient")
	wantError(t, out[0], "403::Unknown client", handshakeAdvice)
	wantError(t, b.subscribe(tasksChannel, nil), "403::Unknown client", handshakeAdvice)
	if org.StreamClients() != 0 {
		t.Fatalf("StreamClients %d after expiry", org.StreamClients())
	}
	org.ExpireClient("not-a-client") // ignored

	// ExpireAllClients.
	c1, c2 := newBayeux(t, org, tok), newBayeux(t, org, tok)
	c1.start(tasksChannel, -1)
	c2.start(tasksChannel, -1)
	if org.StreamClients() != 2 || org.Subscribers(tasksChannel) != 2 {
		t.Fatalf("StreamClients %d Subscribers %d", org.StreamClients(), org.Subscribers(tasksChannel))
	}
	org.ExpireAllClients()
	for _, c := range []*bayeux{c1, c2} {
		ack, _ := c.connect()
		wantError(t, ack, "403::Unknown client", handshakeAdvice)
	}
	if org.Subscribers(tasksChannel) != 0 {
		t.Fatalf("Subscribers %d after ExpireAllClients", org.Subscribers(tasksChannel))
	}

	// ref §3.3: no connect within the reconnect timeout after a reply and
	// the session is gone.
	org.SetReconnectTimeout(30 * time.Millisecond)
	c1.handshake()
	time.Sleep(100 * time.Millisecond)
	ack, _ = c1.connect()
	wantError(t, ack, "403::Unknown client", handshakeAdvice)
	// A client that keeps polling stays alive however long it runs.
	org.SetHoldTimeout(60 * time.Millisecond)
	c2.start(tasksChannel, -1)
	for range 3 {
		if ack, _ := c2.connect(); !ack.successful() {
			t.Fatalf("polling client expired: %v", ack)
		}
	}
}

func TestStreamingSubscribeErrors(t *testing.T) {
	org, tok := streamOrg(t)
	b := newBayeux(t, org, tok)
	b.start("", 0)

	wantError(t, b.subscribe("/topic/NoSuchTopic", nil), "400::The channel you requested to subscribe to doesn't exist {/topic/NoSuchTopic}", nil)
	wantError(t, b.subscribe("/topic/switchboardtasks", nil), "400::The channel you requested to subscribe to doesn't exist {/topic/switchboardtasks}", nil)
	wantError(t, b.subscribe("/event/SwitchboardTasks", nil), "400::The channel you requested to subscribe to doesn't exist {/event/SwitchboardTasks}", nil)
	wantError(t, b.subscribe("topic/SwitchboardTasks", nil), "400::Channel subscriptions must start with a leading '/'", nil)
	wantError(t, b.subscribe("", nil), "400::Channel name not specified", nil)
	r := b.one(map[string]any{"channel": "/meta/subscribe", "subscription": []string{tasksChannel}})
	wantError(t, r, "400::Channel name not specified", nil)

	// The replay map must name the channel (ref §3.2, EMP issue #41).
	r = b.subscribe(tasksChannel, map[string]any{})
	wantError(t, r, "400::The replayId for channel {/topic/SwitchboardTasks} wasn't found using the provided replay ID map {{}}. Ensure that the channel name you provided in the replay map is valid and matches the channel name used for subscribing.", nil)
	if r.str("subscription") != tasksChannel || r.str("clientId") != b.clientID {
		t.Fatalf("subscribe error reply %v", r)
	}
	wantError(t, b.subscribe(tasksChannel, map[string]any{"/topic/Other": 5, "/topic/A": -1}),
		"400::The replayId for channel {/topic/SwitchboardTasks} wasn't found using the provided replay ID map {{/topic/A=-1, /topic/Other=5}}. Ensure that the channel name you provided in the replay map is valid and matches the channel name used for subscribing.", nil)

	// Ids that never existed, strings, and values below -2 are invalid.
	id := org.Publish(tasksChannel, "created", map[string]any{"Id": "00T1"})
	for raw, shown := range map[any]string{id + 1: fmt.Sprint(id + 1), int64(0): "0", int64(-3): "-3", "-1": "-1", 1.5: "1.5"} {
		wantError(t, b.subscribe(tasksChannel, map[string]any{tasksChannel: raw}),
			"400::The replayId {"+shown+"} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.", nil)
	}
	if r := b.subscribe(tasksChannel, map[string]any{tasksChannel: id}); !r.successful() {
		t.Fatalf("subscribe with a retained id: %v", r)
	}

	// A deactivated PushTopic is no channel any more.
	recs, err := org.Query("SELECT Id FROM PushTopic WHERE Name = 'SwitchboardTasks'")
	if err != nil || len(recs) != 1 {
		t.Fatal(recs, err)
	}
	if err := org.Update("PushTopic", recs[0]["Id"].(string), map[string]any{"IsActive": false}); err != nil {
		t.Fatal(err)
	}
	wantError(t, b.subscribe(tasksChannel, nil), "400::The channel you requested to subscribe to doesn't exist {/topic/SwitchboardTasks}", nil)

	// ref §4.2: a field the topic's query names was deleted afterwards.
	if _, err := org.Insert("PushTopic", map[string]any{"Name": "Drifted", "Query": "SELECT Id, Subject, Message_Sid__c FROM Task WHERE Message_Sid__c != null", "ApiVersion": 62.0}); err != nil {
		t.Fatal(err)
	}
	if r := b.subscribe("/topic/Drifted", nil); !r.successful() {
		t.Fatal(r)
	}
	org.DropField("Task", "Message_Sid__c")
	wantError(t, b.subscribe("/topic/Drifted", nil), "400::Query fields {Message_Sid__c} do not exist on the topic entity", nil)
}

func TestStreamingUnsubscribeAndDisconnect(t *testing.T) {
	org, tok := streamOrg(t)
	org.SetHoldTimeout(80 * time.Millisecond)
	b := newBayeux(t, org, tok)
	b.start(tasksChannel, -1)
	r := b.one(map[string]any{"channel": "/meta/unsubscribe", "subscription": tasksChannel})
	if !r.successful() || r.str("subscription") != tasksChannel {
		t.Fatalf("unsubscribe: %v", r)
	}
	org.Publish(tasksChannel, "created", map[string]any{"Id": "x"})
	if _, evs := b.connect(); len(evs) != 0 {
		t.Fatalf("events after unsubscribe: %v", evs)
	}
	wantError(t, b.one(map[string]any{"channel": "/meta/unsubscribe"}), "400::Channel name not specified", nil)

	// Filtered subscription (ref §3.2): only matching events.
	filtered := tasksChannel + "?Message_Status__c=Pending"
	if r := b.subscribe(filtered, map[string]any{tasksChannel: -1}); !r.successful() || r.str("subscription") != filtered {
		t.Fatalf("filtered subscribe: %v", r)
	}
	org.Publish(tasksChannel, "created", map[string]any{"Id": "no", "Message_Status__c": "Queued"})
	org.Publish(tasksChannel, "created", map[string]any{"Id": "yes", "Message_Status__c": "Pending"})
	if evs := b.eventsOf(1); evs[0].obj("data").obj("sobject").str("Id") != "yes" {
		t.Fatalf("filter let through %v", evs)
	}

	org.SetHoldTimeout(10 * time.Second)
	h := b.connectAsync()
	waitHeld(t, org, 1)
	if r := b.one(map[string]any{"channel": "/meta/disconnect"}); !r.successful() {
		t.Fatalf("disconnect: %v", r)
	}
	out := await(t, h, "held connect after disconnect")
	if !out[0].successful() {
		t.Fatalf("held connect after disconnect: %v", out)
	}
	wantAdvice(t, out[0], map[string]any{"reconnect": "none", "interval": 0})
	ack, _ := b.connect()
	wantError(t, ack, "403::Unknown client", map[string]any{"reconnect": "handshake", "interval": 0})
}

func TestStreamingCloseEndsHeldPolls(t *testing.T) {
	org := sfdctest.Start(t)
	tok := login(t, org)
	if _, err := org.Insert("PushTopic", map[string]any{"Name": "SwitchboardTasks", "Query": specTasksQuery, "ApiVersion": 62.0}); err != nil {
		t.Fatal(err)
	}
	var polls []<-chan held
	for range 3 {
		b := newBayeux(t, org, tok)
		b.start(tasksChannel, -1)
		polls = append(polls, b.connectAsync()) // held for the default 110 s
	}
	waitHeld(t, org, 3)
	closed := make(chan struct{})
	go func() { org.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("Close blocked on held long polls")
	}
	for i, p := range polls {
		select {
		case <-p: // a reply or a transport error: either way it ended
		case <-time.After(20 * time.Second):
			t.Fatalf("poll %d still held after Close", i)
		}
	}
}

func TestStreamingFormEncodedMessage(t *testing.T) {
	org, tok := streamOrg(t)
	form := url.Values{"message": {`[{"channel":"/meta/handshake","id":"1","supportedConnectionTypes":["long-polling"]}]`}}
	req, _ := http.NewRequest(http.MethodPost, org.URL()+cometdPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "OAuth "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []bmsg
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out) != 1 || !out[0].successful() {
		t.Fatalf("form-encoded handshake: %v %v", out, err)
	}
	b := newBayeux(t, org, tok)
	req, _ = http.NewRequest(http.MethodPost, org.URL()+cometdPath, strings.NewReader("channel=/meta/handshake"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = b.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out = nil
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 400 || len(out) != 1 || out[0].str("error") != "400::a form-encoded request needs a JSON 'message' field" {
		t.Fatalf("form without message: %d %v", resp.StatusCode, out)
	}
}

// TestStreamingConcurrentConsumers polls with several clients while events
// are being published; each sees every event once, in order.
func TestStreamingConcurrentConsumers(t *testing.T) {
	org, tok := streamOrg(t)
	org.SetHoldTimeout(2 * time.Second)
	const n, clients = 5000, 3
	errs := make(chan error, clients)
	for range clients {
		c := newBayeux(t, org, tok)
		c.start(tasksChannel, -1)
		go func() {
			errs <- func() error {
				prev := int64(0)
				for got := 0; got < n; {
					body, _ := json.Marshal([]any{map[string]any{"channel": "/meta/connect", "connectionType": "long-polling", "clientId": c.clientID, "id": c.nextID()}})
					_, out, err := c.postE(body)
					if err != nil {
						return err
					}
					for _, m := range out {
						if m.str("channel") == "/meta/connect" {
							if !m.successful() {
								return fmt.Errorf("connect failed: %v", m)
							}
							continue
						}
						id, _ := m.obj("data").obj("event")["replayId"].(json.Number).Int64()
						if id <= prev || m.obj("data").obj("sobject").str("Id") != fmt.Sprint(got) {
							return fmt.Errorf("event %d out of order: %v after %d", got, m, prev)
						}
						prev = id
						got++
					}
				}
				return nil
			}()
		}()
	}
	for i := range n {
		org.Publish(tasksChannel, "created", map[string]any{"Id": fmt.Sprint(i)})
	}
	for range clients {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("consumers did not finish")
		}
	}
	if org.Delivered(tasksChannel) != clients*n {
		t.Fatalf("Delivered %d", org.Delivered(tasksChannel))
	}
}

func TestStreamingSharedCookieJar(t *testing.T) {
	org, tok := streamOrg(t)
	org.SetHoldTimeout(5 * time.Second)
	first := newBayeux(t, org, tok)
	first.start(tasksChannel, -1)
	second := newBayeux(t, org, tok)
	second.hc = first.hc // same jar: same BAYEUX_BROWSER
	second.start(tasksChannel, -1)
	h := first.connectAsync()
	waitHeld(t, org, 1)
	// The second session's poll is not held while the first one is.
	ack, evs := second.connect()
	if !ack.successful() || len(evs) != 0 {
		t.Fatalf("second client on a shared jar: %v %v", ack, evs)
	}
	wantAdvice(t, ack, map[string]any{"interval": 2000, "multiple-clients": true, "reconnect": "retry", "timeout": 5000})
	org.Publish(tasksChannel, "created", map[string]any{"Id": "x"})
	if out := await(t, h, "first client"); len(out) != 2 {
		t.Fatalf("first client: %v", out)
	}
	// With the first client not polling, the second one's events come.
	if _, evs := second.connect(); len(evs) != 1 {
		t.Fatalf("second client events: %v", evs)
	}
}
