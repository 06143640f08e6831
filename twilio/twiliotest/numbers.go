package twiliotest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"
)

// How the simulated numbers and Messaging Services route inbound messages:
// the IncomingPhoneNumbers resource of the 2010 API and the Services
// resource of the Messaging v1 API, which `switchboard doctor` reads. On
// real Twilio the Services resource lives on messaging.twilio.com; the
// simulator serves it on its one listener, which is where twilio.Accounts
// sends it when its base URL is overridden.

// routingState is kept under Server.mu.
type routingState struct {
	numbers  map[string]*numberRouting  // E.164 → set by SetNumberURLs
	services map[string]*serviceRouting // MG sid → set by SetServiceURLs
	created  time.Time
}

type numberRouting struct {
	smsURL, smsMethod, statusCallback, applicationSID string
	urlSet                                            bool // smsURL was set; else it follows the inbound URL
}

type serviceRouting struct {
	inboundURL, statusCallback string
	useNumberWebhook           bool
}

// SetNumberURLs sets a number's "A message comes in" webhook (sms_url, POST)
// and its status_callback. Until it is called a number's sms_url is the
// server's inbound URL (Options.InboundURL / SetInboundURL): where
// SendInbound posts, i.e. where the number's messages go. An empty smsURL
// leaves the number without a messaging webhook.
func (s *Server) SetNumberURLs(e164, smsURL, statusCallback string) error {
	return s.setNumber(e164, func(n *numberRouting) {
		n.smsURL, n.statusCallback, n.urlSet = smsURL, statusCallback, true
	})
}

// SetNumberSMSMethod sets the HTTP method of the number's sms_url (POST by
// default; Twilio also allows GET).
func (s *Server) SetNumberSMSMethod(e164, method string) error {
	return s.setNumber(e164, func(n *numberRouting) { n.smsMethod = strings.ToUpper(method) })
}

// SetNumberApplication hands the number's messages to a TwiML App (AP…),
// as sms_application_sid does; empty clears it.
func (s *Server) SetNumberApplication(e164, appSID string) error {
	return s.setNumber(e164, func(n *numberRouting) { n.applicationSID = appSID })
}

func (s *Server) setNumber(e164 string, f func(*numberRouting)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.numOwner[e164]; !ok {
		return fmt.Errorf("twiliotest: %s is not a number of any account (AddNumber first)", e164)
	}
	if s.routing.numbers == nil {
		s.routing.numbers = map[string]*numberRouting{}
	}
	n := s.routing.numbers[e164]
	if n == nil {
		n = &numberRouting{smsMethod: http.MethodPost}
		s.routing.numbers[e164] = n
	}
	f(n)
	return nil
}

// numberRoutingLocked is the number's routing as Twilio would report it.
func (s *Server) numberRoutingLocked(e164 string) numberRouting {
	n := numberRouting{smsMethod: http.MethodPost}
	if set := s.routing.numbers[e164]; set != nil {
		n = *set
	}
	if !n.urlSet {
		n.smsURL = s.inboundURL
	}
	return n
}

// SetServiceURLs sets a Messaging Service's inbound_request_url, its
// status_callback and use_inbound_webhook_on_number. Until it is called the
// inbound URL is the server's inbound URL, as for numbers.
func (s *Server) SetServiceURLs(mgSID, inboundURL, statusCallback string, useNumberWebhook bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.services[mgSID] == nil {
		return fmt.Errorf("twiliotest: no Messaging Service %s (AddMessagingService first)", mgSID)
	}
	if s.routing.services == nil {
		s.routing.services = map[string]*serviceRouting{}
	}
	s.routing.services[mgSID] = &serviceRouting{inboundURL: inboundURL, statusCallback: statusCallback, useNumberWebhook: useNumberWebhook}
	return nil
}

var (
	numbersPath = regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/IncomingPhoneNumbers(?:\.json)?$`)
	numberPath  = regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/IncomingPhoneNumbers/([^/]+?)(?:\.json)?$`)
	servicePath = regexp.MustCompile(`^/v1/Services/([^/]+)$`)
)

// serveRouting answers the routing resources; false means the path is not
// one of them.
func (s *Server) serveRouting(w http.ResponseWriter, r *http.Request) bool {
	var acct, sid, mg string
	list := false
	if m := numbersPath.FindStringSubmatch(r.URL.Path); m != nil {
		acct, list = m[1], true
	} else if m := numberPath.FindStringSubmatch(r.URL.Path); m != nil {
		acct, sid = m[1], m[2]
	} else if m := servicePath.FindStringSubmatch(r.URL.Path); m != nil {
		mg = m[1]
		// The v1 path names no account: the credentials do (a service of
		// another account is not found, below).
		acct, _, _ = r.BasicAuth()
	} else {
		return false
	}
	if !s.authorize(w, r, acct) {
		return true
	}
	if s.injectFault(w) {
		return true
	}
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
		return true
	}
	switch {
	case list:
		s.listNumbers(w, r, acct)
	case sid != "":
		s.fetchNumber(w, r, acct, sid)
	default:
		s.fetchService(w, r, acct, mg)
	}
	return true
}

// apiNumber is the IncomingPhoneNumber wire shape, as twilio-go v1.31.0
// decodes it (rest/api/v2010/model_api_v2010_incoming_phone_number.go):
// dates RFC 2822, capabilities an object of booleans, unset SIDs null.
type apiNumber struct {
	AccountSid             string            `json:"account_sid"`
	AddressRequirements    string            `json:"address_requirements"`
	AddressSid             *string           `json:"address_sid"`
	APIVersion             string            `json:"api_version"`
	Beta                   bool              `json:"beta"`
	Capabilities           map[string]bool   `json:"capabilities"`
	DateCreated            string            `json:"date_created"`
	DateUpdated            string            `json:"date_updated"`
	EmergencyStatus        string            `json:"emergency_status"`
	EmergencyAddressSid    *string           `json:"emergency_address_sid"`
	EmergencyAddressStatus string            `json:"emergency_address_status"`
	FriendlyName           string            `json:"friendly_name"`
	IdentitySid            *string           `json:"identity_sid"`
	Origin                 string            `json:"origin"`
	PhoneNumber            string            `json:"phone_number"`
	Sid                    string            `json:"sid"`
	SmsApplicationSid      string            `json:"sms_application_sid"`
	SmsFallbackMethod      string            `json:"sms_fallback_method"`
	SmsFallbackURL         string            `json:"sms_fallback_url"`
	SmsMethod              string            `json:"sms_method"`
	SmsURL                 string            `json:"sms_url"`
	StatusCallback         string            `json:"status_callback"`
	StatusCallbackMethod   string            `json:"status_callback_method"`
	TrunkSid               *string           `json:"trunk_sid"`
	URI                    string            `json:"uri"`
	VoiceReceiveMode       string            `json:"voice_receive_mode"`
	VoiceApplicationSid    *string           `json:"voice_application_sid"`
	VoiceCallerIDLookup    bool              `json:"voice_caller_id_lookup"`
	VoiceFallbackMethod    string            `json:"voice_fallback_method"`
	VoiceFallbackURL       *string           `json:"voice_fallback_url"`
	VoiceMethod            string            `json:"voice_method"`
	VoiceURL               *string           `json:"voice_url"`
	BundleSid              *string           `json:"bundle_sid"`
	Status                 string            `json:"status"`
	SubresourceUris        map[string]string `json:"subresource_uris"`
}

// numberSID is a stable PN… SID for a number of an account.
func numberSID(acct, e164 string) string {
	h := sha256.Sum256([]byte(acct + "|" + e164))
	return "PN" + hex.EncodeToString(h[:16])
}

// friendlyNumber formats a NANP number as Twilio's default friendly name
// does, "(415) 555-0000"; other numbers keep their E.164 form.
func friendlyNumber(e164 string) string {
	if len(e164) == 12 && strings.HasPrefix(e164, "+1") {
		d := e164[2:]
		return "(" + d[:3] + ") " + d[3:6] + "-" + d[6:]
	}
	return e164
}

func (s *Server) routingCreatedLocked() time.Time {
	if s.routing.created.IsZero() {
		s.routing.created = s.now().UTC().Truncate(time.Second)
	}
	return s.routing.created
}

func (s *Server) apiNumberLocked(acct, e164 string) apiNumber {
	n := s.numberRoutingLocked(e164)
	sid := numberSID(acct, e164)
	created := rfc2822(s.routingCreatedLocked())
	base := "/2010-04-01/Accounts/" + acct + "/IncomingPhoneNumbers/" + sid
	return apiNumber{
		AccountSid: acct, AddressRequirements: "none", APIVersion: "2010-04-01",
		Capabilities: map[string]bool{"voice": true, "sms": true, "mms": true, "fax": false},
		DateCreated:  created, DateUpdated: created,
		EmergencyStatus: "Inactive", EmergencyAddressStatus: "unregistered",
		FriendlyName: friendlyNumber(e164), Origin: "twilio", PhoneNumber: e164, Sid: sid,
		SmsApplicationSid: n.applicationSID, SmsFallbackMethod: http.MethodPost, SmsMethod: n.smsMethod, SmsURL: n.smsURL,
		StatusCallback: n.statusCallback, StatusCallbackMethod: http.MethodPost,
		URI: base + ".json", VoiceReceiveMode: "voice", VoiceFallbackMethod: http.MethodPost, VoiceMethod: http.MethodPost,
		Status:          "in-use",
		SubresourceUris: map[string]string{"assigned_add_ons": base + "/AssignedAddOns.json"},
	}
}

// phoneFilter compiles the PhoneNumber filter: a partial number, with '*'
// standing for any one digit (twilio-go's ListIncomingPhoneNumberParams
// documentation).
func phoneFilter(v string) (*regexp.Regexp, error) {
	var b strings.Builder
	for _, r := range v {
		switch {
		case r == '*':
			b.WriteString("[0-9]")
		case r >= '0' && r <= '9', r == '+':
			b.WriteString(regexp.QuoteMeta(string(r)))
		default:
			return nil, fmt.Errorf("%q is not a phone number pattern", v)
		}
	}
	return regexp.Compile(b.String())
}

func (s *Server) listNumbers(w http.ResponseWriter, r *http.Request, acct string) {
	q := r.URL.Query()
	var match *regexp.Regexp
	if v := q.Get("PhoneNumber"); v != "" {
		re, err := phoneFilter(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, 20001, "Invalid PhoneNumber: "+err.Error())
			return
		}
		match = re
	}
	s.mu.Lock()
	var nums []string
	for n, owner := range s.numOwner {
		if owner == acct && (match == nil || match.MatchString(n)) {
			nums = append(nums, n)
		}
	}
	sort.Strings(nums)
	out := make([]apiNumber, len(nums))
	for i, n := range nums {
		out[i] = s.apiNumberLocked(acct, n)
	}
	s.mu.Unlock()
	// One page holds every match: an account of the simulator has few
	// numbers, and callers filter by a full number.
	uri := "/2010-04-01/Accounts/" + acct + "/IncomingPhoneNumbers.json?" + r.URL.RawQuery
	writeJSON(w, http.StatusOK, map[string]any{
		"end": max(len(out)-1, 0), "first_page_uri": uri, "next_page_uri": nil, "page": 0, "page_size": max(len(out), 50),
		"previous_page_uri": nil, "start": 0, "uri": uri, "incoming_phone_numbers": out,
	})
}

func (s *Server) fetchNumber(w http.ResponseWriter, r *http.Request, acct, sid string) {
	s.mu.Lock()
	var found *apiNumber
	for n, owner := range s.numOwner {
		if owner == acct && numberSID(acct, n) == sid {
			a := s.apiNumberLocked(acct, n)
			found = &a
			break
		}
	}
	s.mu.Unlock()
	if found == nil {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	writeJSON(w, http.StatusOK, found)
}

// apiService is the Messaging v1 Service wire shape, as twilio-go v1.31.0
// decodes it (rest/messaging/v1/model_messaging_v1_service.go): dates are
// ISO 8601 here, unlike the 2010 API's RFC 2822, and unset URLs null.
type apiService struct {
	AccountSid                string            `json:"account_sid"`
	AreaCodeGeomatch          bool              `json:"area_code_geomatch"`
	DateCreated               string            `json:"date_created"`
	DateUpdated               string            `json:"date_updated"`
	FallbackMethod            string            `json:"fallback_method"`
	FallbackToLongCode        bool              `json:"fallback_to_long_code"`
	FallbackURL               *string           `json:"fallback_url"`
	FriendlyName              string            `json:"friendly_name"`
	InboundMethod             string            `json:"inbound_method"`
	InboundRequestURL         *string           `json:"inbound_request_url"`
	Links                     map[string]string `json:"links"`
	MmsConverter              bool              `json:"mms_converter"`
	ScanMessageContent        string            `json:"scan_message_content"`
	Sid                       string            `json:"sid"`
	SmartEncoding             bool              `json:"smart_encoding"`
	StatusCallback            *string           `json:"status_callback"`
	StickySender              bool              `json:"sticky_sender"`
	SynchronousValidation     bool              `json:"synchronous_validation"`
	URL                       string            `json:"url"`
	Usecase                   string            `json:"usecase"`
	UsAppToPersonRegistered   bool              `json:"us_app_to_person_registered"`
	UseInboundWebhookOnNumber bool              `json:"use_inbound_webhook_on_number"`
	ValidityPeriod            int               `json:"validity_period"`
}

func (s *Server) fetchService(w http.ResponseWriter, r *http.Request, acct, mg string) {
	s.mu.Lock()
	svc := s.services[mg]
	if svc == nil || svc.account != acct {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	rt := s.routing.services[mg]
	if rt == nil {
		rt = &serviceRouting{inboundURL: s.inboundURL}
	}
	created := s.routingCreatedLocked().Format(time.RFC3339)
	s.mu.Unlock()
	opt := func(v string) *string {
		if v == "" {
			return nil
		}
		return &v
	}
	base := "https://messaging.twilio.com/v1/Services/" + mg
	writeJSON(w, http.StatusOK, apiService{
		AccountSid: acct, AreaCodeGeomatch: true, DateCreated: created, DateUpdated: created,
		FallbackMethod: http.MethodPost, FallbackToLongCode: true, FriendlyName: "Service " + mg[len(mg)-6:],
		InboundMethod: http.MethodPost, InboundRequestURL: opt(rt.inboundURL),
		Links: map[string]string{
			"phone_numbers": base + "/PhoneNumbers", "short_codes": base + "/ShortCodes", "alpha_senders": base + "/AlphaSenders",
		},
		MmsConverter: true, ScanMessageContent: "inherit", Sid: mg, StatusCallback: opt(rt.statusCallback), StickySender: true,
		URL: base, Usecase: "undeclared", UseInboundWebhookOnNumber: rt.useNumberWebhook, ValidityPeriod: 14400,
	})
}
