package sfdctest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

const ui = v + "/ui-api"

// uiRecord is the UI API Record response body.
type uiRecord struct {
	APIName      string `json:"apiName"`
	ID           string `json:"id"`
	RecordTypeID string `json:"recordTypeId"`
	LastModified string `json:"lastModifiedDate"`
	Fields       map[string]struct {
		Value        any `json:"value"`
		DisplayValue any `json:"displayValue"`
	} `json:"fields"`
}

func TestUIAPICreateGetUpdateDeleteShareTheRESTStore(t *testing.T) {
	a := newAPI(t)
	r := a.do(http.MethodPost, ui+"/records", map[string]any{"apiName": "Contact",
		"fields": map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "MobilePhone": "+14155550100"}})
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var created uiRecord
	r.json(t, &created)
	if created.APIName != "Contact" || len(created.ID) != 18 || !strings.HasPrefix(created.ID, "003") {
		t.Fatalf("create answered %s", r.body)
	}
	if got := created.Fields["Name"].Value; got != "Ada Lovelace" {
		t.Fatalf("Name %v, want the derived full name", got)
	}
	if created.RecordTypeID != "012000000000000AAA" || !strings.HasSuffix(created.LastModified, "Z") {
		t.Fatalf("record type %q, lastModifiedDate %q", created.RecordTypeID, created.LastModified)
	}
	// The same record through SOQL: one store.
	recs := a.records("SELECT Id, Name FROM Contact WHERE MobilePhone = '+14155550100'")
	if len(recs) != 1 || recs[0]["Id"] != created.ID {
		t.Fatalf("SOQL sees %v, want the UI API record %s", recs, created.ID)
	}

	task := a.create("Task", map[string]any{"Subject": "SMS", "WhoId": created.ID, "Message_Status__c": "Pending"})
	r = a.do(http.MethodGet, ui+"/records/"+task+"?fields=Task.Subject,Task.Who.Name,Task.Message_Status__c&optionalFields=Task.No_Such__c,Task.CreatedDate", nil)
	if r.status != 200 {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	var got struct {
		Fields map[string]struct {
			Value        any `json:"value"`
			DisplayValue any `json:"displayValue"`
		} `json:"fields"`
	}
	r.json(t, &got)
	if got.Fields["Subject"].Value != "SMS" || got.Fields["Subject"].DisplayValue != nil {
		t.Fatalf("Subject %+v: a text field has a value and a null displayValue", got.Fields["Subject"])
	}
	if got.Fields["Message_Status__c"].DisplayValue != "Pending" {
		t.Fatalf("picklist displayValue %v, want its label", got.Fields["Message_Status__c"].DisplayValue)
	}
	if _, ok := got.Fields["No_Such__c"]; ok {
		t.Fatal("an unknown optional field must be left out")
	}
	if got.Fields["CreatedDate"].DisplayValue == nil || !strings.HasSuffix(got.Fields["CreatedDate"].Value.(string), ".000Z") {
		t.Fatalf("CreatedDate %+v: ISO 8601 value and a formatted displayValue", got.Fields["CreatedDate"])
	}
	who := got.Fields["Who"]
	nested, _ := who.Value.(map[string]any)
	if who.DisplayValue != "Ada Lovelace" || nested["apiName"] != "Contact" || nested["id"] != created.ID {
		t.Fatalf("Who %+v: a related record nests under the relationship name", who)
	}
	if name := nested["fields"].(map[string]any)["Name"].(map[string]any)["value"]; name != "Ada Lovelace" {
		t.Fatalf("Who.Name %v", name)
	}

	r = a.do(http.MethodPatch, ui+"/records/"+created.ID, map[string]any{"fields": map[string]any{"FirstName": "Augusta"}})
	if r.status != 200 {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	var updated uiRecord
	r.json(t, &updated)
	if updated.Fields["Name"].Value != "Augusta Lovelace" {
		t.Fatalf("update answered %s", r.body)
	}
	if recs := a.records("SELECT FirstName FROM Contact WHERE Id = '" + created.ID + "'"); recs[0]["FirstName"] != "Augusta" {
		t.Fatalf("SOQL after UI API update: %v", recs)
	}

	if r = a.do(http.MethodDelete, ui+"/records/"+created.ID, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if recs := a.records("SELECT Id FROM Contact"); len(recs) != 0 {
		t.Fatalf("SOQL after UI API delete: %v", recs)
	}
	wantErr(t, a.do(http.MethodGet, ui+"/records/"+created.ID+"?fields=Contact.Name", nil), 404, "ENTITY_IS_DELETED")
}

func TestUIAPIRecordErrors(t *testing.T) {
	a := newAPI(t)
	contact := a.create("Contact", map[string]any{"LastName": "Hopper"})
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"unknown object on create", "POST", ui + "/records", map[string]any{"apiName": "Nope__c", "fields": map[string]any{}}, 400, "INVALID_TYPE"},
		{"create without apiName", "POST", ui + "/records", map[string]any{"fields": map[string]any{}}, 400, "INVALID_INPUT"},
		{"malformed body", "POST", ui + "/records", "not an object", 400, "JSON_PARSER_ERROR"},
		{"unknown field in fields", "GET", ui + "/records/" + contact + "?fields=Contact.Nope__c", nil, 400, "INVALID_FIELD"},
		{"field of another object", "GET", ui + "/records/" + contact + "?fields=Lead.Company", nil, 400, "INVALID_FIELD"},
		{"no fields at all", "GET", ui + "/records/" + contact, nil, 400, "INVALID_INPUT"},
		{"malformed id", "GET", ui + "/records/xyz?fields=Contact.Name", nil, 400, "MALFORMED_ID"},
		{"unknown id", "GET", ui + "/records/003000000000000AAA?fields=Contact.Name", nil, 404, "NOT_FOUND"},
		{"apiName does not match the record", "PATCH", ui + "/records/" + contact, map[string]any{"apiName": "Lead", "fields": map[string]any{}}, 400, "INVALID_INPUT"},
		{"method", "PUT", ui + "/records/" + contact, nil, 405, "METHOD_NOT_ALLOWED"},
		{"unknown object info", "GET", ui + "/object-info/Nope__c", nil, 404, "NOT_FOUND"},
		{"not a picklist", "GET", ui + "/object-info/Task/picklist-values/012000000000000AAA/Subject", nil, 404, "NOT_FOUND"},
		{"unknown record type", "GET", ui + "/object-info/Task/picklist-values/012000000000001AAA/Message_Status__c", nil, 404, "NOT_FOUND"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantErr(t, a.do(c.method, c.path, c.body), c.status, c.code)
		})
	}
}

// A failed save is an Error with Output whose output holds Record
// Exceptions per field — what lightning/uiRecordApi rejects with.
func TestUIAPISaveErrorIsRecordError(t *testing.T) {
	a := newAPI(t)
	r := a.do(http.MethodPost, ui+"/records", map[string]any{"apiName": "Task",
		"fields": map[string]any{"Message_Status__c": "Nonsense"}})
	if r.status != 400 {
		t.Fatalf("status %d %s", r.status, r.body)
	}
	var e struct {
		Type   string `json:"enhancedErrorType"`
		Output struct {
			Errors      []any `json:"errors"`
			FieldErrors map[string][]struct {
				ErrorCode  string `json:"errorCode"`
				Field      string `json:"field"`
				FieldLabel string `json:"fieldLabel"`
				Message    string `json:"message"`
			} `json:"fieldErrors"`
		} `json:"output"`
	}
	r.json(t, &e)
	fe := e.Output.FieldErrors["Message_Status__c"]
	if e.Type != "RecordError" || len(fe) != 1 || fe[0].ErrorCode != "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" || fe[0].FieldLabel != "Message Status" {
		t.Fatalf("save error %s", r.body)
	}
	if recs := a.records("SELECT Id FROM Task"); len(recs) != 0 {
		t.Fatalf("a refused create wrote %v", recs)
	}
	r = a.do(http.MethodPost, ui+"/records", map[string]any{"apiName": "Contact", "fields": map[string]any{"FirstName": "No last name"}})
	r.json(t, &e)
	if r.status != 400 || e.Output.FieldErrors["LastName"][0].ErrorCode != "REQUIRED_FIELD_MISSING" {
		t.Fatalf("missing required field: %d %s", r.status, r.body)
	}
}

func TestUIAPIObjectInfoAndPicklists(t *testing.T) {
	a := newAPI(t)
	r := a.do(http.MethodGet, ui+"/object-info/Task", nil)
	if r.status != 200 {
		t.Fatalf("object-info: %d %s", r.status, r.body)
	}
	var info struct {
		APIName             string `json:"apiName"`
		Label               string `json:"label"`
		LabelPlural         string `json:"labelPlural"`
		KeyPrefix           string `json:"keyPrefix"`
		DefaultRecordTypeID string `json:"defaultRecordTypeId"`
		Fields              map[string]struct {
			APIName          string `json:"apiName"`
			DataType         string `json:"dataType"`
			Label            string `json:"label"`
			Required         bool   `json:"required"`
			Createable       bool   `json:"createable"`
			Updateable       bool   `json:"updateable"`
			RelationshipName string `json:"relationshipName"`
			ReferenceToInfos []struct {
				APIName string `json:"apiName"`
			} `json:"referenceToInfos"`
		} `json:"fields"`
	}
	r.json(t, &info)
	if info.APIName != "Task" || info.KeyPrefix != "00T" || info.LabelPlural != "Tasks" || info.DefaultRecordTypeID != "012000000000000AAA" {
		t.Fatalf("object info %s", r.body)
	}
	conv := info.Fields["Conversation__c"]
	if conv.DataType != "Reference" || conv.RelationshipName != "Conversation__r" || len(conv.ReferenceToInfos) != 1 || conv.ReferenceToInfos[0].APIName != "Conversation__c" {
		t.Fatalf("Conversation__c %+v", conv)
	}
	if st := info.Fields["Message_Status__c"]; st.DataType != "Picklist" || st.Label != "Message Status" || !st.Createable || !st.Updateable {
		t.Fatalf("Message_Status__c %+v", st)
	}
	if id := info.Fields["Id"]; id.Createable || id.Updateable {
		t.Fatalf("Id %+v must be read-only", id)
	}
	if info.Fields["Description"].DataType != "TextArea" || info.Fields["Message_Send_Date__c"].DataType != "DateTime" {
		t.Fatalf("data types: %+v", info.Fields)
	}
	if info := a.do(http.MethodGet, ui+"/object-info/Contact", nil); !strings.Contains(string(info.body), `"LastName":{`) ||
		!strings.Contains(string(info.body), `"required":true`) {
		t.Fatalf("Contact.LastName must be required: %s", info.body)
	}

	r = a.do(http.MethodGet, ui+"/object-info/Task/picklist-values/012000000000000AAA/Status", nil)
	var pv struct {
		DefaultValue struct{ Value string } `json:"defaultValue"`
		Values       []struct {
			Label, Value string
			ValidFor     []any `json:"validFor"`
		} `json:"values"`
	}
	r.json(t, &pv)
	if r.status != 200 || pv.DefaultValue.Value != "Not Started" || len(pv.Values) != 5 || pv.Values[2].Value != "Completed" || pv.Values[2].ValidFor == nil {
		t.Fatalf("picklist values %d %s", r.status, r.body)
	}
	r = a.do(http.MethodGet, ui+"/object-info/Task/picklist-values/012000000000000AAA", nil)
	var all struct {
		PicklistFieldValues map[string]struct {
			Values []struct{ Value string } `json:"values"`
		} `json:"picklistFieldValues"`
	}
	r.json(t, &all)
	if len(all.PicklistFieldValues) != 4 || len(all.PicklistFieldValues["Message_Type__c"].Values) != 2 {
		t.Fatalf("all picklists: %s", r.body)
	}
	if _, ok := all.PicklistFieldValues["Subject"]; ok {
		t.Fatal("a combobox is not a picklist here")
	}
}

// A record created through the UI API fires the PushTopics, as any save.
func TestUIAPICreateFiresPushTopic(t *testing.T) {
	a := newAPI(t)
	a.create("PushTopic", map[string]any{"Name": "SwitchboardChat", "ApiVersion": 62.0, "NotifyForFields": "Referenced",
		"Query": "SELECT Id, Conversation__c, Message_Type__c, Message_Status__c FROM Task WHERE Conversation__c != null"})
	conv := a.create("Conversation__c", map[string]any{"Message_Recipient__c": "+14155550100"})
	a.org.SetHoldTimeout(2 * time.Second)
	b := newBayeux(t, a.org, a.tok)
	b.start("/topic/SwitchboardChat", -1)
	r := a.do(http.MethodPost, ui+"/records", map[string]any{"apiName": "Task",
		"fields": map[string]any{"Conversation__c": conv, "Message_Type__c": "Outbound", "Message_Status__c": "Pending", "Description": "hi"}})
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	_, evs := b.connect()
	if len(evs) != 1 || evs[0].obj("data").obj("sobject").str("Conversation__c") != conv {
		t.Fatalf("events %v", evs)
	}
}
