package sfdc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/switchboard/switchboard/sfdc/soql"
)

// Bayeux meta channels (ref §3.2).
const (
	metaHandshake  = "/meta/handshake"
	metaConnect    = "/meta/connect"
	metaSubscribe  = "/meta/subscribe"
	metaDisconnect = "/meta/disconnect"
)

// bayeuxReply is one message of a Bayeux response array. Salesforce, faye
// and CometD differ in what they include, so every field is optional and
// the lenient ones are decoded by hand (ref §3.6: id is a number in one
// documented example and a string elsewhere).
type bayeuxReply struct {
	Channel      string          `json:"channel"`
	ID           json.RawMessage `json:"id,omitempty"`
	ClientID     string          `json:"clientId,omitempty"`
	Successful   bool            `json:"successful"`
	Error        string          `json:"error,omitempty"`
	Advice       *wireAdvice     `json:"advice,omitempty"`
	Ext          *replyExt       `json:"ext,omitempty"`
	Subscription json.RawMessage `json:"subscription,omitempty"`
	Data         json.RawMessage `json:"data,omitempty"`

	SupportedConnectionTypes []string `json:"supportedConnectionTypes,omitempty"`
}

type replyExt struct {
	Replay json.RawMessage `json:"replay,omitempty"`
	Sfdc   *struct {
		FailureReason string `json:"failureReason"`
	} `json:"sfdc,omitempty"`
}

// failureReason is Salesforce's ext.sfdc.failureReason, which often says
// more than error does (ref §3.6: "403::Handshake denied" carries the real
// "401::Authentication invalid" there).
func (m *bayeuxReply) failureReason() string {
	if m.Ext == nil || m.Ext.Sfdc == nil {
		return ""
	}
	return m.Ext.Sfdc.FailureReason
}

// replayAnnounced reports whether a handshake reply has ext.replay == true;
// only then may subscribes carry a replay map (ref §3.2, EMP ReplayExtension).
func (m *bayeuxReply) replayAnnounced() bool {
	return m.Ext != nil && bytes.Equal(bytes.TrimSpace(m.Ext.Replay), []byte("true"))
}

// subscriptions decodes the subscription field, a string on Salesforce and
// optionally an array in Bayeux (ref §3.2).
func (m *bayeuxReply) subscriptions() []string {
	if len(m.Subscription) == 0 {
		return nil
	}
	var one string
	if json.Unmarshal(m.Subscription, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(m.Subscription, &many)
	return many
}

func (m *bayeuxReply) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s successful=%t", m.Channel, m.Successful)
	if m.Error != "" {
		fmt.Fprintf(&b, " error=%q", m.Error)
	}
	if fr := m.failureReason(); fr != "" {
		fmt.Fprintf(&b, " failureReason=%q", fr)
	}
	if m.Advice != nil && m.Advice.Reconnect != "" {
		fmt.Fprintf(&b, " advice.reconnect=%s", m.Advice.Reconnect)
	}
	return b.String()
}

// wireAdvice is Bayeux advice. Intervals and timeouts are milliseconds;
// pointers tell "absent" from zero, because a field the server leaves out
// keeps its previous value (ref §3.2).
type wireAdvice struct {
	Reconnect string   `json:"reconnect,omitempty"`
	Interval  *float64 `json:"interval,omitempty"`
	Timeout   *float64 `json:"timeout,omitempty"`
}

// bayeuxError splits a Bayeux error "code:args:message" (ref §3.6).
// Salesforce leaves args empty ("403::Unknown client"); faye fills them
// ("401:abc123:Unknown client").
func bayeuxError(s string) (code int, msg string) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) < 3 {
		return 0, s
	}
	c, err := strconv.Atoi(strings.TrimSpace(parts[0]))
	if err != nil {
		return 0, s
	}
	return c, strings.TrimSpace(parts[2])
}

// notification is the data of a PushTopic event (ref §3.4). Generic and
// platform events carry payload instead of sobject.
type notification struct {
	Event *struct {
		CreatedDate string    `json:"createdDate"`
		ReplayID    *replayID `json:"replayId"`
		Type        string    `json:"type"`
	} `json:"event"`
	SObject json.RawMessage `json:"sobject"`
	Payload json.RawMessage `json:"payload"`
}

// replayID decodes a replay id sent as a JSON number or a JSON string into
// an int64 without passing through float64, which would round ids above
// 2^53 (ref §6.1).
type replayID int64

func (r *replayID) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		s = strings.TrimSpace(str)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("replayId %s is not an integer", string(b))
	}
	*r = replayID(n)
	return nil
}

// parseEvent turns one data message into an Event. A notification that
// cannot be tracked (no replay id, no record) is an error: the caller turns
// it into a gap, so the sweep finds the record it was about.
func parseEvent(channel string, data json.RawMessage) (Event, error) {
	var n notification
	if err := json.Unmarshal(data, &n); err != nil {
		return Event{}, fmt.Errorf("undecodable notification on %s: %w", channel, err)
	}
	if n.Event == nil || n.Event.ReplayID == nil {
		return Event{}, fmt.Errorf("notification on %s has no data.event.replayId", channel)
	}
	ev := Event{Channel: channel, ReplayID: int64(*n.Event.ReplayID), Type: n.Event.Type, SObject: n.SObject}
	if len(ev.SObject) == 0 || bytes.Equal(ev.SObject, []byte("null")) {
		ev.SObject = n.Payload
	}
	if len(ev.SObject) == 0 || bytes.Equal(ev.SObject, []byte("null")) {
		return Event{}, fmt.Errorf("notification %d on %s has neither sobject nor payload", ev.ReplayID, channel)
	}
	if n.Event.CreatedDate != "" {
		// Current orgs send RFC 3339 ("2016-03-29T16:40:08.208Z"); pre-v37
		// docs show "+0000" offsets (ref §3.4). soql.ParseTime takes both.
		t, err := soql.ParseTime(n.Event.CreatedDate)
		if err != nil {
			return Event{}, fmt.Errorf("notification %d on %s: %w", ev.ReplayID, channel, err)
		}
		ev.CreatedDate = t
	}
	return ev, nil
}

// baseChannel strips a PushTopic filter ("/topic/X?Field=v"): the replay
// map and delivered events use the bare channel (ref §3.2, EMP #45).
func baseChannel(ch string) string {
	if i := strings.IndexByte(ch, '?'); i >= 0 {
		return ch[:i]
	}
	return ch
}
