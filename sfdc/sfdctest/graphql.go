package sfdctest

import (
	"fmt"
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
// SOQL evaluator (soql_eval.go), so a GraphQL filter and the same SOQL WHERE
// select the same records. This file reads the request and its selections;
// graphql_connection.go answers a RecordQuery (pages, cursors, nodes) and
// graphql_filter.go turns where and orderBy into the evaluator's terms.

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
	d    *db
	doc  *ast.QueryDocument
	op   *ast.OperationDefinition
	vars map[string]any
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
	g := &gqlRun{d: s.db, doc: doc, op: op, vars: in.Variables}
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
