package graphql_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/graphql"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// detachedSchema builds the test models' schema on a detached DB, which builds
// statements but runs none: a resolver that runs fails with orm.ErrDetached.
func detachedSchema(t testing.TB, cfg graphql.Config, resolves *atomic.Int64) *graphql.Schema {
	t.Helper()
	db, err := orm.Detached("graphql_limits")
	if err != nil {
		t.Fatal(err)
	}
	cfg.OnResolve = func(context.Context, string) { resolves.Add(1) }
	s, err := graphql.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	users := orm.MustModel[User](db)
	for _, err := range []error{graphql.Add(s, users), graphql.Add(s, orm.MustModel[Order](db)),
		graphql.Add(s, orm.MustModel[Product](db)), graphql.Add(s, orm.MustModel[Scalars](db)),
		graphql.Relate[Product](s, "seller", users, "seller_id"),
		graphql.Reference[Address](s, "place", "Place", map[string]string{"zip": "zip"}),
		graphql.AddQuery(s, "echo", "text: String!, times: Int = 1", func(_ context.Context, args map[string]any) ([]string, error) {
			times, _ := args["times"].(int64)
			if times < 0 || times > 100 {
				return nil, fmt.Errorf("times %d out of 0..100", times)
			}
			out := make([]string, times)
			for i := range out {
				out[i], _ = args["text"].(string)
			}
			return out, nil
		}),
		graphql.AddField(s, "initial", "", func(_ context.Context, us []User, _ map[string]any) ([]string, error) {
			out := make([]string, len(us))
			for i, u := range us {
				out[i] = u.Name[:min(1, len(u.Name))]
			}
			return out, nil
		})} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Build(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLimitsRefuseBeforeResolvers(t *testing.T) {
	var resolves atomic.Int64
	s := detachedSchema(t, graphql.Config{MaxDepth: 4, MaxComplexity: 500, MaxAliases: 3, MaxDirectives: 3, MaxBytes: 4096, MaxTokens: 400}, &resolves)
	nest := func(n int) string {
		return strings.Repeat("{ a ", n) + strings.Repeat("}", n)
	}
	aliases := "{ " + strings.Repeat(`x: user(id: "6ba7b810-9dad-11d1-80b4-00c04fd430c8") { id } `, 1)
	for i := range 4 {
		aliases += "a" + string(rune('a'+i)) + `: user(id: "6ba7b810-9dad-11d1-80b4-00c04fd430c8") { id } `
	}
	aliases += "}"
	cases := []struct {
		name, query, code string
	}{
		{"too deep text", nest(10000), "LIMIT"},
		{"too deep selection", `{ productByPartition(category: "c") { edges { node { seller { address { city } } } } } }`, "LIMIT"},
		{"too large", "{ " + strings.Repeat("_service { sdl } ", 400) + "}", "LIMIT"},
		{"too many tokens", "{ _service { " + strings.Repeat("sdl ", 500) + "} }", "INVALID"},
		{"too many aliases", aliases, "LIMIT"},
		{"directive flood", `{ _service @skip(if: false) { sdl @include(if: true) } b: _service @skip(if: false) { sdl @include(if: true) } }`, "LIMIT"},
		{"too complex", `{ orderByPartition(user_id: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", first: 500) { edges { cursor node { seq total } } } }`, "LIMIT"},
		{"invalid", `{ user { nosuchfield } }`, "INVALID"},
		{"not graphql", `}}}{{{`, "INVALID"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := resolves.Load()
			r := s.Execute(t.Context(), graphql.Request{Query: c.query})
			if len(r.Errors) == 0 {
				t.Fatalf("accepted: %v", r.Data)
			}
			if code := r.Errors[0].Extensions["code"]; code != c.code {
				t.Fatalf("code %v: %s", code, r.Errors[0].Message)
			}
			if got := resolves.Load() - before; got != 0 {
				t.Fatalf("%d resolvers ran for a refused query", got)
			}
		})
	}
	// The counter counts: an accepted query runs its resolver, which fails on the
	// detached DB.
	r := s.Execute(t.Context(), graphql.Request{Query: `{ user(id: "6ba7b810-9dad-11d1-80b4-00c04fd430c8") { id } }`})
	if resolves.Load() != 1 || len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, "detached") {
		t.Fatalf("accepted query: resolves=%d errors=%+v", resolves.Load(), r.Errors)
	}
}

func TestHTTPMethods(t *testing.T) {
	var resolves atomic.Int64
	srv := httptest.NewServer(detachedSchema(t, graphql.Config{}, &resolves))
	t.Cleanup(srv.Close)
	cases := []struct {
		name   string
		method string
		query  string
		status int
	}{
		{"get query", http.MethodGet, `{ _service { sdl } }`, http.StatusOK},
		{"get mutation", http.MethodGet, `mutation { deleteUser(id: "6ba7b810-9dad-11d1-80b4-00c04fd430c8") }`, http.StatusMethodNotAllowed},
		{"put", http.MethodPut, `{ _service { sdl } }`, http.StatusMethodNotAllowed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), c.method, srv.URL+"?query="+url.QueryEscape(c.query), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
		})
	}
}

func FuzzHandler(f *testing.F) {
	for _, seed := range []string{
		`{ _service { sdl } }`,
		`{ user(id: "6ba7b810-9dad-11d1-80b4-00c04fd430c8") { id address { city } prefs { key value } } }`,
		`query($u: UUID!) { orderByPartition(user_id: $u, first: 2) { edges { cursor } pageInfo { hasNextPage } } }`,
		`mutation { createUser(input: {id: "x", name: ""}) { id } }`,
		`{ ...F } fragment F on Query { ...F }`,
		strings.Repeat("{", 3000),
		`{ a: _service { sdl } b: _service { sdl } }`,
		`{ _service @include(if: true) { sdl @skip(if: false) } }`,
		`{ _entities(representations: [{__typename: "User", id: 1}]) { __typename ... on User { name } } }`,
		`{ echo(text: "a", times: 3) }`, `{ echo(text: "a", times: -1) a: echo(text: "b") }`,
		`{ user(id: "6ba7b810-9dad-11d1-80b4-00c04fd430c8") { initial address { place { __typename zip } } } }`,
		"\"\\u00", "#\n{", `{ productNearestByVec(vector: [1, 2], limit: 2) { score } }`,
	} {
		f.Add(seed)
	}
	var resolves atomic.Int64
	s := detachedSchema(f, graphql.Config{}, &resolves)
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"query":`+quoteJSON(query)+`}`))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
			t.Fatalf("status %d for %q", w.Code, query)
		}
	})
}
