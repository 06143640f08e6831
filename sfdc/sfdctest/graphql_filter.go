package sfdctest

import "strings"

// A RecordQuery's where and orderBy inputs, turned into the SOQL
// evaluator's expressions and order items.

// gqlOps maps filter operators to the SOQL evaluator's.
var gqlOps = map[string]string{"eq": "=", "ne": "!=", "lt": "<", "gt": ">", "lte": "<=", "gte": ">=", "in": "IN", "nin": "NOTIN", "like": "LIKE"}

// filter builds an expression from an <Object>_Filter input: keys are
// fields (an operator object), parent relationships (a nested filter) or
// and/or/not; keys side by side are ANDed.
func (g *gqlRun) filter(o *object, rels []*field, m map[string]any, path string) (expr, *gqlError) {
	var out expr
	and := func(e expr) {
		if out == nil {
			out = e
		} else {
			out = andExpr{out, e}
		}
	}
	for _, k := range keysOf(m) {
		v := m[k]
		switch k {
		case "and", "or":
			list, ok := v.([]any)
			if !ok {
				list = []any{v}
			}
			var acc expr
			for _, item := range list {
				sub, ok := item.(map[string]any)
				if !ok {
					return nil, gqlErr("ValidationError", nil, "Validation error (WrongType@[%s]) : '%s' takes a list of filters", path, k)
				}
				e, err := g.filter(o, rels, sub, path)
				if err != nil {
					return nil, err
				}
				switch {
				case e == nil:
				case acc == nil:
					acc = e
				case k == "and":
					acc = andExpr{acc, e}
				default:
					acc = orExpr{acc, e}
				}
			}
			if acc != nil {
				and(acc)
			}
			continue
		case "not":
			sub, ok := v.(map[string]any)
			if !ok {
				return nil, gqlErr("ValidationError", nil, "Validation error (WrongType@[%s]) : 'not' takes a filter", path)
			}
			e, err := g.filter(o, rels, sub, path)
			if err != nil {
				return nil, err
			}
			if e != nil {
				and(notExpr{e})
			}
			continue
		}
		sub, ok := v.(map[string]any)
		if !ok {
			return nil, gqlErr("ValidationError", nil, "Validation error (WrongType@[%s]) : filter on '%s' must be an object", path, k)
		}
		if f := o.field(k); f != nil && f.Name == k {
			e, err := g.compare(&fieldPath{text: k, rels: rels, f: f}, sub, path)
			if err != nil {
				return nil, err
			}
			if e != nil {
				and(e)
			}
			continue
		}
		rel := o.byRel[strings.ToLower(k)]
		if rel == nil || rel.RelationshipName != k || len(rel.ReferenceTo) == 0 {
			return nil, gqlErr("ValidationError", nil, "Validation error (WrongType@[%s]) : argument 'where' contains a field not in '%s_Filter': '%s'", path, o.Name, k)
		}
		e, err := g.filter(g.d.object(rel.ReferenceTo[0]), append(append([]*field{}, rels...), rel), sub, path)
		if err != nil {
			return nil, err
		}
		if e != nil {
			and(e)
		}
	}
	return out, nil
}

// compare builds the comparisons of one field's operator object.
func (g *gqlRun) compare(fp *fieldPath, ops map[string]any, path string) (expr, *gqlError) {
	var out expr
	for _, op := range keysOf(ops) {
		sop, ok := gqlOps[op]
		if !ok {
			return nil, gqlErr("ValidationError", nil, "Validation error (WrongType@[%s]) : unknown operator '%s' on field '%s'", path, op, fp.f.Name)
		}
		if !fp.f.filterable() {
			return nil, gqlErr("ValidationError", nil, "Validation error (WrongType@[%s]) : field '%s' can not be filtered", path, fp.f.Name)
		}
		e := cmpExpr{path: fp, op: sop}
		raw := ops[op]
		switch sop {
		case "LIKE":
			s, ok := raw.(string)
			if !ok || !fp.f.isText() {
				return nil, gqlErr("ValidationError", nil, "Validation error (WrongType@[%s]) : 'like' needs a String on a text field, not %v on '%s'", path, raw, fp.f.Name)
			}
			e.pat = likePattern(s)
		case "IN", "NOTIN":
			list, ok := raw.([]any)
			if !ok {
				list = []any{raw}
			}
			for _, x := range list {
				v, err := gqlLiteral(fp.f, x, path)
				if err != nil {
					return nil, err
				}
				e.vals = append(e.vals, v)
			}
		default:
			v, err := gqlLiteral(fp.f, raw, path)
			if err != nil {
				return nil, err
			}
			if v == nil && sop != "=" && sop != "!=" {
				return nil, gqlErr("ValidationError", nil, "Validation error (WrongType@[%s]) : null is only allowed with eq and ne", path)
			}
			e.vals = []any{v}
		}
		if out == nil {
			out = e
		} else {
			out = andExpr{out, e}
		}
	}
	return out, nil
}

// gqlLiteral converts a filter value to the stored form of f, as SOQL's
// literal does.
func gqlLiteral(f *field, v any, path string) (any, *gqlError) {
	if v == nil {
		return nil, nil
	}
	bad := func(want string) *gqlError {
		return gqlErr("ValidationError", nil, "Validation error (WrongType@[%s]) : value %v for field '%s' must be a %s", path, v, f.Name, want)
	}
	switch f.Type {
	case tBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, bad("Boolean")
		}
		return b, nil
	case tDouble:
		n, ok := v.(float64)
		if !ok {
			return nil, bad("Double")
		}
		return n, nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, bad("String")
	}
	switch f.Type {
	case tDatetime:
		t, err := parseSFTime(s)
		if err != nil {
			return nil, bad("DateTime (ISO 8601)")
		}
		return t, nil
	case tID, tReference:
		if id, ok := canonicalID(s); ok {
			return id, nil
		}
	}
	return s, nil
}

// likePattern reads a like value as SOQL LIKE does: % any run, _ one
// character, a backslash escapes either.
func likePattern(s string) []patRune {
	var out []patRune
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		if rs[i] == '\\' && i+1 < len(rs) {
			i++
			out = append(out, patRune{r: rs[i]})
			continue
		}
		out = append(out, patRune{r: rs[i], wild: rs[i] == '%' || rs[i] == '_'})
	}
	return out
}

// orderBy builds sort keys from an <Object>_OrderBy input: {Field: {order,
// nulls}} or {Rel: {Field: {…}}}; ASC sorts nulls first, DESC last, as SOQL.
func (g *gqlRun) orderBy(o *object, rels []*field, m map[string]any, path string) ([]orderItem, *gqlError) {
	var out []orderItem
	for _, k := range keysOf(m) {
		spec, ok := m[k].(map[string]any)
		if !ok {
			return nil, gqlErr("ValidationError", nil, "Validation error (WrongType@[%s]) : orderBy on '%s' must be an object", path, k)
		}
		if f := o.field(k); f != nil && f.Name == k {
			item := orderItem{path: &fieldPath{text: k, rels: rels, f: f}}
			switch spec["order"] {
			case nil, "ASC":
			case "DESC":
				item.desc = true
			default:
				return nil, gqlErr("ValidationError", nil, "Validation error (WrongType@[%s]) : order must be ASC or DESC, not %v", path, spec["order"])
			}
			item.nullsFirst = !item.desc
			switch spec["nulls"] {
			case nil:
			case "FIRST":
				item.nullsFirst = true
			case "LAST":
				item.nullsFirst = false
			default:
				return nil, gqlErr("ValidationError", nil, "Validation error (WrongType@[%s]) : nulls must be FIRST or LAST, not %v", path, spec["nulls"])
			}
			out = append(out, item)
			continue
		}
		rel := o.byRel[strings.ToLower(k)]
		if rel == nil || rel.RelationshipName != k || len(rel.ReferenceTo) == 0 {
			return nil, gqlErr("ValidationError", nil, "Validation error (WrongType@[%s]) : argument 'orderBy' contains a field not in '%s_OrderBy': '%s'", path, o.Name, k)
		}
		more, err := g.orderBy(g.d.object(rel.ReferenceTo[0]), append(append([]*field{}, rels...), rel), spec, path)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	return out, nil
}
