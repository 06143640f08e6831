package sfdctest

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	gqlparse "github.com/vektah/gqlparser/v2/parser"
)

// The GraphQL API's UI API record queries (POST /services/data/vXX.X/graphql),
// the part the Lightning components read through lightning/graphql:
//
//	uiapi { query { Object(where:, orderBy:, first:, after:) {
//	  edges { node { Id Field { value displayValue } Lookup__r { Name { value } } } cursor }
//	  pageInfo { hasNextPage endCursor } totalCount } } }
//
// Shapes from Salesforce's GraphQL API Developer Guide: "Query Objects"
// (https://developer.salesforce.com/docs/platform/graphql/guide/query-record-objects.html:
// RecordQuery fields take where/orderBy/first/after/scope and answer a
// Relay connection; {Field: {order: ASC|DESC, nulls: FIRST|LAST}}),
// "Paginate Results" (…/guide/paginate.html: the first 10 by default,
// Relay cursors; …/guide/graphql-wire-lwc-paginate.html: up to 2000
// records; last/before are not supported), "Field Operators" (…/guide/filter-fields.html: one Operators
// input per field — eq, ne, like, lt, gt, lte, gte, in, nin — several
// operators on one field are ANDed) and "Boolean Operators"
// (…/guide/filter-boolean.html: and/or/not). Parent relationships nest
// both in node selections and in where/orderBy. A child relationship
// (Message_Template__c.Translations__r) in a node is a paginated connection
// of the children taking the same arguments ("Children and Parent
// Relationships", https://developer.salesforce.com/docs/platform/lwc/guide/reference-graphql-relationships.html;
// Salesforce supports one level of them, which this does not enforce). Field values are the UI
// API Field Value shape (uiapi.go). Errors follow the GraphQL spec's
// response format (§7.1.2): HTTP 200 with {"data": null, "errors":
// [{message, locations, extensions: {classification}}]}.
//
// The query is parsed with gqlparser's parser only (no schema validation:
// the schema is the org's objects, resolved here) and evaluated with the
// SOQL evaluator (soql.go), so a GraphQL filter and the same SOQL WHERE
// select the same records.

const (
	gqlDefaultFirst = 10
	gqlMaxFirst     = 2000
)

// gqlError is one GraphQL error; classification is Salesforce's
// extensions.classification (ValidationError, InvalidSyntax, DataFetchingException).
type gqlError struct {
	msg, class string
	pos        *ast.Position
}

func (e *gqlError) Error() string { return e.msg }

func gqlErr(class string, pos *ast.Position, format string, args ...any) *gqlError {
	return &gqlError{msg: fmt.Sprintf(format, args...), class: class, pos: pos}
}

func (e *gqlError) render() map[string]any {
	m := map[string]any{"message": e.msg, "extensions": map[string]any{"classification": e.class}}
	if e.pos != nil {
		m["locations"] = []any{map[string]any{"line": e.pos.Line, "column": e.pos.Column}}
	}
	return m
}

func gqlFailed(e *gqlError) uiResult {
	return uiResult{http.StatusOK, map[string]any{"data": nil, "errors": []any{e.render()}}}
}

// gqlRun is one request's evaluation context.
type gqlRun struct {
	d       *db
	doc     *ast.QueryDocument
	op      *ast.OperationDefinition
	vars    map[string]any
	version string
}

func (s *restState) serveGraphQL(req *request) uiResult {
	var in struct {
		Query         string         `json:"query"`
		Variables     map[string]any `json:"variables"`
		OperationName string         `json:"operationName"`
	}
	if e := readBody(req.r, &in); e != nil {
		return uiErrors(e.status, e.code, "%s", e.msg)
	}
	if strings.TrimSpace(in.Query) == "" {
		return gqlFailed(gqlErr("InvalidSyntax", nil, "Invalid Syntax : the query is empty"))
	}
	doc, err := gqlparse.ParseQuery(&ast.Source{Input: in.Query})
	if err != nil {
		e := gqlErr("InvalidSyntax", nil, "Invalid Syntax : %s", err.Error())
		if ge, ok := err.(*gqlerror.Error); ok {
			e.msg = "Invalid Syntax : " + ge.Message
			if len(ge.Locations) > 0 {
				e.pos = &ast.Position{Line: ge.Locations[0].Line, Column: ge.Locations[0].Column}
			}
		}
		return gqlFailed(e)
	}
	var op *ast.OperationDefinition
	switch {
	case in.OperationName != "":
		op = doc.Operations.ForName(in.OperationName)
	case len(doc.Operations) == 1:
		op = doc.Operations[0]
	}
	if op == nil {
		return gqlFailed(gqlErr("ValidationError", nil, "Unknown operation named '%s': give operationName for a document with several operations", in.OperationName))
	}
	if op.Operation != ast.Query {
		return gqlFailed(gqlErr("ValidationError", op.Position, "Schema is not configured for %ss", op.Operation))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &gqlRun{d: s.db, doc: doc, op: op, vars: in.Variables, version: req.version}
	data, gerr := g.selectRoot(op.SelectionSet)
	if gerr != nil {
		return gqlFailed(gerr)
	}
	return uiResult{http.StatusOK, map[string]any{"data": data, "errors": []any{}}}
}

// fields flattens a selection set: fragment spreads and inline fragments
// whose type condition is typeName (or none) contribute their fields.
func (g *gqlRun) fields(set ast.SelectionSet, typeName string) ([]*ast.Field, *gqlError) {
	var out []*ast.Field
	for _, sel := range set {
		switch x := sel.(type) {
		case *ast.Field:
			out = append(out, x)
		case *ast.InlineFragment:
			if x.TypeCondition == "" || x.TypeCondition == typeName {
				more, err := g.fields(x.SelectionSet, typeName)
				if err != nil {
					return nil, err
				}
				out = append(out, more...)
			}
		case *ast.FragmentSpread:
			fd := g.doc.Fragments.ForName(x.Name)
			if fd == nil {
				return nil, gqlErr("ValidationError", x.Position, "Undefined fragment %s", x.Name)
			}
			if fd.TypeCondition == typeName || fd.TypeCondition == "" {
				more, err := g.fields(fd.SelectionSet, typeName)
				if err != nil {
					return nil, err
				}
				out = append(out, more...)
			}
		}
	}
	return out, nil
}

func key(f *ast.Field) string {
	if f.Alias != "" {
		return f.Alias
	}
	return f.Name
}

func undefined(f *ast.Field, typ, path string) *gqlError {
	return gqlErr("ValidationError", f.Position, "Validation error (FieldUndefined@[%s]) : Field '%s' in type '%s' is undefined", path+f.Name, f.Name, typ)
}

func (g *gqlRun) selectRoot(set ast.SelectionSet) (map[string]any, *gqlError) {
	out := map[string]any{}
	fs, err := g.fields(set, "Query")
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		switch f.Name {
		case "__typename":
			out[key(f)] = "Query"
		case "uiapi":
			v, err := g.selectUIAPI(f)
			if err != nil {
				return nil, err
			}
			out[key(f)] = v
		default:
			return nil, undefined(f, "Query", "")
		}
	}
	return out, nil
}

func (g *gqlRun) selectUIAPI(uf *ast.Field) (map[string]any, *gqlError) {
	out := map[string]any{}
	fs, err := g.fields(uf.SelectionSet, "UIAPI")
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		if f.Name == "__typename" {
			out[key(f)] = "UIAPI"
			continue
		}
		if f.Name != "query" {
			return nil, undefined(f, "UIAPI", "uiapi/")
		}
		q := map[string]any{}
		objs, err := g.fields(f.SelectionSet, "RecordQuery")
		if err != nil {
			return nil, err
		}
		for _, of := range objs {
			o := g.d.object(of.Name)
			if o == nil || o.Name != of.Name {
				return nil, undefined(of, "RecordQuery", "uiapi/query/")
			}
			conn, err := g.connection(o, of, nil)
			if err != nil {
				return nil, err
			}
			q[key(of)] = conn
		}
		out[key(f)] = q
	}
	return out, nil
}

// value converts an argument value to Go, resolving variables declared by
// the operation.
func (g *gqlRun) value(v *ast.Value) (any, *gqlError) {
	switch v.Kind {
	case ast.Variable:
		def := g.op.VariableDefinitions.ForName(v.Raw)
		if def == nil {
			return nil, gqlErr("ValidationError", v.Position, "Validation error (UndefinedVariable) : Undefined variable '%s'", v.Raw)
		}
		if x, ok := g.vars[v.Raw]; ok {
			return x, nil
		}
		if def.DefaultValue != nil {
			return g.value(def.DefaultValue)
		}
		if def.Type != nil && def.Type.NonNull {
			return nil, gqlErr("ValidationError", v.Position, "Variable '%s' has an invalid value : Variable '%s' has coerced Null value for NonNull type '%s'", v.Raw, v.Raw, def.Type.String())
		}
		return nil, nil
	case ast.IntValue:
		n, err := strconv.ParseInt(v.Raw, 10, 64)
		if err != nil {
			return nil, gqlErr("ValidationError", v.Position, "Int value %s out of range", v.Raw)
		}
		return float64(n), nil
	case ast.FloatValue:
		n, _ := strconv.ParseFloat(v.Raw, 64)
		return n, nil
	case ast.BooleanValue:
		return v.Raw == "true", nil
	case ast.NullValue:
		return nil, nil
	case ast.ListValue:
		out := make([]any, 0, len(v.Children))
		for _, c := range v.Children {
			x, err := g.value(c.Value)
			if err != nil {
				return nil, err
			}
			out = append(out, x)
		}
		return out, nil
	case ast.ObjectValue:
		out := map[string]any{}
		var order []string
		for _, c := range v.Children {
			x, err := g.value(c.Value)
			if err != nil {
				return nil, err
			}
			out[c.Name] = x
			order = append(order, c.Name)
		}
		out[orderKey] = order
		return out, nil
	}
	return v.Raw, nil // strings, block strings, enums
}

// orderKey keeps an input object's key order (orderBy sorts by its keys in
// the order written); it cannot clash with a field name.
const orderKey = "\x00order"

func keysOf(m map[string]any) []string {
	if o, ok := m[orderKey].([]string); ok {
		return o
	}
	// Variables decoded from JSON lose key order; sort for a stable result.
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func (g *gqlRun) arg(f *ast.Field, name string) (any, *gqlError) {
	a := f.Arguments.ForName(name)
	if a == nil {
		return nil, nil
	}
	return g.value(a.Value)
}

// connection answers one RecordQuery field: filter, sort, page, render.
func (g *gqlRun) connection(o *object, f *ast.Field, scope expr) (map[string]any, *gqlError) {
	path := "uiapi/query/" + o.Name
	for _, a := range f.Arguments {
		switch a.Name {
		case "where", "orderBy", "first", "after", "scope", "upperBound", "updateMRU":
		default:
			return nil, gqlErr("ValidationError", a.Position, "Validation error (UnknownArgument@[%s]) : Unknown field argument %s", path, a.Name)
		}
	}
	q := &query{obj: o, limit: -1}
	where, err := g.arg(f, "where")
	if err != nil {
		return nil, err
	}
	if where != nil {
		m, ok := where.(map[string]any)
		if !ok {
			return nil, gqlErr("ValidationError", f.Position, "Validation error (WrongType@[%s]) : argument 'where' must be an object of type %s_Filter", path, o.Name)
		}
		if q.where, err = g.filter(o, nil, m, path); err != nil {
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
	orderBy, err := g.arg(f, "orderBy")
	if err != nil {
		return nil, err
	}
	if orderBy != nil {
		m, ok := orderBy.(map[string]any)
		if !ok {
			return nil, gqlErr("ValidationError", f.Position, "Validation error (WrongType@[%s]) : argument 'orderBy' must be an object of type %s_OrderBy", path, o.Name)
		}
		if q.order, err = g.orderBy(o, nil, m, path); err != nil {
			return nil, err
		}
	}
	first := gqlDefaultFirst
	if v, err := g.arg(f, "first"); err != nil {
		return nil, err
	} else if v != nil {
		n, ok := v.(float64)
		if !ok || n != math.Trunc(n) || n < 0 || n > gqlMaxFirst {
			return nil, gqlErr("ValidationError", f.Position, "Validation error (WrongType@[%s]) : argument 'first' must be an Int from 0 to %d, got %v", path, gqlMaxFirst, v)
		}
		first = int(n)
	}
	offset := 0
	if v, err := g.arg(f, "after"); err != nil {
		return nil, err
	} else if v != nil {
		s, _ := v.(string)
		n, ok := decodeCursor(s)
		if !ok {
			return nil, gqlErr("DataFetchingException", f.Position, "Invalid cursor: %v", v)
		}
		offset = n + 1
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
			info := map[string]any{}
			pf, err := g.fields(cf.SelectionSet, "PageInfo")
			if err != nil {
				return nil, err
			}
			for _, p := range pf {
				switch p.Name {
				case "hasNextPage":
					info[key(p)] = offset+len(page) < total
				case "hasPreviousPage":
					info[key(p)] = offset > 0
				case "startCursor", "endCursor":
					var c any
					if len(page) > 0 {
						i := offset
						if p.Name == "endCursor" {
							i = offset + len(page) - 1
						}
						c = encodeCursor(i)
					}
					info[key(p)] = c
				default:
					return nil, undefined(p, "PageInfo", path+"/pageInfo/")
				}
			}
			out[key(cf)] = info
		case "edges":
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
			out[key(cf)] = edges
		default:
			return nil, undefined(cf, o.Name+"Connection", path+"/")
		}
	}
	return out, nil
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
		switch f.Name {
		case "Id":
			out[key(f)] = r.id
			continue
		case "ApiName":
			out[key(f)] = o.Name
			continue
		case "__typename":
			out[key(f)] = o.Name
			continue
		case "WeakEtag":
			out[key(f)] = uiFieldValue(o.field("SystemModstamp"), r.vals["SystemModstamp"])["value"]
			continue
		}
		if fd := o.field(f.Name); fd != nil && fd.Name == f.Name {
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
			out[key(f)] = v
			continue
		}
		if co, cf := g.d.childRelationship(o, f.Name); cf != nil {
			// A child relationship is a connection of the children, with
			// the arguments of a top-level query ("Relationships").
			if check {
				if _, err := g.node(co, nil, nodeSelection(f), path+f.Name+"/edges/node/"); err != nil {
					return nil, err
				}
				continue
			}
			conn, err := g.connection(co, f, idEquals{cf.Name, r.id})
			if err != nil {
				return nil, err
			}
			out[key(f)] = conn
			continue
		}
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
			continue
		}
		id, _ := r.vals[rel.Name].(string)
		var tb *table
		var pr *row
		if id != "" {
			tb, pr = g.d.lookup(id)
		}
		if pr == nil {
			out[key(f)] = nil
			continue
		}
		n, err := g.node(tb.obj, pr, f.SelectionSet, path+f.Name+"/")
		if err != nil {
			return nil, err
		}
		out[key(f)] = n
	}
	return out, nil
}

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

// idEquals keeps the children of one parent: its lookup field holds the
// parent's Id.
type idEquals struct{ field, id string }

func (e idEquals) eval(_ *db, v map[string]any) bool {
	id, _ := v[e.field].(string)
	return id != "" && id == e.id
}
func (e idEquals) refs(out []*fieldPath) []*fieldPath { return out }
