package sfdctest

import (
	"strconv"
	"strings"
	"time"
)

// The SOQL subset switchboard uses, parsed properly: a tokenizer with the
// literal escapes of ref §2.9 (soql_lex.go), a recursive-descent parser that
// resolves every field against the schema while parsing, so errors carry
// Salesforce's codes and a row/column (this file), and an evaluator over
// stored records (soql_eval.go).

var comparisonOps = map[string]bool{"=": true, "!=": true, "<>": true, "<": true, ">": true, "<=": true, ">=": true}

// fieldPath is a resolved field reference: the lookup fields traversed
// (Conversation__c for Conversation__r) and the final field.
type fieldPath struct {
	text string
	rels []*field
	f    *field
}

type query struct {
	obj    *object
	count  bool
	fields []*fieldPath
	where  expr
	order  []orderItem
	limit  int // -1: none
	offset int
	// keywords seen, for PushTopic rules (ref §4.2)
	hasNot bool
}

type orderItem struct {
	path       *fieldPath
	desc       bool
	nullsFirst bool
}

type parser struct {
	d    *db
	toks []token
	i    int
	lx   *lexer
}

var reserved = map[string]bool{"SELECT": true, "FROM": true, "WHERE": true, "AND": true, "OR": true, "NOT": true,
	"IN": true, "LIKE": true, "ORDER": true, "BY": true, "LIMIT": true, "OFFSET": true, "NULL": true,
	"TRUE": true, "FALSE": true, "GROUP": true, "HAVING": true, "ASC": true, "DESC": true, "NULLS": true}

// parseSOQL parses and resolves src against the schema.
func (d *db) parseSOQL(src string) (*query, *soqlError) {
	lx := &lexer{src: src}
	toks, err := lx.tokens()
	if err != nil {
		return nil, err
	}
	p := &parser{d: d, toks: toks, lx: lx}
	return p.query()
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *parser) isKw(kw string) bool {
	t := p.peek()
	return t.kind == tkIdent && strings.EqualFold(t.text, kw)
}

func (p *parser) unexpected(t token) *soqlError {
	if t.kind == tkEOF {
		return p.lx.errAt(t.pos, "MALFORMED_QUERY", "unexpected token: <EOF>")
	}
	text := t.text
	if t.kind == tkString {
		text = p.lx.src[t.pos:]
		if end := strings.IndexByte(text[1:], '\''); end >= 0 {
			text = text[:end+2]
		}
	}
	return p.lx.errAt(t.pos, "MALFORMED_QUERY", "unexpected token: '%s'", text)
}

func (p *parser) expectKw(kw string) *soqlError {
	if !p.isKw(kw) {
		return p.unexpected(p.peek())
	}
	p.i++
	return nil
}

func (p *parser) expectPunct(s string) *soqlError {
	if t := p.peek(); t.kind != tkPunct || t.text != s {
		return p.unexpected(t)
	}
	p.i++
	return nil
}

func (p *parser) query() (*query, *soqlError) {
	q := &query{limit: -1}
	if err := p.expectKw("SELECT"); err != nil {
		return nil, err
	}
	selects, err := p.selectList(q)
	if err != nil {
		return nil, err
	}
	if err := p.from(q); err != nil {
		return nil, err
	}
	if err := p.resolveSelects(q, selects); err != nil {
		return nil, err
	}
	if p.isKw("WHERE") {
		p.i++
		w, err := p.cond(q)
		if err != nil {
			return nil, err
		}
		q.where = w
	}
	if p.isKw("ORDER") {
		p.i++
		if err := p.expectKw("BY"); err != nil {
			return nil, err
		}
		if err := p.orderBy(q); err != nil {
			return nil, err
		}
	}
	if err := p.limitAndOffset(q); err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tkEOF {
		return nil, p.unexpected(t)
	}
	return q, nil
}

// selectList reads what follows SELECT: COUNT() (which sets q.count) or the
// field names, resolved once FROM has named the object.
func (p *parser) selectList(q *query) ([]token, *soqlError) {
	if p.isKw("COUNT") && p.toks[p.i+1].kind == tkPunct && p.toks[p.i+1].text == "(" {
		p.i += 2
		if err := p.expectPunct(")"); err != nil {
			return nil, p.lx.errAt(p.peek().pos, "MALFORMED_QUERY", "only COUNT() is supported, not aggregate functions of a field")
		}
		q.count = true
		return nil, nil
	}
	var selects []token
	for {
		t := p.next()
		if t.kind != tkIdent || reserved[strings.ToUpper(t.text)] {
			return nil, p.unexpected(t)
		}
		if n := p.peek(); n.kind == tkPunct && n.text == "(" {
			return nil, p.lx.errAt(t.pos, "MALFORMED_QUERY", "aggregate functions are not supported: %s", t.text)
		}
		selects = append(selects, t)
		if n := p.peek(); n.kind != tkPunct || n.text != "," {
			return selects, nil
		}
		p.i++
	}
}

// from reads FROM and the object, which becomes q.obj.
func (p *parser) from(q *query) *soqlError {
	if err := p.expectKw("FROM"); err != nil {
		return err
	}
	ot := p.next()
	q.obj = p.d.object(ot.text)
	// "Group" is both an object and a keyword; only a non-object keyword is
	// a syntax error here.
	if ot.kind != tkIdent || (q.obj == nil && reserved[strings.ToUpper(ot.text)]) {
		return p.unexpected(ot)
	}
	if q.obj == nil {
		return p.lx.errAt(ot.pos, "INVALID_TYPE", "sObject type '%s' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", ot.text)
	}
	return nil
}

// resolveSelects resolves the selected fields against q.obj; a field
// selected twice is an error.
func (p *parser) resolveSelects(q *query, selects []token) *soqlError {
	seen := map[string]bool{}
	for _, t := range selects {
		fp, err := p.resolve(q.obj, t)
		if err != nil {
			return err
		}
		key := strings.ToLower(fp.text)
		if seen[key] {
			return p.lx.errAt(t.pos, "MALFORMED_QUERY", "duplicate field selected: %s", t.text)
		}
		seen[key] = true
		q.fields = append(q.fields, fp)
	}
	return nil
}

// orderBy reads the items after ORDER BY: a field, ASC or DESC, and NULLS
// FIRST or LAST (by default nulls come first ascending, last descending).
func (p *parser) orderBy(q *query) *soqlError {
	for {
		t := p.next()
		if t.kind != tkIdent || reserved[strings.ToUpper(t.text)] {
			return p.unexpected(t)
		}
		fp, err := p.resolve(q.obj, t)
		if err != nil {
			return err
		}
		it := orderItem{path: fp}
		if p.isKw("ASC") {
			p.i++
		} else if p.isKw("DESC") {
			p.i++
			it.desc = true
		}
		it.nullsFirst = !it.desc
		if p.isKw("NULLS") {
			p.i++
			switch {
			case p.isKw("FIRST"):
				it.nullsFirst = true
			case p.isKw("LAST"):
				it.nullsFirst = false
			default:
				return p.unexpected(p.peek())
			}
			p.i++
		}
		q.order = append(q.order, it)
		if n := p.peek(); n.kind != tkPunct || n.text != "," {
			return nil
		}
		p.i++
	}
}

// limitAndOffset reads LIMIT n and OFFSET n, in that order, each optional.
func (p *parser) limitAndOffset(q *query) *soqlError {
	for _, kw := range []string{"LIMIT", "OFFSET"} {
		if !p.isKw(kw) {
			continue
		}
		p.i++
		t := p.next()
		n, err := strconv.Atoi(t.text)
		if t.kind != tkNumber || err != nil || n < 0 {
			return p.unexpected(t)
		}
		if kw == "LIMIT" {
			q.limit = n
		} else {
			q.offset = n
		}
	}
	return nil
}

// resolve turns a dotted name into a field path. A leading object name
// (Task.Subject) is allowed, as in SOQL.
func (p *parser) resolve(obj *object, t token) (*fieldPath, *soqlError) {
	parts := strings.Split(t.text, ".")
	if len(parts) > 1 && strings.EqualFold(parts[0], obj.Name) {
		parts = parts[1:]
	}
	fp, badRel, cur := p.d.relPath(obj, parts)
	if badRel != "" {
		return nil, p.lx.errAt(t.pos, "INVALID_FIELD", "Didn't understand relationship '%s' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.", badRel)
	}
	if fp != nil {
		return fp, nil
	}
	entity := obj.Name
	if len(cur) > 0 {
		entity = cur[0].Name
	}
	return nil, p.lx.errAt(t.pos, "INVALID_FIELD", "No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", parts[len(parts)-1], entity)
}

// relPath resolves a field path relative to o: relationship names, then a
// field; polymorphic lookups resolve against any of their targets. It
// returns the relationship name it did not understand, or (with a nil
// path) the objects the last part was looked up on.
func (d *db) relPath(o *object, parts []string) (fp *fieldPath, badRel string, cur []*object) {
	fp = &fieldPath{text: strings.Join(parts, ".")}
	cur = []*object{o}
	for _, rel := range parts[:len(parts)-1] {
		var f *field
		for _, c := range cur {
			if f = c.byRel[strings.ToLower(rel)]; f != nil {
				break
			}
		}
		if f == nil {
			return nil, rel, nil
		}
		fp.rels = append(fp.rels, f)
		cur = nil
		for _, to := range f.ReferenceTo {
			if t := d.object(to); t != nil {
				cur = append(cur, t)
			}
		}
	}
	for _, c := range cur {
		if fp.f = c.field(parts[len(parts)-1]); fp.f != nil {
			return fp, "", cur
		}
	}
	return nil, "", cur
}

// cond parses a condition. SOQL refuses AND and OR mixed at one level
// without parentheses, so this does too.
func (p *parser) cond(q *query) (expr, *soqlError) {
	left, err := p.unary(q)
	if err != nil {
		return nil, err
	}
	op := ""
	for p.isKw("AND") || p.isKw("OR") {
		t := p.next()
		kw := strings.ToUpper(t.text)
		if op != "" && kw != op {
			return nil, p.unexpected(t)
		}
		op = kw
		right, err := p.unary(q)
		if err != nil {
			return nil, err
		}
		if op == "AND" {
			left = andExpr{left, right}
		} else {
			left = orExpr{left, right}
		}
	}
	return left, nil
}

func (p *parser) unary(q *query) (expr, *soqlError) {
	if p.isKw("NOT") {
		p.i++
		q.hasNot = true
		e, err := p.unary(q)
		if err != nil {
			return nil, err
		}
		return notExpr{e}, nil
	}
	if t := p.peek(); t.kind == tkPunct && t.text == "(" {
		p.i++
		e, err := p.cond(q)
		if err != nil {
			return nil, err
		}
		if err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		return e, nil
	}
	return p.comparison(q)
}

func (p *parser) comparison(q *query) (expr, *soqlError) {
	ft := p.next()
	if ft.kind != tkIdent || reserved[strings.ToUpper(ft.text)] {
		return nil, p.unexpected(ft)
	}
	fp, err := p.resolve(q.obj, ft)
	if err != nil {
		return nil, err
	}
	if !fp.f.filterable() {
		return nil, p.lx.errAt(ft.pos, "INVALID_FIELD", "field '%s' can not be filtered in a query call", fp.f.Name)
	}
	e := cmpExpr{path: fp}
	t := p.next()
	switch {
	case t.kind == tkPunct && comparisonOps[t.text]:
		e.op = t.text
		if e.op == "<>" {
			e.op = "!="
		}
		v, err := p.literal(fp)
		if err != nil {
			return nil, err
		}
		if v == nil && e.op != "=" && e.op != "!=" {
			return nil, p.lx.errAt(t.pos, "MALFORMED_QUERY", "invalid operator on null: %s", t.text)
		}
		e.vals = []any{v}
	case t.kind == tkIdent && strings.EqualFold(t.text, "LIKE"):
		e.op = "LIKE"
		lt := p.next()
		if lt.kind != tkString {
			return nil, p.unexpected(lt)
		}
		if !fp.f.isText() {
			return nil, p.lx.errAt(ft.pos, "INVALID_FIELD", "invalid operator on field '%s': LIKE", fp.f.Name)
		}
		e.pat = lt.pat
	case t.kind == tkIdent && (strings.EqualFold(t.text, "IN") || strings.EqualFold(t.text, "NOT")):
		e.op = "IN"
		if strings.EqualFold(t.text, "NOT") {
			if err := p.expectKw("IN"); err != nil {
				return nil, err
			}
			e.op = "NOTIN"
		}
		if err := p.expectPunct("("); err != nil {
			return nil, err
		}
		for {
			v, err := p.literal(fp)
			if err != nil {
				return nil, err
			}
			e.vals = append(e.vals, v)
			n := p.next()
			if n.kind == tkPunct && n.text == ")" {
				break
			}
			if n.kind != tkPunct || n.text != "," {
				return nil, p.unexpected(n)
			}
		}
	default:
		return nil, p.unexpected(t)
	}
	return e, nil
}

// literal reads one value and converts it to the stored form of f, with
// Salesforce's complaint when the literal's kind does not fit the field.
func (p *parser) literal(fp *fieldPath) (any, *soqlError) {
	t := p.next()
	f := fp.f
	if t.kind == tkIdent && strings.EqualFold(t.text, "NULL") {
		return nil, nil
	}
	bad := func(want string, quoted bool) *soqlError {
		how := "should be enclosed in quotes"
		if !quoted {
			how = "should not be enclosed in quotes"
		}
		return p.lx.errAt(t.pos, "INVALID_FIELD", "value of filter criterion for field '%s' must be of type %s and %s", f.Name, want, how)
	}
	switch f.Type {
	case tBoolean:
		if t.kind == tkIdent && (strings.EqualFold(t.text, "TRUE") || strings.EqualFold(t.text, "FALSE")) {
			return strings.EqualFold(t.text, "TRUE"), nil
		}
		if t.kind == tkIdent {
			return nil, p.unexpected(t)
		}
		return nil, bad("boolean", false)
	case tDouble:
		if t.kind == tkNumber {
			n, _ := strconv.ParseFloat(t.text, 64)
			return n, nil
		}
		if t.kind == tkIdent {
			return nil, p.unexpected(t)
		}
		return nil, bad("double", false)
	case tDatetime:
		if t.kind == tkDatetime {
			ts, err := time.Parse(time.RFC3339Nano, t.text)
			if err != nil {
				return nil, p.lx.errAt(t.pos, "INVALID_FIELD", "invalid datetime literal: %s", t.text)
			}
			return ts.UTC(), nil
		}
		if t.kind == tkIdent {
			return nil, p.unexpected(t)
		}
		return nil, bad("dateTime", false)
	case tDate:
		if t.kind == tkDate {
			if _, err := time.Parse(time.DateOnly, t.text); err != nil {
				return nil, p.lx.errAt(t.pos, "INVALID_FIELD", "invalid date literal: %s", t.text)
			}
			return t.text, nil
		}
		if t.kind == tkIdent {
			return nil, p.unexpected(t)
		}
		return nil, bad("date", false)
	}
	if t.kind != tkString {
		if t.kind == tkIdent || t.kind == tkPunct || t.kind == tkEOF {
			return nil, p.unexpected(t)
		}
		return nil, bad("string", true)
	}
	if f.isID() {
		// An ill-formed Id literal simply matches nothing here; real orgs
		// may refuse it with INVALID_QUERY_FILTER_OPERATOR.
		if id, ok := canonicalID(t.text); ok {
			return id, nil
		}
	}
	return t.text, nil
}
