package sfdc

// The PushTopics of SPEC §2: SpecTopics against SPEC.md and sfdc/metadata.

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// specTopicsNotBuilt are the PushTopics of SPEC §2 whose objects no issue
// has built yet.
var specTopicsNotBuilt = []string{"SwitchboardCampaigns"} // Message_Campaign__c

type specTopic struct{ name, query, notify string }

// parseSpecTopics reads SPEC §2's table: name, query, notify.
func parseSpecTopics(md string) ([]specTopic, error) {
	var out []specTopic
	in := false
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "## ") {
			in = strings.HasPrefix(l, "## 2.")
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(l), "|"), "|")
		if !in || !strings.HasPrefix(strings.TrimSpace(l), "|") || len(cells) < 3 {
			continue
		}
		name := specTickRE.FindStringSubmatch(cells[0])
		query := specTickRE.FindStringSubmatch(cells[1])
		if name == nil || query == nil {
			continue // the header and its rule
		}
		out = append(out, specTopic{name[1], query[1], strings.TrimSpace(strings.Join(cells[2:], "|"))})
	}
	if len(out) == 0 {
		return nil, errors.New("SPEC §2 has no PushTopic table")
	}
	return out, nil
}

// compareTopicsWithSpecDoc: SpecTopics are SPEC §2's topics, query for
// query, less those not built yet.
func compareTopicsWithSpecDoc(topics []TopicSpec, doc []specTopic) []string {
	var out []string
	for _, d := range doc {
		if slices.Contains(specTopicsNotBuilt, d.name) {
			continue
		}
		i := slices.IndexFunc(topics, func(t TopicSpec) bool { return t.Name == d.name })
		switch {
		case i < 0:
			out = append(out, fmt.Sprintf("PushTopic %s: in SPEC §2 but not in SpecTopics", d.name))
			continue
		case topics[i].Query != d.query:
			out = append(out, fmt.Sprintf("PushTopic %s: query %q, SPEC §2 says %q", d.name, topics[i].Query, d.query))
		}
		if !strings.Contains(d.notify, "create, update") || !strings.Contains(d.notify, "`Referenced`") {
			out = append(out, fmt.Sprintf("PushTopic %s: SPEC §2 notifies %q; setup creates every topic for create and update, fields Referenced", d.name, d.notify))
		}
	}
	for _, t := range topics {
		if !slices.ContainsFunc(doc, func(d specTopic) bool { return d.name == t.Name }) {
			out = append(out, fmt.Sprintf("PushTopic %s: in SpecTopics but not in SPEC §2", t.Name))
		}
	}
	return out
}

// checkTopicFields: every field a topic's query references is in its
// Fields (which setup uses to skip a topic whose fields are missing) and in
// sfdc/metadata, and the object streams.
func checkTopicFields(p *mdProject, topics []TopicSpec) []string {
	var out []string
	identRE := regexp.MustCompile(`\b[A-Za-z][A-Za-z0-9_]*__c\b`)
	for _, t := range topics {
		for _, f := range identRE.FindAllString(t.Query, -1) {
			if f == t.Object {
				continue
			}
			if !slices.Contains(t.Fields, f) {
				out = append(out, fmt.Sprintf("PushTopic %s: the query uses %s, which its Fields do not list", t.Name, f))
			}
		}
		o := p.Objects[metadataDirFor(t.Object)]
		if o == nil {
			out = append(out, fmt.Sprintf("PushTopic %s: object %s is not in sfdc/metadata", t.Name, t.Object))
			continue
		}
		for _, f := range t.Fields {
			if o.Fields[f] == nil {
				out = append(out, fmt.Sprintf("PushTopic %s: %s.%s is not in sfdc/metadata", t.Name, t.Object, f))
			}
		}
	}
	return out
}

func TestSpecTopicsMatchSpecDoc(t *testing.T) {
	path, md := readSpecDoc(t)
	doc, err := parseSpecTopics(md)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	reportProblems(t, compareTopicsWithSpecDoc(SpecTopics(), doc))
}

func TestSpecTopicsUseMetadataFields(t *testing.T) {
	reportProblems(t, checkTopicFields(mustLoadMetadata(t), SpecTopics()))
}

// The topic checks catch a drifted query, a missing topic and a field the
// metadata lacks.
func TestTopicChecksReportMistakes(t *testing.T) {
	doc, err := parseSpecTopics("## 2. PushTopics\n| Name | Query | notify |\n|---|---|---|\n" +
		"| `SwitchboardTasks` | `" + QueryTasks + "` | create, update; fields `Referenced` |\n" +
		"| `SwitchboardChat` | `SELECT Id FROM Task` | create, update; fields `Referenced` |\n" +
		"| `SwitchboardCampaigns` | `SELECT Id FROM Message_Campaign__c` | create, update; fields `Referenced` |\n" +
		"| `SwitchboardNew` | `SELECT Id FROM Task` | create; fields `All` |\n## 3. Next\n| `Ignored` | `SELECT Id FROM Task` | x |\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(doc) != 4 {
		t.Fatalf("parsed %+v", doc)
	}
	got := compareTopicsWithSpecDoc(SpecTopics(), doc)
	want := []string{
		`PushTopic SwitchboardChat: query "` + QueryChat + `", SPEC §2 says "SELECT Id FROM Task"`,
		"PushTopic SwitchboardNew: in SPEC §2 but not in SpecTopics",
		"PushTopic SwitchboardConversations: in SpecTopics but not in SPEC §2",
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("no problem %q in %q", w, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("problems %q, want exactly %q", got, want)
	}

	p := mustLoadMetadata(t)
	delete(p.Objects["Activity"].Fields, "Conversation__c")
	bad := []TopicSpec{{Name: "X", Query: "SELECT Id, Conversation__c, Message_Type__c FROM Task", Object: "Task", Fields: []string{"Conversation__c"}}}
	got = checkTopicFields(p, bad)
	for _, w := range []string{"PushTopic X: the query uses Message_Type__c, which its Fields do not list", "PushTopic X: Task.Conversation__c is not in sfdc/metadata"} {
		if !slices.Contains(got, w) {
			t.Errorf("no problem %q in %q", w, got)
		}
	}
}
