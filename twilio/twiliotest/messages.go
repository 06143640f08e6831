package twiliotest

import (
	"strconv"
	"time"
)

// A message as the simulator holds it and as the Messages API renders it.

// Message is a message as the simulator holds it.
type Message struct {
	SID                 string
	AccountSID          string
	Direction           string // "outbound-api" or "inbound"
	To, From            string
	MessagingServiceSID string
	Body                string
	MediaURLs           []string
	Status              string
	ErrorCode           int
	StatusCallback      string
	NumSegments         int
	DateCreated         time.Time
	DateSent            time.Time // zero until the message is sent
	DateUpdated         time.Time
}

type message struct {
	Message
	seq int64
}

func (m *message) snapshot() Message {
	c := m.Message
	c.MediaURLs = append([]string(nil), m.MediaURLs...)
	return c
}

// apiMessage is the wire shape; the types are the real API's, which
// twilio-go decodes strictly: num_segments, num_media and price are
// strings, error_code an int or null, dates RFC 2822 (ref §0.3, §2.1).
type apiMessage struct {
	AccountSid          string            `json:"account_sid"`
	APIVersion          string            `json:"api_version"`
	Body                string            `json:"body"`
	DateCreated         string            `json:"date_created"`
	DateSent            *string           `json:"date_sent"`
	DateUpdated         string            `json:"date_updated"`
	Direction           string            `json:"direction"`
	ErrorCode           *int              `json:"error_code"`
	ErrorMessage        *string           `json:"error_message"`
	From                *string           `json:"from"`
	MessagingServiceSid *string           `json:"messaging_service_sid"`
	NumMedia            string            `json:"num_media"`
	NumSegments         string            `json:"num_segments"`
	Price               *string           `json:"price"`
	PriceUnit           string            `json:"price_unit"`
	Sid                 string            `json:"sid"`
	Status              string            `json:"status"`
	SubresourceUris     map[string]string `json:"subresource_uris"`
	To                  string            `json:"to"`
	URI                 string            `json:"uri"`
}

func rfc2822(t time.Time) string { return t.UTC().Format(time.RFC1123Z) }

func (m *message) api() apiMessage {
	base := "/2010-04-01/Accounts/" + m.AccountSID + "/Messages/" + m.SID
	a := apiMessage{
		AccountSid:      m.AccountSID,
		APIVersion:      "2010-04-01",
		Body:            m.Body,
		DateCreated:     rfc2822(m.DateCreated),
		DateUpdated:     rfc2822(m.DateUpdated),
		Direction:       m.Direction,
		NumMedia:        strconv.Itoa(len(m.MediaURLs)),
		NumSegments:     strconv.Itoa(m.NumSegments),
		PriceUnit:       "USD",
		Sid:             m.SID,
		Status:          m.Status,
		SubresourceUris: map[string]string{"media": base + "/Media.json"},
		To:              m.To,
		URI:             base + ".json",
	}
	if !m.DateSent.IsZero() {
		d := rfc2822(m.DateSent)
		a.DateSent = &d
	}
	if m.From != "" {
		f := m.From
		a.From = &f
	}
	if m.MessagingServiceSID != "" {
		mg := m.MessagingServiceSID
		a.MessagingServiceSid = &mg
	}
	if m.ErrorCode != 0 {
		c, msg := m.ErrorCode, errorTitles[m.ErrorCode]
		a.ErrorCode, a.ErrorMessage = &c, &msg
	}
	return a
}

var errorTitles = map[int]string{
	30001: "Queue overflow",
	30003: "Unreachable destination handset",
	30004: "Message blocked",
	30005: "Unknown destination handset",
	30006: "Landline or unreachable carrier",
	30007: "Message filtered",
	30008: "Unknown error",
	21610: "Attempt to send to unsubscribed recipient",
}
