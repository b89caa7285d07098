package apollo_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/internal/apollo"
)

const link = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])
`

func TestCompose(t *testing.T) {
	users := apollo.Subgraph{Name: "users", URL: "http://127.0.0.1:1/users", SDL: link + `
type User @key(fields: "id") { id: ID! name: String! }
type Query { user(id: ID!): User }
`}
	cases := []struct {
		name      string
		subgraphs []apollo.Subgraph
		errCodes  []string // composition error codes wanted; none: composes
		want      []string // in the supergraph
	}{
		{
			name: "entity extended by a second subgraph",
			subgraphs: []apollo.Subgraph{users, {Name: "orders", URL: "http://127.0.0.1:1/orders", SDL: link + `
type User @key(fields: "id") { id: ID! orders: [Order!]! }
type Order @key(fields: "id") { id: ID! total: Float! }
type Query { order(id: ID!): Order }
`}},
			want: []string{"@join__graph(name: \"orders\"", "@join__type(graph: USERS, key: \"id\")", "orders: [Order!]! @join__field(graph: ORDERS)"},
		},
		{
			name: "value type defined twice without @shareable, and a type clash",
			subgraphs: []apollo.Subgraph{users, {Name: "orders", URL: "http://127.0.0.1:1/orders", SDL: link + `
type User @key(fields: "id") { id: ID! name: Int! }
type Query { order(id: ID!): String }
`}},
			errCodes: []string{"INVALID_FIELD_SHARING", "FIELD_TYPE_MISMATCH"},
		},
		{
			name:      "not GraphQL",
			subgraphs: []apollo.Subgraph{users, {Name: "broken", SDL: "type {"}},
			errCodes:  []string{"INVALID_GRAPHQL"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := apollo.Compose(t.Context(), c.subgraphs)
			if len(c.errCodes) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if len(got.Hints) > 0 {
					t.Errorf("hints: %+v", got.Hints)
				}
				for _, w := range c.want {
					if !strings.Contains(got.Supergraph, w) {
						t.Errorf("supergraph lacks %q:\n%s", w, got.Supergraph)
					}
				}
				return
			}
			var ce *apollo.CompositionError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *CompositionError", err)
			}
			codes := map[string]bool{}
			for _, e := range ce.Errors {
				codes[e.Code] = true
			}
			for _, w := range c.errCodes {
				if !codes[w] {
					t.Errorf("no %s among %+v", w, ce.Errors)
				}
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error text lacks %s: %v", w, err)
				}
			}
			for _, s := range c.subgraphs {
				if !strings.Contains(err.Error(), s.Name) {
					t.Errorf("error text does not name subgraph %s: %v", s.Name, err)
				}
			}
		})
	}
}

func TestComposeNeedsSubgraphs(t *testing.T) {
	if _, err := apollo.Compose(t.Context(), nil); err == nil {
		t.Fatal("no subgraphs: no error")
	}
	if _, err := apollo.Compose(t.Context(), []apollo.Subgraph{{Name: "x"}}); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Fatalf("empty SDL: %v", err)
	}
}
