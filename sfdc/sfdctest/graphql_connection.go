package sfdctest

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// A RecordQuery answered as a Relay connection: its arguments, the page and
// its cursors, and each record rendered as a node with its relationships.

// connection answers one RecordQuery field: filter, sort, page, render.
func (g *gqlRun) connection(o *object, f *ast.Field, scope expr) (map[string]any, *gqlError) {
	path := "uiapi/query/" + o.Name
	q, err := g.recordQuery(o, f, scope, path)
	if err != nil {
		return nil, err
	}
	first, offset, err := g.pageArgs(f, path)
	if err != nil {
		return nil, err
	}
	// The selection is checked once up front, so an empty result still
	// reports a field the object does not have.
	if _, err := g.node(o, nil, nodeSelection(f), path+"/edges/node/"); err != nil {
		return nil, err
	}
	rows := g.d.run(q)
	total := len(rows)
	page := rows[min(offset, total):]
	if len(page) > first {
		page = page[:first]
	}
	out := map[string]any{}
	sel, err := g.fields(f.SelectionSet, o.Name+"Connection")
	if err != nil {
		return nil, err
	}
	for _, cf := range sel {
		switch cf.Name {
		case "__typename":
			out[key(cf)] = o.Name + "Connection"
		case "totalCount":
			out[key(cf)] = total
		case "pageResultCount", "resultPageCount":
			// The records on this page ("Paginate Results" names it
			// resultPageCount in its text, the schema pageResultCount).
			out[key(cf)] = len(page)
		case "pageInfo":
			info, err := g.pageInfo(cf, offset, len(page), total, path)
			if err != nil {
				return nil, err
			}
			out[key(cf)] = info
		case "edges":
			edges, err := g.edges(o, cf, page, offset, path)
			if err != nil {
				return nil, err
			}
			out[key(cf)] = edges
		default:
			return nil, undefined(cf, o.Name+"Connection", path+"/")
		}
	}
	return out, nil
}

// recordQuery checks a RecordQuery field's arguments and turns where (and
// with it the scope, a child relationship's parent) and orderBy into a
// query over o.
func (g *gqlRun) recordQuery(o *object, f *ast.Field, scope expr, path string) (*query, *gqlError) {
	for _, a := range f.Arguments {
		switch a.Name {
		case "where", "orderBy", "first", "after", "scope", "upperBound", "updateMRU":
		default:
			return nil, gqlErr("ValidationError", a.Position, "Validation error (UnknownArgument@[%s]) : Unknown field argument %s", path, a.Name)
		}
	}
	q := &query{obj: o, limit: -1}
	where, err := g.objectArg(f, "where", o.Name+"_Filter", path)
	if err != nil {
		return nil, err
	}
	if where != nil {
		if q.where, err = g.filter(o, nil, where, path); err != nil {
			return nil, err
		}
	}
	if scope != nil {
		if q.where == nil {
			q.where = scope
		} else {
			q.where = andExpr{scope, q.where}
		}
	}
	orderBy, err := g.objectArg(f, "orderBy", o.Name+"_OrderBy", path)
	if err != nil {
		return nil, err
	}
	if orderBy != nil {
		if q.order, err = g.orderBy(o, nil, orderBy, path); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// objectArg reads argument name of f, an input object of type typ; nil
// when the argument is absent.
func (g *gqlRun) objectArg(f *ast.Field, name, typ, path string) (map[string]any, *gqlError) {
	v, err := g.arg(f, name)
	if err != nil || v == nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, gqlErr("ValidationError", f.Position, "Validation error (WrongType@[%s]) : argument '%s' must be an object of type %s", path, name, typ)
	}
	return m, nil
}

// pageArgs reads first (the page size) and after (a cursor; the page
// starts at the record after it).
func (g *gqlRun) pageArgs(f *ast.Field, path string) (first, offset int, err *gqlError) {
	first = gqlDefaultFirst
	if v, err := g.arg(f, "first"); err != nil {
		return 0, 0, err
	} else if v != nil {
		n, ok := v.(float64)
		if !ok || n != math.Trunc(n) || n < 0 || n > gqlMaxFirst {
			return 0, 0, gqlErr("ValidationError", f.Position, "Validation error (WrongType@[%s]) : argument 'first' must be an Int from 0 to %d, got %v", path, gqlMaxFirst, v)
		}
		first = int(n)
	}
	if v, err := g.arg(f, "after"); err != nil {
		return 0, 0, err
	} else if v != nil {
		s, _ := v.(string)
		n, ok := decodeCursor(s)
		if !ok {
			return 0, 0, gqlErr("DataFetchingException", f.Position, "Invalid cursor: %v", v)
		}
		offset = n + 1
	}
	return first, offset, nil
}

// pageInfo renders a connection's PageInfo for a page of n records that
// starts at offset in a result of total.
func (g *gqlRun) pageInfo(cf *ast.Field, offset, n, total int, path string) (map[string]any, *gqlError) {
	info := map[string]any{}
	pf, err := g.fields(cf.SelectionSet, "PageInfo")
	if err != nil {
		return nil, err
	}
	for _, p := range pf {
		switch p.Name {
		case "hasNextPage":
			info[key(p)] = offset+n < total
		case "hasPreviousPage":
			info[key(p)] = offset > 0
		case "startCursor", "endCursor":
			var c any
			if n > 0 {
				i := offset
				if p.Name == "endCursor" {
					i = offset + n - 1
				}
				c = encodeCursor(i)
			}
			info[key(p)] = c
		default:
			return nil, undefined(p, "PageInfo", path+"/pageInfo/")
		}
	}
	return info, nil
}

// edges renders a page of records as a connection's edges, each with its
// cursor and node.
func (g *gqlRun) edges(o *object, cf *ast.Field, page []*row, offset int, path string) ([]any, *gqlError) {
	edges := make([]any, 0, len(page))
	ef, err := g.fields(cf.SelectionSet, o.Name+"Edge")
	if err != nil {
		return nil, err
	}
	for i, r := range page {
		edge := map[string]any{}
		for _, e := range ef {
			switch e.Name {
			case "cursor":
				edge[key(e)] = encodeCursor(offset + i)
			case "node":
				n, err := g.node(o, r, e.SelectionSet, path+"/edges/node/")
				if err != nil {
					return nil, err
				}
				edge[key(e)] = n
			case "__typename":
				edge[key(e)] = o.Name + "Edge"
			default:
				return nil, undefined(e, o.Name+"Edge", path+"/edges/")
			}
		}
		edges = append(edges, edge)
	}
	return edges, nil
}

// Cursors are opaque to clients (Paginate Results); here they carry the
// position in the result.
func encodeCursor(i int) string {
	return base64.StdEncoding.EncodeToString([]byte("sbx:" + strconv.Itoa(i)))
}

func decodeCursor(s string) (int, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "sbx:"))
	if err != nil || n < 0 || !strings.HasPrefix(string(b), "sbx:") {
		return 0, false
	}
	return n, true
}

// nodeSelection collects the node selections under a connection's edges.
func nodeSelection(f *ast.Field) ast.SelectionSet {
	var set ast.SelectionSet
	for _, sel := range f.SelectionSet {
		if e, ok := sel.(*ast.Field); ok && e.Name == "edges" {
			for _, sel := range e.SelectionSet {
				if n, ok := sel.(*ast.Field); ok && n.Name == "node" {
					set = append(set, n.SelectionSet...)
				}
			}
		}
	}
	return set
}

// node renders a record: Id and ApiName are scalars, a field is a Field
// Value object, a parent relationship is a nested record (or null). With a
// nil row it only checks the selection.
func (g *gqlRun) node(o *object, r *row, set ast.SelectionSet, path string) (map[string]any, *gqlError) {
	out := map[string]any{}
	if r == nil {
		r = &row{vals: map[string]any{}}
	}
	check := r.id == ""
	fs, err := g.fields(set, o.Name)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		var v any
		var err *gqlError
		switch f.Name {
		case "Id":
			v = r.id
		case "ApiName", "__typename":
			v = o.Name
		case "WeakEtag":
			v = uiFieldValue(o.field("SystemModstamp"), r.vals["SystemModstamp"])["value"]
		default:
			if fd := o.field(f.Name); fd != nil && fd.Name == f.Name {
				v, err = g.fieldValue(fd, f, r, path)
			} else if co, cf := g.d.childRelationship(o, f.Name); cf != nil {
				v, err = g.children(co, cf, f, r, check, path)
			} else {
				v, err = g.parent(o, f, r, check, path)
			}
		}
		if err != nil {
			return nil, err
		}
		if _, skip := v.(skippedField); !skip {
			out[key(f)] = v
		}
	}
	return out, nil
}

// skippedField is what node's steps answer for a field the answer leaves
// out: a relationship when node only checks the selection.
type skippedField struct{}

// fieldValue renders field fd of r as the Field Value object f selects.
func (g *gqlRun) fieldValue(fd *field, f *ast.Field, r *row, path string) (any, *gqlError) {
	fv := uiFieldValue(fd, r.vals[fd.Name])
	sub, err := g.fields(f.SelectionSet, "")
	if err != nil {
		return nil, err
	}
	if len(sub) == 0 {
		return nil, gqlErr("ValidationError", f.Position, "Validation error (SubselectionRequired@[%s]) : Sub selection required for type %sValue of field %s", path+f.Name, uiDataTypes[fd.Type], f.Name)
	}
	v := map[string]any{}
	for _, s := range sub {
		switch s.Name {
		case "value", "displayValue":
			v[key(s)] = fv[s.Name]
		case "label":
			if fd.Type != tPicklist {
				return nil, undefined(s, uiDataTypes[fd.Type]+"Value", path+f.Name+"/")
			}
			v[key(s)] = fv["value"]
		case "__typename":
			v[key(s)] = uiDataTypes[fd.Type] + "Value"
		default:
			return nil, undefined(s, uiDataTypes[fd.Type]+"Value", path+f.Name+"/")
		}
	}
	return v, nil
}

// children renders a child relationship as a connection of the children
// (object co, lookup cf to the parent r), with the arguments of a top-level
// query ("Relationships").
func (g *gqlRun) children(co *object, cf *field, f *ast.Field, r *row, check bool, path string) (any, *gqlError) {
	if check {
		if _, err := g.node(co, nil, nodeSelection(f), path+f.Name+"/edges/node/"); err != nil {
			return nil, err
		}
		return skippedField{}, nil
	}
	return g.connection(co, f, idEquals{cf.Name, r.id})
}

// parent renders the parent relationship f of r as a nested record, or
// null when the lookup is empty; any other name is not a field of o.
func (g *gqlRun) parent(o *object, f *ast.Field, r *row, check bool, path string) (any, *gqlError) {
	rel := o.byRel[strings.ToLower(f.Name)]
	if rel == nil || rel.RelationshipName != f.Name {
		return nil, undefined(f, o.Name, path)
	}
	if check {
		for _, to := range rel.ReferenceTo {
			if t := g.d.object(to); t != nil {
				if _, err := g.node(t, nil, f.SelectionSet, path+f.Name+"/"); err != nil {
					return nil, err
				}
				break
			}
		}
		return skippedField{}, nil
	}
	tb, pr := g.d.parentRecord(r.vals, rel)
	if pr == nil {
		return nil, nil
	}
	return g.node(tb.obj, pr, f.SelectionSet, path+f.Name+"/")
}

// idEquals keeps the children of one parent: its lookup field holds the
// parent's Id.
type idEquals struct{ field, id string }

func (e idEquals) eval(_ *db, v map[string]any) bool {
	id, _ := v[e.field].(string)
	return id != "" && id == e.id
}
func (e idEquals) refs(out []*fieldPath) []*fieldPath { return out }
