package sfdctest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

type gqlReply struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string `json:"message"`
		Extensions struct {
			Classification string `json:"classification"`
		} `json:"extensions"`
		Locations []struct{ Line, Column int } `json:"locations"`
	} `json:"errors"`
}

func (a *api) graphql(query string, vars map[string]any) gqlReply {
	a.t.Helper()
	body := map[string]any{"query": query}
	if vars != nil {
		body["variables"] = vars
	}
	r := a.do(http.MethodPost, v+"/graphql", body)
	if r.status != 200 {
		a.t.Fatalf("graphql: %d %s", r.status, r.body)
	}
	var g gqlReply
	r.json(a.t, &g)
	return g
}

// queryField runs a query that must succeed and decodes the field name
// (an object, or its alias) of data.uiapi.query into into.
func (a *api) queryField(t testing.TB, query string, vars map[string]any, name string, into any) gqlReply {
	t.Helper()
	g := a.graphql(query, vars)
	if len(g.Errors) != 0 {
		t.Fatalf("errors: %+v", g.Errors)
	}
	var d struct {
		UIAPI struct {
			Query map[string]json.RawMessage `json:"query"`
		} `json:"uiapi"`
	}
	if err := json.Unmarshal(g.Data, &d); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(d.UIAPI.Query[name], into); err != nil {
		t.Fatalf("data.uiapi.query.%s: %v in %s", name, err, g.Data)
	}
	return g
}

// tasksPage is the connection shape the chat components read.
type tasksPage struct {
	Edges []struct {
		Cursor string `json:"cursor"`
		Node   struct {
			ID          string `json:"Id"`
			Description struct {
				Value any `json:"value"`
			} `json:"Description"`
			Status struct {
				Value        any `json:"value"`
				DisplayValue any `json:"displayValue"`
			} `json:"Message_Status__c"`
			Conversation *struct {
				Name struct{ Value string } `json:"Name"`
			} `json:"Conversation__r"`
		} `json:"node"`
	} `json:"edges"`
	PageInfo struct {
		HasNextPage bool    `json:"hasNextPage"`
		EndCursor   *string `json:"endCursor"`
	} `json:"pageInfo"`
	TotalCount int `json:"totalCount"`
}

const threadQuery = `query thread($conv: ID, $after: String, $first: Int = 2) {
  uiapi {
    query {
      Task(where: {Conversation__c: {eq: $conv}}, orderBy: {Message_Send_Date__c: {order: DESC}}, first: $first, after: $after) {
        edges { cursor node { Id Description { value } Message_Status__c { value displayValue } Conversation__r { Name { value } } } }
        pageInfo { hasNextPage endCursor }
        totalCount
      }
    }
  }
}`

// seedThread makes two conversations; the first gets five messages sent a
// minute apart (body "m0".."m4"), the second one.
func seedThread(t *testing.T, a *api) (conv, other string) {
	conv = a.create("Conversation__c", map[string]any{"Message_Recipient__c": "+14155550100"})
	other = a.create("Conversation__c", map[string]any{"Message_Recipient__c": "+14155550199"})
	statuses := []string{"Delivered", "Sent", "Failed", "Received", "Pending"}
	for i := range 5 {
		a.create("Task", map[string]any{"Conversation__c": conv, "Description": fmt.Sprintf("m%d", i), "Subject": "SMS to +14155550100",
			"Message_Status__c": statuses[i], "Message_Type__c": "Outbound",
			"Message_Send_Date__c": fmt.Sprintf("2026-12-01T10:0%d:00.000Z", i)})
	}
	a.create("Task", map[string]any{"Conversation__c": other, "Description": "elsewhere", "Message_Status__c": "Received"})
	return conv, other
}

func TestGraphQLConnectionWithVariablesOrderAndCursors(t *testing.T) {
	a := newAPI(t)
	conv, _ := seedThread(t, a)
	var bodies []any
	var after any
	for page := 0; ; page++ {
		var c tasksPage
		a.queryField(t, threadQuery, map[string]any{"conv": conv, "after": after}, "Task", &c)
		if c.TotalCount != 5 {
			t.Fatalf("totalCount %d, want 5 (the filter, not the page)", c.TotalCount)
		}
		for _, e := range c.Edges {
			bodies = append(bodies, e.Node.Description.Value)
			if e.Node.Conversation == nil || !strings.HasPrefix(e.Node.Conversation.Name.Value, "C-") {
				t.Fatalf("Conversation__r %+v: the parent record nests", e.Node.Conversation)
			}
			if e.Node.Status.DisplayValue != e.Node.Status.Value {
				t.Fatalf("picklist %+v: displayValue is the label", e.Node.Status)
			}
		}
		if !c.PageInfo.HasNextPage {
			if page != 2 {
				t.Fatalf("pages %d, want 3 of first: 2", page+1)
			}
			break
		}
		after = *c.PageInfo.EndCursor
	}
	if fmt.Sprint(bodies) != "[m4 m3 m2 m1 m0]" {
		t.Fatalf("bodies %v, want newest first across pages", bodies)
	}
}

// Each filter gives the records the same SOQL WHERE gives.
func TestGraphQLFiltersMatchSOQL(t *testing.T) {
	a := newAPI(t)
	conv, other := seedThread(t, a)
	cases := []struct{ where, soql string }{
		{`{Message_Status__c: {eq: "Sent"}}`, `Message_Status__c = 'Sent'`},
		{`{Message_Status__c: {ne: "Sent"}}`, `Message_Status__c != 'Sent'`},
		{`{Message_Status__c: {in: ["Sent", "Failed"]}}`, `Message_Status__c IN ('Sent', 'Failed')`},
		{`{Message_Status__c: {nin: ["Sent", "Failed"]}}`, `Message_Status__c NOT IN ('Sent', 'Failed')`},
		{`{Subject: {like: "sms to%"}}`, `Subject LIKE 'sms to%'`},
		{`{Message_Send_Date__c: {gt: "2026-12-01T10:02:00.000Z"}}`, `Message_Send_Date__c > 2026-12-01T10:02:00Z`},
		{`{Message_Send_Date__c: {gte: "2026-12-01T10:02:00.000Z", lt: "2026-12-01T10:04:00.000Z"}}`, `Message_Send_Date__c >= 2026-12-01T10:02:00Z AND Message_Send_Date__c < 2026-12-01T10:04:00Z`},
		{`{Message_Send_Date__c: {lte: "2026-12-01T10:01:00.000Z"}}`, `Message_Send_Date__c <= 2026-12-01T10:01:00Z`},
		{`{or: [{Message_Status__c: {eq: "Sent"}}, {Conversation__c: {eq: "` + other + `"}}]}`, `Message_Status__c = 'Sent' OR Conversation__c = '` + other + `'`},
		{`{and: [{Conversation__c: {eq: "` + conv + `"}}, {not: {Message_Status__c: {eq: "Pending"}}}]}`, `Conversation__c = '` + conv + `' AND (NOT Message_Status__c = 'Pending')`},
		{`{Conversation__r: {Message_Recipient__c: {eq: "+14155550199"}}}`, `Conversation__r.Message_Recipient__c = '+14155550199'`},
		{`{Message_Send_Date__c: {eq: null}}`, `Message_Send_Date__c = null`},
	}
	for _, c := range cases {
		t.Run(c.where, func(t *testing.T) {
			var task struct {
				Edges []struct {
					Node struct {
						ID string `json:"Id"`
					} `json:"node"`
				} `json:"edges"`
			}
			a.queryField(t, `{ uiapi { query { Task(where: `+c.where+`, first: 100) { edges { node { Id } } totalCount } } } }`, nil, "Task", &task)
			var got, want []string
			for _, e := range task.Edges {
				got = append(got, e.Node.ID)
			}
			for _, r := range a.records("SELECT Id FROM Task WHERE " + c.soql) {
				want = append(want, r["Id"].(string))
			}
			if len(want) == 0 || len(want) == 6 {
				t.Fatalf("SOQL %q selects %d of 6: not a test of the filter", c.soql, len(want))
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("GraphQL %v, SOQL %v", got, want)
			}
		})
	}
}

func TestGraphQLAliasesFragmentsAndDefaultFirst(t *testing.T) {
	a := newAPI(t)
	for i := range 12 {
		a.create("Contact", map[string]any{"LastName": fmt.Sprintf("L%02d", i)})
	}
	var people struct {
		Edges []struct {
			Node struct {
				Who struct{ Value string } `json:"who"`
			} `json:"node"`
		} `json:"edges"`
		PageInfo struct{ HasNextPage bool } `json:"pageInfo"`
	}
	g := a.queryField(t, `query { uiapi { query { people: Contact(orderBy: {LastName: {order: ASC}}) {
	  edges { node { ...F } } pageInfo { hasNextPage } } } } }
	fragment F on Contact { Id who: LastName { value } }`, nil, "people", &people)
	e := people.Edges
	if len(e) != 10 || e[0].Node.Who.Value != "L00" || !people.PageInfo.HasNextPage {
		t.Fatalf("data %s: first defaults to 10, aliases and fragments apply", g.Data)
	}
}

// Bad queries get GraphQL errors (HTTP 200, data null) naming the problem.
func TestGraphQLErrors(t *testing.T) {
	a := newAPI(t)
	cases := []struct {
		name, query string
		vars        map[string]any
		class, want string
	}{
		{"syntax", `{ uiapi { query { Task( } }`, nil, "InvalidSyntax", "Invalid Syntax"},
		{"unknown object", `{ uiapi { query { Nope__c { edges { node { Id } } } } } }`, nil, "ValidationError", "Field 'Nope__c' in type 'RecordQuery' is undefined"},
		{"unknown field", `{ uiapi { query { Task { edges { node { Nope__c { value } } } } } } }`, nil, "ValidationError", "Field 'Nope__c' in type 'Task' is undefined"},
		{"field without selection", `{ uiapi { query { Task { edges { node { Description } } } } } }`, nil, "ValidationError", "Sub selection required"},
		{"unknown filter field", `{ uiapi { query { Task(where: {Nope__c: {eq: "x"}}) { totalCount } } } }`, nil, "ValidationError", "'Nope__c'"},
		{"unknown operator", `{ uiapi { query { Task(where: {Subject: {contains: "x"}}) { totalCount } } } }`, nil, "ValidationError", "unknown operator 'contains'"},
		{"long text not filterable", `{ uiapi { query { Task(where: {Description: {like: "x%"}}) { totalCount } } } }`, nil, "ValidationError", "can not be filtered"},
		{"unknown parent field", `{ uiapi { query { Task { edges { node { Conversation__r { Nope__c { value } } } } } } } }`, nil, "ValidationError", "Field 'Nope__c' in type 'Conversation__c' is undefined"},
		{"wrong value type", `{ uiapi { query { Task(where: {Message_Send_Date__c: {gt: 5}}) { totalCount } } } }`, nil, "ValidationError", "must be a String"},
		{"bad order", `{ uiapi { query { Task(orderBy: {Subject: {order: UP}}) { totalCount } } } }`, nil, "ValidationError", "ASC or DESC"},
		{"bad cursor", `{ uiapi { query { Task(after: "bm90IGEgY3Vyc29y") { totalCount } } } }`, nil, "DataFetchingException", "Invalid cursor"},
		{"first too large", `{ uiapi { query { Task(first: 2001) { totalCount } } } }`, nil, "ValidationError", "'first'"},
		{"undeclared variable", `{ uiapi { query { Task(where: {Subject: {eq: $s}}) { totalCount } } } }`, nil, "ValidationError", "Undefined variable 's'"},
		{"missing non-null variable", `query q($s: String!) { uiapi { query { Task(where: {Subject: {eq: $s}}) { totalCount } } } }`, nil, "ValidationError", "NonNull"},
		{"mutation", `mutation { uiapi { x } }`, nil, "ValidationError", "not configured for mutations"},
		{"unknown argument", `{ uiapi { query { Task(limit: 3) { totalCount } } } }`, nil, "ValidationError", "Unknown field argument limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := a.graphql(c.query, c.vars)
			if string(g.Data) != "null" || len(g.Errors) != 1 {
				t.Fatalf("data %s errors %+v: want data null and one error", g.Data, g.Errors)
			}
			e := g.Errors[0]
			if e.Extensions.Classification != c.class || !strings.Contains(e.Message, c.want) {
				t.Fatalf("error %+v, want %s containing %q", e, c.class, c.want)
			}
		})
	}
	r := a.do(http.MethodGet, v+"/graphql", nil)
	wantErr(t, r, 405, "METHOD_NOT_ALLOWED")
	r = a.do(http.MethodPost, v+"/graphql", "not json object")
	wantErr(t, r, 400, "JSON_PARSER_ERROR")
}

// orderBy through a parent relationship, then a field with nulls LAST;
// pageResultCount is the page's size.
func TestGraphQLOrderByRelationshipAndNulls(t *testing.T) {
	a := newAPI(t)
	seedThread(t, a)
	var task struct {
		Edges []struct {
			Node struct {
				Description struct{ Value string } `json:"Description"`
			} `json:"node"`
		} `json:"edges"`
		PageResultCount int `json:"pageResultCount"`
		TotalCount      int `json:"totalCount"`
	}
	a.queryField(t, `{ uiapi { query { Task(orderBy: {Conversation__r: {Message_Recipient__c: {order: DESC}}, Message_Send_Date__c: {order: ASC, nulls: LAST}}, first: 3) {
	  edges { node { Description { value } } } pageResultCount totalCount } } } }`, nil, "Task", &task)
	var got []string
	for _, e := range task.Edges {
		got = append(got, e.Node.Description.Value)
	}
	// +14155550199's one message (no send date) first, then +14155550100's
	// by send date ascending.
	if fmt.Sprint(got) != "[elsewhere m0 m1]" || task.PageResultCount != 3 || task.TotalCount != 6 {
		t.Fatalf("order %v, pageResultCount %d, totalCount %d", got, task.PageResultCount, task.TotalCount)
	}
}

// A child relationship inside a node is a connection of the child records
// ("Relationships": a parent's child relationship, e.g. Contacts on Account,
// takes where/orderBy/first as a top-level query does), named as the
// relationship field's relationshipName + "__r" for custom objects — here
// Message_Template__c.Translations__r, which the chat's template picker
// reads. Each template gets only its own translations.
func TestGraphQLChildRelationship(t *testing.T) {
	a := newAPI(t)
	shipped := a.create("Message_Template__c", map[string]any{"Name": "Order shipped", "SObject_API_Name__c": "Contact", "Message_Text__c": "Hi"})
	other := a.create("Message_Template__c", map[string]any{"Name": "Other", "SObject_API_Name__c": "Contact", "Message_Text__c": "x"})
	a.create("Message_Template_Translation__c", map[string]any{"Message_Template__c": shipped, "Language__c": "fr", "Text_Body__c": "Bonjour"})
	a.create("Message_Template_Translation__c", map[string]any{"Message_Template__c": shipped, "Language__c": "de", "Text_Body__c": "Hallo"})
	a.create("Message_Template_Translation__c", map[string]any{"Message_Template__c": other, "Language__c": "es", "Text_Body__c": "Hola"})
	var templates struct {
		Edges []struct {
			Node struct {
				Name struct{ Value string }
				Tr   struct {
					TotalCount int
					Edges      []struct {
						Node struct {
							Language__c  struct{ Value string }
							Text_Body__c struct{ Value string }
						}
					}
				} `json:"Translations__r"`
			}
		}
	}
	a.queryField(t, `{ uiapi { query { Message_Template__c(orderBy: {Name: {order: ASC}}) { edges { node { Id Name { value }
		Translations__r(first: 50, orderBy: {Language__c: {order: ASC}}) { totalCount edges { node { Language__c { value } Text_Body__c { value } } } } } } } } } }`, nil, "Message_Template__c", &templates)
	var got []string
	for _, e := range templates.Edges {
		s := e.Node.Name.Value + ":"
		for _, tr := range e.Node.Tr.Edges {
			s += " " + tr.Node.Language__c.Value + "=" + tr.Node.Text_Body__c.Value
		}
		got = append(got, fmt.Sprintf("%s (%d)", s, e.Node.Tr.TotalCount))
	}
	if strings.Join(got, "; ") != "Order shipped: de=Hallo fr=Bonjour (2); Other: es=Hola (1)" {
		t.Fatalf("templates with translations: %q", got)
	}
	// An unknown child relationship is a validation error, as a field is.
	if g := a.graphql(`{ uiapi { query { Message_Template__c { edges { node { Nope__r { edges { node { Id } } } } } } } } }`, nil); len(g.Errors) != 1 || !strings.Contains(g.Errors[0].Message, "'Nope__r' in type 'Message_Template__c' is undefined") {
		t.Fatalf("unknown child relationship: %+v", g.Errors)
	}
}
