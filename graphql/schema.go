package graphql

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"
	// The standard validation rules register themselves with the validator.
	_ "github.com/vektah/gqlparser/v2/validator/rules"
)

// Config bounds what one request may ask for. Every limit is checked before any
// resolver runs.
type Config struct {
	// MaxBytes is the largest query document accepted; default 64 KiB.
	MaxBytes int
	// MaxTokens is the most lexical tokens the parser reads; default 5000.
	MaxTokens int
	// MaxDepth is the deepest selection nesting (and, before parsing, the deepest
	// bracket nesting of the text); default 12.
	MaxDepth int
	// MaxComplexity bounds the sum over fields of each field's cost, one per field
	// times the page size or limit of every list above it; default 20000.
	MaxComplexity int
	// MaxAliases is the most aliased fields in a document; default 30.
	MaxAliases int
	// MaxDirectives is the most directives in a document; default 30.
	MaxDirectives int
	// DefaultPageSize is the page size of a connection without a first argument;
	// default 50. MaxPageSize bounds first; default 500.
	DefaultPageSize int
	MaxPageSize     int
	// BatchSize is the most keys one batched relation read asks for; default 100.
	BatchSize int
	// OnResolve, when set, is called before each root field's resolver runs, with
	// the field's name. It must be safe for concurrent use.
	OnResolve func(ctx context.Context, field string)
}

func (c *Config) setDefaults() {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.MaxBytes, 64<<10)
	def(&c.MaxTokens, 5000)
	def(&c.MaxDepth, 12)
	def(&c.MaxComplexity, 20000)
	def(&c.MaxAliases, 30)
	def(&c.MaxDirectives, 30)
	def(&c.DefaultPageSize, 50)
	def(&c.MaxPageSize, 500)
	def(&c.BatchSize, 100)
}

// Validate reports a negative limit, or a default page size above the maximum.
func (c Config) Validate() error {
	for name, v := range map[string]int{"MaxBytes": c.MaxBytes, "MaxTokens": c.MaxTokens, "MaxDepth": c.MaxDepth,
		"MaxComplexity": c.MaxComplexity, "MaxAliases": c.MaxAliases, "MaxDirectives": c.MaxDirectives,
		"DefaultPageSize": c.DefaultPageSize, "MaxPageSize": c.MaxPageSize, "BatchSize": c.BatchSize} {
		if v < 0 {
			return fmt.Errorf("graphql: config: %s is negative (%d)", name, v)
		}
	}
	if c.DefaultPageSize > c.MaxPageSize && c.MaxPageSize > 0 {
		return fmt.Errorf("graphql: config: DefaultPageSize %d exceeds MaxPageSize %d", c.DefaultPageSize, c.MaxPageSize)
	}
	return nil
}

// MaxNearestLimit is the largest limit of a nearest (ANN) query.
const MaxNearestLimit = 1000

// Schema is a GraphQL schema built from ORM models. Make it with New, add models
// with Add, then Build it; a built Schema is safe for concurrent use.
type Schema struct {
	cfg    Config
	models []*model
	names  map[string]bool
	// relations are the fields Relate declared.
	relations []*relation
	// queries are the root fields AddQuery declared.
	queries []*customQuery
	// references are the fields Reference declared.
	references []*reference
	sdl        string
	schema     *ast.Schema
	built      atomic.Bool
}

// New returns an empty schema with cfg's limits (zero fields take the defaults).
func New(cfg Config) (*Schema, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Schema{cfg: cfg, names: map[string]bool{}}, nil
}

// model is one registered model, with its type-erased operations.
type model struct {
	name   string // GraphQL object type name
	lower  string // root field prefix
	table  *orm.Table
	goType reflect.Type
	kinds  map[string]fieldKind // by column name

	// readOnly models get no mutations; key, when set, replaces the primary key
	// as the entity key; fields are the computed fields AddField declared.
	readOnly bool
	key      *entityKey
	fields   []*customField
	// refCols are the columns holding UDTs with reference fields.
	refCols []*orm.Column

	get     func(ctx context.Context, keys []any) (reflect.Value, error)
	byKeys  func(ctx context.Context, keys []any) ([]reflect.Value, error) // one IN on a one-column partition key
	find    func(ctx context.Context, preds []orm.Predicate) ([]reflect.Value, error)
	page    func(ctx context.Context, preds []orm.Predicate, size int, cursor string) ([]reflect.Value, string, error)
	nearest func(ctx context.Context, preds []orm.Predicate, col string, vec []float32, limit int) ([]reflect.Value, []float32, error)
	insert  func(ctx context.Context, v reflect.Value, ifNotExists bool) error
	update  func(ctx context.Context, v reflect.Value, conds []orm.Predicate, lwt bool) error
	patch   func(ctx context.Context, keys []any, conds []orm.Predicate, changes []orm.Change, lwt bool) error
	del     func(ctx context.Context, keys []any, conds []orm.Predicate, lwt bool) error
}

// Add registers m's model in s under the Go type's name, with opts (ReadOnly,
// EntityKey). It fails on a built schema, a name already taken, an option for
// another model type, or (at Build) a column whose type has no GraphQL mapping.
func Add[T any](s *Schema, m *orm.Model[T], opts ...ModelOption) error {
	if s.built.Load() {
		return errors.New("graphql: Add after Build")
	}
	t := reflect.TypeFor[T]()
	md := &model{
		name: t.Name(), table: m.Table(), goType: t,
		get: func(ctx context.Context, keys []any) (reflect.Value, error) {
			v, err := m.Get(ctx, keys...)
			return reflect.ValueOf(&v).Elem(), err
		},
		find: func(ctx context.Context, preds []orm.Predicate) ([]reflect.Value, error) {
			var out []reflect.Value
			for row, err := range m.Query().Where(preds...).All(ctx) {
				if err != nil {
					return nil, err
				}
				out = append(out, reflect.ValueOf(&row).Elem())
			}
			return out, nil
		},
		page: func(ctx context.Context, preds []orm.Predicate, size int, cursor string) ([]reflect.Value, string, error) {
			p, err := m.Query().Where(preds...).With(orm.WithPageSize(size)).Page(ctx, cursor)
			if err != nil {
				return nil, "", err
			}
			out := make([]reflect.Value, len(p.Items))
			for i := range p.Items {
				out[i] = reflect.ValueOf(&p.Items[i]).Elem()
			}
			return out, p.Next, nil
		},
		nearest: func(ctx context.Context, preds []orm.Predicate, col string, vec []float32, limit int) ([]reflect.Value, []float32, error) {
			var rows []reflect.Value
			var scores []float32
			for r, err := range m.Query().Where(preds...).NearestTo(col, vec).Limit(limit).AllScored(ctx) {
				if err != nil {
					return nil, nil, err
				}
				rows = append(rows, reflect.ValueOf(&r.Row).Elem())
				scores = append(scores, r.Score)
			}
			return rows, scores, nil
		},
		insert: func(ctx context.Context, v reflect.Value, ifNotExists bool) error {
			p := v.Addr().Interface().(*T)
			if ifNotExists {
				return m.InsertIfNotExists(ctx, p)
			}
			return m.Insert(ctx, p)
		},
		update: func(ctx context.Context, v reflect.Value, conds []orm.Predicate, lwt bool) error {
			p := v.Addr().Interface().(*T)
			if lwt {
				return m.UpdateIf(ctx, p, conds)
			}
			return m.Update(ctx, p)
		},
		patch: func(ctx context.Context, keys []any, conds []orm.Predicate, changes []orm.Change, lwt bool) error {
			if lwt {
				return m.PatchIf(ctx, keys, conds, changes)
			}
			return m.Patch(ctx, keys, changes)
		},
		del: func(ctx context.Context, keys []any, conds []orm.Predicate, lwt bool) error {
			if lwt {
				return m.DeleteIf(ctx, keys, conds...)
			}
			return m.Delete(ctx, keys...)
		},
	}
	for _, o := range opts {
		if err := o.apply(md); err != nil {
			return fmt.Errorf("graphql: model %s of table %s: %w", t, m.Table().Name, err)
		}
	}
	name := md.name
	if name == "" || s.names[name] {
		return fmt.Errorf("graphql: model %s of table %s: empty or duplicate GraphQL type name %q", t, m.Table().Name, name)
	}
	md.lower = strings.ToLower(name[:1]) + name[1:]
	s.names[name] = true
	md.byKeys = func(ctx context.Context, keys []any) ([]reflect.Value, error) {
		return md.find(ctx, []orm.Predicate{orm.In(md.table.PartitionKey[0].Name, keys...)})
	}
	s.models = append(s.models, md)
	return nil
}

// Build generates the SDL of the registered models and loads it; after Build the
// schema serves requests and Add fails.
func (s *Schema) Build() error {
	if s.built.Load() {
		return errors.New("graphql: Build called twice")
	}
	if len(s.models) == 0 {
		return errors.New("graphql: Build: no models added")
	}
	n := newTypeNamer(s.references)
	var types, query, mutation strings.Builder
	for _, m := range s.models {
		m.kinds = map[string]fieldKind{}
		var out, in, fields strings.Builder
		fmt.Fprintf(&out, "\"Rows of table %s.\"\ntype %s @key(fields: %q) {\n", m.table.Name, m.name, m.keyFieldSet())
		fmt.Fprintf(&in, "input %sInput {\n", m.name)
		for _, c := range m.table.Columns {
			f, ok := m.goType.FieldByName(c.Field)
			if !ok {
				return fmt.Errorf("graphql: model %s: column %s has no field %s", m.name, c.Name, c.Field)
			}
			k, err := n.kind(f.Type, c.Type, m.name+pascal(c.Name)+"Entry")
			if err != nil {
				return fmt.Errorf("graphql: model %s column %s: %w", m.name, c.Name, err)
			}
			m.kinds[c.Name] = k
			if s.udtReferences(f.Type, map[reflect.Type]bool{}) {
				m.refCols = append(m.refCols, c)
			}
			fmt.Fprintf(&out, "  %s: %s%s\n", c.Name, k.gql, bang(k))
			req := ""
			if c.Kind == orm.PartitionKey || c.Kind == orm.ClusteringKey {
				req = "!"
			}
			fmt.Fprintf(&in, "  %s: %s%s\n", c.Name, k.input, req)
			if req == "" {
				fmt.Fprintf(&fields, "  %s: %s\n", c.Name, k.input)
			}
		}
		if fields.Len() > 0 {
			fmt.Fprintf(&types, "\"Some non-key columns of %s: the values of a patch, or the equalities of a condition.\"\ninput %sFields {\n%s}\n", m.name, m.name, fields.String())
		}
		for _, r := range s.relations {
			if r.from == m {
				fmt.Fprintf(&out, "  \"The %s whose key is %s, loaded in batches.\"\n  %s: %s\n", r.to.name, r.column.Name, r.field, r.to.name)
			}
		}
		for _, r := range s.references {
			if r.from == m.goType {
				out.WriteString(r.sdlField())
			}
		}
		for _, cf := range m.fields {
			g, conv, err := s.resultType(cf.result, n, m.name+pascal(cf.name))
			if err != nil {
				return fmt.Errorf("graphql: field %s.%s: %w", m.name, cf.name, err)
			}
			cf.gql, cf.conv = g, conv
			fmt.Fprintf(&out, "  %s%s: %s\n", cf.name, parens(cf.args), g)
		}
		out.WriteString("}\n")
		in.WriteString("}\n")
		types.WriteString(out.String() + in.String())
		fmt.Fprintf(&types, "type %sConnection {\n  edges: [%sEdge!]!\n  pageInfo: PageInfo!\n}\ntype %sEdge {\n  cursor: String!\n  node: %s!\n}\ntype %sScored {\n  score: Float!\n  node: %s!\n}\n",
			m.name, m.name, m.name, m.name, m.name, m.name)
		pk := keyArgs(m, append(append([]*orm.Column{}, m.table.PartitionKey...), m.table.Clustering...))
		part := keyArgs(m, m.table.PartitionKey)
		fmt.Fprintf(&query, "  \"One %s by its primary key; null when absent.\"\n  %s(%s): %s\n", m.name, m.lower, pk, m.name)
		fmt.Fprintf(&query, "  \"The %s rows of one partition, in clustering order.\"\n  %sByPartition(%s, first: Int, after: String): %sConnection!\n", m.name, m.lower, part, m.name)
		for _, c := range m.table.Columns {
			if c.Index == "" || c.Kind == orm.PartitionKey {
				continue
			}
			k := m.kinds[c.Name]
			if strings.HasPrefix(c.Type, "vector<") {
				// On a tenant-scoped table the tenant column leads the partition
				// key, and Cassandra refuses an ANN read restricting only part of
				// it: such a table's nearest query names its whole partition.
				within := ""
				if m.table.Tenant != nil {
					within = part + ", "
				}
				fmt.Fprintf(&query, "  \"The %s rows nearest to vector by %s (ANN), most similar first.\"\n  %sNearestBy%s(%svector: [Float!]!, limit: Int!): [%sScored!]!\n",
					m.name, c.Name, m.lower, pascal(c.Name), within, m.name)
				continue
			}
			if c.Index != "default" {
				continue // collection indexes: CONTAINS queries are not exposed yet
			}
			fmt.Fprintf(&query, "  \"The %s rows whose %s equals value, through its SAI index.\"\n  %sBy%s(value: %s!, first: Int, after: String): %sConnection!\n",
				m.name, c.Name, m.lower, pascal(c.Name), k.input, m.name)
		}
		if m.readOnly {
			continue
		}
		fmt.Fprintf(&mutation, "  \"Writes a %s (an upsert) and returns it.\"\n  create%s(input: %sInput!): %s!\n", m.name, m.name, m.name, m.name)
		fmt.Fprintf(&mutation, "  \"Writes a %s unless its primary key exists (a lightweight transaction); a CONFLICT error otherwise.\"\n  create%sIfNotExists(input: %sInput!): %s!\n", m.name, m.name, m.name, m.name)
		fmt.Fprintf(&mutation, "  \"Deletes one %s by its primary key; true when done.\"\n  delete%s(%s): Boolean!\n", m.name, m.name, pk)
		fmt.Fprintf(&mutation, "  \"Writes the non-key columns of an existing %s and returns it.\"\n  update%s(input: %sInput!): %s!\n", m.name, m.name, m.name, m.name)
		if fields.Len() > 0 {
			cond := fmt.Sprintf("if: %sFields", m.name)
			fmt.Fprintf(&mutation, "  \"update%s as a lightweight transaction: applied only if the columns in if hold those values (IF EXISTS without if); a CONFLICT error otherwise.\"\n  update%sIf(input: %sInput!, %s): %s!\n", m.name, m.name, m.name, cond, m.name)
			fmt.Fprintf(&mutation, "  \"Sets the given columns of one %s in place; true when done.\"\n  patch%s(%s, set: %sFields!): Boolean!\n", m.name, m.name, pk, m.name)
			fmt.Fprintf(&mutation, "  \"patch%s as a lightweight transaction (IF EXISTS without if).\"\n  patch%sIf(%s, set: %sFields!, %s): Boolean!\n", m.name, m.name, pk, m.name, cond)
			fmt.Fprintf(&mutation, "  \"delete%s as a lightweight transaction (IF EXISTS without if).\"\n  delete%sIf(%s, %s): Boolean!\n", m.name, m.name, pk, cond)
		}
	}
	for _, q := range s.queries {
		g, conv, err := s.resultType(q.result, n, pascal(q.name))
		if err != nil {
			return fmt.Errorf("graphql: query %s: %w", q.name, err)
		}
		q.gql, q.conv = g, conv
		fmt.Fprintf(&query, "  %s%s: %s\n", q.name, parens(q.args), g)
	}
	stubs, err := s.stubs(n)
	if err != nil {
		return err
	}
	// The SDL _service serves: the link to the federation spec, then the types.
	var sdl strings.Builder
	sdl.WriteString(linkSDL)
	sdl.WriteString(scalarSDL)
	sdl.WriteString("\"A page of a connection: whether another follows, and the cursor that continues after it.\"\ntype PageInfo @shareable {\n  hasNextPage: Boolean!\n  endCursor: String\n}\n")
	names := append([]string{}, n.order...)
	sort.Strings(names)
	for _, name := range names {
		sdl.WriteString(n.objects[name])
	}
	sdl.WriteString(stubs)
	sdl.WriteString(types.String())
	sdl.WriteString("type Query {\n" + query.String() + "}\n")
	if mutation.Len() > 0 {
		sdl.WriteString("type Mutation {\n" + mutation.String() + "}\n")
	}
	// What gqlparser loads besides: the federation definitions and root fields.
	entities := make([]string, len(s.models))
	for i, m := range s.models {
		entities[i] = m.name
	}
	fed := federationDefs + "union _Entity = " + strings.Join(entities, " | ") + "\n" +
		"extend type Query {\n  \"The subgraph's SDL (Apollo Federation).\"\n  _service: _Service!\n  \"The entities the representations name, null where absent (Apollo Federation).\"\n  _entities(representations: [_Any!]!): [_Entity]!\n}\n"
	sch, err := validator.LoadSchema(validator.Prelude, &ast.Source{Name: "models.graphql", Input: sdl.String()}, &ast.Source{Name: "federation.graphql", Input: fed})
	if err != nil {
		return fmt.Errorf("graphql: generated SDL does not load (a type in the arguments of AddQuery or AddField?): %w", err)
	}
	s.sdl, s.schema = sdl.String(), sch
	s.built.Store(true)
	return nil
}

// SDL returns the generated schema text ("" before Build).
func (s *Schema) SDL() string { return s.sdl }

// parens is an argument list in parentheses, "" without arguments.
func parens(args string) string {
	if args == "" {
		return ""
	}
	return "(" + args + ")"
}

func keyFields(t *orm.Table) string {
	var names []string
	for _, c := range t.PartitionKey {
		names = append(names, c.Name)
	}
	for _, c := range t.Clustering {
		names = append(names, c.Name)
	}
	return strings.Join(names, " ")
}

func keyArgs(m *model, cols []*orm.Column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c.Name + ": " + m.kinds[c.Name].input + "!"
	}
	return strings.Join(parts, ", ")
}
