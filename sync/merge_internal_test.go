package sync

import (
	"strings"
	"testing"
)

func TestParseMerge(t *testing.T) {
	for _, c := range []struct {
		body    string
		objects map[string][]string // lower-case object → paths
		err     string
	}{
		{body: "no fields here", objects: nil},
		{body: "braces {like this} and {!} alone", err: `"{!}"`},
		{body: "Hi {!Contact.FirstName}", objects: map[string][]string{"contact": {"FirstName"}}},
		{body: "{! Contact.FirstName } {!contact.firstname} {!Contact.Account.Name} {!Contact.Id}",
			objects: map[string][]string{"contact": {"Account.Name", "FirstName"}}},
		{body: "{!Lead.Company} {!Account.Name}", objects: map[string][]string{"lead": {"Company"}, "account": {"Name"}}},
		{body: "{!Contact}", err: `"{!Contact}"`},
		{body: "{!Contact.First Name}", err: `"{!Contact.First Name}"`},
		{body: "{!Contact.FirstName'); DELETE}", err: "not a merge field"},
		{body: "{!$User.FirstName}", err: `"{!$User.FirstName}"`},
		{body: "Hi {!Contact.FirstName", err: `"{!Contact.FirstName"`},
		{body: "x {!" + strings.Repeat("é", 60), err: "…"},
	} {
		tpl, err := parseMerge(c.body)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseMerge(%q) error = %v, want it to contain %q", c.body, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseMerge(%q): %v", c.body, err)
			continue
		}
		if c.objects == nil {
			if tpl != nil {
				t.Errorf("parseMerge(%q) = %+v, want nil", c.body, tpl)
			}
			continue
		}
		if len(tpl.objects) != len(c.objects) {
			t.Errorf("parseMerge(%q): %d objects, want %d", c.body, len(tpl.objects), len(c.objects))
		}
		for k, want := range c.objects {
			mo := tpl.objects[k]
			if mo == nil || strings.Join(mo.paths, ",") != strings.Join(want, ",") {
				t.Errorf("parseMerge(%q)[%s] = %+v, want paths %v", c.body, k, mo, want)
			}
		}
	}
}

func TestFill(t *testing.T) {
	tpl, err := parseMerge("Hi {!Contact.FirstName} ({!CONTACT.FIRSTNAME}) of {!Contact.Account.Name}{!Contact.Title}.")
	if err != nil {
		t.Fatal(err)
	}
	got := tpl.fill(map[string]map[string]string{"contact": {"firstname": "Ada", "account.name": "AE"}})
	if want := "Hi Ada (Ada) of AE."; got != want {
		t.Errorf("fill = %q, want %q", got, want)
	}
}

func TestFieldText(t *testing.T) {
	row := map[string]any{
		"Id": "003000000000001AAA", "FirstName": "Ada", "Title": nil, "Amount": 1234.5, "Count": 3.0, "Big": 12345678901.0,
		"Active": true, "Account": map[string]any{"Name": "AE", "Owner": nil},
		"attributes": map[string]any{"type": "Contact"},
	}
	for path, want := range map[string]string{
		"FirstName": "Ada", "firstname": "Ada", "Title": "", "Missing": "", "Amount": "1234.5", "Count": "3", "Big": "12345678901",
		"Active": "true", "Account.Name": "AE", "account.name": "AE", "Account.Owner.Name": "", "Account": "", "FirstName.X": "",
	} {
		if got := fieldText(row, path); got != want {
			t.Errorf("fieldText(%q) = %q, want %q", path, got, want)
		}
	}
}
