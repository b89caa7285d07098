package graphql

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// FederationURL is the Apollo Federation spec the subgraph SDL links to.
const FederationURL = "https://specs.apollo.dev/federation/v2.3"

// linkSDL opens the SDL that _service serves: the link to the federation spec,
// importing the directives the package uses.
const linkSDL = `extend schema @link(url: "` + FederationURL + `", import: ["@key", "@shareable"])
`

// federationDefs are the definitions gqlparser needs to load the schema but that
// _service does not serve: the federation directives as the spec defines them (a
// gateway knows them from the @link), and the _service and _entities fields with
// their types, which a subgraph's served SDL leaves out.
const federationDefs = `directive @link(url: String!, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }
scalar federation__FieldSet
directive @key(fields: federation__FieldSet!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE
directive @shareable repeatable on OBJECT | FIELD_DEFINITION
type _Service {
  sdl: String!
}
"A representation of an entity: its __typename and key fields."
scalar _Any
`

// ModelOption changes how Add exposes one model.
type ModelOption struct {
	apply func(m *model) error
}

// TypeName names the model's GraphQL type (and its root fields: name "User"
// gives user, userByPartition, ...) in place of the Go type's name, as when
// a read model (a Profile row) is the entity another subgraph knows as User.
// The name must be a GraphQL name not taken by another type.
func TypeName(name string) ModelOption {
	return ModelOption{apply: func(m *model) error {
		if !nameRE.MatchString(name) || strings.HasPrefix(name, "__") {
			return fmt.Errorf("TypeName %q is not a GraphQL type name", name)
		}
		m.name = name
		return nil
	}}
}

// ReadOnly leaves the model's mutations out of the schema: its rows are read
// through the graph and written through the service's own APIs.
func ReadOnly() ModelOption {
	return ModelOption{apply: func(m *model) error {
		m.readOnly = true
		return nil
	}}
}

// entityKey is an entity key other than the primary key, with its loader.
type entityKey struct {
	fields []string // column names
	load   func(ctx context.Context, reps []map[string]any) ([]reflect.Value, error)
}

// EntityKey makes fields (column names separated by spaces) the model's entity
// key, @key(fields: "..."), in place of its primary key, and load the way
// _entities reads it: load gets every representation of the type in one request
// at once ({"__typename": ..., key field: JSON value, ...}) and returns one *T per
// representation, in order, nil where there is no such row. Use it where the
// primary key holds a column other subgraphs cannot know, such as a hash bucket
// computed from the id.
func EntityKey[T any](fields string, load func(ctx context.Context, reps []map[string]any) ([]*T, error)) ModelOption {
	return ModelOption{apply: func(m *model) error {
		if m.goType != reflect.TypeFor[T]() {
			return fmt.Errorf("EntityKey of %s given to model %s", reflect.TypeFor[T](), m.goType)
		}
		if load == nil {
			return errors.New("EntityKey: nil loader")
		}
		names := strings.Fields(fields)
		if len(names) == 0 {
			return errors.New("EntityKey: no fields")
		}
		for _, n := range names {
			if m.table.Column(n) == nil {
				return fmt.Errorf("EntityKey: table %s has no column %q", m.table.Name, n)
			}
		}
		m.key = &entityKey{fields: names, load: func(ctx context.Context, reps []map[string]any) ([]reflect.Value, error) {
			rows, err := load(ctx, reps)
			if err != nil {
				return nil, err
			}
			if len(rows) != len(reps) {
				return nil, fmt.Errorf("the EntityKey loader returned %d rows for %d representations", len(rows), len(reps))
			}
			out := make([]reflect.Value, len(rows))
			for i, r := range rows {
				if r != nil {
					out[i] = reflect.ValueOf(r).Elem()
				}
			}
			return out, nil
		}}
		return nil
	}}
}

// keyFieldSet is the model's @key fields argument.
func (m *model) keyFieldSet() string {
	if m.key != nil {
		return strings.Join(m.key.fields, " ")
	}
	return keyFields(m.table)
}

// entities resolves Apollo Federation's _entities: the representations are
// grouped by __typename and each group read at once (an EntityKey type through
// its loader; a type keyed by a one-column partition key with IN reads of
// Config.BatchSize keys, or with one clustering column IN reads of the clustering
// keys within each partition; other types one Get each). Results are in the order of
// the representations, null where absent.
func (e *executor) entities(ctx context.Context, args map[string]any) (any, error) {
	reps, _ := args["representations"].([]any)
	if len(reps) > e.s.cfg.MaxPageSize {
		return nil, fmt.Errorf("%w: _entities: %d representations, over %d", orm.ErrInvalidQuery, len(reps), e.s.cfg.MaxPageSize)
	}
	out := make([]any, len(reps))
	groups := map[*model][]int{}
	var order []*model
	for i, r := range reps {
		rep, _ := r.(map[string]any)
		name, _ := rep[typenameKey].(string)
		var m *model
		for _, x := range e.s.models {
			if x.name == name {
				m = x
			}
		}
		if m == nil {
			return nil, fmt.Errorf("%w: _entities: representation %d: unknown __typename %q", orm.ErrInvalidQuery, i, name)
		}
		if groups[m] == nil {
			order = append(order, m)
		}
		groups[m] = append(groups[m], i)
	}
	for _, m := range order {
		if err := e.entityGroup(ctx, m, reps, groups[m], out); err != nil {
			return nil, fmt.Errorf("graphql: _entities of %s: %w", m.name, err)
		}
	}
	return out, nil
}

// entityGroup reads the representations idx of one model into out.
func (e *executor) entityGroup(ctx context.Context, m *model, reps []any, idx []int, out []any) error {
	set := func(i int, v reflect.Value) { out[i] = m.row(e.s, v) }
	switch {
	case m.key != nil:
		group := make([]map[string]any, len(idx))
		for j, i := range idx {
			group[j] = reps[i].(map[string]any)
		}
		rows, err := m.key.load(ctx, group)
		if err != nil {
			return err
		}
		for j, i := range idx {
			if rows[j].IsValid() {
				set(i, rows[j])
			}
		}
	case len(m.table.Clustering) <= 1:
		// Batched reads: IN on a one-column partition key, or IN on the one
		// clustering column within each partition.
		cols := append(append([]*orm.Column{}, m.table.PartitionKey...), m.table.Clustering...)
		nPart := len(m.table.PartitionKey)
		if len(m.table.Clustering) == 0 && nPart > 1 {
			return e.entityGets(ctx, m, reps, idx, out)
		}
		want := make([]string, len(idx))
		var order []string
		groups := map[string][][]any{} // partition -> distinct keys
		seen := map[string]bool{}
		for j, i := range idx {
			keys, err := m.keys(reps[i].(map[string]any))
			if err != nil {
				return fmt.Errorf("representation %d: %w", i, err)
			}
			want[j] = keyID(keys)
			if seen[want[j]] {
				continue
			}
			seen[want[j]] = true
			part := ""
			if len(m.table.Clustering) == 1 {
				part = keyID(keys[:nPart])
			}
			if groups[part] == nil {
				order = append(order, part)
			}
			groups[part] = append(groups[part], keys)
		}
		found := map[string]reflect.Value{}
		for _, part := range order {
			keys := groups[part]
			for len(keys) > 0 {
				n := min(len(keys), e.s.cfg.BatchSize)
				var preds []orm.Predicate
				last := make([]any, n)
				for j, k := range keys[:n] {
					last[j] = k[len(k)-1]
				}
				if len(m.table.Clustering) == 1 {
					for c, col := range m.table.PartitionKey {
						preds = append(preds, orm.Eq(col.Name, keys[0][c]))
					}
				}
				preds = append(preds, orm.In(cols[len(cols)-1].Name, last...))
				rows, err := m.find(ctx, preds)
				if err != nil {
					return err
				}
				for _, r := range rows {
					vals := make([]any, len(cols))
					for c, col := range cols {
						vals[c] = r.FieldByName(col.Field).Interface()
					}
					found[keyID(vals)] = r
				}
				keys = keys[n:]
			}
		}
		for j, i := range idx {
			if r, ok := found[want[j]]; ok {
				set(i, r)
			}
		}
	default:
		return e.entityGets(ctx, m, reps, idx, out)
	}
	return nil
}

// entityGets reads the representations idx of m one Get each.
func (e *executor) entityGets(ctx context.Context, m *model, reps []any, idx []int, out []any) error {
	for _, i := range idx {
		keys, err := m.keys(reps[i].(map[string]any))
		if err != nil {
			return fmt.Errorf("representation %d: %w", i, err)
		}
		v, err := m.get(ctx, keys)
		if errors.Is(err, orm.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		out[i] = m.row(e.s, v)
	}
	return nil
}

// keyID identifies a primary key's values.
func keyID(vals []any) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, "\x00")
}
