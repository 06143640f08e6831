package sfdctest

import (
	"encoding/json"
	"net/http"
)

// Bayeux messages on the wire: what a client sends, what the server
// replies, and the reply array of one HTTP request.

// inMsg is one Bayeux message from a client. id is kept raw so it is echoed
// exactly (ref §3.6: a number in one example, a string elsewhere).
type inMsg struct {
	Channel                  string                     `json:"channel"`
	ClientID                 string                     `json:"clientId"`
	ID                       json.RawMessage            `json:"id"`
	Subscription             json.RawMessage            `json:"subscription"`
	ConnectionType           string                     `json:"connectionType"`
	SupportedConnectionTypes []string                   `json:"supportedConnectionTypes"`
	Ext                      map[string]json.RawMessage `json:"ext"`
}

// outMsg is a reply message. Only the fields a reply needs are set.
type outMsg struct {
	Channel                  string          `json:"channel"`
	ClientID                 string          `json:"clientId,omitempty"`
	ID                       json.RawMessage `json:"id,omitempty"`
	Subscription             json.RawMessage `json:"subscription,omitempty"`
	Successful               bool            `json:"successful"`
	Error                    string          `json:"error,omitempty"`
	Advice                   map[string]any  `json:"advice,omitempty"`
	Ext                      map[string]any  `json:"ext,omitempty"`
	Version                  string          `json:"version,omitempty"`
	MinimumVersion           string          `json:"minimumVersion,omitempty"`
	SupportedConnectionTypes []string        `json:"supportedConnectionTypes,omitempty"`
	Reestablish              *bool           `json:"reestablish,omitempty"`
}

func replyTo(m *inMsg) *outMsg {
	return &outMsg{Channel: m.Channel, ClientID: m.ClientID, ID: m.ID}
}

func (b *bayeuxState) retryAdvice() map[string]any {
	return map[string]any{"reconnect": "retry", "interval": 0, "timeout": b.hold.Milliseconds()}
}

var (
	adviceNone      = map[string]any{"reconnect": "none", "interval": 0}
	adviceHandshake = map[string]any{"interval": 0, "reconnect": "handshake"}
)

// response collects the reply array of one HTTP request.
type response struct {
	parts [][]byte
}

func (r *response) add(m *outMsg) {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // outMsg holds only encodable values
	}
	r.parts = append(r.parts, b)
}

func (r *response) addRaw(b []byte) { r.parts = append(r.parts, b) }

func (r *response) write(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	n := 2
	for _, p := range r.parts {
		n += len(p) + 1
	}
	buf := make([]byte, 0, n)
	buf = append(buf, '[')
	for i, p := range r.parts {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, p...)
	}
	buf = append(buf, ']')
	_, _ = w.Write(buf)
}
