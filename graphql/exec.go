package graphql

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// Request is one GraphQL request, as the JSON body of a POST carries it.
type Request struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName,omitempty"`
	Variables     map[string]any `json:"variables,omitempty"`
}

// Error is one GraphQL error. Extensions carry a code (LIMIT, INVALID, VALIDATION,
// CONFLICT, NOT_FOUND, BAD_QUERY, UNAVAILABLE, UNCERTAIN, INTERNAL) and, for a
// validation failure, the failing fields.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// Response is a GraphQL response: data, errors, or both.
type Response struct {
	Data   map[string]any `json:"data,omitempty"`
	Errors []Error        `json:"errors,omitempty"`
}

func refused(code, format string, args ...any) *Response {
	return &Response{Errors: []Error{{Message: fmt.Sprintf(format, args...), Extensions: map[string]any{"code": code}}}}
}

// Execute checks, validates and runs req. Limits are checked before any resolver
// runs; the tenant and caller come from ctx.
func (s *Schema) Execute(ctx context.Context, req Request) *Response {
	if !s.built.Load() {
		return refused("INTERNAL", "graphql: schema not built")
	}
	if len(req.Query) > s.cfg.MaxBytes {
		return refused("LIMIT", "document of %d bytes exceeds the limit of %d", len(req.Query), s.cfg.MaxBytes)
	}
	if d := nesting(req.Query); d > 2*s.cfg.MaxDepth+4 {
		return refused("LIMIT", "document nests %d brackets deep, over the limit", d)
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: req.Query}, s.cfg.MaxTokens)
	if err != nil {
		return refused("INVALID", "%s", err.Error())
	}
	if errs := validator.ValidateWithRules(s.schema, doc, nil); len(errs) > 0 {
		return gqlErrors(errs)
	}
	op := doc.Operations.ForName(req.OperationName)
	if op == nil {
		return refused("INVALID", "no operation %q in the document", req.OperationName)
	}
	vars, gerr := validator.VariableValues(s.schema, op, req.Variables)
	if gerr != nil {
		return refused("INVALID", "%s", gerr.Error())
	}
	if r := s.checkLimits(op, vars); r != nil {
		return r
	}
	e := &executor{s: s, vars: vars, cache: map[*relation]map[string]any{}}
	resp := &Response{Data: map[string]any{}}
	for _, f := range e.collect(op.SelectionSet, "") {
		key := f.Alias
		if key == "" {
			key = f.Name
		}
		if f.Name == "__typename" {
			resp.Data[key] = string(op.Operation)
			continue
		}
		if s.cfg.OnResolve != nil {
			s.cfg.OnResolve(ctx, f.Name)
		}
		v, err := e.root(ctx, op.Operation, f)
		if err == nil {
			err = e.loadAll(ctx, v, f.SelectionSet)
		}
		if err != nil {
			resp.Errors = append(resp.Errors, toError(err, []any{key}))
			resp.Data[key] = nil
			continue
		}
		resp.Data[key] = e.complete(v, f.Definition.Type, f.SelectionSet)
	}
	return resp
}

// nesting returns the deepest bracket nesting of a document's text, outside strings
// and comments: it bounds the parser's recursion before parsing.
func nesting(q string) int {
	depth, max := 0, 0
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case '#':
			for i < len(q) && q[i] != '\n' {
				i++
			}
		case '"':
			for i++; i < len(q) && q[i] != '"'; i++ {
				if q[i] == '\\' {
					i++
				}
			}
		case '{', '(', '[':
			depth++
			if depth > max {
				max = depth
			}
		case '}', ')', ']':
			depth--
		}
	}
	return max
}

func gqlErrors(errs gqlerror.List) *Response {
	r := &Response{}
	for _, e := range errs {
		r.Errors = append(r.Errors, Error{Message: e.Message, Extensions: map[string]any{"code": "INVALID"}})
	}
	return r
}

// checkLimits walks the operation (fragments inlined; validation has excluded
// cycles) counting depth, aliases, directives and complexity.
func (s *Schema) checkLimits(op *ast.OperationDefinition, vars map[string]any) *Response {
	var aliases, directives, maxDepth int
	var walk func(set ast.SelectionSet, depth, mult int) int
	walk = func(set ast.SelectionSet, depth, mult int) int {
		if depth > s.cfg.MaxDepth+1 {
			return 0
		}
		cost := 0
		for _, sel := range set {
			switch x := sel.(type) {
			case *ast.Field:
				maxDepth = max(maxDepth, depth)
				directives += len(x.Directives)
				if x.Alias != "" && x.Alias != x.Name {
					aliases++
				}
				m := mult
				if n := s.listSize(x, vars); n > 0 {
					m *= n
				}
				cost += mult + walk(x.SelectionSet, depth+1, m)
			case *ast.InlineFragment:
				directives += len(x.Directives)
				cost += walk(x.SelectionSet, depth, mult)
			case *ast.FragmentSpread:
				directives += len(x.Directives)
				if x.Definition != nil {
					cost += walk(x.Definition.SelectionSet, depth, mult)
				}
			}
			if cost > s.cfg.MaxComplexity {
				return cost
			}
		}
		return cost
	}
	directives += len(op.Directives)
	cost := walk(op.SelectionSet, 1, 1)
	switch {
	case maxDepth > s.cfg.MaxDepth:
		return refused("LIMIT", "query depth %d exceeds the limit of %d", maxDepth, s.cfg.MaxDepth)
	case cost > s.cfg.MaxComplexity:
		return refused("LIMIT", "query complexity over the limit of %d", s.cfg.MaxComplexity)
	case aliases > s.cfg.MaxAliases:
		return refused("LIMIT", "%d aliases exceed the limit of %d", aliases, s.cfg.MaxAliases)
	case directives > s.cfg.MaxDirectives:
		return refused("LIMIT", "%d directives exceed the limit of %d", directives, s.cfg.MaxDirectives)
	}
	return nil
}

// listSize is the number of items a field may return, 0 for a single value.
func (s *Schema) listSize(f *ast.Field, vars map[string]any) int {
	args := f.ArgumentMap(vars)
	if f.Name == "_entities" {
		reps, _ := args["representations"].([]any)
		return max(1, min(len(reps), s.cfg.MaxPageSize))
	}
	if v, ok := args["first"]; ok {
		if n, ok := v.(int64); ok && n > 0 {
			return int(min(n, int64(s.cfg.MaxPageSize)))
		}
		return s.cfg.DefaultPageSize
	}
	if v, ok := args["limit"]; ok {
		if n, ok := v.(int64); ok && n > 0 {
			return int(min(n, MaxNearestLimit))
		}
	}
	if f.Definition != nil && f.Definition.Type.Elem != nil {
		return 10 // a list with no size argument: map entries, collections
	}
	if strings.HasSuffix(f.Name, "ByPartition") {
		return s.cfg.DefaultPageSize
	}
	return 0
}

type executor struct {
	s     *Schema
	vars  map[string]any
	cache map[*relation]map[string]any // related rows loaded, by key
}

// collect flattens a selection set into the fields that apply to an object of type
// typeName ("" for any), honouring @skip and @include and fragments' type conditions.
func (e *executor) collect(set ast.SelectionSet, typeName string) []*ast.Field {
	var out []*ast.Field
	applies := func(cond string) bool {
		return typeName == "" || cond == "" || cond == typeName || cond == entityUnion
	}
	for _, sel := range set {
		switch x := sel.(type) {
		case *ast.Field:
			if e.included(x.Directives) {
				out = append(out, x)
			}
		case *ast.InlineFragment:
			if e.included(x.Directives) && applies(x.TypeCondition) {
				out = append(out, e.collect(x.SelectionSet, typeName)...)
			}
		case *ast.FragmentSpread:
			if e.included(x.Directives) && x.Definition != nil && applies(x.Definition.TypeCondition) {
				out = append(out, e.collect(x.Definition.SelectionSet, typeName)...)
			}
		}
	}
	return out
}

func (e *executor) included(ds ast.DirectiveList) bool {
	for _, d := range ds {
		if d.Name != "skip" && d.Name != "include" {
			continue
		}
		v, _ := d.ArgumentMap(e.vars)["if"].(bool)
		if (d.Name == "skip") == v {
			return false
		}
	}
	return true
}

// complete shapes a resolved value (maps, lists, scalars) by the selection set.
func (e *executor) complete(v any, t *ast.Type, set ast.SelectionSet) any {
	if l, ok := v.(*lazy); ok {
		v = l.val
	}
	if v == nil {
		return nil
	}
	if t.Elem != nil {
		xs, ok := v.([]any)
		if !ok {
			return nil
		}
		out := make([]any, len(xs))
		for i, x := range xs {
			out[i] = e.complete(x, t.Elem, set)
		}
		return out
	}
	obj, ok := v.(map[string]any)
	if !ok || len(set) == 0 {
		return v
	}
	typeName := t.NamedType
	if n, ok := obj[typenameKey].(string); ok {
		typeName = n
	}
	out := make(map[string]any, len(set))
	for _, f := range e.collect(set, typeName) {
		key := f.Alias
		if key == "" {
			key = f.Name
		}
		if f.Name == "__typename" {
			out[key] = typeName
			continue
		}
		v := obj[f.Name]
		if c, ok := v.(*call); ok {
			v = c.results[f]
		}
		out[key] = e.complete(v, f.Definition.Type, f.SelectionSet)
	}
	return out
}

// root resolves one root field to maps, lists and scalars.
func (e *executor) root(ctx context.Context, op ast.Operation, f *ast.Field) (any, error) {
	if f.Name == "_service" {
		return map[string]any{"sdl": e.s.sdl}, nil
	}
	if f.Name == "_entities" {
		return e.entities(ctx, f.ArgumentMap(e.vars))
	}
	args := f.ArgumentMap(e.vars)
	if op == ast.Query {
		for _, q := range e.s.queries {
			if q.name == f.Name {
				v, err := q.resolve(ctx, args)
				if err != nil {
					return nil, fmt.Errorf("graphql: query %s: %w", q.name, err)
				}
				return q.conv(v), nil
			}
		}
	}
	for _, m := range e.s.models {
		switch {
		case op == ast.Query && f.Name == m.lower:
			keys, err := m.keys(args)
			if err != nil {
				return nil, err
			}
			v, err := m.get(ctx, keys)
			if errors.Is(err, orm.ErrNotFound) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			return m.row(e.s, v), nil
		case op == ast.Query && f.Name == m.lower+"ByPartition":
			preds, err := m.partition(args)
			if err != nil {
				return nil, err
			}
			return e.connection(ctx, m, preds, args)
		case op == ast.Query && strings.HasPrefix(f.Name, m.lower+"NearestBy"):
			c := m.column(strings.TrimPrefix(f.Name, m.lower+"NearestBy"))
			limit, _ := args["limit"].(int64)
			if c == nil || limit < 1 || limit > MaxNearestLimit {
				return nil, fmt.Errorf("%w: %s: limit must be 1..%d", orm.ErrInvalidQuery, f.Name, MaxNearestLimit)
			}
			var vec []float32
			if err := input(reflect.ValueOf(&vec).Elem(), args["vector"], f.Name+".vector"); err != nil {
				return nil, err
			}
			var preds []orm.Predicate
			if m.table.Tenant != nil {
				var err error
				if preds, err = m.partition(args); err != nil {
					return nil, err
				}
			}
			rows, scores, err := m.nearest(ctx, preds, c.Name, vec, int(limit))
			if err != nil {
				return nil, err
			}
			out := make([]any, len(rows))
			for i := range rows {
				out[i] = map[string]any{"score": float64(scores[i]), "node": m.row(e.s, rows[i])}
			}
			return out, nil
		case op == ast.Query && strings.HasPrefix(f.Name, m.lower+"By"):
			c := m.column(strings.TrimPrefix(f.Name, m.lower+"By"))
			if c == nil {
				continue
			}
			k, err := m.arg(c, args["value"])
			if err != nil {
				return nil, err
			}
			return e.connection(ctx, m, []orm.Predicate{orm.Eq(c.Name, k)}, args)
		case op == ast.Mutation && (f.Name == "create"+m.name || f.Name == "create"+m.name+"IfNotExists" ||
			f.Name == "update"+m.name || f.Name == "update"+m.name+"If"):
			v := reflect.New(m.goType).Elem()
			in, _ := args["input"].(map[string]any)
			for _, c := range m.table.Columns {
				x, ok := in[c.Name]
				if !ok {
					continue
				}
				fv := v.FieldByName(c.Field)
				if err := input(fv, x, m.name+"."+c.Name); err != nil {
					return nil, invalidArg(err, c.Name)
				}
			}
			var err error
			if strings.HasPrefix(f.Name, "create") {
				err = m.insert(ctx, v, strings.HasSuffix(f.Name, "IfNotExists"))
			} else {
				conds, cerr := m.conditions(args)
				if cerr != nil {
					return nil, cerr
				}
				err = m.update(ctx, v, conds, strings.HasSuffix(f.Name, "If"))
			}
			if err != nil {
				return nil, err
			}
			return m.row(e.s, v), nil
		case op == ast.Mutation && (f.Name == "patch"+m.name || f.Name == "patch"+m.name+"If"):
			keys, err := m.keys(args)
			if err != nil {
				return nil, err
			}
			conds, err := m.conditions(args)
			if err != nil {
				return nil, err
			}
			set, _ := args["set"].(map[string]any)
			var changes []orm.Change
			for _, c := range m.table.Columns {
				x, ok := set[c.Name]
				if !ok {
					continue
				}
				if x == nil {
					changes = append(changes, orm.Set(c.Name, nil))
					continue
				}
				val, err := m.arg(c, x)
				if err != nil {
					return nil, err
				}
				changes = append(changes, orm.Set(c.Name, val))
			}
			if len(changes) == 0 {
				return nil, fmt.Errorf("%w: %s: set names no column", orm.ErrInvalidQuery, f.Name)
			}
			if err := m.patch(ctx, keys, conds, changes, strings.HasSuffix(f.Name, "If")); err != nil {
				return nil, err
			}
			return true, nil
		case op == ast.Mutation && (f.Name == "delete"+m.name || f.Name == "delete"+m.name+"If"):
			keys, err := m.keys(args)
			if err != nil {
				return nil, err
			}
			conds, err := m.conditions(args)
			if err != nil {
				return nil, err
			}
			if err := m.del(ctx, keys, conds, strings.HasSuffix(f.Name, "If")); err != nil {
				return nil, err
			}
			return true, nil
		}
	}
	return nil, fmt.Errorf("graphql: no resolver for field %s", f.Name)
}

// typenameKey marks, in a resolved object, its concrete type (for the _Entity union).
const typenameKey = "__typename"

// entityUnion is the Apollo Federation union of every model type.
const entityUnion = "_Entity"

func (e *executor) connection(ctx context.Context, m *model, preds []orm.Predicate, args map[string]any) (any, error) {
	size := e.s.cfg.DefaultPageSize
	if n, ok := args["first"].(int64); ok {
		if n < 1 || n > int64(e.s.cfg.MaxPageSize) {
			return nil, fmt.Errorf("%w: %s: first must be 1..%d", orm.ErrInvalidQuery, m.name, e.s.cfg.MaxPageSize)
		}
		size = int(n)
	}
	after, _ := args["after"].(string)
	rows, next, err := m.page(ctx, preds, size, after)
	if err != nil {
		return nil, err
	}
	edges := make([]any, len(rows))
	for i, r := range rows {
		// A Cassandra page state marks the end of a page, not each row: every edge
		// carries the cursor that continues after this page.
		edges[i] = map[string]any{"cursor": next, "node": m.row(e.s, r)}
	}
	var end any
	if next != "" {
		end = next
	}
	return map[string]any{"edges": edges, "pageInfo": map[string]any{"hasNextPage": next != "", "endCursor": end}}, nil
}

func (m *model) column(p string) *orm.Column {
	for _, c := range m.table.Columns {
		if pascal(c.Name) == p {
			return c
		}
	}
	return nil
}

func (m *model) arg(c *orm.Column, val any) (any, error) {
	f, _ := m.goType.FieldByName(c.Field)
	v := reflect.New(f.Type).Elem()
	if err := input(v, val, m.name+"."+c.Name); err != nil {
		return nil, invalidArg(err, c.Name)
	}
	return v.Interface(), nil
}

// conditions returns the equalities of the if argument, in column order.
func (m *model) conditions(args map[string]any) ([]orm.Predicate, error) {
	cond, _ := args["if"].(map[string]any)
	var preds []orm.Predicate
	for _, c := range m.table.Columns {
		x, ok := cond[c.Name]
		if !ok {
			continue
		}
		val, err := m.arg(c, x)
		if err != nil {
			return nil, err
		}
		preds = append(preds, orm.Eq(c.Name, val))
	}
	return preds, nil
}

// partition returns the equality predicates of the partition key arguments.
func (m *model) partition(args map[string]any) ([]orm.Predicate, error) {
	var preds []orm.Predicate
	for _, c := range m.table.PartitionKey {
		k, err := m.arg(c, args[c.Name])
		if err != nil {
			return nil, err
		}
		preds = append(preds, orm.Eq(c.Name, k))
	}
	return preds, nil
}

func (m *model) keys(args map[string]any) ([]any, error) {
	var keys []any
	for _, cols := range [][]*orm.Column{m.table.PartitionKey, m.table.Clustering} {
		for _, c := range cols {
			k, err := m.arg(c, args[c.Name])
			if err != nil {
				return nil, err
			}
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// row converts one model struct to its GraphQL object.
func (m *model) row(s *Schema, v reflect.Value) map[string]any {
	out := make(map[string]any, len(m.table.Columns))
	for _, c := range m.table.Columns {
		out[c.Name] = output(v.FieldByName(c.Field), c.Type)
	}
	for _, r := range s.relations {
		if r.from == m {
			out[r.field] = &lazy{rel: r, key: v.FieldByName(r.column.Field).Interface()}
		}
	}
	for _, r := range s.references {
		if r.from == m.goType {
			out[r.field] = r.value(v)
		}
	}
	for _, c := range m.refCols {
		s.withReferences(v.FieldByName(c.Field), out[c.Name])
	}
	for _, cf := range m.fields {
		out[cf.name] = &call{cf: cf, parent: v, results: map[*ast.Field]any{}}
	}
	out[typenameKey] = m.name
	return out
}

// argError is a bad argument value, reported with the column it concerns.
type argError struct {
	err    error
	column string
}

func (e *argError) Error() string { return e.err.Error() }
func (e *argError) Unwrap() error { return e.err }

func invalidArg(err error, column string) error { return &argError{err, column} }

// toError maps an error to a GraphQL error with a typed code in its extensions.
func toError(err error, path []any) Error {
	ext := map[string]any{}
	var ve *orm.ValidationError
	var ae *argError
	switch {
	case errors.As(err, &ve):
		ext["code"] = "VALIDATION"
		fields := make([]any, len(ve.Fields))
		for i, f := range ve.Fields {
			fields[i] = map[string]any{"column": f.Column, "rule": f.Rule, "message": f.Msg}
		}
		ext["fields"] = fields
	case errors.As(err, &ae):
		ext["code"] = "VALIDATION"
		ext["fields"] = []any{map[string]any{"column": ae.column, "rule": "type", "message": ae.err.Error()}}
	case errors.Is(err, orm.ErrConflict):
		ext["code"] = "CONFLICT"
	case errors.Is(err, orm.ErrNotFound):
		ext["code"] = "NOT_FOUND"
	case errors.Is(err, orm.ErrInvalidQuery), errors.Is(err, orm.ErrFiltering), errors.Is(err, orm.ErrInvalidValue):
		ext["code"] = "BAD_QUERY"
	case errors.Is(err, orm.ErrUncertain):
		ext["code"] = "UNCERTAIN"
	case errors.Is(err, orm.ErrUnavailable):
		ext["code"] = "UNAVAILABLE"
	default:
		ext["code"] = "INTERNAL"
	}
	return Error{Message: err.Error(), Path: path, Extensions: ext}
}

// isMutation reports whether req's selected operation is a mutation, parsing with the
// same token limit as Execute; an unparsable document is left to Execute to refuse.
func (s *Schema) isMutation(req Request) bool {
	if len(req.Query) > s.cfg.MaxBytes || nesting(req.Query) > 2*s.cfg.MaxDepth+4 {
		return false
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: req.Query}, s.cfg.MaxTokens)
	if err != nil {
		return false
	}
	op := doc.Operations.ForName(req.OperationName)
	return op != nil && op.Operation == ast.Mutation
}
