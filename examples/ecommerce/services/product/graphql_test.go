package product_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/graphql"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// TestSubgraph asks the product subgraph, per tenant, for a product by id
// (before the search index has it, similar is empty, not an error), for
// similar products once indexed, for a search, and for _entities by id alone,
// with a missing product and a malformed representation.
func TestSubgraph(t *testing.T) {
	f := newFixture(t)
	acme, globex := tenant.With(t.Context(), "acme"), tenant.With(t.Context(), "globex")
	g, err := f.svc.Subgraph(graphql.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if sdl := g.SDL(); !strings.Contains(sdl, `type Product @key(fields: "id")`) || strings.Contains(sdl, "createProduct") {
		t.Errorf("SDL:\n%s", sdl)
	}
	run := func(ctx context.Context, query string) (string, string) {
		t.Helper()
		r := g.Execute(ctx, graphql.Request{Query: query})
		b, _ := json.Marshal(r.Data) // keys sorted
		var errs []string
		for _, e := range r.Errors {
			errs = append(errs, e.Message)
		}
		return string(b), strings.Join(errs, "; ")
	}
	names := map[context.Context]string{acme: "", globex: "Globex "}
	for ctx, prefix := range names {
		for _, p := range catalogue[:3] {
			p.Name = prefix + p.Name
			if err := f.svc.Put(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	const byID = `{ productById(id: "chair-1") { name similar(limit: 2) { id } } }`
	if data, errs := run(acme, byID); errs != "" || data != `{"productById":{"name":"Oak dining chair","similar":[]}}` {
		t.Errorf("before indexing: %s %s", data, errs)
	}
	f.runIndexer(t, "acme")
	f.runIndexer(t, "globex")
	f.indexed(t, acme, "chair-1", "chair-2", "sofa-1")
	f.indexed(t, globex, "chair-1", "chair-2", "sofa-1")
	for ctx, prefix := range names {
		data, errs := run(ctx, byID)
		if errs != "" || !strings.HasPrefix(data, `{"productById":{"name":"`+prefix+`Oak dining chair","similar":[{"id":"`) ||
			strings.Count(data, `"id"`) != 2 || strings.Contains(data, `"id":"chair-1"`) {
			t.Errorf("%q: %s %s", prefix, data, errs)
		}
		data, errs = run(ctx, `{ search(text: "a couch for the living room", limit: 1) { id name } }`)
		if want := `{"search":[{"id":"sofa-1","name":"` + prefix + `Three-seat sofa"}]}`; errs != "" || data != want {
			t.Errorf("%q: search %s %s, want %s", prefix, data, errs, want)
		}
		data, errs = run(ctx, `{ _entities(representations: [{__typename: "Product", id: "chair-2"}, {__typename: "Product", id: "none"}]) { ... on Product { name } } }`)
		if want := `{"_entities":[{"name":"` + prefix + `Ergonomic office chair"},null]}`; errs != "" || data != want {
			t.Errorf("%q: _entities %s %s, want %s", prefix, data, errs, want)
		}
	}
	if _, errs := run(acme, `{ _entities(representations: [{__typename: "Product", id: 7}]) { ... on Product { name } } }`); !strings.Contains(errs, "representation 0") {
		t.Errorf("a malformed representation: errors %q", errs)
	}
	if _, errs := run(acme, `{ search(text: "chair", mode: "fuzzy") { id } }`); !strings.Contains(errs, `mode "fuzzy"`) {
		t.Errorf("a bad mode: errors %q", errs)
	}
}
