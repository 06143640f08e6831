package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"

	"github.com/switchboard/switchboard/sfdc/metadata/browser"
	sbsync "github.com/switchboard/switchboard/sync"
	"github.com/switchboard/switchboard/twilio/twiliotest"
)

//go:embed demo/index.html
var demoAssets embed.FS

// demoWeb is the --serve page: the simulated org's records, read live, a
// phone that texts the channel's number through the simulated Twilio (so
// the daemon gets a signed webhook exactly as in production), and an
// agent's box that creates a Pending Task (as the chat component does).
type demoWeb struct {
	w     *simWorld
	story *transcript
	log   *zap.Logger
}

func (d *demoWeb) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		b, err := demoAssets.ReadFile("demo/index.html")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		// The page loads nothing from elsewhere; say so to the browser too.
		// 'self' for the components' bundle and the SLDS stylesheet (/lwc/);
		// the engine's synthetic shadow inserts <style> elements, and SLDS
		// draws some icons from data: URIs.
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'")
		_, _ = w.Write(b)
	})
	mux.HandleFunc("GET /api/state", func(w http.ResponseWriter, r *http.Request) {
		writeDemoJSON(w, http.StatusOK, d.state())
	})
	mux.HandleFunc("POST /api/phone", d.phone)
	mux.HandleFunc("POST /api/agent", d.agent)
	// The Lightning components' browser bundle and, same-origin, the org
	// its platform stand-ins call (sfdc/metadata/README.md §7).
	mux.Handle("GET /lwc/", http.StripPrefix("/lwc", browser.Handler()))
	if org, err := url.Parse(d.w.Org.URL()); err == nil {
		proxy := browser.OrgProxy(org, func(context.Context) (string, error) { return d.w.Org.Session(), nil })
		mux.Handle("/services/data/", proxy)
		mux.Handle("/cometd/", proxy)
	}
	return loopbackOnly(mux)
}

// loopbackOnly refuses requests whose Host is not a loopback name or
// address. The page has no login: a web site that points its own name at
// 127.0.0.1 (DNS rebinding) would otherwise be same-origin with it and
// could read the org and text as its customers.
func loopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if !isLoopbackHost(host) {
			writeDemoError(w, http.StatusForbidden, "this page answers only for localhost, 127.0.0.1 or [::1]; open it as http://127.0.0.1:<port>")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// webTask is a Task as the page shows it (SPEC §1 field names).
type webTask struct {
	ID           string `json:"Id"`
	Subject      string `json:"Subject"`
	Description  string `json:"Description"`
	Type         string `json:"Message_Type__c"`
	Status       string `json:"Message_Status__c"`
	SID          string `json:"Message_Sid__c"`
	SendDate     string `json:"Message_Send_Date__c"`
	CheckDate    string `json:"Message_Status_Check_Date__c"`
	Error        string `json:"Error_Description__c"`
	WhoID        string `json:"WhoId"`
	WhoName      string `json:"whoName"`
	Conversation string `json:"Conversation__c"`
}

type webConversation struct {
	ID         string `json:"Id"`
	Name       string `json:"Name"`
	Status     string `json:"Status__c"`
	Recipient  string `json:"Message_Recipient__c"`
	RecordID   string `json:"Record_Id__c"`
	RecordName string `json:"recordName"`
	Owner      string `json:"owner"`
}

type webOptIn struct {
	ID       string `json:"Id"`
	Key      string `json:"UniqueId__c"`
	Phone    string `json:"Phone_Number__c"`
	Active   bool   `json:"Active__c"`
	Keyword  string `json:"Keyword__c"`
	InDate   string `json:"Opt_In_Date_Time__c"`
	OutDate  string `json:"Opt_Out_Date_Time__c"`
	Channel  string `json:"Channel__c"`
	Customer string `json:"customer"`
}

type webPerson struct {
	ID     string `json:"Id"`
	Object string `json:"object"`
	Name   string `json:"Name"`
	Phone  string `json:"MobilePhone"`
}

type webState struct {
	Channel       map[string]string `json:"channel"`
	Conversations []webConversation `json:"conversations"`
	Tasks         []webTask         `json:"tasks"`
	OptIns        []webOptIn        `json:"optIns"`
	People        []webPerson       `json:"people"`
	Transcript    []string          `json:"transcript"`
}

func (d *demoWeb) state() webState {
	org := d.w.Org
	names := map[string]string{}
	st := webState{
		Channel: map[string]string{"Id": d.w.ChannelID, "Name": simChannelName, "Phone_Number__c": simNumber, "Queue_Name__c": simQueueName},
		// Non-nil slices: the page gets [] rather than null.
		Conversations: []webConversation{}, Tasks: []webTask{}, OptIns: []webOptIn{}, People: []webPerson{},
		Transcript: d.story.snapshot(),
	}
	for _, object := range []string{"Contact", "Lead"} {
		for _, r := range org.Records(object) {
			p := webPerson{ID: sfStr(r["Id"]), Object: object, Name: sfStr(r["Name"]), Phone: sfStr(r["MobilePhone"])}
			if p.Name == "" {
				p.Name = strings.TrimSpace(sfStr(r["FirstName"]) + " " + sfStr(r["LastName"]))
			}
			names[p.ID] = p.Name
			st.People = append(st.People, p)
		}
	}
	for _, r := range org.Records("Group") {
		names[sfStr(r["Id"])] = "queue " + sfStr(r["DeveloperName"])
	}
	for _, r := range org.Records("User") {
		names[sfStr(r["Id"])] = "user " + sfStr(r["Username"])
	}
	for _, r := range org.Records("Conversation__c") {
		c := webConversation{ID: sfStr(r["Id"]), Name: sfStr(r["Name"]), Status: sfStr(r["Status__c"]),
			Recipient: sfStr(r["Message_Recipient__c"]), RecordID: sfStr(r["Record_Id__c"]), Owner: names[sfStr(r["OwnerId"])]}
		c.RecordName = names[c.RecordID]
		st.Conversations = append(st.Conversations, c)
	}
	for _, r := range org.Records("Task") {
		t := webTask{ID: sfStr(r["Id"]), Subject: sfStr(r["Subject"]), Description: sfStr(r["Description"]),
			Type: sfStr(r["Message_Type__c"]), Status: sfStr(r["Message_Status__c"]), SID: sfStr(r["Message_Sid__c"]),
			SendDate: sfStr(r["Message_Send_Date__c"]), CheckDate: sfStr(r["Message_Status_Check_Date__c"]),
			Error: sfStr(r["Error_Description__c"]), WhoID: sfStr(r["WhoId"]), Conversation: sfStr(r["Conversation__c"])}
		t.WhoName = names[t.WhoID]
		st.Tasks = append(st.Tasks, t)
	}
	for _, r := range org.Records("Opt_In__c") {
		o := webOptIn{ID: sfStr(r["Id"]), Key: sfStr(r["UniqueId__c"]), Phone: sfStr(r["Phone_Number__c"]),
			Active: r["Active__c"] == true, Keyword: sfStr(r["Keyword__c"]), InDate: sfStr(r["Opt_In_Date_Time__c"]),
			OutDate: sfStr(r["Opt_Out_Date_Time__c"]), Channel: sfStr(r["Channel__c"])}
		o.Customer, _, _ = strings.Cut(o.Key, "|")
		st.OptIns = append(st.OptIns, o)
	}
	return st
}

// demoRequestLimit bounds a form post: an SMS body is at most 1,600
// characters (SPEC §1), so 64 KiB is plenty.
const demoRequestLimit = 64 << 10

// readDemoJSON decodes a JSON request. Requiring application/json means a
// form on another web site cannot post here without a CORS preflight,
// which this server never grants.
func readDemoJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeDemoError(w, http.StatusUnsupportedMediaType, "send JSON (Content-Type: application/json)")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, demoRequestLimit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeDemoError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request is larger than %d bytes", demoRequestLimit))
			return false
		}
		writeDemoError(w, http.StatusBadRequest, "the request is not the JSON this page sends: "+err.Error())
		return false
	}
	return true
}

// phone texts the channel's number from a customer's phone.
func (d *demoWeb) phone(w http.ResponseWriter, r *http.Request) {
	var req struct {
		From string `json:"from"`
		Body string `json:"body"`
	}
	if !readDemoJSON(w, r, &req) {
		return
	}
	// A phone has a real number: however it is typed here, Twilio sends
	// From in E.164 (twilio.md §5.3).
	from, err := sbsync.NormalizeNumber(req.From, "US")
	if err != nil {
		writeDemoError(w, http.StatusBadRequest, fmt.Sprintf("%q is not a phone number a customer could text from (try +14155550123 or (415) 555-0123)", req.From))
		return
	}
	if from == simNumber {
		writeDemoError(w, http.StatusBadRequest, simNumber+" is the channel's own number: text it from a customer's number")
		return
	}
	if strings.TrimSpace(req.Body) == "" {
		writeDemoError(w, http.StatusBadRequest, "type a message: a phone does not send an empty SMS")
		return
	}
	res, err := d.w.Twilio.SendInbound(r.Context(), twiliotest.Inbound{From: from, To: simNumber, Body: req.Body})
	if err != nil {
		d.log.Warn("demo phone: webhook", zap.Error(err))
		writeDemoError(w, http.StatusBadGateway, "Twilio could not deliver the webhook to switchboard: "+err.Error())
		return
	}
	if res.StatusCode != http.StatusOK {
		writeDemoError(w, http.StatusBadGateway, fmt.Sprintf("switchboard answered Twilio's webhook with HTTP %d", res.StatusCode))
		return
	}
	writeDemoJSON(w, http.StatusOK, map[string]any{"sid": res.MessageSID, "from": from, "to": simNumber, "webhookStatus": res.StatusCode})
}

// agent sends a message to a conversation the way a user does: a Pending
// outbound Task on it (SPEC §1). An empty body is passed on as is: the
// daemon rejects it with an Error and says why, which the page shows.
func (d *demoWeb) agent(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Conversation string `json:"conversation"`
		Body         string `json:"body"`
	}
	if !readDemoJSON(w, r, &req) {
		return
	}
	if req.Conversation == "" {
		writeDemoError(w, http.StatusBadRequest, "pick a conversation to send to")
		return
	}
	conv, ok := d.w.Org.Get("Conversation__c", req.Conversation)
	if !ok {
		writeDemoError(w, http.StatusNotFound, fmt.Sprintf("there is no Conversation__c %q", req.Conversation))
		return
	}
	fields := map[string]any{"Message_Type__c": "Outbound", "Message_Status__c": "Pending", "Subject": "SMS",
		"Conversation__c": req.Conversation, "Description": req.Body}
	if rid := sfStr(conv["Record_Id__c"]); rid != "" {
		if _, isContact := d.w.Org.Get("Contact", rid); isContact {
			fields["WhoId"] = rid
		} else if _, isLead := d.w.Org.Get("Lead", rid); isLead {
			fields["WhoId"] = rid
		}
	}
	id, err := d.w.Org.Insert("Task", fields)
	if err != nil {
		writeDemoError(w, http.StatusBadRequest, "Salesforce refused the Task: "+err.Error())
		return
	}
	writeDemoJSON(w, http.StatusCreated, map[string]any{"taskId": id})
}

func writeDemoJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeDemoError(w http.ResponseWriter, status int, msg string) {
	writeDemoJSON(w, status, map[string]string{"error": msg})
}
