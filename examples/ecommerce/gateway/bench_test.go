package gateway_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/gateway"
)

// benchSetup starts the users and catalog subgraphs and a gateway over them,
// and returns the URLs of the two subgraphs' GraphQL endpoints and of the
// gateway's, and the queries of each.
func benchSetup(b *testing.B) (usersURL, catalogURL, gatewayURL, qUser, qItem, qBoth string) {
	f := newFixture(b)
	users, catalog := "users-"+suffix(), "catalog-"+suffix()
	f.start("customer", users)
	f.start("item", catalog)
	id := suffix()
	f.seed(id)
	g, url := f.gateway([]string{users, catalog}, gateway.Config{})
	waitFor(b, 2*time.Minute, "both subgraphs composed", hasSubgraphs(g, users, catalog))
	for _, r := range g.Status().Routes {
		switch r.Name {
		case users:
			usersURL = r.GraphQL
		case catalog:
			catalogURL = r.GraphQL
		}
	}
	qUser = `{ customer(id: "` + id + `") { name } }`
	qItem = `{ item(sku: "` + id + `") { title } }`
	qBoth = `{ customer(id: "` + id + `") { name } item(sku: "` + id + `") { title } }`
	// Every path answers before timing starts.
	for _, c := range [][2]string{{usersURL, qUser}, {catalogURL, qItem}, {url + "/graphql", qBoth}} {
		if r := post(b, http.DefaultClient, c[0], c[1], "X-Tenant-ID", "acme"); len(r.Errors) > 0 {
			b.Fatalf("%s: %s", c[0], r.errorsText())
		}
	}
	return usersURL, catalogURL, url + "/graphql", qUser, qItem, qBoth
}

// BenchmarkGateway measures the latency the gateway adds to a query of two
// fields from two subgraphs (a customer from users, an item from catalog, as
// tenant acme): the same two fields asked of the subgraphs directly, one after
// the other and both at once, against one query through the gateway. The
// sequential sub-benchmarks ask one request at a time; the Parallel ones keep
// GOMAXPROCS requests in flight (b.RunParallel).
func BenchmarkGateway(b *testing.B) {
	usersURL, catalogURL, gw, qUser, qItem, qBoth := benchSetup(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	ask := func(b *testing.B, url, q string) {
		r, err := postErr(client, url, q, "X-Tenant-ID", "acme")
		if err == nil && len(r.Errors) > 0 {
			err = fmt.Errorf("%s: %s", url, r.errorsText())
		}
		if err != nil {
			b.Error(err) // not Fatal: RunParallel's goroutines may not stop the benchmark
		}
	}
	direct := func(b *testing.B) {
		ask(b, usersURL, qUser)
		ask(b, catalogURL, qItem)
	}
	both := func(b *testing.B) {
		var wg sync.WaitGroup
		wg.Go(func() { ask(b, usersURL, qUser) })
		ask(b, catalogURL, qItem)
		wg.Wait()
	}
	through := func(b *testing.B) { ask(b, gw, qBoth) }
	for _, c := range []struct {
		name string
		fn   func(*testing.B)
	}{{"direct-sequential", direct}, {"direct-concurrent", both}, {"gateway", through}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.fn(b)
			}
		})
		b.Run(c.name+"-parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.fn(b)
				}
			})
		})
	}
}
