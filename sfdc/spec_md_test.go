package sfdc

// SPEC §1 read from SPEC.md, and compared with sfdc/metadata and SpecSchema.

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ---------------------------------------------------------------------------
// SPEC §1, read from SPEC.md: the table for Task, prose for the others.

type specField struct {
	Name     string
	TypeText string // what SPEC says about the type, as written
	MetaType string // Metadata API type SPEC fixes; "" where SPEC is silent
	Standard bool   // a standard field SPEC only refers to
	Length   int
	Ref      string
	External bool
	Unique   bool
	Picklist []string
	Default  string
}

type specObject struct {
	Name   string
	Fields []*specField
}

func (o *specObject) field(name string) *specField {
	for _, f := range o.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

var (
	specLookupRE  = regexp.MustCompile(`(?i)^lookup\s*\(?\s*([A-Za-z][A-Za-z0-9_]*)`)
	specTextRE    = regexp.MustCompile(`(?i)^text\s*\((\d+)\)`)
	specDefaultRE = regexp.MustCompile(`(?i)\bdefault\s+([0-9.]+|true|false|\S+?)\s*$`)
	specTickRE    = regexp.MustCompile("`([^`]*)`")
	specValuesRE  = regexp.MustCompile("^`([A-Za-z][A-Za-z0-9_]*)` values")
	specGainsRE   = regexp.MustCompile("^`([A-Za-z][A-Za-z0-9_]*)` gains (.*)")
)

// parseSpecType reads a type description like "Text(34), External ID,
// Unique", "Lookup(Conversation__c)", "Picklist `Open`, `Closed`" or
// "Number, default 1600". Text after the first colon is meaning, not type.
func parseSpecType(text string) specField {
	var f specField
	f.TypeText = strings.Join(strings.Fields(text), " ")
	head, _, _ := strings.Cut(f.TypeText, ":")
	lower := strings.ToLower(head)
	if lower == "standard" || strings.Contains(lower, "(standard)") {
		f.Standard = true
		return f
	}
	switch {
	case strings.HasPrefix(lower, "lookup"):
		f.MetaType = "Lookup"
		if m := specLookupRE.FindStringSubmatch(head); m != nil {
			f.Ref = m[1]
		}
	case strings.HasPrefix(lower, "master-detail"):
		f.MetaType = "MasterDetail"
	case strings.HasPrefix(lower, "picklist"):
		f.MetaType = "Picklist"
		for _, m := range specTickRE.FindAllStringSubmatch(f.TypeText, -1) {
			f.Picklist = append(f.Picklist, m[1])
		}
	case strings.HasPrefix(lower, "long text"):
		f.MetaType = "LongTextArea"
	case strings.HasPrefix(lower, "text"):
		f.MetaType = "Text"
		if m := specTextRE.FindStringSubmatch(head); m != nil {
			f.Length, _ = strconv.Atoi(m[1])
		}
	case strings.HasPrefix(lower, "phone"):
		f.MetaType = "Phone"
	case strings.HasPrefix(lower, "datetime"):
		f.MetaType = "DateTime"
	case strings.HasPrefix(lower, "number"):
		f.MetaType = "Number"
	case strings.HasPrefix(lower, "checkbox"):
		f.MetaType = "Checkbox"
	case strings.HasPrefix(lower, "auto-number"), strings.HasPrefix(lower, "autonumber"):
		f.MetaType = "AutoNumber"
	}
	if f.MetaType == "" {
		return f
	}
	f.External = strings.Contains(lower, "external id")
	f.Unique = strings.Contains(lower, "unique")
	if m := specDefaultRE.FindStringSubmatch(head); m != nil {
		f.Default = m[1]
	}
	return f
}

// isSpecFieldName tells field names from the other code spans of the prose
// (values like `Closed`, commands like `setup`).
func isSpecFieldName(tok string) bool {
	if !identifierRE.MatchString(tok) {
		return false
	}
	return isCustomName(tok) || slices.Contains(standardFields["Task"], tok) || slices.Contains(standardFields[""], tok)
}

// parseSpecSchema extracts SPEC §1 and §1a ("## 1." and "## 1a.", each up
// to the next "## ") from the SPEC markdown. §1a's "`Field` gains `Value`"
// lines add values to the §1 picklist of that name. Which parts of §1a are
// built yet is not this function's business: see specNotBuilt.
func parseSpecSchema(md string) ([]*specObject, error) {
	lines := strings.Split(md, "\n")
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "## 1.") }) {
		return nil, errors.New(`SPEC has no "## 1." section`)
	}
	var objects []*specObject
	var section []string
	var heading string
	gains := map[string][]string{} // picklist field → values §1a adds
	var gainOrder []string
	flush := func() error {
		if heading == "" {
			return nil
		}
		objs, err := parseSpecSection(heading, section)
		objects = append(objects, objs...)
		heading, section = "", nil
		return err
	}
	in := false
	for _, l := range lines {
		if strings.HasPrefix(l, "## ") {
			if err := flush(); err != nil {
				return nil, err
			}
			in = strings.HasPrefix(l, "## 1.") || strings.HasPrefix(l, "## 1a.")
			continue
		}
		if !in {
			continue
		}
		if h, ok := strings.CutPrefix(l, "### "); ok {
			if err := flush(); err != nil {
				return nil, err
			}
			heading, section = h, nil
			continue
		}
		if heading == "" {
			if m := specGainsRE.FindStringSubmatch(l); m != nil {
				head, _, _ := strings.Cut(m[2], "(")
				for _, v := range specTickRE.FindAllStringSubmatch(head, -1) {
					gains[m[1]] = append(gains[m[1]], v[1])
				}
				gainOrder = append(gainOrder, m[1])
			}
			continue
		}
		section = append(section, l)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(objects) == 0 {
		return nil, errors.New("SPEC §1 names no objects")
	}
	for _, name := range gainOrder {
		found := false
		for _, o := range objects {
			if f := o.field(name); f != nil && f.MetaType == "Picklist" {
				for _, v := range gains[name] {
					if !slices.Contains(f.Picklist, v) {
						f.Picklist = append(f.Picklist, v)
					}
				}
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("SPEC §1a: `%s` gains values, but no picklist of SPEC §1 has that name", name)
		}
	}
	return objects, nil
}

// specNotBuilt are the parts of SPEC §1a no issue has built yet, so
// sfdc/metadata has none of them; the SPEC comparisons leave them out. An
// object listed with no fields is left out whole. Whoever builds one removes
// it here (and the comparisons then hold the metadata to it).
var specNotBuilt = map[string][]string{
	"ContentVersion": nil, // Media_Sid__c: inbound and outbound media
	// Campaigns. SPEC names the campaign fields of Task (Message_Campaign__c,
	// Campaign_Member_Key__c) in this object's section, so they are parsed
	// as its fields and left out with it; when campaigns are built they
	// belong to Task.
	"Message_Campaign__c": nil,
}

// withoutNotBuilt drops specNotBuilt from a parsed SPEC.
func withoutNotBuilt(spec []*specObject) []*specObject {
	var out []*specObject
	for _, o := range spec {
		fields, listed := specNotBuilt[o.Name]
		if listed && len(fields) == 0 {
			continue
		}
		o.Fields = slices.DeleteFunc(o.Fields, func(f *specField) bool { return slices.Contains(fields, f.Name) })
		out = append(out, o)
	}
	return out
}

// parseSpecSection reads one "### Object — meaning" (or "### A / B")
// subsection.
func parseSpecSection(heading string, lines []string) ([]*specObject, error) {
	sec := &specSection{heading: heading}
	if err := sec.readHeading(); err != nil {
		return nil, err
	}
	prose, below := sec.readTables(lines)
	if err := sec.readProse(strings.Join(prose, "\n")); err != nil {
		return nil, err
	}
	return sec.finish(below)
}

// specSection is one subsection of SPEC §1 being read: its heading and the
// objects it names, with the fields found so far.
type specSection struct {
	heading string
	objs    []*specObject
}

// readHeading takes the objects from "### Object — meaning" or "### A / B".
func (sec *specSection) readHeading() error {
	title, _, _ := strings.Cut(sec.heading, " — ")
	for _, part := range strings.Split(title, "/") {
		name := strings.Fields(strings.Trim(strings.TrimSpace(part), "`"))
		if len(name) == 0 || !identifierRE.MatchString(strings.Trim(name[0], "`")) {
			return fmt.Errorf("SPEC §1 heading %q: cannot read the object name", sec.heading)
		}
		sec.objs = append(sec.objs, &specObject{Name: strings.Trim(name[0], "`")})
	}
	return nil
}

func (sec *specSection) byName(n string) *specObject {
	for _, o := range sec.objs {
		if o.Name == n {
			return o
		}
	}
	return nil
}

// add records a field at its first mention; later mentions are prose about
// the field.
func (sec *specSection) add(o *specObject, name, typeText string) {
	if o.field(name) != nil {
		return
	}
	f := parseSpecType(typeText)
	f.Name = name
	o.Fields = append(o.Fields, &f)
}

// readTables reads the "| field | type |" rows into the first object and
// the "values of `Field`" paragraphs; it returns the other lines (prose)
// and the picklist values listed below their field.
func (sec *specSection) readTables(lines []string) (prose []string, below map[string][]string) {
	below = map[string][]string{}
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		switch {
		case strings.HasPrefix(l, "|"):
			cells := strings.Split(strings.Trim(l, "|"), "|")
			if len(cells) < 2 || strings.TrimSpace(cells[0]) == "field" || strings.Trim(strings.TrimSpace(cells[0]), "-: ") == "" {
				continue
			}
			for _, m := range specTickRE.FindAllStringSubmatch(cells[0], -1) {
				sec.add(sec.objs[0], m[1], cells[1])
			}
		case specValuesRE.MatchString(l):
			field := specValuesRE.FindStringSubmatch(l)[1]
			para := l
			for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
				i++
				para += " " + strings.TrimSpace(lines[i])
			}
			for _, m := range specTickRE.FindAllStringSubmatch(para, -1)[1:] {
				below[field] = append(below[field], m[1])
			}
		default:
			prose = append(prose, lines[i])
		}
	}
	return prose, below
}

// readProse reads `Field` (type, meaning) items; "`Object`:" switches the
// object they belong to.
func (sec *specSection) readProse(text string) error {
	cur := sec.objs[0]
	depth := 0
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '(':
			depth++
		case c == ')':
			depth = max(depth-1, 0)
		case c == '`' && depth == 0:
			j := strings.IndexByte(text[i+1:], '`')
			if j < 0 {
				return fmt.Errorf("SPEC §1 %q: unbalanced backtick", sec.heading)
			}
			tok := text[i+1 : i+1+j]
			i += j + 1
			rest := text[i+1:]
			if o := sec.byName(tok); o != nil && strings.HasPrefix(rest, ":") {
				cur = o
				continue
			}
			if !isSpecFieldName(tok) {
				continue
			}
			typeText, end, err := sec.parenthesised(text, i+1, tok)
			if err != nil {
				return err
			}
			i = end
			sec.add(cur, tok, typeText)
		}
	}
	return nil
}

// parenthesised returns the "(…)" that follows a field name at text[from:]
// (nested parentheses included) and where it ends; "" and from-1 when none
// follows.
func (sec *specSection) parenthesised(text string, from int, tok string) (string, int, error) {
	rest := text[from:]
	trimmed := strings.TrimLeft(rest, " \t\n")
	if !strings.HasPrefix(trimmed, "(") {
		return "", from - 1, nil
	}
	open := from + len(rest) - len(trimmed)
	d, k := 0, open
	for ; k < len(text); k++ {
		if text[k] == '(' {
			d++
		} else if text[k] == ')' {
			d--
			if d == 0 {
				break
			}
		}
	}
	if k == len(text) {
		return "", 0, fmt.Errorf("SPEC §1 %q: unbalanced parenthesis after `%s`", sec.heading, tok)
	}
	return text[open+1 : k], k, nil
}

// finish fills picklists listed below their field and lookups named after
// their target, and refuses an object without fields.
func (sec *specSection) finish(below map[string][]string) ([]*specObject, error) {
	for _, o := range sec.objs {
		for _, f := range o.Fields {
			if v, ok := below[f.Name]; ok && f.MetaType == "Picklist" && len(f.Picklist) == 0 {
				f.Picklist = v
			}
			if (f.MetaType == "Lookup" || f.MetaType == "MasterDetail") && f.Ref == "" {
				// "`Channel_Type__c` (Lookup)": the field is named after its target.
				f.Ref = f.Name
			}
		}
		if len(o.Fields) == 0 {
			return nil, fmt.Errorf("SPEC §1 %s: no fields found", o.Name)
		}
	}
	return sec.objs, nil
}

// compareWithSpecDoc checks the metadata against SPEC §1 as parsed.
func compareWithSpecDoc(p *mdProject, spec []*specObject) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	inSpec := map[string]bool{}
	for _, o := range spec {
		inSpec[metadataDirFor(o.Name)] = true
	}
	for _, dir := range slices.Sorted(mapKeys(p.Objects)) {
		if !inSpec[dir] {
			bad("%s: object in sfdc/metadata but not in SPEC §1", sObjectFor(dir))
		}
	}
	for _, so := range spec {
		o := p.Objects[metadataDirFor(so.Name)]
		if o == nil {
			bad("%s: object in SPEC §1 but missing from sfdc/metadata", so.Name)
			continue
		}
		for _, name := range slices.Sorted(mapKeys(o.Fields)) {
			if so.field(name) == nil {
				bad("%s.%s: field in sfdc/metadata but not in SPEC §1", so.Name, name)
			}
		}
		for _, sf := range so.Fields {
			where := so.Name + "." + sf.Name
			if !isCustomName(sf.Name) {
				out = append(out, checkStandardField(o, so.Name, sf.Name)...)
				if sf.Name == "Name" && sf.MetaType != "" && o.Def != nil && o.Def.NameField.Type != sf.MetaType {
					bad("%s: SPEC says %q (%s), metadata nameField is %s", where, sf.TypeText, sf.MetaType, o.Def.NameField.Type)
				}
				continue
			}
			if sf.Standard {
				bad("%s: SPEC calls a custom (__c) field standard", where)
				continue
			}
			f := o.Fields[sf.Name]
			if f == nil {
				bad("%s: field in SPEC §1 but missing from sfdc/metadata", where)
				continue
			}
			if sf.MetaType == "" {
				continue // SPEC is silent about the type
			}
			if f.Type != sf.MetaType {
				bad("%s: type: SPEC says %q (%s), metadata has %s", where, sf.TypeText, sf.MetaType, f.Type)
			}
			if sf.Length != 0 && f.Length != sf.Length {
				bad("%s: length: SPEC says %q, metadata has %d", where, sf.TypeText, f.Length)
			}
			if sf.Ref != "" && f.ReferenceTo != sf.Ref {
				bad("%s: lookup target: SPEC says %s, metadata refers to %q", where, sf.Ref, f.ReferenceTo)
			}
			if sf.External != f.ExternalID {
				bad("%s: External ID: SPEC says %q, metadata externalId=%t", where, sf.TypeText, f.ExternalID)
			}
			if sf.Unique != f.Unique {
				bad("%s: Unique: SPEC says %q, metadata unique=%t", where, sf.TypeText, f.Unique)
			}
			if sf.MetaType == "Picklist" {
				if d := diffValues(f.picklistValues(), sf.Picklist); d != "" {
					bad("%s: picklist values differ from SPEC: %s", where, d)
				}
			}
			if sf.Default != "" && f.DefaultValue != sf.Default {
				bad("%s: default: SPEC says %q, metadata defaultValue is %q", where, sf.Default, f.DefaultValue)
			}
		}
	}
	return out
}

// compareSpecSchemaWithSpecDoc reports where the code's copy of SPEC §1
// disagrees with SPEC.md. Problems are disagreements; notes are types SPEC
// fixes that SpecSchema leaves open or marks AnyType (so setup does not
// check them).
func compareSpecSchemaWithSpecDoc(schema []ObjectSpec, spec []*specObject) (problems, notes []string) {
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	byName := map[string]ObjectSpec{}
	for _, o := range schema {
		byName[o.Name] = o
	}
	var specNames []string
	for _, so := range spec {
		specNames = append(specNames, so.Name)
		obj, ok := byName[so.Name]
		if !ok {
			bad("%s: in SPEC §1 but not in SpecSchema", so.Name)
			continue
		}
		var schemaFields []string
		for _, fs := range obj.Fields {
			schemaFields = append(schemaFields, fs.Name)
		}
		var docFields []string
		for _, sf := range so.Fields {
			docFields = append(docFields, sf.Name)
		}
		missing, extra := setDiff(docFields, schemaFields)
		for _, m := range missing {
			bad("%s.%s: in SPEC §1 but not in SpecSchema", so.Name, m)
		}
		for _, m := range extra {
			bad("%s.%s: in SpecSchema but not in SPEC §1", so.Name, m)
		}
		for _, fs := range obj.Fields {
			sf := so.field(fs.Name)
			if sf == nil {
				continue
			}
			where := so.Name + "." + fs.Name
			docType := describeType(sf.MetaType)
			switch {
			case fs.Name == "Name" && sf.MetaType == "AutoNumber":
				if obj.NameFormat == "" {
					bad("%s: SPEC says %q, SpecSchema has no NameFormat", where, sf.TypeText)
				}
			case docType != "" && fs.Type != "" && docType != fs.Type:
				bad("%s: SPEC says %q (describes as %s), SpecSchema says %s", where, sf.TypeText, docType, fs.Type)
			case docType != "" && (fs.Type == "" || fs.AnyType):
				notes = append(notes, fmt.Sprintf("%s: SPEC fixes the type (%q) but SpecSchema leaves it open", where, sf.TypeText))
			}
			if sf.Ref != "" && fs.ReferenceTo != sf.Ref {
				bad("%s: SPEC says lookup to %s, SpecSchema to %q", where, sf.Ref, fs.ReferenceTo)
			}
			if (sf.External && sf.Unique) != fs.ExternalID {
				bad("%s: SPEC says %q, SpecSchema ExternalID=%t", where, sf.TypeText, fs.ExternalID)
			}
			if len(sf.Picklist) > 0 && !slices.Equal(sf.Picklist, fs.Picklist) && !sf.Standard {
				bad("%s: picklist: SPEC %s, SpecSchema %s", where, quoteAll(sf.Picklist), quoteAll(fs.Picklist))
			}
		}
	}
	var schemaNames []string
	for _, o := range schema {
		schemaNames = append(schemaNames, o.Name)
	}
	_, extra := setDiff(specNames, schemaNames)
	for _, m := range extra {
		bad("%s: in SpecSchema but not in SPEC §1", m)
	}
	return problems, notes
}
