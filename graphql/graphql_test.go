package graphql_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/graphql"
)

// TestGraphQL runs the database-backed cases on one fixture: syncing the tables
// once keeps the suite quick on a loaded node.
func TestGraphQL(t *testing.T) {
	f := newFixture(t, graphql.Config{})
	t.Run("ConditionalMutations", func(t *testing.T) { testConditionalMutations(t, f) })
	t.Run("BatchedRelations", func(t *testing.T) { testBatchedRelations(t, f) })
	t.Run("ScalarsRoundTrip", func(t *testing.T) { testScalarsRoundTrip(t, f) })
	t.Run("UserUDTMapSetAndIndex", func(t *testing.T) { testUserUDTMapSetAndIndex(t, f) })
	t.Run("ConnectionPaging", func(t *testing.T) { testConnectionPaging(t, f) })
	t.Run("TenantIsolation", func(t *testing.T) { testTenantIsolation(t, f) })
	t.Run("ErrorsCarryExtensions", func(t *testing.T) { testErrorsCarryExtensions(t, f) })
	t.Run("Nearest", func(t *testing.T) { testNearest(t, f) })
	t.Run("NoFilteringPaths", func(t *testing.T) { testNoFilteringPaths(t, f) })
	t.Run("Entities", func(t *testing.T) { testEntities(t, f) })
}

func testScalarsRoundTrip(t *testing.T, f *fixture) {
	in := map[string]any{
		"key": "k1", "ascii_col": "plain", "tiny": -8, "small": 300, "int_col": -70000,
		"big": "9007199254740993", "f32": 1.5, "f64": 2.25, "bool_col": true,
		"uuid_col": "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "timeuuid_col": "6ba7b811-9dad-11d1-80b4-00c04fd430c8",
		"ts": "2026-12-04T10:11:12.345Z", "date_col": "2026-02-28", "tod": "13:14:15.000000016",
		"dur": "1mo2d300ns", "dec": "12345.6789", "var": "-123456789012345678901234567890",
		"ip": "2001:db8::1", "blob_col": "AAEC/w==", "opt": nil,
	}
	fields := "key ascii_col tiny small int_col big f32 f64 bool_col uuid_col timeuuid_col ts date_col tod dur dec var ip blob_col opt"
	r := f.post(t, "acme", "mutation($in: ScalarsInput!) { createScalars(input: $in) { key } }", map[string]any{"in": in})
	if len(r.Errors) > 0 {
		t.Fatalf("create: %+v", r.Errors)
	}
	r = f.post(t, "acme", `{ scalars(key: "k1") { `+fields+` } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("get: %+v", r.Errors)
	}
	got := r.Data["scalars"].(map[string]any)
	want := map[string]any{}
	b, _ := json.Marshal(in)
	_ = json.Unmarshal(b, &want)
	want["ts"] = "2026-12-04T10:11:12.345Z"
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s: got %#v, want %#v", k, got[k], w)
		}
	}
}

func testUserUDTMapSetAndIndex(t *testing.T, f *fixture) {
	id := "11111111-2222-3333-4444-555555555555"
	r := f.post(t, "acme", `mutation($in: UserInput!) { createUser(input: $in) { id name } }`, map[string]any{"in": map[string]any{
		"id": id, "email": "ann@example.com", "name": "Ann", "age": 30,
		"address": map[string]any{"street": "1 Main", "city": "Oslo", "zip": 150},
		"prefs":   []any{map[string]any{"key": "lang", "value": "no"}},
		"tags":    []any{"a", "b"},
	}})
	if len(r.Errors) > 0 {
		t.Fatalf("create: %+v", r.Errors)
	}
	r = f.post(t, "acme", `{ u: userByEmail(value: "ann@example.com") { edges { node { id address { city zip } prefs { key value } tags } } } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("by email: %+v", r.Errors)
	}
	edges := r.Data["u"].(map[string]any)["edges"].([]any)
	if len(edges) != 1 {
		t.Fatalf("by email: %d edges, want 1", len(edges))
	}
	node := edges[0].(map[string]any)["node"].(map[string]any)
	want := map[string]any{"id": id, "address": map[string]any{"city": "Oslo", "zip": 150.0},
		"prefs": []any{map[string]any{"key": "lang", "value": "no"}}, "tags": []any{"a", "b"}}
	if !reflect.DeepEqual(node, want) {
		t.Fatalf("node = %#v, want %#v", node, want)
	}
}

func testConnectionPaging(t *testing.T, f *fixture) {
	uid := "aaaaaaaa-2222-3333-4444-555555555555"
	const n = 7
	for i := range n {
		r := f.post(t, "acme", `mutation($in: OrderInput!) { createOrder(input: $in) { seq } }`,
			map[string]any{"in": map[string]any{"user_id": uid, "seq": i, "total": fmt.Sprintf("%d.50", i)}})
		if len(r.Errors) > 0 {
			t.Fatalf("create %d: %+v", i, r.Errors)
		}
	}
	var seen []float64
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > n {
			t.Fatal("paging does not end")
		}
		vars := map[string]any{"u": uid, "after": cursor}
		r := f.post(t, "acme", `query($u: UUID!, $after: String) { orderByPartition(user_id: $u, first: 3, after: $after) {
			edges { cursor node { seq total } } pageInfo { hasNextPage endCursor } } }`, vars)
		if len(r.Errors) > 0 {
			t.Fatalf("page %d: %+v", pages, r.Errors)
		}
		conn := r.Data["orderByPartition"].(map[string]any)
		for _, e := range conn["edges"].([]any) {
			seen = append(seen, e.(map[string]any)["node"].(map[string]any)["seq"].(float64))
		}
		pi := conn["pageInfo"].(map[string]any)
		if pi["hasNextPage"] != true {
			break
		}
		cursor = pi["endCursor"].(string)
	}
	want := []float64{6, 5, 4, 3, 2, 1, 0} // clustering order is descending
	if !reflect.DeepEqual(seen, want) {
		t.Fatalf("paged seqs %v, want %v", seen, want)
	}
	// A tampered cursor is refused, with a typed code.
	r := f.post(t, "acme", `query($u: UUID!) { orderByPartition(user_id: $u, first: 3, after: "AAAA") { edges { cursor } } }`, map[string]any{"u": uid})
	if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "BAD_QUERY" {
		t.Fatalf("tampered cursor: %+v", r.Errors)
	}
}

func testTenantIsolation(t *testing.T, f *fixture) {
	id := "bbbbbbbb-2222-3333-4444-555555555555"
	for _, tn := range tenants {
		r := f.post(t, tn, `mutation($in: UserInput!) { createUser(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"id": id, "email": "x@" + tn, "name": "owner " + tn}})
		if len(r.Errors) > 0 {
			t.Fatalf("create for %s: %+v", tn, r.Errors)
		}
	}
	for _, tn := range tenants {
		r := f.post(t, tn, `query($id: UUID!) { user(id: $id) { name } }`, map[string]any{"id": id})
		if got := r.Data["user"].(map[string]any)["name"]; got != "owner "+tn {
			t.Errorf("tenant %s reads name %v", tn, got)
		}
		other := "x@" + tenants[0]
		if tn == tenants[0] {
			other = "x@" + tenants[1]
		}
		r = f.post(t, tn, `query($e: String!) { userByEmail(value: $e) { edges { node { id } } } }`, map[string]any{"e": other})
		if edges := r.Data["userByEmail"].(map[string]any)["edges"].([]any); len(edges) != 0 {
			t.Errorf("tenant %s sees the other tenant's row by email: %v", tn, edges)
		}
	}
	// No tenant: the ORM refuses, so nothing is read.
	r := f.post(t, "", `query($id: UUID!) { user(id: $id) { name } }`, map[string]any{"id": id})
	if len(r.Errors) != 1 || r.Data["user"] != nil {
		t.Fatalf("no tenant: %+v", r)
	}
}

func testErrorsCarryExtensions(t *testing.T, f *fixture) {
	id := "cccccccc-2222-3333-4444-555555555555"
	create := `mutation($in: UserInput!) { createUserIfNotExists(input: $in) { id } }`
	cases := []struct {
		name   string
		in     map[string]any
		code   string
		column string
	}{
		{"required name", map[string]any{"id": id, "name": ""}, "VALIDATION", "name"},
		{"negative age", map[string]any{"id": id, "name": "N", "age": -1}, "VALIDATION", "age"},
		{"bad uuid", map[string]any{"id": "not-a-uuid", "name": "N"}, "VALIDATION", "id"},
		{"first write", map[string]any{"id": id, "name": "N"}, "", ""},
		{"exists", map[string]any{"id": id, "name": "N"}, "CONFLICT", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.post(t, "acme", create, map[string]any{"in": c.in})
			if c.code == "" {
				if len(r.Errors) > 0 {
					t.Fatalf("errors: %+v", r.Errors)
				}
				return
			}
			if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != c.code {
				t.Fatalf("errors %+v, want code %s", r.Errors, c.code)
			}
			if c.column != "" {
				fields, _ := r.Errors[0].Extensions["fields"].([]any)
				if len(fields) == 0 || fields[0].(map[string]any)["column"] != c.column {
					t.Fatalf("fields %v, want column %s", fields, c.column)
				}
			}
		})
	}
}

func testNearest(t *testing.T, f *fixture) {
	vec := func(hot int) []any {
		v := make([]any, 384)
		for i := range v {
			v[i] = 0.01
		}
		v[hot] = 1.0
		return v
	}
	for i, sku := range []string{"p0", "p1", "p2"} {
		r := f.post(t, "acme", `mutation($in: ProductInput!) { createProduct(input: $in) { sku } }`,
			map[string]any{"in": map[string]any{"category": "c", "sku": sku, "brand": "b", "vec": vec(i)}})
		if len(r.Errors) > 0 {
			t.Fatalf("create %s: %+v", sku, r.Errors)
		}
	}
	r := f.post(t, "acme", `query($v: [Float!]!) { productNearestByVec(category: "c", vector: $v, limit: 2) { score node { sku } } }`, map[string]any{"v": vec(1)})
	if len(r.Errors) > 0 {
		t.Fatalf("nearest: %+v", r.Errors)
	}
	hits := r.Data["productNearestByVec"].([]any)
	if len(hits) != 2 || hits[0].(map[string]any)["node"].(map[string]any)["sku"] != "p1" {
		t.Fatalf("nearest = %v, want p1 first of 2", hits)
	}
	r = f.post(t, "acme", `query($v: [Float!]!) { productNearestByVec(category: "c", vector: $v, limit: 1001) { score } }`, map[string]any{"v": vec(1)})
	if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "BAD_QUERY" {
		t.Fatalf("limit 1001: %+v", r.Errors)
	}
}

func testNoFilteringPaths(t *testing.T, f *fixture) {
	sdl := f.schema.SDL()
	// Order.total is neither a key nor indexed: there is no field to query by it.
	for _, bad := range []string{"orderByTotal", "userByName", "productBySku("} {
		if strings.Contains(sdl, bad) {
			t.Errorf("SDL has %s, which would need ALLOW FILTERING", bad)
		}
	}
	for _, good := range []string{"userByEmail(", "productByBrand(", "orderByPartition(", "@key(fields: \"category sku\")", "@link(url:"} {
		if !strings.Contains(sdl, good) {
			t.Errorf("SDL lacks %s", good)
		}
	}
	r := f.post(t, "acme", `{ _service { sdl } }`, nil)
	if got, _ := r.Data["_service"].(map[string]any)["sdl"].(string); got != sdl {
		t.Fatal("_service.sdl differs from SDL()")
	}
}

func testBatchedRelations(t *testing.T, f *fixture) {
	const n = 25 // sellers, one product each; the fixture's BatchSize is 10
	for i := range n {
		uid := fmt.Sprintf("dddddddd-2222-3333-4444-%012d", i)
		r := f.post(t, "acme", `mutation($u: UserInput!, $p: ProductInput!) { createUser(input: $u) { id } createProduct(input: $p) { sku } }`,
			map[string]any{"u": map[string]any{"id": uid, "name": fmt.Sprintf("seller %d", i)},
				"p": map[string]any{"category": "rel", "sku": fmt.Sprintf("s%02d", i), "brand": "b", "seller_id": uid}})
		if len(r.Errors) > 0 {
			t.Fatalf("create %d: %+v", i, r.Errors)
		}
	}
	before := f.reads.Load()
	r := f.post(t, "acme", `{ productByPartition(category: "rel", first: 100) { edges { node { sku seller { name } } } } }`, nil)
	reads := f.reads.Load() - before
	if len(r.Errors) > 0 {
		t.Fatalf("query: %+v", r.Errors)
	}
	edges := r.Data["productByPartition"].(map[string]any)["edges"].([]any)
	if len(edges) != n {
		t.Fatalf("%d edges, want %d", len(edges), n)
	}
	for _, e := range edges {
		node := e.(map[string]any)["node"].(map[string]any)
		sku := node["sku"].(string)
		var i int
		fmt.Sscanf(sku, "s%d", &i)
		if seller, _ := node["seller"].(map[string]any); seller == nil || seller["name"] != fmt.Sprintf("seller %d", i) {
			t.Fatalf("%s: seller %v", sku, node["seller"])
		}
	}
	// One page read, then ceil(25/10) = 3 batched user reads.
	if want := int64(1 + (n+9)/10); reads > want {
		t.Fatalf("%d statements for %d nested lookups, want at most %d", reads, n, want)
	}
	t.Logf("%d nested lookups: %d statements", n, reads)
}

func testConditionalMutations(t *testing.T, f *fixture) {
	id := "ffffffff-2222-3333-4444-555555555555"
	vars := map[string]any{"id": id}
	steps := []struct {
		name, query string
		code        string // "" for success
	}{
		{"create", `mutation($id: UUID!) { createUser(input: {id: $id, name: "Ann", age: 30}) { id } }`, ""},
		{"updateIf fails", `mutation($id: UUID!) { updateUserIf(input: {id: $id, name: "Bea", age: 31}, if: {name: "Zed"}) { id } }`, "CONFLICT"},
		{"updateIf holds", `mutation($id: UUID!) { updateUserIf(input: {id: $id, name: "Bea", age: 31}, if: {name: "Ann"}) { id } }`, ""},
		{"patchIf fails", `mutation($id: UUID!) { patchUserIf(id: $id, set: {age: 40}, if: {age: 30}) }`, "CONFLICT"},
		{"patch", `mutation($id: UUID!) { patchUser(id: $id, set: {email: "bea@example.com"}) }`, ""},
		{"patch invalid", `mutation($id: UUID!) { patchUser(id: $id, set: {}) }`, "BAD_QUERY"},
		{"deleteIf fails", `mutation($id: UUID!) { deleteUserIf(id: $id, if: {name: "Ann"}) }`, "CONFLICT"},
		{"check", `query($id: UUID!) { user(id: $id) { name age email } }`, ""},
		{"deleteIf holds", `mutation($id: UUID!) { deleteUserIf(id: $id, if: {name: "Bea"}) }`, ""},
		{"updateIf absent", `mutation($id: UUID!) { updateUserIf(input: {id: $id, name: "C"}) { id } }`, "CONFLICT"},
	}
	for _, s := range steps {
		r := f.post(t, "acme", s.query, vars)
		if s.code == "" && len(r.Errors) > 0 {
			t.Fatalf("%s: %+v", s.name, r.Errors)
		}
		if s.code != "" && (len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != s.code) {
			t.Fatalf("%s: errors %+v, want code %s", s.name, r.Errors, s.code)
		}
		if s.name == "check" {
			want := map[string]any{"name": "Bea", "age": 31.0, "email": "bea@example.com"}
			if got := r.Data["user"]; !reflect.DeepEqual(got, want) {
				t.Fatalf("row %v, want %v", got, want)
			}
		}
	}
	r := f.post(t, "acme", `query($id: UUID!) { user(id: $id) { name } }`, vars)
	if r.Data["user"] != nil {
		t.Fatalf("deleted row still reads %v", r.Data["user"])
	}
}

// testEntities reads rows written by TenantIsolation and ConnectionPaging through
// Apollo Federation's _entities.
func testEntities(t *testing.T, f *fixture) {
	reps := []any{
		map[string]any{"__typename": "User", "id": "bbbbbbbb-2222-3333-4444-555555555555"},
		map[string]any{"__typename": "User", "id": "00000000-0000-0000-0000-000000000000"},
		map[string]any{"__typename": "Order", "user_id": "aaaaaaaa-2222-3333-4444-555555555555", "seq": 3},
	}
	r := f.post(t, "acme", `query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on User { name } ... on Order { seq total } } }`,
		map[string]any{"r": reps})
	if len(r.Errors) > 0 {
		t.Fatalf("_entities: %+v", r.Errors)
	}
	want := []any{
		map[string]any{"__typename": "User", "name": "owner acme"},
		nil,
		map[string]any{"__typename": "Order", "seq": 3.0, "total": "3.50"},
	}
	if got := r.Data["_entities"]; !reflect.DeepEqual(got, want) {
		t.Fatalf("_entities = %#v, want %#v", got, want)
	}
	r = f.post(t, "acme", `query($r: [_Any!]!) { _entities(representations: $r) { __typename } }`,
		map[string]any{"r": []any{map[string]any{"__typename": "Nope"}}})
	if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "BAD_QUERY" {
		t.Fatalf("unknown typename: %+v", r.Errors)
	}
}
