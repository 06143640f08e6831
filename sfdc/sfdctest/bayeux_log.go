package sfdctest

import (
	"bytes"
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// logEvent is one retained notification. data is the encoded `data` member of
// the delivered message (ref §3.4), built once at publish time.
type logEvent struct {
	id   int64
	at   time.Time
	data []byte
}

// replayLog is one channel's retained events, oldest first. Positions are
// absolute sequence numbers (events[i] is at base+i), so retention can drop
// from the front without disturbing subscribers' cursors.
type replayLog struct {
	channel  string
	envelope []byte // `,"channel":"/topic/X","data":` pre-encoded
	events   []logEvent
	base     int64
	lastID   int64
	// invalidThrough: ids up to it are refused on subscribe
	// (InvalidateReplayIDs) though they stay deliverable to live cursors.
	invalidThrough int64
	subs           map[*subscription]struct{}
	published      int
}

func (b *bayeuxState) logLocked(channel string) *replayLog {
	lg := b.logs[channel]
	if lg == nil {
		name, _ := json.Marshal(channel)
		lg = &replayLog{channel: channel, envelope: []byte(`,"channel":` + string(name) + `,"data":`), subs: map[*subscription]struct{}{}}
		b.logs[channel] = lg
	}
	return lg
}

func (lg *replayLog) end() int64 { return lg.base + int64(len(lg.events)) }

// prune drops events created before cutoff. Events are appended in time
// order, so they leave from the front.
func (lg *replayLog) prune(cutoff time.Time) {
	n := sort.Search(len(lg.events), func(i int) bool { return !lg.events[i].at.Before(cutoff) })
	if n == 0 {
		return
	}
	clear(lg.events[:n]) // let the dropped payloads be collected
	lg.events = lg.events[n:]
	lg.base += int64(n)
	if len(lg.events) == 0 {
		lg.events = nil
	}
}

// seqAfter is the position of the first event whose id is greater than id.
func (lg *replayLog) seqAfter(id int64) int64 {
	return lg.base + int64(sort.Search(len(lg.events), func(i int) bool { return lg.events[i].id > id }))
}

// has reports whether id is a retained, still valid replay id.
func (lg *replayLog) has(id int64) bool {
	if id <= lg.invalidThrough {
		return false
	}
	i := sort.Search(len(lg.events), func(i int) bool { return lg.events[i].id >= id })
	return i < len(lg.events) && lg.events[i].id == id
}

// subscription is a client's cursor into one channel's log.
type subscription struct {
	client *cometClient
	log    *replayLog
	filter []filterCond // PushTopic filter "?Field=value&…" (ref §3.2)
	next   int64        // position of the next event to deliver
}

// matches applies the subscription's filter to an event: "&" acts as a
// logical OR, so an event matches when any condition holds (Salesforce,
// "Filtered Subscriptions", ref §3.8). Filters are rare, so the sobject is
// decoded only for filtered subscriptions.
func (s *subscription) matches(ev *logEvent) bool {
	if len(s.filter) == 0 {
		return true
	}
	var d struct {
		SObject map[string]any `json:"sobject"`
	}
	if json.Unmarshal(ev.data, &d) != nil {
		return false
	}
	for _, c := range s.filter {
		if v, ok := d.SObject[c.field]; ok && filterValue(v) == c.value {
			return true
		}
	}
	return false
}

// filterValue renders a decoded field value as a filter compares it.
func filterValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// takeLocked removes up to one reply's worth of pending events from c's
// subscriptions and encodes them as delivered messages. limited reports
// that events are waiting but the daily allocation is used up (ref §3.8):
// they stay in the log, so nothing is lost (ref §3.5).
func (b *bayeuxState) takeLocked(c *cometClient) (out [][]byte, limited bool) {
	room, budget := maxEventsPerReply, maxReplyEventBytes
	now := b.now()
	if b.dailyLimit > 0 {
		if now.Sub(b.dayStart) >= 24*time.Hour {
			b.dayStart, b.dayCount = now, 0
		}
		room = min(room, b.dailyLimit-b.dayCount)
	}
	keys := make([]string, 0, len(c.subs))
	for k := range c.subs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	clientID, _ := json.Marshal(c.id)
	for _, k := range keys {
		s := c.subs[k]
		lg := s.log
		if s.next < lg.base {
			s.next = lg.base // retention overtook this cursor
		}
		for ; s.next < lg.end(); s.next++ {
			ev := &lg.events[s.next-lg.base]
			if !s.matches(ev) {
				continue
			}
			if room <= 0 {
				return out, len(out) == 0
			}
			size := len(clientID) + len(lg.envelope) + len(ev.data) + 16
			if len(out) > 0 && size > budget {
				return out, false
			}
			budget -= size
			var msg bytes.Buffer
			msg.Grow(size)
			msg.WriteString(`{"clientId":`)
			msg.Write(clientID)
			msg.Write(lg.envelope)
			msg.Write(ev.data)
			msg.WriteByte('}')
			out = append(out, msg.Bytes())
			room--
			b.dayCount++
			b.delivered[lg.channel]++
		}
	}
	return out, false
}

// replayStart resolves a subscribe's replay option (ref §3.5) to a cursor
// position, or returns the §3.6 error.
func (b *bayeuxState) replayStart(m *inMsg, channel string, lg *replayLog) (int64, string) {
	raw, ok := m.Ext["replay"]
	if !ok {
		return lg.end(), "" // no extension: -1
	}
	var replay map[string]json.RawMessage
	if err := json.Unmarshal(raw, &replay); err != nil {
		return lg.end(), "" // e.g. `true`, as some clients echo the handshake flag
	}
	val, ok := replay[channel]
	if !ok {
		return 0, errReplayNotInMap(channel, "{"+renderReplayMap(replay)+"}")
	}
	txt := strings.TrimSpace(string(val))
	id, err := strconv.ParseInt(txt, 10, 64)
	if err != nil {
		// Strings, floats, null: Salesforce expects a JSON integer (ref §3.2).
		return 0, errInvalidReplay(strings.Trim(txt, `"`))
	}
	switch {
	case id == -1:
		return lg.end(), ""
	case id == -2:
		return lg.seqAfter(lg.invalidThrough), ""
	case id >= 0 && lg.has(id):
		return lg.seqAfter(id), ""
	}
	return 0, errInvalidReplay(txt)
}

// renderReplayMap prints the map the way the Java server does in its
// error text: {k=v, k=v}.
func renderReplayMap(m map[string]json.RawMessage) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strings.Trim(string(m[k]), `"`)
	}
	return strings.Join(parts, ", ")
}

// filterCond is one "Field=value" condition of a filtered subscription.
type filterCond struct{ field, value string }

// parseFilter splits "?Field=value&Other=x" (values are not URL-encoded in
// Salesforce's examples, ref §3.2). A field may repeat: the conditions are
// ORed, not a map of one value per field. A value may be in single quotes,
// as Salesforce's string example is ("/topic/MyTopic?Name='SomeName'",
// "Filtered Subscriptions", ref §3.8); the quotes are not part of it.
func parseFilter(q string) ([]filterCond, bool) {
	if q == "" {
		return nil, true
	}
	var f []filterCond
	for _, part := range strings.Split(q, "&") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || k == "" {
			return nil, false
		}
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			v = v[1 : len(v)-1]
		}
		f = append(f, filterCond{k, v})
	}
	return f, true
}

func (b *bayeuxState) subscribe(m *inMsg, c *cometClient, out *outMsg) {
	out.Subscription = m.Subscription
	var sub string
	if err := json.Unmarshal(m.Subscription, &sub); err != nil || sub == "" {
		// Salesforce takes one channel per subscribe, as a string (ref §3.2).
		out.Error = errNoChannel
		return
	}
	if !strings.HasPrefix(sub, "/") {
		out.Error = errLeadingSlash
		return
	}
	channel, query, _ := strings.Cut(sub, "?")
	name, isTopic := strings.CutPrefix(channel, "/topic/")
	if !isTopic || !b.org.rest.pushTopicActive(name) {
		out.Error = errNoSuchChannel(channel)
		return
	}
	if missing := b.org.rest.topicMissingFields(name); len(missing) > 0 {
		out.Error = "400::Query fields {" + strings.Join(missing, ", ") + "} do not exist on the topic entity"
		return
	}
	filter, ok := parseFilter(query)
	if !ok {
		out.Error = "400::Invalid filter {" + query + "} on channel {" + channel + "}"
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if c.gone != present {
		out.Error = errUnknownClient
		out.Advice = adviceHandshake
		return
	}
	lg := b.logLocked(channel)
	lg.prune(b.now().Add(-b.retention))
	next, e := b.replayStart(m, channel, lg)
	if e != "" {
		out.Error = e
		return
	}
	if old := c.subs[sub]; old != nil {
		delete(old.log.subs, old)
	}
	s := &subscription{client: c, log: lg, filter: filter, next: next}
	c.subs[sub] = s
	lg.subs[s] = struct{}{}
	c.lastReply = b.now()
	if next < lg.end() {
		c.signal() // replayed events are ready for a held connect
	}
	out.Successful = true
}

func (b *bayeuxState) unsubscribe(m *inMsg, c *cometClient, out *outMsg) {
	out.Subscription = m.Subscription
	var sub string
	if err := json.Unmarshal(m.Subscription, &sub); err != nil || sub == "" {
		out.Error = errNoChannel
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := c.subs[sub]; s != nil {
		delete(s.log.subs, s)
		delete(c.subs, sub)
	}
	c.lastReply = b.now()
	out.Successful = true
}
