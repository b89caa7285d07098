package graphql

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// customQuery is a root query field AddQuery declared.
type customQuery struct {
	name, args string
	result     reflect.Type
	resolve    func(ctx context.Context, args map[string]any) (reflect.Value, error)
	gql        string                  // GraphQL type, set by Build
	conv       func(reflect.Value) any // set by Build
}

// customField is a computed field of a model's type AddField declared.
type customField struct {
	on         *model
	name, args string
	result     reflect.Type
	resolve    func(ctx context.Context, parents []reflect.Value, args map[string]any) ([]reflect.Value, error)
	gql        string
	conv       func(reflect.Value) any
}

// call is a computed field of one parent row, resolved per selection.
type call struct {
	cf      *customField
	parent  reflect.Value
	results map[*ast.Field]any
}

var nameRE = regexp.MustCompile(`^[_A-Za-z][_0-9A-Za-z]*$`)

// AddQuery declares a root query field name(args): R resolved by resolve. args is
// SDL argument text, e.g. `id: String!` or `text: String!, limit: Int = 10` ("" for
// none); resolve gets the coerced values by name (Int as int64, Float as float64,
// String and custom scalars as string, lists as []any, input objects as
// map[string]any; defaults applied). R is a type added with Add (a non-null
// result), a pointer to one (nullable), a slice of one or of pointers (a list),
// or a Go type with a column mapping (string, int32, int64 as Long, ...). Call it
// before Build; the field counts in the limits as any field (a list as a list of
// its limit or first argument, else of 10).
func AddQuery[R any](s *Schema, name, args string, resolve func(ctx context.Context, args map[string]any) (R, error)) error {
	if s.built.Load() {
		return fmt.Errorf("graphql: AddQuery %s after Build", name)
	}
	if resolve == nil {
		return fmt.Errorf("graphql: AddQuery %s: nil resolver", name)
	}
	a, err := parseArgs(name, args)
	if err != nil {
		return fmt.Errorf("graphql: AddQuery %s: %w", name, err)
	}
	for _, q := range s.queries {
		if q.name == name {
			return fmt.Errorf("graphql: AddQuery %s: declared twice", name)
		}
	}
	s.queries = append(s.queries, &customQuery{name: name, args: a, result: reflect.TypeFor[R](),
		resolve: func(ctx context.Context, args map[string]any) (reflect.Value, error) {
			r, err := resolve(ctx, args)
			return reflect.ValueOf(&r).Elem(), err
		}})
	return nil
}

// AddField declares a computed field name(args): R on the type of model T (added
// first). resolve runs once per request and level of the response for every T
// that selects the field there, with the field's argument values (as AddQuery
// gives them), and returns one result per parent, in order. R is as for AddQuery.
// Call it before Build.
func AddField[T, R any](s *Schema, name, args string, resolve func(ctx context.Context, parents []T, args map[string]any) ([]R, error)) error {
	if s.built.Load() {
		return fmt.Errorf("graphql: AddField %s after Build", name)
	}
	if resolve == nil {
		return fmt.Errorf("graphql: AddField %s: nil resolver", name)
	}
	m := s.modelOf(reflect.TypeFor[T]())
	if m == nil {
		return fmt.Errorf("graphql: AddField %s: add model %s first", name, reflect.TypeFor[T]())
	}
	a, err := parseArgs(name, args)
	if err != nil {
		return fmt.Errorf("graphql: AddField %s.%s: %w", m.name, name, err)
	}
	if m.table.Column(name) != nil || m.hasField(s, name) {
		return fmt.Errorf("graphql: AddField %s.%s: the name is taken", m.name, name)
	}
	m.fields = append(m.fields, &customField{on: m, name: name, args: a, result: reflect.TypeFor[R](),
		resolve: func(ctx context.Context, parents []reflect.Value, args map[string]any) ([]reflect.Value, error) {
			ps := make([]T, len(parents))
			for i, p := range parents {
				ps[i] = p.Interface().(T)
			}
			rs, err := resolve(ctx, ps, args)
			if err != nil {
				return nil, err
			}
			if len(rs) != len(ps) {
				return nil, fmt.Errorf("%d results for %d parents", len(rs), len(ps))
			}
			out := make([]reflect.Value, len(rs))
			for i := range rs {
				out[i] = reflect.ValueOf(&rs[i]).Elem()
			}
			return out, nil
		}})
	return nil
}

// hasField reports whether m's type already has a declared field name.
func (m *model) hasField(s *Schema, name string) bool {
	for _, f := range m.fields {
		if f.name == name {
			return true
		}
	}
	for _, r := range s.relations {
		if r.from == m && r.field == name {
			return true
		}
	}
	return false
}

func (s *Schema) modelOf(t reflect.Type) *model {
	for _, m := range s.models {
		if m.goType == t {
			return m
		}
	}
	return nil
}

// parseArgs checks name and the SDL argument text args, and returns the arguments
// printed again from their syntax tree, so that no text but arguments gets into
// the SDL.
func parseArgs(name, args string) (string, error) {
	if !nameRE.MatchString(name) || strings.HasPrefix(name, "__") {
		return "", fmt.Errorf("%q is not a GraphQL field name", name)
	}
	if strings.TrimSpace(args) == "" {
		return "", nil
	}
	doc, err := parser.ParseSchema(&ast.Source{Input: "type T { f(" + args + "): Int }"})
	if err != nil {
		return "", fmt.Errorf("arguments %q do not parse: %w", args, err)
	}
	if len(doc.Definitions) != 1 || len(doc.Definitions[0].Fields) != 1 || doc.Definitions[0].Fields[0].Name != "f" ||
		len(doc.Directives) != 0 || len(doc.Extensions) != 0 || len(doc.Schema) != 0 || len(doc.SchemaExtension) != 0 {
		return "", fmt.Errorf("arguments %q are not an argument list", args)
	}
	var parts []string
	for _, a := range doc.Definitions[0].Fields[0].Arguments {
		if len(a.Directives) > 0 {
			return "", fmt.Errorf("argument %s: directives are not supported", a.Name)
		}
		p := a.Name + ": " + a.Type.String()
		if a.DefaultValue != nil {
			p += " = " + a.DefaultValue.String()
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", "), nil
}

// resultType maps a resolver's Go result type to its GraphQL type and converter.
func (s *Schema) resultType(t reflect.Type, n *typeNamer, where string) (string, func(reflect.Value) any, error) {
	single := func(t reflect.Type) (string, func(reflect.Value) any, bool) {
		nullable := false
		if t.Kind() == reflect.Pointer {
			nullable, t = true, t.Elem()
		}
		m := s.modelOf(t)
		if m == nil {
			return "", nil, false
		}
		conv := func(v reflect.Value) any {
			if v.Kind() == reflect.Pointer {
				if v.IsNil() {
					return nil
				}
				v = v.Elem()
			}
			return m.row(s, v)
		}
		if nullable {
			return m.name, conv, true
		}
		return m.name + "!", conv, true
	}
	if g, conv, ok := single(t); ok {
		return g, conv, nil
	}
	if t.Kind() == reflect.Slice && t != typeBytes {
		if g, conv, ok := single(t.Elem()); ok {
			return "[" + g + "]!", func(v reflect.Value) any {
				out := make([]any, v.Len())
				for i := range out {
					out[i] = conv(v.Index(i))
				}
				return out
			}, nil
		}
	}
	k, err := n.kind(t, "", where+"Entry")
	if err != nil {
		return "", nil, fmt.Errorf("result type %s: %w", t, err)
	}
	return k.gql + bang(k), func(v reflect.Value) any { return output(v, "") }, nil
}
