package graphql_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/graphql"
	"github.com/cassandraorm/cassandraorm-go/internal/apollo"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// Gadget is keyed like the platform's products: (shelf, id), shelf a hash bucket
// of id, so other subgraphs name a Gadget by id alone (EntityKey).
type Gadget struct {
	Shelf int32   `cql:"shelf" orm:"pk"`
	ID    string  `cql:"id" orm:"ck"`
	Name  string  `cql:"name"`
	Made  Address `cql:"made"`
}

// Line is a UDT naming a Gadget of the gadgets subgraph by id.
type Line struct {
	GadgetID string `cql:"gadget_id"`
	Qty      int32  `cql:"qty"`
}

// Cart is in the orders subgraph and references entities of the two others.
type Cart struct {
	UserID orm.UUID `cql:"user_id" orm:"pk"`
	Lines  []Line   `cql:"lines"`
	Wished []string `cql:"wished"`
}

func shelfOf(id string) int32 { return int32(crc32.ChecksumIEEE([]byte(id)) % 4) }

// loadGadgets is Gadget's EntityKey loader: one read per shelf, IN on the ids.
func loadGadgets(gadgets *orm.Model[Gadget]) func(ctx context.Context, reps []map[string]any) ([]*Gadget, error) {
	return func(ctx context.Context, reps []map[string]any) ([]*Gadget, error) {
		byShelf := map[int32][]any{}
		for _, r := range reps {
			id, _ := r["id"].(string)
			byShelf[shelfOf(id)] = append(byShelf[shelfOf(id)], id)
		}
		found := map[string]*Gadget{}
		for shelf, ids := range byShelf {
			for g, err := range gadgets.Query().Where(orm.Eq("shelf", shelf), orm.In("id", ids...)).All(ctx) {
				if err != nil {
					return nil, err
				}
				found[g.ID] = &g
			}
		}
		out := make([]*Gadget, len(reps))
		for i, r := range reps {
			id, _ := r["id"].(string)
			out[i] = found[id]
		}
		return out, nil
	}
}

// subgraphs builds three subgraphs of the test models on db: users (User, with
// the Address UDT), orders (Order, read-only, with a computed field) and gadgets
// (Gadget by EntityKey, also with Address, and a custom query).
// calls counts the custom resolvers and EntityKey loader runs, and the parents
// each computed-field run got.
type calls struct {
	loader, query, field atomic.Int64
	parents              atomic.Int64
}

func subgraphs(t testing.TB, db *orm.DB, cfg graphql.Config, n *calls) map[string]*graphql.Schema {
	t.Helper()
	out := map[string]*graphql.Schema{}
	build := func(name string, add func(s *graphql.Schema) error) {
		s, err := graphql.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := add(s); err != nil {
			t.Fatalf("subgraph %s: %v", name, err)
		}
		if err := s.Build(); err != nil {
			t.Fatalf("subgraph %s: %v", name, err)
		}
		out[name] = s
	}
	users := orm.MustModel[User](db)
	orders := orm.MustModel[Order](db)
	gadgets := orm.MustModel[Gadget](db)
	carts := orm.MustModel[Cart](db)
	build("users", func(s *graphql.Schema) error { return graphql.Add(s, users) })
	build("orders", func(s *graphql.Schema) error {
		for _, err := range []error{graphql.Add(s, orders, graphql.ReadOnly()), graphql.Add(s, carts),
			graphql.Reference[Cart](s, "owner", "User", map[string]string{"id": "user_id"}),
			graphql.Reference[Order](s, "buyer", "User", map[string]string{"id": "user_id"}),
			graphql.Reference[Line](s, "gadget", "Gadget", map[string]string{"id": "gadget_id"}),
			graphql.Reference[Cart](s, "wishes", "Gadget", map[string]string{"id": "wished"})} {
			if err != nil {
				return err
			}
		}
		err := graphql.AddQuery(s, "recentOrders", "user_id: UUID!, limit: Int = 10", func(ctx context.Context, args map[string]any) ([]Order, error) {
			n.query.Add(1)
			uid, err := orm.ParseUUID(args["user_id"].(string))
			if err != nil {
				return nil, err
			}
			var out []Order
			for o, err := range orders.Query().Where(orm.Eq("user_id", uid)).Limit(int(args["limit"].(int64))).All(ctx) {
				if err != nil {
					return nil, err
				}
				out = append(out, o)
			}
			return out, nil
		})
		if err != nil {
			return err
		}
		return graphql.AddField(s, "doubled", "fail: Boolean = false", func(ctx context.Context, os []Order, args map[string]any) ([]int64, error) {
			n.field.Add(1)
			n.parents.Add(int64(len(os)))
			if args["fail"] == true {
				return nil, errors.New("asked to fail")
			}
			out := make([]int64, len(os))
			for i, o := range os {
				out[i] = 2 * int64(o.Seq)
			}
			return out, nil
		})
	})
	build("gadgets", func(s *graphql.Schema) error {
		if err := graphql.Add(s, gadgets, graphql.ReadOnly(), graphql.EntityKey("id", func(ctx context.Context, reps []map[string]any) ([]*Gadget, error) {
			n.loader.Add(1)
			return loadGadgets(gadgets)(ctx, reps)
		})); err != nil {
			return err
		}
		return graphql.AddQuery(s, "gadgetById", "id: String!", func(ctx context.Context, args map[string]any) (*Gadget, error) {
			n.query.Add(1)
			id, _ := args["id"].(string)
			g, err := gadgets.Get(ctx, shelfOf(id), id)
			if errors.Is(err, orm.ErrNotFound) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			return &g, nil
		})
	})
	return out
}

func TestFederationComposes(t *testing.T) {
	db, err := orm.Detached("graphql_federation")
	if err != nil {
		t.Fatal(err)
	}
	subs := subgraphs(t, db, graphql.Config{}, &calls{})
	var list []apollo.Subgraph
	for _, name := range []string{"users", "orders", "gadgets"} {
		r := subs[name].Execute(t.Context(), graphql.Request{Query: `{ _service { sdl } }`})
		if len(r.Errors) > 0 {
			t.Fatalf("%s: _service: %+v", name, r.Errors)
		}
		sdl := r.Data["_service"].(map[string]any)["sdl"].(string)
		if !strings.HasPrefix(sdl, `extend schema @link(url: "https://specs.apollo.dev/federation/v2.`) {
			t.Errorf("%s: the SDL does not start with the federation @link:\n%.200s", name, sdl)
		}
		for _, absent := range []string{"_service", "_entities", "_Any", "directive @key"} {
			if strings.Contains(sdl, absent) {
				t.Errorf("%s: served SDL has %s", name, absent)
			}
		}
		list = append(list, apollo.Subgraph{Name: name, URL: "http://127.0.0.1:1/" + name, SDL: sdl})
	}
	c, err := apollo.Compose(t.Context(), list)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range c.Hints {
		t.Errorf("hint %s: %s", h.Code, h.Message)
	}
	for _, want := range []string{`type Gadget @join__type(graph: GADGETS, key: "id")`, "doubled(fail: Boolean = false): Long!", "gadgetById(id: String!): Gadget",
		"type Address @join__type(graph: GADGETS) @join__type(graph: USERS) {",
		`type User @join__type(graph: ORDERS, key: "id", resolvable: false) @join__type(graph: USERS, key: "id") {`,
		"gadget: Gadget }", "wishes: [Gadget!] }"} {
		if !strings.Contains(strings.Join(strings.Fields(c.Supergraph), " "), want) {
			t.Errorf("supergraph lacks %q", want)
		}
	}
	if strings.Contains(c.Supergraph, "createOrder") || strings.Contains(c.Supergraph, "createGadget") {
		t.Error("a ReadOnly model has mutations in the supergraph")
	}
	if t.Failed() {
		t.Logf("supergraph:\n%s", c.Supergraph)
	}
}

// TestFederation runs the subgraphs on the real node, for tenant acme: batched
// _entities for a default-key, a compound-key and an EntityKey type, custom
// queries and computed fields.
func TestFederation(t *testing.T) {
	var reads atomic.Int64
	base, err := orm.New(env.Session(t), env.Keyspace(), orm.ObserverFunc(func(context.Context, orm.QueryEvent) { reads.Add(1) }))
	if err != nil {
		t.Fatal(err)
	}
	db, err := base.WithTenancy(orm.Tenancy{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := tenant.With(t.Context(), "acme")
	users, orders, gadgets, carts := orm.MustModel[User](db), orm.MustModel[Order](db), orm.MustModel[Gadget](db), orm.MustModel[Cart](db)
	if err := db.Sync(ctx, users, orders, gadgets, carts); err != nil {
		t.Fatal(err)
	}
	var n calls
	subs := subgraphs(t, db, graphql.Config{BatchSize: 10}, &n)
	run := func(t *testing.T, sub, query string, vars map[string]any) map[string]any {
		t.Helper()
		r := subs[sub].Execute(ctx, graphql.Request{Query: query, Variables: vars})
		if len(r.Errors) > 0 {
			t.Fatalf("%s: %+v", sub, r.Errors)
		}
		var data map[string]any // as a client decodes it
		b, err := json.Marshal(r.Data)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &data); err != nil {
			t.Fatal(err)
		}
		return data
	}
	const nUsers = 25
	uid := func(i int) string { return fmt.Sprintf("eeeeeeee-2222-3333-4444-%012d", i) }
	for i := range nUsers {
		id, _ := orm.ParseUUID(uid(i))
		if err := users.Insert(ctx, &User{ID: id, Name: fmt.Sprintf("user %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	owner, _ := orm.ParseUUID(uid(0))
	for seq := range 3 {
		if err := orders.Insert(ctx, &Order{UserID: owner, Seq: int32(seq)}); err != nil {
			t.Fatal(err)
		}
	}
	gadgetIDs := []string{"g-a", "g-b", "g-c", "g-d", "g-e", "g-f"}
	shelves := map[int32]bool{}
	for _, id := range gadgetIDs {
		shelves[shelfOf(id)] = true
		if err := gadgets.Insert(ctx, &Gadget{Shelf: shelfOf(id), ID: id, Name: "gadget " + id, Made: Address{City: "Oslo"}}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("EntitiesDefaultKeyBatched", func(t *testing.T) {
		var reps []any
		var want []any
		for i := nUsers - 1; i >= 0; i-- { // reversed: results follow the representations
			reps = append(reps, map[string]any{"__typename": "User", "id": uid(i)})
			want = append(want, map[string]any{"__typename": "User", "name": fmt.Sprintf("user %d", i)})
			if i == 10 {
				reps = append(reps, map[string]any{"__typename": "User", "id": uid(999)})
				want = append(want, nil)
			}
		}
		before := reads.Load()
		data := run(t, "users", `query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on User { name } } }`, map[string]any{"r": reps})
		got := reads.Load() - before
		if !reflect.DeepEqual(data["_entities"], want) {
			t.Fatalf("_entities = %v\nwant %v", data["_entities"], want)
		}
		// 26 distinct keys in batches of 10: 3 statements.
		if got != 3 {
			t.Fatalf("%d statements for %d representations, want 3", got, len(reps))
		}
	})
	t.Run("EntitiesCompoundKey", func(t *testing.T) {
		reps := []any{
			map[string]any{"__typename": "Order", "user_id": uid(0), "seq": 2},
			map[string]any{"__typename": "Order", "user_id": uid(0), "seq": 7},
			map[string]any{"__typename": "Order", "user_id": uid(0), "seq": 0},
		}
		before := reads.Load()
		data := run(t, "orders", `query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { seq doubled } } }`, map[string]any{"r": reps})
		want := []any{map[string]any{"seq": 2.0, "doubled": "4"}, nil, map[string]any{"seq": 0.0, "doubled": "0"}}
		if !reflect.DeepEqual(data["_entities"], want) {
			t.Fatalf("_entities = %v, want %v", data["_entities"], want)
		}
		// One partition: one read with IN on the clustering column.
		if got := reads.Load() - before; got != 1 {
			t.Fatalf("%d statements for 3 representations of one partition, want 1", got)
		}
	})
	t.Run("EntitiesEntityKeyLoader", func(t *testing.T) {
		var reps, want []any
		for _, id := range []string{"g-f", "nope", "g-a", "g-c", "g-b", "g-e", "g-d"} {
			reps = append(reps, map[string]any{"__typename": "Gadget", "id": id})
			if id == "nope" {
				want = append(want, nil)
				continue
			}
			want = append(want, map[string]any{"id": id, "shelf": float64(shelfOf(id)), "name": "gadget " + id, "made": map[string]any{"city": "Oslo"}})
		}
		loads, before := n.loader.Load(), reads.Load()
		data := run(t, "gadgets", `query($r: [_Any!]!) { _entities(representations: $r) { ... on Gadget { id shelf name made { city } } } }`, map[string]any{"r": reps})
		if !reflect.DeepEqual(data["_entities"], want) {
			t.Fatalf("_entities = %v\nwant %v", data["_entities"], want)
		}
		if got := n.loader.Load() - loads; got != 1 {
			t.Fatalf("the loader ran %d times for one request, want 1", got)
		}
		if got := reads.Load() - before; got != int64(len(shelves)) {
			t.Fatalf("%d statements, want one per shelf (%d)", got, len(shelves))
		}
	})
	t.Run("References", func(t *testing.T) {
		cart := &Cart{UserID: owner, Lines: []Line{{GadgetID: "g-a", Qty: 2}, {Qty: 1}}, Wished: []string{"g-b", "", "g-c"}}
		if err := carts.Insert(ctx, cart); err != nil {
			t.Fatal(err)
		}
		before := reads.Load()
		data := run(t, "orders", `query($u: UUID!) { cart(user_id: $u) { owner { __typename id } lines { qty gadget { __typename id } } wishes { id } } }`, map[string]any{"u": uid(0)})
		if got := reads.Load() - before; got != 1 {
			t.Fatalf("%d statements, want 1 (references read nothing)", got)
		}
		want := map[string]any{
			"owner": map[string]any{"__typename": "User", "id": uid(0)},
			"lines": []any{
				map[string]any{"qty": 2.0, "gadget": map[string]any{"__typename": "Gadget", "id": "g-a"}},
				map[string]any{"qty": 1.0, "gadget": nil},
			},
			"wishes": []any{map[string]any{"id": "g-b"}, map[string]any{"id": "g-c"}},
		}
		if !reflect.DeepEqual(data["cart"], want) {
			t.Fatalf("cart = %v\nwant %v", data["cart"], want)
		}
	})
	t.Run("AddQuery", func(t *testing.T) {
		data := run(t, "gadgets", `{ a: gadgetById(id: "g-b") { name } b: gadgetById(id: "nope") { name } }`, nil)
		if !reflect.DeepEqual(data, map[string]any{"a": map[string]any{"name": "gadget g-b"}, "b": nil}) {
			t.Fatalf("data = %v", data)
		}
		data = run(t, "orders", `query($u: UUID!) { recentOrders(user_id: $u, limit: 2) { seq } }`, map[string]any{"u": uid(0)})
		if !reflect.DeepEqual(data["recentOrders"], []any{map[string]any{"seq": 2.0}, map[string]any{"seq": 1.0}}) {
			t.Fatalf("recentOrders = %v", data["recentOrders"])
		}
		r := subs["orders"].Execute(ctx, graphql.Request{Query: `{ recentOrders(user_id: "not-a-uuid") { seq } }`})
		if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, "recentOrders") {
			t.Fatalf("errors %+v, want one naming recentOrders", r.Errors)
		}
	})
	t.Run("AddFieldBatched", func(t *testing.T) {
		runs, parents := n.field.Load(), n.parents.Load()
		data := run(t, "orders", `query($u: UUID!) { orderByPartition(user_id: $u) { edges { node { seq doubled d: doubled(fail: false) } } } }`, map[string]any{"u": uid(0)})
		edges := data["orderByPartition"].(map[string]any)["edges"].([]any)
		if len(edges) != 3 {
			t.Fatalf("%d edges, want 3", len(edges))
		}
		for _, e := range edges {
			node := e.(map[string]any)["node"].(map[string]any)
			want := fmt.Sprint(2 * int(node["seq"].(float64)))
			if node["doubled"] != want || node["d"] != want {
				t.Fatalf("node %v: doubled want %s", node, want)
			}
		}
		// One run per selection (doubled, d) for all three parents.
		if r, p := n.field.Load()-runs, n.parents.Load()-parents; r != 2 || p != 6 {
			t.Fatalf("resolver ran %d times with %d parents, want 2 with 6", r, p)
		}
		r := subs["orders"].Execute(ctx, graphql.Request{Query: `{ recentOrders(user_id: "` + uid(0) + `") { doubled(fail: true) } }`})
		if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, "Order.doubled") || !strings.Contains(r.Errors[0].Message, "asked to fail") {
			t.Fatalf("errors %+v, want one naming Order.doubled", r.Errors)
		}
	})
}

// TestCustomFieldsLimits checks that documents over a limit through custom query
// and computed fields are refused before any resolver runs.
func TestCustomFieldsLimits(t *testing.T) {
	db, err := orm.Detached("graphql_custom_limits")
	if err != nil {
		t.Fatal(err)
	}
	var n calls
	var resolves atomic.Int64
	subs := subgraphs(t, db, graphql.Config{MaxDepth: 2, MaxComplexity: 300, OnResolve: func(context.Context, string) { resolves.Add(1) }}, &n)
	u := "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
	cases := []struct{ name, sub, query string }{
		// A list-returning custom query costs like a list of its limit.
		{"complex", "orders", `{ recentOrders(user_id: "` + u + `", limit: 200) { seq doubled } }`},
		{"deep", "gadgets", `{ gadgetById(id: "x") { made { city } } }`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := subs[c.sub].Execute(t.Context(), graphql.Request{Query: c.query})
			if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "LIMIT" {
				t.Fatalf("errors %+v, want LIMIT", r.Errors)
			}
			if resolves.Load() != 0 || n.query.Load() != 0 || n.field.Load() != 0 {
				t.Fatalf("resolvers ran: root %d, query %d, field %d", resolves.Load(), n.query.Load(), n.field.Load())
			}
		})
	}
	// _entities costs like a list of its representations.
	reps := make([]any, 100)
	for i := range reps {
		reps[i] = map[string]any{"__typename": "Order", "user_id": u, "seq": i}
	}
	r := subs["orders"].Execute(t.Context(), graphql.Request{Query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { user_id seq total doubled } } }`,
		Variables: map[string]any{"r": reps}})
	if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "LIMIT" || resolves.Load() != 0 {
		t.Fatalf("100 representations: errors %+v, %d resolvers ran", r.Errors, resolves.Load())
	}
	// Under the limits the same fields run (and fail on the detached DB).
	r = subs["orders"].Execute(t.Context(), graphql.Request{Query: `{ recentOrders(user_id: "` + u + `", limit: 20) { seq doubled } }`})
	if n.query.Load() != 1 || len(r.Errors) != 1 {
		t.Fatalf("accepted query: query resolver ran %d times, errors %+v", n.query.Load(), r.Errors)
	}
}

// TestDeclarationErrors checks that bad declarations fail, naming what they concern.
func TestDeclarationErrors(t *testing.T) {
	db, err := orm.Detached("graphql_declarations")
	if err != nil {
		t.Fatal(err)
	}
	users, gadgets := orm.MustModel[User](db), orm.MustModel[Gadget](db)
	noGadgets := func(context.Context, []map[string]any) ([]*Gadget, error) { return nil, nil }
	cases := []struct {
		name    string
		declare func(s *graphql.Schema) error // after Add(users)
		build   bool                          // the error comes from Build
		want    string
	}{
		{"EntityKey of another type", func(s *graphql.Schema) error {
			return graphql.Add(s, gadgets, graphql.EntityKey("id", func(context.Context, []map[string]any) ([]*User, error) { return nil, nil }))
		}, false, "EntityKey of graphql_test.User given to model graphql_test.Gadget"},
		{"EntityKey of no column", func(s *graphql.Schema) error {
			return graphql.Add(s, gadgets, graphql.EntityKey("sku", noGadgets))
		}, false, `no column "sku"`},
		{"query arguments that are not arguments", func(s *graphql.Schema) error {
			return graphql.AddQuery(s, "q", "x: Int): Int } type Evil { y(z: Int", func(context.Context, map[string]any) (int32, error) { return 0, nil })
		}, false, "AddQuery q: arguments"},
		{"query of a bad name", func(s *graphql.Schema) error {
			return graphql.AddQuery(s, "__q", "", func(context.Context, map[string]any) (int32, error) { return 0, nil })
		}, false, `"__q" is not a GraphQL field name`},
		{"query of an unknown argument type", func(s *graphql.Schema) error {
			return graphql.AddQuery(s, "q", "x: Nope", func(context.Context, map[string]any) (int32, error) { return 0, nil })
		}, true, "Nope"},
		{"field on a model not added", func(s *graphql.Schema) error {
			return graphql.AddField(s, "f", "", func(context.Context, []Gadget, map[string]any) ([]int32, error) { return nil, nil })
		}, false, "add model graphql_test.Gadget first"},
		{"field named as a column", func(s *graphql.Schema) error {
			return graphql.AddField(s, "email", "", func(context.Context, []User, map[string]any) ([]int32, error) { return nil, nil })
		}, false, "User.email: the name is taken"},
		{"type name taken", func(s *graphql.Schema) error {
			return graphql.Add(s, gadgets, graphql.TypeName("User"))
		}, false, `duplicate GraphQL type name "User"`},
		{"type name not a name", func(s *graphql.Schema) error {
			return graphql.Add(s, gadgets, graphql.TypeName("Gad get"))
		}, false, `TypeName "Gad get" is not a GraphQL type name`},
		{"type name reserved", func(s *graphql.Schema) error {
			return graphql.Add(s, gadgets, graphql.TypeName("__Gadget"))
		}, false, `TypeName "__Gadget" is not a GraphQL type name`},
		{"reference to a model of this schema", func(s *graphql.Schema) error {
			return graphql.Reference[User](s, "self", "User", map[string]string{"id": "id"})
		}, true, "User is a type of this schema"},
		{"reference by no column", func(s *graphql.Schema) error {
			return graphql.Reference[User](s, "p", "P", map[string]string{"id": "nope"})
		}, false, `table user has no column "nope"`},
		{"list reference with two keys", func(s *graphql.Schema) error {
			return graphql.Reference[User](s, "p", "P", map[string]string{"id": "tags", "n": "name"})
		}, false, "needs exactly one key field"},
		{"reference from a type no model holds", func(s *graphql.Schema) error {
			return graphql.Reference[Line](s, "g", "G", map[string]string{"id": "gadget_id"})
		}, true, "neither a model added nor a UDT of one"},
		{"references disagreeing on a stub", func(s *graphql.Schema) error {
			if err := graphql.Reference[User](s, "p", "P", map[string]string{"id": "id"}); err != nil {
				return err
			}
			return graphql.Reference[User](s, "q", "P", map[string]string{"id": "name"})
		}, true, "entity P is referenced with other key fields or types"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := graphql.New(graphql.Config{})
			if err != nil {
				t.Fatal(err)
			}
			if err := graphql.Add(s, users); err != nil {
				t.Fatal(err)
			}
			err = c.declare(s)
			if c.build {
				if err != nil {
					t.Fatalf("declaring: %v", err)
				}
				err = s.Build()
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestTypeName(t *testing.T) {
	db, err := orm.Detached("graphql_typename")
	if err != nil {
		t.Fatal(err)
	}
	s, err := graphql.New(graphql.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := graphql.Add(s, orm.MustModel[User](db), graphql.TypeName("Person"), graphql.ReadOnly()); err != nil {
		t.Fatal(err)
	}
	if err := s.Build(); err != nil {
		t.Fatal(err)
	}
	sdl := s.SDL()
	for _, want := range []string{"type Person @key(", "person(id: UUID!): Person", "personByPartition(", "PersonConnection"} {
		if !strings.Contains(sdl, want) {
			t.Errorf("SDL lacks %q:\n%s", want, sdl)
		}
	}
	if strings.Contains(sdl, "type User ") {
		t.Errorf("SDL still has type User:\n%s", sdl)
	}
}
