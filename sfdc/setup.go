package sfdc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboard/switchboard/sfdc/schema"
	"github.com/switchboard/switchboard/sfdc/soql"
	sbsync "github.com/switchboard/switchboard/sync"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
)

// The PushTopics of SPEC §2. Subscribers listen on "/topic/" + name.
// TopicChat is for the chat components (lightning/empApi) only: the
// sidecar creates it but does not subscribe.
const (
	TopicTasks         = "SwitchboardTasks"
	TopicConversations = "SwitchboardConversations"
	TopicChat          = "SwitchboardChat"

	QueryTasks         = "SELECT Id, Message_Type__c, Message_Status__c, Conversation__c FROM Task WHERE " + sbsync.PendingOutboundWhere
	QueryConversations = "SELECT Id, Status__c, Record_Id__c, Channel__c, Message_Recipient__c FROM Conversation__c"
	QueryChat          = "SELECT Id, Conversation__c, Message_Type__c, Message_Status__c FROM Task WHERE Conversation__c != null"
)

// FieldSpec is one field SPEC §1 requires, ObjectSpec one object: the
// contract's types, in the leaf package sfdc/schema that the simulated org
// reads too.
type (
	FieldSpec  = schema.Field
	ObjectSpec = schema.Object
)

// SpecSchema returns the schema of SPEC §1 and of the parts of §1a that
// sfdc/metadata has (a fresh copy each call), for Setup, `doctor` and the
// metadata tests.
func SpecSchema() []ObjectSpec { return schema.Objects() }

// DefaultExternalChannels are the phone fields `setup` registers (SPEC §1),
// as object and field API names.
func DefaultExternalChannels() [][2]string {
	return [][2]string{{"Contact", "MobilePhone"}, {"Contact", "Phone"}, {"Lead", "MobilePhone"}, {"Lead", "Phone"}, {"Account", "Phone"}}
}

// Problem is a gap between the org and SPEC §1, named by API names.
type Problem struct {
	Object string
	Field  string // empty when the object itself is missing
	Value  string // the missing picklist value, if that is the problem
	Detail string
}

func (p Problem) String() string {
	s := p.Object
	if p.Field != "" {
		s += "." + p.Field
	}
	if p.Value != "" {
		s += fmt.Sprintf(" value %q", p.Value)
	}
	return s + ": " + p.Detail
}

// Report says what Setup did and what it found missing. Created, Updated,
// Unchanged and Skipped name items like "PushTopic SwitchboardTasks" or
// "External_Channel__c Contact.MobilePhone".
type Report struct {
	Created, Updated, Unchanged []string
	Skipped                     []string // not attempted because schema is missing
	Missing                     []Problem
}

// Ready reports whether the org has everything SPEC requires.
func (r Report) Ready() bool { return len(r.Missing) == 0 && len(r.Skipped) == 0 }

// Changed reports whether Setup created or updated anything.
func (r Report) Changed() bool { return len(r.Created)+len(r.Updated) > 0 }

func (r Report) String() string {
	var b strings.Builder
	if !r.Changed() {
		b.WriteString("no change\n")
	}
	for _, l := range []struct {
		label string
		items []string
	}{{"created", r.Created}, {"updated", r.Updated}, {"unchanged", r.Unchanged}, {"skipped", r.Skipped}} {
		for _, it := range l.items {
			fmt.Fprintf(&b, "%s: %s\n", l.label, it)
		}
	}
	for _, p := range r.Missing {
		fmt.Fprintf(&b, "missing: %s\n", p)
	}
	return b.String()
}

// Setup makes the org ready for switchboard: it checks the schema against
// SPEC §1, creates or updates the SPEC §2 PushTopics and creates the default
// External Channels. It is idempotent; a second run changes nothing. Work
// that depends on missing schema is skipped and listed. The error is for
// failures of the calls themselves (auth, network, refused writes); the
// report holds what was done up to then.
func Setup(ctx context.Context, c *Client, log *zap.Logger) (Report, error) {
	if log == nil {
		log = zap.NewNop()
	}
	var rep Report
	missing, err := CheckSchema(ctx, c, SpecSchema())
	rep.Missing = missing
	if err != nil {
		return rep, err
	}
	if err := setupPushTopics(ctx, c, &rep); err != nil {
		return rep, err
	}
	if err := setupExternalChannels(ctx, c, &rep); err != nil {
		return rep, err
	}
	for _, p := range rep.Missing {
		log.Warn("salesforce schema incomplete", zap.String("problem", p.String()))
	}
	log.Info("salesforce setup done", zap.Strings("created", rep.Created), zap.Strings("updated", rep.Updated),
		zap.Int("unchanged", len(rep.Unchanged)), zap.Strings("skipped", rep.Skipped), zap.Bool("ready", rep.Ready()))
	return rep, nil
}

// CheckSchema describes every object of want (a few at a time: one describe
// per object is the only REST shape that returns picklist values) and lists
// what the org lacks, in want's order.
func CheckSchema(ctx context.Context, c *Client, want []ObjectSpec) ([]Problem, error) {
	found := make([][]Problem, len(want))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, obj := range want {
		g.Go(func() error {
			d, err := c.Describe(gctx, obj.Name)
			if IsNotFound(err) {
				found[i] = []Problem{{Object: obj.Name, Detail: "object missing"}}
				return nil
			}
			if err != nil {
				return err
			}
			found[i] = compareObject(obj, d)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return slices.Concat(found...), nil
}

func compareObject(want ObjectSpec, d *ObjectDescribe) []Problem {
	var out []Problem
	for _, fs := range want.Fields {
		f, ok := d.Field(fs.Name)
		if !ok {
			out = append(out, Problem{Object: want.Name, Field: fs.Name, Detail: "field missing"})
			continue
		}
		miss := func(detail string) { out = append(out, Problem{Object: want.Name, Field: fs.Name, Detail: detail}) }
		if fs.Type != "" && !fs.AnyType && !strings.EqualFold(f.Type, fs.Type) {
			miss(fmt.Sprintf("is %s, want %s", f.Type, fs.Type))
		}
		if fs.ReferenceTo != "" && len(f.ReferenceTo) > 0 && !slices.ContainsFunc(f.ReferenceTo, func(s string) bool { return strings.EqualFold(s, fs.ReferenceTo) }) {
			miss(fmt.Sprintf("refers to %s, want %s", strings.Join(f.ReferenceTo, ", "), fs.ReferenceTo))
		}
		if fs.ExternalID && (!f.ExternalID || !f.Unique) {
			miss("must be an External ID and Unique (switchboard upserts on it)")
		}
		for _, v := range fs.Picklist {
			if !slices.ContainsFunc(f.PicklistValues, func(p PicklistValue) bool { return p.Value == v && p.Active }) {
				out = append(out, Problem{Object: want.Name, Field: fs.Name, Value: v, Detail: "picklist value missing or inactive"})
			}
		}
	}
	return out
}

// PushTopic is a PushTopic record (ref §4.1, §4.5).
type PushTopic struct {
	ID                         string  `json:"Id,omitempty"`
	Name                       string  `json:"Name"`
	Query                      string  `json:"Query"`
	APIVersion                 float64 `json:"ApiVersion"`
	IsActive                   bool    `json:"IsActive"`
	NotifyForFields            string  `json:"NotifyForFields"`
	NotifyForOperationCreate   bool    `json:"NotifyForOperationCreate"`
	NotifyForOperationUpdate   bool    `json:"NotifyForOperationUpdate"`
	NotifyForOperationDelete   bool    `json:"NotifyForOperationDelete"`
	NotifyForOperationUndelete bool    `json:"NotifyForOperationUndelete"`
}

// TopicSpec is one PushTopic of SPEC §2.
type TopicSpec struct {
	Name, Query, Object string
	Fields              []string // every field the query references
}

// SpecTopics are the PushTopics of SPEC §2 that `setup` creates and
// `doctor` checks, in SPEC order.
func SpecTopics() []TopicSpec {
	return []TopicSpec{
		{TopicTasks, QueryTasks, "Task", []string{"Message_Type__c", "Message_Status__c", "Conversation__c"}},
		{TopicConversations, QueryConversations, "Conversation__c", []string{"Status__c", "Record_Id__c", "Channel__c", "Message_Recipient__c"}},
		{TopicChat, QueryChat, "Task", []string{"Conversation__c", "Message_Type__c", "Message_Status__c"}},
	}
}

// SpecTopicNames are the names of SpecTopics.
func SpecTopicNames() []string {
	var names []string
	for _, s := range SpecTopics() {
		names = append(names, s.Name)
	}
	return names
}

func setupPushTopics(ctx context.Context, c *Client, rep *Report) error {
	version, err := strconv.ParseFloat(c.version, 64)
	if err != nil {
		return fmt.Errorf("sfdc: API version %q: %w", c.version, err)
	}
	existing, err := ListPushTopics(ctx, c, SpecTopicNames()...)
	if err != nil {
		return err
	}
	for _, s := range SpecTopics() {
		item := "PushTopic " + s.Name
		if blocked := blockingProblems(rep.Missing, s.Object, s.Fields); blocked != "" {
			rep.Skipped = append(rep.Skipped, item+" (needs "+blocked+")")
			continue
		}
		want := PushTopic{
			Name: s.Name, Query: s.Query, APIVersion: version, IsActive: true,
			NotifyForFields: "Referenced", NotifyForOperationCreate: true, NotifyForOperationUpdate: true,
		}
		i := slices.IndexFunc(existing, func(p PushTopic) bool { return p.Name == s.Name })
		switch {
		case i < 0:
			if _, err := c.Create(ctx, "PushTopic", want); err != nil {
				return fmt.Errorf("sfdc: create %s: %w", item, err)
			}
			rep.Created = append(rep.Created, item)
		case existing[i].ID != "" && sameTopic(existing[i], want):
			rep.Unchanged = append(rep.Unchanged, item)
		default:
			if err := c.Update(ctx, "PushTopic", existing[i].ID, want); err != nil {
				return fmt.Errorf("sfdc: update %s: %w", item, err)
			}
			rep.Updated = append(rep.Updated, item)
		}
	}
	return nil
}

// ListPushTopics reads the PushTopics with the given names (ref §4.5).
func ListPushTopics(ctx context.Context, c *Client, names ...string) ([]PushTopic, error) {
	in, err := soql.InList(names)
	if err != nil {
		return nil, err
	}
	var topics []PushTopic
	if err := c.Query(ctx, "SELECT Id, Name, Query, ApiVersion, IsActive, NotifyForFields, NotifyForOperationCreate, NotifyForOperationUpdate, NotifyForOperationDelete, NotifyForOperationUndelete FROM PushTopic WHERE Name IN "+in, &topics); err != nil {
		return nil, fmt.Errorf("sfdc: read PushTopics: %w", err)
	}
	return topics, nil
}

func sameTopic(have, want PushTopic) bool {
	have.ID = ""
	return have == want
}

// blockingProblems names the missing object or fields among those a step
// needs, or returns "".
func blockingProblems(missing []Problem, object string, fields []string) string {
	var names []string
	for _, p := range missing {
		if p.Object != object {
			continue
		}
		if p.Field == "" {
			return object
		}
		if p.Value == "" && slices.Contains(fields, p.Field) && p.Detail == "field missing" {
			names = append(names, object+"."+p.Field)
		}
	}
	return strings.Join(names, ", ")
}

// MissingDefaultExternalChannels lists the DefaultExternalChannels the org
// has no External_Channel__c for (one query), in their order. Object and
// field names compare case-insensitively, as API names do.
func MissingDefaultExternalChannels(ctx context.Context, c *Client) ([][2]string, error) {
	var objects []string
	for _, d := range DefaultExternalChannels() {
		if !slices.Contains(objects, d[0]) {
			objects = append(objects, d[0])
		}
	}
	in, err := soql.InList(objects)
	if err != nil {
		return nil, err
	}
	type row struct {
		Object string `json:"Object_API_Name__c"`
		Field  string `json:"Field_API_Name__c"`
	}
	var have []row
	if err := c.Query(ctx, "SELECT Object_API_Name__c, Field_API_Name__c FROM External_Channel__c WHERE Object_API_Name__c IN "+in, &have); err != nil {
		return nil, fmt.Errorf("sfdc: read External Channels: %w", err)
	}
	var missing [][2]string
	for _, d := range DefaultExternalChannels() {
		if !slices.ContainsFunc(have, func(h row) bool {
			return strings.EqualFold(h.Object, d[0]) && strings.EqualFold(h.Field, d[1])
		}) {
			missing = append(missing, d)
		}
	}
	return missing, nil
}

func setupExternalChannels(ctx context.Context, c *Client, rep *Report) error {
	if blocked := blockingProblems(rep.Missing, "External_Channel__c", []string{"Name", "Object_API_Name__c", "Field_API_Name__c"}); blocked != "" {
		rep.Skipped = append(rep.Skipped, "default External Channels (needs "+blocked+")")
		return nil
	}
	missing, err := MissingDefaultExternalChannels(ctx, c)
	if err != nil {
		return err
	}
	type channel struct {
		Name   string `json:"Name,omitempty"`
		Object string `json:"Object_API_Name__c"`
		Field  string `json:"Field_API_Name__c"`
	}
	var create []channel
	for _, d := range DefaultExternalChannels() {
		name := d[0] + "." + d[1]
		if !slices.Contains(missing, d) {
			rep.Unchanged = append(rep.Unchanged, "External_Channel__c "+name)
			continue
		}
		create = append(create, channel{Name: name, Object: d[0], Field: d[1]})
	}
	if len(create) == 0 {
		return nil
	}
	results, err := c.createMany(ctx, "External_Channel__c", create, true)
	if err != nil {
		return fmt.Errorf("sfdc: create External Channels: %w", err)
	}
	var errs []error
	for i, r := range results {
		if err := r.Err(); err != nil {
			errs = append(errs, fmt.Errorf("External_Channel__c %s: %w", create[i].Name, err))
			continue
		}
		rep.Created = append(rep.Created, "External_Channel__c "+create[i].Name)
	}
	return errors.Join(errs...)
}
