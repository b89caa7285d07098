package payment_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/graphql"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// TestSubgraph asks the subgraph for a payment two tenants made with the same
// id: each sees its own, by query and by _entities, with the order it pays as
// a reference; a request with no tenant is refused.
func TestSubgraph(t *testing.T) {
	shared := newFixture(t, "t-graph", options{})
	// A second tenant in the shared tables (not the big one, whose balances
	// TestTenants checks).
	own := &fixture{t: t, tenant: shared.tenant + "b", db: shared.db, net: shared.net, svc: shared.svc, api: shared.api}
	id := "pg-" + shared.tenant + "-" + env.Keyspace()
	for i, f := range []*fixture{shared, own} {
		if code, out := f.charge(id, int64(1000*(i+1)), visa); code != http.StatusOK {
			t.Fatalf("%s: charge: %d %v", f.tenant, code, out)
		}
	}
	g, err := shared.svc.Subgraph(graphql.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if sdl := g.SDL(); !strings.Contains(sdl, `type Payment @key(fields: "payment_id")`) || strings.Contains(sdl, "createPayment") {
		t.Errorf("SDL:\n%s", sdl)
	}
	for _, tc := range []struct {
		f     *fixture
		cents string
	}{{shared, "1000"}, {own, "2000"}} {
		ctx := tenant.With(t.Context(), tc.f.tenant)
		r := g.Execute(ctx, graphql.Request{Query: `query($id: String!) { payment(payment_id: $id) { amount_cents status order { __typename order_id } } }`,
			Variables: map[string]any{"id": id}})
		b, _ := json.Marshal(r) // keys sorted
		if want := `{"data":{"payment":{"amount_cents":"` + tc.cents + `","order":{"__typename":"Order","order_id":"order-` + id + `"},"status":"approved"}}}`; string(b) != want {
			t.Errorf("%s: %s\nwant %s", tc.f.tenant, b, want)
		}
		r = g.Execute(ctx, graphql.Request{Query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on Payment { amount_cents } } }`,
			Variables: map[string]any{"r": []any{map[string]any{"__typename": "Payment", "payment_id": id}, map[string]any{"__typename": "Payment", "payment_id": "none"}}}})
		b, _ = json.Marshal(r)
		if want := `{"data":{"_entities":[{"amount_cents":"` + tc.cents + `"},null]}}`; string(b) != want {
			t.Errorf("%s: _entities %s\nwant %s", tc.f.tenant, b, want)
		}
	}
	r := g.Execute(t.Context(), graphql.Request{Query: `query($id: String!) { payment(payment_id: $id) { amount_cents } }`, Variables: map[string]any{"id": id}})
	if len(r.Errors) == 0 || r.Data["payment"] != nil {
		t.Errorf("no tenant: %+v", r)
	}
}
