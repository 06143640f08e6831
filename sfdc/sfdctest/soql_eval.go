package sfdctest

import (
	"slices"
	"strings"
	"time"
	"unicode"
)

// The SOQL evaluator: WHERE expressions over stored records (SOQL's
// equality, ordering and LIKE), and running a parsed query to result rows.

type expr interface {
	eval(d *db, vals map[string]any) bool
	// fields appends every field path the expression reads.
	refs(out []*fieldPath) []*fieldPath
}

type andExpr struct{ l, r expr }
type orExpr struct{ l, r expr }
type notExpr struct{ e expr }

func (e andExpr) eval(d *db, v map[string]any) bool { return e.l.eval(d, v) && e.r.eval(d, v) }
func (e orExpr) eval(d *db, v map[string]any) bool  { return e.l.eval(d, v) || e.r.eval(d, v) }
func (e notExpr) eval(d *db, v map[string]any) bool { return !e.e.eval(d, v) }
func (e andExpr) refs(o []*fieldPath) []*fieldPath  { return e.r.refs(e.l.refs(o)) }
func (e orExpr) refs(o []*fieldPath) []*fieldPath   { return e.r.refs(e.l.refs(o)) }
func (e notExpr) refs(o []*fieldPath) []*fieldPath  { return e.e.refs(o) }

type cmpExpr struct {
	path *fieldPath
	op   string // = != < > <= >= LIKE IN NOTIN
	vals []any  // stored-form literals (nil for NULL)
	pat  []patRune
}

func (e cmpExpr) refs(o []*fieldPath) []*fieldPath { return append(o, e.path) }

func (e cmpExpr) eval(d *db, vals map[string]any) bool {
	v := d.pathValue(vals, e.path)
	switch e.op {
	case "=":
		return equalValue(e.path.f, v, e.vals[0])
	case "!=":
		return !equalValue(e.path.f, v, e.vals[0])
	case "IN", "NOTIN":
		in := slices.ContainsFunc(e.vals, func(l any) bool { return equalValue(e.path.f, v, l) })
		return in == (e.op == "IN")
	case "LIKE":
		s, ok := v.(string)
		return ok && likeMatch([]rune(strings.ToLower(s)), lowerPat(e.pat))
	}
	if v == nil || e.vals[0] == nil {
		return false
	}
	c := compareValues(v, e.vals[0])
	switch e.op {
	case "<":
		return c < 0
	case ">":
		return c > 0
	case "<=":
		return c <= 0
	}
	return c >= 0
}

// equalValue compares as SOQL does: text case-insensitively, Ids by their
// 18-character form, null only equal to null.
func equalValue(f *field, v, lit any) bool {
	if v == nil || lit == nil {
		return v == nil && lit == nil
	}
	if f.isID() {
		return v == lit
	}
	if f.isText() {
		a, _ := v.(string)
		b, _ := lit.(string)
		return strings.EqualFold(a, b)
	}
	return compareValues(v, lit) == 0
}

func compareValues(a, b any) int {
	switch x := a.(type) {
	case string:
		y, _ := b.(string)
		return strings.Compare(strings.ToLower(x), strings.ToLower(y))
	case float64:
		y, _ := b.(float64)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	case time.Time:
		y, _ := b.(time.Time)
		return x.Compare(y)
	case bool:
		y, _ := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	}
	return 0
}

func lowerPat(p []patRune) []patRune {
	out := make([]patRune, len(p))
	for i, c := range p {
		out[i] = patRune{r: unicode.ToLower(c.r), wild: c.wild}
	}
	return out
}

// likeMatch implements LIKE: % any run, _ one character, case-insensitive.
func likeMatch(s []rune, p []patRune) bool {
	// Iterative wildcard matching with backtracking to the last %.
	si, pi, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi].wild && p[pi].r == '%':
			star, mark = pi, si
			pi++
		case pi < len(p) && ((p[pi].wild && p[pi].r == '_') || (!p[pi].wild && p[pi].r == s[si])):
			si++
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi].wild && p[pi].r == '%' {
		pi++
	}
	return pi == len(p)
}

// pathValue follows the lookups of p from a record's values.
func (d *db) pathValue(vals map[string]any, p *fieldPath) any {
	for _, rel := range p.rels {
		_, r := d.parentRecord(vals, rel)
		if r == nil {
			return nil
		}
		vals = r.vals
	}
	return vals[p.f.Name]
}

// run evaluates q and returns the matching rows in result order, after
// OFFSET and LIMIT.
func (d *db) run(q *query) []*row {
	tb := d.tables[q.obj.Name]
	var rows []*row
	if ids, ok := indexedIDs(q); ok {
		for _, id := range ids {
			if r := tb.rows[id]; r != nil && !slices.Contains(rows, r) {
				rows = append(rows, r)
			}
		}
		slices.SortStableFunc(rows, func(a, b *row) int { return strings.Compare(a.id, b.id) })
	} else {
		rows = tb.live()
	}
	if q.where != nil {
		kept := rows[:0]
		for _, r := range rows {
			if q.where.eval(d, r.vals) {
				kept = append(kept, r)
			}
		}
		rows = kept
	}
	if len(q.order) > 0 {
		slices.SortStableFunc(rows, func(a, b *row) int {
			for _, o := range q.order {
				va, vb := d.pathValue(a.vals, o.path), d.pathValue(b.vals, o.path)
				var c int
				switch {
				case va == nil && vb == nil:
					continue
				case va == nil || vb == nil:
					c = 1
					if (va == nil) == o.nullsFirst {
						c = -1
					}
					return c
				default:
					c = compareValues(va, vb)
				}
				if o.desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0
		})
	}
	if q.offset > 0 {
		rows = rows[min(q.offset, len(rows)):]
	}
	if q.limit >= 0 && len(rows) > q.limit {
		rows = rows[:q.limit]
	}
	return rows
}

// indexedIDs finds "Id = x" or "Id IN (…)" among the top-level AND terms,
// so the benchmark's batched reads by Id do not scan the table.
func indexedIDs(q *query) ([]string, bool) {
	var terms []expr
	var walk func(e expr)
	walk = func(e expr) {
		if a, ok := e.(andExpr); ok {
			walk(a.l)
			walk(a.r)
			return
		}
		terms = append(terms, e)
	}
	if q.where == nil {
		return nil, false
	}
	walk(q.where)
	for _, t := range terms {
		c, ok := t.(cmpExpr)
		if !ok || len(c.path.rels) > 0 || c.path.f.Type != tID || (c.op != "=" && c.op != "IN") {
			continue
		}
		var ids []string
		for _, v := range c.vals {
			if s, ok := v.(string); ok {
				ids = append(ids, s)
			}
		}
		return ids, true
	}
	return nil, false
}

// renderQuery renders a row with the selected fields, relationship paths as
// nested objects with their own attributes (or null), as REST query does.
func (d *db) renderQuery(q *query, r *row, version string) map[string]any {
	out := map[string]any{"attributes": attributes(q.obj, r.id, version)}
	for _, fp := range q.fields {
		m, vals := out, r.vals
		for _, rel := range fp.rels {
			tt, tr := d.parentRecord(vals, rel)
			if tr == nil {
				if _, set := m[rel.RelationshipName]; !set {
					m[rel.RelationshipName] = nil
				}
				m = nil
				break
			}
			child, ok := m[rel.RelationshipName].(map[string]any)
			if !ok {
				child = map[string]any{"attributes": attributes(tt.obj, tr.id, version)}
				m[rel.RelationshipName] = child
			}
			m, vals = child, tr.vals
		}
		if m != nil {
			m[fp.f.Name] = outValue(vals[fp.f.Name])
		}
	}
	return out
}
