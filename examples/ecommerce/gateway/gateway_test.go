package gateway_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/gateway"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// seed writes a customer and an item with the same keys but different values
// for two tenants.
func (f *fixture) seed(id string) {
	f.t.Helper()
	customers, items := orm.MustModel[Customer](f.db), orm.MustModel[Item](f.db)
	for _, tn := range []string{"acme", "globex"} {
		ctx := tenant.With(f.t.Context(), tn)
		if err := customers.Insert(ctx, &Customer{ID: id, Name: "name of " + tn}); err != nil {
			f.t.Fatal(err)
		}
		if err := items.Insert(ctx, &Item{SKU: id, Title: "title of " + tn}); err != nil {
			f.t.Fatal(err)
		}
	}
}

// TestFederatedQueryPerTenant asks one query spanning two subgraphs in
// separate processes, as two tenants (by header and by host): each gets its own
// rows from both. The subgraphs refuse a request without the caller's
// Authorization, so the answers prove it is forwarded too.
func TestFederatedQueryPerTenant(t *testing.T) {
	f := newFixture(t)
	users, catalog := "users-"+suffix(), "catalog-"+suffix()
	auth := "Bearer " + suffix()
	f.start("customer", users, envAuth+"="+auth)
	f.start("item", catalog, envAuth+"="+auth)
	id := suffix()
	f.seed(id)
	g, url := f.gateway([]string{users, catalog}, gateway.Config{})
	waitFor(t, 2*time.Minute, "both subgraphs composed", hasSubgraphs(g, users, catalog))
	q := `{ customer(id: "` + id + `") { name } item(sku: "` + id + `") { title } }`
	for _, c := range []struct {
		tenant  string
		headers []string
	}{
		{"acme", []string{"X-Tenant-ID", "acme"}},
		{"globex", []string{"X-Tenant-ID", "globex"}},
		{"globex", []string{"Host", "globex.shop.localhost"}},
	} {
		r := post(t, http.DefaultClient, url+"/graphql", q, append(c.headers, "Authorization", auth)...)
		if len(r.Errors) > 0 || r.field("customer", "name") != "name of "+c.tenant || r.field("item", "title") != "title of "+c.tenant {
			t.Errorf("%v: %d %v errors %s, want the rows of %s from both subgraphs", c.headers, r.Status, r.Data, r.errorsText(), c.tenant)
		}
	}
}

// TestRefusesWithoutTenant: a request that names no tenant is refused by the
// gateway with a GraphQL error saying how to name it.
func TestRefusesWithoutTenant(t *testing.T) {
	f := newFixture(t)
	users := "users-" + suffix()
	f.start("customer", users)
	_, url := f.gateway([]string{users}, gateway.Config{})
	r := post(t, http.DefaultClient, url+"/graphql", `{ customer(id: "x") { name } }`)
	if r.Status != http.StatusBadRequest || len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "missing_tenant" ||
		!strings.Contains(r.Errors[0].Message, "X-Tenant-ID") || r.Data != nil {
		t.Fatalf("no tenant: %d data %v errors %s, want 400 missing_tenant", r.Status, r.Data, r.errorsText())
	}
}

// TestSubgraphKilledThenBack kills the catalog subgraph's process with
// SIGKILL: the query gives the users subgraph's data and an error naming the
// catalog, before and after its registration expires. A new catalog process
// (another port) is picked up without a gateway restart.
func TestSubgraphKilledThenBack(t *testing.T) {
	f := newFixture(t)
	users, catalog := "users-"+suffix(), "catalog-"+suffix()
	f.start("customer", users)
	cat := f.start("item", catalog)
	id := suffix()
	f.seed(id)
	g, url := f.gateway([]string{users, catalog}, gateway.Config{})
	waitFor(t, 2*time.Minute, "both subgraphs composed", hasSubgraphs(g, users, catalog))
	q := `{ customer(id: "` + id + `") { name } item(sku: "` + id + `") { title } }`
	if r := post(t, http.DefaultClient, url+"/graphql", q, "X-Tenant-ID", "acme"); len(r.Errors) > 0 || r.field("item", "title") != "title of acme" {
		t.Fatalf("before the kill: %v %s", r.Data, r.errorsText())
	}
	cat.kill(t)
	// partial checks one answer: the customer, a null item, one error naming the
	// catalog; it returns that error's message.
	partial := func() (string, error) {
		r := post(t, http.DefaultClient, url+"/graphql", q, "X-Tenant-ID", "acme")
		if r.field("customer", "name") != "name of acme" || r.Data["item"] != nil || len(r.Errors) != 1 ||
			!strings.Contains(r.Errors[0].Message, catalog) || r.Errors[0].Extensions["serviceName"] != catalog {
			return "", fmt.Errorf("data %v errors %s, want the customer, a null item and an error naming %s", r.Data, r.errorsText(), catalog)
		}
		return r.Errors[0].Message, nil
	}
	msg, err := partial()
	if err != nil {
		t.Fatalf("killed, still registered: %v", err)
	}
	t.Logf("killed, still registered: %s", msg)
	// Once the registration expires, the gateway fails the catalog's requests at
	// once, without trying the dead address.
	waitFor(t, time.Minute, "the catalog known to have no healthy instance", func() (bool, string) {
		msg, err := partial()
		if err != nil {
			t.Fatalf("killed: %v", err)
		}
		return strings.Contains(msg, "no healthy instance in the service registry"), msg
	})
	if st := g.Status(); st.Restarts != 0 || !slices.Contains(st.Subgraphs, catalog) {
		t.Fatalf("status %+v: want the catalog kept in the supergraph, no restart", st)
	}
	f.start("item", catalog)
	waitFor(t, time.Minute, "the new catalog process answers through the gateway", func() (bool, string) {
		r := post(t, http.DefaultClient, url+"/graphql", q, "X-Tenant-ID", "acme")
		return len(r.Errors) == 0 && r.field("item", "title") == "title of acme" && r.field("customer", "name") == "name of acme",
			fmt.Sprintf("%v %s", r.Data, r.errorsText())
	})
	if st := g.Status(); st.Restarts != 0 {
		t.Fatalf("the Node process restarted (%d)", st.Restarts)
	}
}

// TestSubgraphJoinsLater starts a gateway over two services of which one runs:
// when the second starts, it is composed into the supergraph and its field
// answers, the Node process not restarted. A slow subgraph times out with an
// error naming it while the other's data arrive.
func TestSubgraphJoinsLater(t *testing.T) {
	f := newFixture(t)
	users, reviews := "users-"+suffix(), "reviews-"+suffix()
	f.start("customer", users)
	id := suffix()
	f.seed(id)
	if err := orm.MustModel[Review](f.db).Insert(tenant.With(t.Context(), "acme"), &Review{ID: id, Stars: 4}); err != nil {
		t.Fatal(err)
	}
	g, url := f.gateway([]string{users, reviews}, gateway.Config{Timeout: time.Second})
	waitFor(t, time.Minute, "the users subgraph composed", hasSubgraphs(g, users))
	q := `{ customer(id: "` + id + `") { name } review(id: "` + id + `") { stars } }`
	r := post(t, http.DefaultClient, url+"/graphql", q, "X-Tenant-ID", "acme")
	if r.Data != nil || !strings.Contains(r.errorsText(), "review") {
		t.Fatalf("before reviews joined: %v %s, want a validation error on the unknown field", r.Data, r.errorsText())
	}
	f.start("review", reviews, envDelay+"=3s")
	waitFor(t, time.Minute, "reviews composed", hasSubgraphs(g, users, reviews))
	r = post(t, http.DefaultClient, url+"/graphql", q, "X-Tenant-ID", "acme")
	if r.field("customer", "name") != "name of acme" || r.Data["review"] != nil || len(r.Errors) != 1 ||
		!strings.Contains(r.Errors[0].Message, reviews) || r.Errors[0].Extensions["serviceName"] != reviews {
		t.Fatalf("slow reviews: %v %s, want the customer and a timeout naming %s", r.Data, r.errorsText(), reviews)
	}
	t.Logf("slow: %s", r.errorsText())
	if st := g.Status(); st.Restarts != 0 || st.Version < 2 {
		t.Fatalf("status %+v: want a recomposition (version 2 or more), no restart", st)
	}
}

// TestSubgraphForgotten: a subgraph gone for longer than Config.Forget is
// composed out of the supergraph: its field is then unknown, the other
// subgraph's still answer, and the Node process was not restarted.
func TestSubgraphForgotten(t *testing.T) {
	f := newFixture(t)
	users, catalog := "users-"+suffix(), "catalog-"+suffix()
	f.start("customer", users)
	cat := f.start("item", catalog)
	id := suffix()
	f.seed(id)
	g, url := f.gateway([]string{users, catalog}, gateway.Config{Forget: time.Second})
	waitFor(t, 2*time.Minute, "both subgraphs composed", hasSubgraphs(g, users, catalog))
	cat.kill(t)
	waitFor(t, time.Minute, "the catalog composed out", hasSubgraphs(g, users))
	r := post(t, http.DefaultClient, url+"/graphql", `{ item(sku: "`+id+`") { title } }`, "X-Tenant-ID", "acme")
	if r.Data != nil || !strings.Contains(r.errorsText(), `Cannot query field "item"`) {
		t.Fatalf("item after the catalog was forgotten: %v %s, want a validation error", r.Data, r.errorsText())
	}
	r = post(t, http.DefaultClient, url+"/graphql", `{ customer(id: "`+id+`") { name } }`, "X-Tenant-ID", "acme")
	if len(r.Errors) > 0 || r.field("customer", "name") != "name of acme" {
		t.Fatalf("customer: %v %s", r.Data, r.errorsText())
	}
	if st := g.Status(); st.Restarts != 0 {
		t.Fatalf("the Node process restarted (%d)", st.Restarts)
	}
}

// TestCompositionFailureKeepsSupergraph: a subgraph that does not compose (its
// SDL names a type it does not define) leaves the previous supergraph in use,
// and Status reports the composition's error, naming the subgraph.
func TestCompositionFailureKeepsSupergraph(t *testing.T) {
	f := newFixture(t)
	users, clash := "users-"+suffix(), "clash-"+suffix()
	f.start("customer", users)
	id := suffix()
	f.seed(id)
	g, url := f.gateway([]string{users, clash}, gateway.Config{})
	waitFor(t, time.Minute, "users composed", hasSubgraphs(g, users))
	f.start("broken", clash)
	waitFor(t, time.Minute, "a composition error", func() (bool, string) {
		st := g.Status()
		return len(st.Errors) > 0, fmt.Sprintf("%+v", st)
	})
	st := g.Status()
	t.Logf("errors: %+v", st.Errors)
	if e := st.Errors[0]; e.Code == "" || e.Subgraph != clash || !strings.Contains(e.Message, "NoSuchType") {
		t.Fatalf("errors %+v: want Apollo's code and the subgraph %s", st.Errors, clash)
	}
	if !slices.Equal(st.Subgraphs, []string{users}) || st.Version != 1 {
		t.Fatalf("status %+v: want the first supergraph (users only) kept", st)
	}
	r := post(t, http.DefaultClient, url+"/graphql", `{ customer(id: "`+id+`") { name } }`, "X-Tenant-ID", "acme")
	if len(r.Errors) > 0 || r.field("customer", "name") != "name of acme" {
		t.Fatalf("customer: %v %s", r.Data, r.errorsText())
	}
}
