package sfdc

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestReplayIDDecoding(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		err  bool
	}{
		{`13`, 13, false},
		{`"13"`, 13, false},
		{`-2`, -2, false},
		{`9007199254740993`, 9007199254740993, false}, // 2^53+1: a float64 would round it
		{`"9223372036854775807"`, 9223372036854775807, false},
		{`1.5`, 0, true},
		{`"abc"`, 0, true},
		{`null`, 0, true},
		{`9223372036854775808`, 0, true},
	} {
		var r replayID
		err := json.Unmarshal([]byte(c.in), &r)
		if (err != nil) != c.err || (!c.err && int64(r) != c.want) {
			t.Errorf("%s → %d, %v; want %d, error %t", c.in, r, err, c.want, c.err)
		}
	}
}

func TestParseEvent(t *testing.T) {
	ev, err := parseEvent(topicTasks, json.RawMessage(`{"event":{"createdDate":"2016-03-29T16:40:08.208Z","replayId":"13","type":"created"},"sobject":{"Id":"00T1"}}`))
	if err != nil || ev.ReplayID != 13 || ev.Type != "created" || string(ev.SObject) != `{"Id":"00T1"}` ||
		!ev.CreatedDate.Equal(time.Date(2016, 3, 29, 16, 40, 8, 208e6, time.UTC)) {
		t.Errorf("got %+v, %v", ev, err)
	}
	// Pre-v37 layout (ref §3.4) and a platform event payload.
	ev, err = parseEvent("/event/X__e", json.RawMessage(`{"event":{"createdDate":"2011-11-03T15:59:06.000+0000","replayId":2},"payload":{"A__c":1}}`))
	if err != nil || ev.ReplayID != 2 || string(ev.SObject) != `{"A__c":1}` || ev.CreatedDate.Year() != 2011 {
		t.Errorf("got %+v, %v", ev, err)
	}
	for in, want := range map[string]string{
		`[1]`:                      "undecodable",
		`{"sobject":{"Id":"x"}}`:   "no data.event.replayId",
		`{"event":{"replayId":3}}`: "neither sobject nor payload",
		`{"event":{"replayId":3},"sobject":null}`:                         "neither sobject nor payload",
		`{"event":{"replayId":3,"createdDate":"yesterday"},"sobject":{}}`: "not a Salesforce datetime",
		`{"event":{"replayId":3.5},"sobject":{}}`:                         "not an integer",
	} {
		if _, err := parseEvent(topicTasks, json.RawMessage(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s → %v, want an error about %q", in, err, want)
		}
	}
}

func TestClassify(t *testing.T) {
	mk := func(js string) *bayeuxReply {
		var m bayeuxReply
		if err := json.Unmarshal([]byte(js), &m); err != nil {
			t.Fatal(err)
		}
		return &m
	}
	for js, want := range map[string]Cause{
		// Salesforce, ref §3.6 JSON examples.
		`{"channel":"/meta/connect","error":"401::Authentication invalid","advice":{"reconnect":"none","interval":0}}`:                                      CauseAuth,
		`{"channel":"/meta/handshake","error":"403::Handshake denied","ext":{"sfdc":{"failureReason":"401::Authentication invalid"}}}`:                      CauseAuth,
		`{"channel":"/meta/connect","error":"403::Unknown client","advice":{"interval":0,"reconnect":"handshake"}}`:                                         CauseUnknownClient,
		`{"channel":"/meta/connect","error":"403::Unknown client","advice":{"reconnect":"none"}}`:                                                           CauseUnknownClient, // EMP #15
		`{"channel":"/meta/connect","error":"401::Authentication invalid","ext":{"sfdc":{"failureReason":"503::Server is too busy.  Please try"}}}`:         CauseBusy,
		`{"channel":"/meta/subscribe","error":"503::Server is too busy."}`:                                                                                  CauseBusy,
		`{"channel":"/meta/handshake","error":"403::Handshake denied","ext":{"sfdc":{"failureReason":"403::Organization concurrent user limit exceeded"}}}`: CauseLimit,
		`{"channel":"/meta/connect","error":"403::Organization total events daily limit exceeded","advice":{"reconnect":"none"}}`:                           CauseLimit,
		`{"channel":"/meta/subscribe","error":"400::The replayId {1553783} you provided was invalid.  Please provide a valid ID"}`:                          CauseReplayInvalid,
		`{"channel":"/meta/subscribe","error":"400::The replayId for channel {/topic/X} wasn't found using the provided replay ID map {{}}."}`:              CauseReplayInvalid,
		`{"channel":"/meta/connect","error":"400::Client abc has established a session, but no BAYEUX_BROWSER cookie present"}`:                             CauseCookie,
		`{"channel":"/meta/subscribe","error":"400::The channel you requested to subscribe to doesn't exist {/topic/X}"}`:                                   "fallback",
		`{"channel":"/meta/subscribe","error":"403::Client has not completed handshake"}`:                                                                   CauseUnknownClient,
		// faye (dependencies.md §4) and CometD: different codes, same advice.
		`{"channel":"/meta/connect","error":"401:abc123:Unknown client","advice":{"reconnect":"handshake"}}`: CauseUnknownClient,
		`{"channel":"/meta/connect","error":"402::session_unknown","advice":{"reconnect":"handshake"}}`:      CauseUnknownClient,
		`{"channel":"/meta/connect","error":"500::whatever","advice":{"reconnect":"retry"}}`:                 "fallback",
	} {
		if got := classify(mk(js), "fallback"); got != want {
			t.Errorf("%s → %s, want %s", js, got, want)
		}
	}
}

func TestBayeuxError(t *testing.T) {
	for in, want := range map[string]struct {
		code int
		msg  string
	}{
		"403::Unknown client":    {403, "Unknown client"},
		"401:abc:Unknown client": {401, "Unknown client"},
		"oops":                   {0, "oops"},
		"x::y":                   {0, "x::y"},
		"400::a:b with colons":   {400, "a:b with colons"},
	} {
		if c, m := bayeuxError(in); c != want.code || m != want.msg {
			t.Errorf("%q → %d %q", in, c, m)
		}
	}
}

func TestNewStreamRejectsBadConfig(t *testing.T) {
	ok := func(context.Context, string, []Event) error { return nil }
	auth := &staticTokens{instance: "http://127.0.0.1:1"}
	for name, c := range map[string]struct {
		cfg  StreamConfig
		want string
	}{
		"no auth":     {StreamConfig{Channels: []string{topicTasks}, Handle: ok}, "Auth is required"},
		"no handle":   {StreamConfig{Auth: auth, Channels: []string{topicTasks}}, "Handle is required"},
		"no channels": {StreamConfig{Auth: auth, Handle: ok}, "Channels is empty"},
		"relative":    {StreamConfig{Auth: auth, Handle: ok, Channels: []string{"topic/X"}}, "must start with '/'"},
		"meta":        {StreamConfig{Auth: auth, Handle: ok, Channels: []string{"/meta/connect"}}, "meta channel"},
		"twice":       {StreamConfig{Auth: auth, Handle: ok, Channels: []string{topicTasks, topicTasks + "?Status__c=Open"}}, "listed twice"},
		"bad version": {StreamConfig{Auth: auth, Handle: ok, Channels: []string{topicTasks}, APIVersion: "v62"}, "not of the form"},
		"old version": {StreamConfig{Auth: auth, Handle: ok, Channels: []string{topicTasks}, APIVersion: "36.0"}, "no durable replay"},
		"negative":    {StreamConfig{Auth: auth, Handle: ok, Channels: []string{topicTasks}, Watchdog: -time.Second}, "must not be negative"},
	} {
		if _, err := NewStream(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, c.want)
		}
	}
	// Every problem is reported at once.
	_, err := NewStream(StreamConfig{})
	if err == nil || !strings.Contains(err.Error(), "Auth") || !strings.Contains(err.Error(), "Handle") || !strings.Contains(err.Error(), "Channels") {
		t.Errorf("empty config: %v", err)
	}
}

func TestRunRejectsBadCheckpoint(t *testing.T) {
	s, err := NewStream(StreamConfig{
		Auth: &staticTokens{instance: "http://127.0.0.1:1"}, Channels: []string{topicTasks},
		Handle:     func(context.Context, string, []Event) error { return nil },
		ReplayFrom: func(context.Context, string) (int64, error) { return -3, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "-3") {
		t.Errorf("Run = %v, want an error naming the bad checkpoint", err)
	}
	if err := s.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("second Run = %v", err)
	}
}

// A reply's events are queued per channel in replay order, whatever order
// the reply had; ids already queued are dropped; an unreadable one becomes
// a gap notice instead of vanishing.
func TestDeliverSortsDedupesAndReportsUnreadable(t *testing.T) {
	s, err := NewStream(StreamConfig{Auth: &staticTokens{}, Channels: []string{topicTasks, topicConvs},
		Handle: func(context.Context, string, []Event) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	ev := func(ch string, id int) bayeuxReply {
		return bayeuxReply{Channel: ch, Data: json.RawMessage(`{"event":{"replayId":` + strconv.Itoa(id) + `,"type":"updated"},"sobject":{"Id":"x"}}`)}
	}
	s.deliver([]bayeuxReply{ev(topicTasks, 9), {Channel: metaConnect, Successful: true}, ev(topicConvs, 2), ev(topicTasks, 3), ev(topicTasks, 6)})
	s.deliver([]bayeuxReply{ev(topicTasks, 6), ev(topicTasks, 12), {Channel: topicConvs, Data: json.RawMessage(`{"sobject":{}}`)}, ev("/topic/Other", 1)})

	ctx := context.Background()
	var got []string
	for s.q.held() > 0 || len(s.q.items) > 0 {
		it, _ := s.q.next(ctx, 100)
		if it.gap != "" {
			got = append(got, it.channel+" gap")
			continue
		}
		for _, e := range it.events {
			got = append(got, e.Channel+" "+strconv.Itoa(int(e.ReplayID)))
		}
	}
	want := []string{topicTasks + " 3", topicTasks + " 6", topicTasks + " 9", topicConvs + " 2", topicConvs + " gap", topicTasks + " 12"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("queue order\n got %v\nwant %v", got, want)
	}
	if st := s.Stats(); st.Duplicates != 1 {
		t.Errorf("duplicates = %d, want 1", st.Duplicates)
	}
}
