package sfdctest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard/switchboard/sfdc/sfdctest"
)

const cometdPath = "/cometd/62.0"

// bmsg is one decoded Bayeux message; numbers stay json.Number so replay
// ids are exact.
type bmsg map[string]any

func (m bmsg) str(k string) string { s, _ := m[k].(string); return s }

func (m bmsg) obj(k string) bmsg {
	o, _ := m[k].(map[string]any)
	return bmsg(o)
}

func (m bmsg) successful() bool { b, _ := m["successful"].(bool); return b }

// replayID reads data.event.replayId of an event message.
func (m bmsg) replayID(t testing.TB) int64 {
	t.Helper()
	n, ok := m.obj("data").obj("event")["replayId"].(json.Number)
	if !ok {
		t.Fatalf("no data.event.replayId in %v", m)
	}
	id, err := n.Int64()
	if err != nil {
		t.Fatalf("replayId %v is not an int64", n)
	}
	return id
}

// bayeux is a bare CometD client over real HTTP with its own cookie jar,
// one message per POST (ref §3.1).
type bayeux struct {
	t        testing.TB
	org      *sfdctest.Org
	hc       *http.Client
	auth     string // Authorization header value
	path     string
	clientID string
	seq      int
}

func newBayeux(t testing.TB, org *sfdctest.Org, tok string) *bayeux {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &bayeux{t: t, org: org, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}, auth: "Bearer " + tok, path: cometdPath}
}

func (b *bayeux) nextID() string { b.seq++; return strconv.Itoa(b.seq) }

// post sends raw body and returns the HTTP status and decoded replies.
func (b *bayeux) post(body []byte) (int, []bmsg) {
	b.t.Helper()
	status, out, err := b.postE(body)
	if err != nil {
		b.t.Fatal(err)
	}
	return status, out
}

// postE is post for goroutines, which must not call t.Fatal.
func (b *bayeux) postE(body []byte) (int, []bmsg, error) {
	req, err := http.NewRequest(http.MethodPost, b.org.URL()+b.path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if b.auth != "" {
		req.Header.Set("Authorization", b.auth)
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("POST %s: %w", b.path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	var out []bmsg
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("reply is not a JSON array of messages: %v: %s", err, raw)
	}
	return resp.StatusCode, out, nil
}

// held is the outcome of a connect sent from a goroutine.
type held struct {
	replies []bmsg
	err     error
}

// connectAsync sends a connect from a goroutine (a long poll the test
// wants to see end) and delivers its replies on the returned channel.
func (b *bayeux) connectAsync() <-chan held {
	body, _ := json.Marshal([]any{map[string]any{"channel": "/meta/connect", "connectionType": "long-polling", "clientId": b.clientID, "id": b.nextID()}})
	ch := make(chan held, 1)
	go func() {
		_, out, err := b.postE(body)
		ch <- held{out, err}
	}()
	return ch
}

// await waits for a connect sent with connectAsync.
func await(t testing.TB, ch <-chan held, what string) []bmsg {
	t.Helper()
	select {
	case h := <-ch:
		if h.err != nil {
			t.Fatalf("%s: %v", what, h.err)
		}
		return h.replies
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: the held connect never ended", what)
	}
	return nil
}

// waitHeld waits until the org holds n long polls.
func waitHeld(t testing.TB, org *sfdctest.Org, n int) {
	t.Helper()
	sfdctest.Eventually(t, 10*time.Second, fmt.Sprintf("%d held connects", n), func() bool { return org.HeldConnects() == n })
}

func (b *bayeux) send(msg map[string]any) (int, []bmsg) {
	b.t.Helper()
	if _, ok := msg["id"]; !ok {
		msg["id"] = b.nextID()
	}
	if _, ok := msg["clientId"]; !ok && b.clientID != "" && msg["channel"] != "/meta/handshake" {
		msg["clientId"] = b.clientID
	}
	body, err := json.Marshal([]any{msg})
	if err != nil {
		b.t.Fatal(err)
	}
	return b.post(body)
}

// one sends msg and returns the reply on msg's channel, failing unless the
// reply array holds exactly that message.
func (b *bayeux) one(msg map[string]any) bmsg {
	b.t.Helper()
	status, out := b.send(msg)
	if status != 200 || len(out) != 1 {
		b.t.Fatalf("%v: status %d, replies %v", msg, status, out)
	}
	if out[0].str("channel") != msg["channel"] {
		b.t.Fatalf("reply on %q, want %q: %v", out[0].str("channel"), msg["channel"], out[0])
	}
	return out[0]
}

func (b *bayeux) handshake() bmsg {
	b.t.Helper()
	r := b.one(map[string]any{"channel": "/meta/handshake", "version": "1.0", "minimumVersion": "1.0",
		"supportedConnectionTypes": []string{"long-polling"}, "ext": map[string]any{"replay": true}})
	if !r.successful() {
		b.t.Fatalf("handshake failed: %v", r)
	}
	b.clientID = r.str("clientId")
	return r
}

// connect sends /meta/connect and returns the connect reply and the event
// messages beside it.
func (b *bayeux) connect() (bmsg, []bmsg) {
	b.t.Helper()
	status, out := b.send(map[string]any{"channel": "/meta/connect", "connectionType": "long-polling"})
	if status != 200 {
		b.t.Fatalf("connect: status %d %v", status, out)
	}
	var ack bmsg
	var evs []bmsg
	for _, m := range out {
		switch m.str("channel") {
		case "/meta/connect":
			if ack != nil {
				b.t.Fatalf("two connect replies: %v", out)
			}
			ack = m
		default:
			evs = append(evs, m)
		}
	}
	if ack == nil {
		b.t.Fatalf("no /meta/connect reply in %v", out)
	}
	return ack, evs
}

func (b *bayeux) subscribe(channel string, replay any) bmsg {
	b.t.Helper()
	msg := map[string]any{"channel": "/meta/subscribe", "subscription": channel}
	if replay != nil {
		msg["ext"] = map[string]any{"replay": replay}
	}
	return b.one(msg)
}

func (b *bayeux) mustSubscribe(channel string, from int64) {
	b.t.Helper()
	if r := b.subscribe(channel, map[string]any{channel: from}); !r.successful() {
		b.t.Fatalf("subscribe %s from %d: %v", channel, from, r)
	}
}

// start handshakes, sends the immediate first connect and subscribes.
func (b *bayeux) start(channel string, from int64) {
	b.t.Helper()
	b.handshake()
	if ack, evs := b.connect(); !ack.successful() || len(evs) != 0 {
		b.t.Fatalf("first connect: %v %v", ack, evs)
	}
	if channel != "" {
		b.mustSubscribe(channel, from)
	}
}

// streamOrg is an org with an API token, a short hold and the SPEC's
// SwitchboardTasks PushTopic.
func streamOrg(t testing.TB) (*sfdctest.Org, string) {
	t.Helper()
	org := sfdctest.Start(t)
	org.SetHoldTimeout(200 * time.Millisecond)
	if _, err := org.Insert("PushTopic", map[string]any{"Name": "SwitchboardTasks", "Query": specTasksQuery,
		"ApiVersion": 62.0, "NotifyForFields": "Referenced", "NotifyForOperationDelete": false, "NotifyForOperationUndelete": false}); err != nil {
		t.Fatal(err)
	}
	return org, login(t, org)
}

const (
	specTasksQuery = "SELECT Id, Message_Type__c, Message_Status__c, Conversation__c FROM Task WHERE Message_Type__c = 'Outbound' AND Message_Status__c = 'Pending'"
	tasksChannel   = "/topic/SwitchboardTasks"
)

func wantError(t testing.TB, m bmsg, errText string, advice map[string]any) {
	t.Helper()
	if m.successful() {
		t.Fatalf("successful reply, want error %q: %v", errText, m)
	}
	if got := m.str("error"); got != errText {
		t.Fatalf("error\n got %q\nwant %q\nin %v", got, errText, m)
	}
	wantAdvice(t, m, advice)
}

func wantAdvice(t testing.TB, m bmsg, advice map[string]any) {
	t.Helper()
	got := map[string]any{}
	for k, v := range m.obj("advice") {
		if n, ok := v.(json.Number); ok {
			i, _ := n.Int64()
			v = int(i)
		}
		got[k] = v
	}
	if advice == nil {
		advice = map[string]any{}
	}
	if !reflect.DeepEqual(got, advice) {
		t.Fatalf("advice %v, want %v in %v", got, advice, m)
	}
}

func failureReason(m bmsg) string { return m.obj("ext").obj("sfdc").str("failureReason") }
