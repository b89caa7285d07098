package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/gateway"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/platform"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/order"
	"github.com/cassandraorm/cassandraorm-go/internal/apollo"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// The platform's subgraph services, as the gateway command follows them.
var platformServices = []string{"users", "products", "orders", "payments", "notifications"}

// TestPlatform runs the platform's five service programs, built from
// examples/ecommerce/cmd, each on its own keyspaces with two tenants and
// announced in the run's service registry; composes the SDL they serve with
// Apollo's composition library (no error, no hint); then asks the gateway
// over them one question spanning the order, user and product services, for
// each tenant. The product service is then killed: the answer keeps the
// order and its user, with a null product and an error naming the service,
// until a new product process registers and is picked up with no restart.
// Before that the user service is paused (SIGSTOP) past the gateway's
// timeout, with the same kind of partial answer, and resumed.
func TestPlatform(t *testing.T) {
	f := newFixture(t)
	bin := buildPrograms(t, platformServices...)
	run := suffix()
	ks := func(service string) string { return "plat_" + service + "_" + run }
	ta, tb := "pa"+run, "pb"+run
	tenants := ta + "," + tb
	args := map[string][]string{
		"users":    {"-serve", "-keyspace", ks("users"), "-tenant", tenants},
		"products": {"-keyspace", ks("products"), "-tenant", tenants},
		"orders":   {"-keyspace", ks("orders"), "-tenant", tenants},
		"payments": {"-keyspace", ks("payments"), "-tenant", tenants},
		"notifications": {"-keyspace", ks("notifications"), "-tenant", ta, "-orders-keyspace", ks("orders"),
			"-inventory-keyspace", ks("inventory"), "-smtp", "127.0.0.1:1"},
	}
	procs := map[string]*child{}
	for _, name := range platformServices {
		procs[name] = f.program(bin[name], append(args[name], "-listen", "127.0.0.1:0")...)
	}
	urls := map[string]string{}
	for _, name := range platformServices {
		waitFor(t, 3*time.Minute, name+" registered and healthy", func() (bool, string) {
			insts, err := f.reg.Discover(t.Context(), name)
			if err != nil || len(insts) == 0 {
				return false, fmt.Sprintf("%v %v", insts, err)
			}
			urls[name] = insts[0].URL
			return true, ""
		})
	}

	// Composition: the SDL each program serves, composed by Apollo's library.
	var subs []apollo.Subgraph
	for _, name := range platformServices {
		code, sdl := get(t, urls[name]+platform.SDLPath)
		if code != http.StatusOK {
			t.Fatalf("%s: GET %s: %d %s", name, platform.SDLPath, code, sdl)
		}
		subs = append(subs, apollo.Subgraph{Name: name, URL: urls[name] + platform.GraphQLPath, SDL: sdl})
	}
	c, err := apollo.Compose(t.Context(), subs)
	if err != nil {
		t.Fatalf("the five subgraphs do not compose: %v", err)
	}
	for _, h := range c.Hints {
		t.Errorf("composition hint %s: %s", h.Code, h.Message)
	}
	super := strings.Join(strings.Fields(c.Supergraph), " ")
	for _, want := range []string{
		`type User @join__type(graph: NOTIFICATIONS, key: "user_id", resolvable: false) @join__type(graph: ORDERS, key: "user_id", resolvable: false) @join__type(graph: USERS, key: "user_id")`,
		`type Product @join__type(graph: ORDERS, key: "id", resolvable: false) @join__type(graph: PRODUCTS, key: "id")`,
		`type Order @join__type(graph: ORDERS, key: "order_id") @join__type(graph: PAYMENTS, key: "order_id", resolvable: false)`,
		`type Payment @join__type(graph: ORDERS, key: "payment_id", resolvable: false) @join__type(graph: PAYMENTS, key: "payment_id")`,
		`type Notification @join__type(graph: NOTIFICATIONS, key: "notification_id")`,
		"similar(limit: Int = 5): [Product!]!",
	} {
		if !strings.Contains(super, want) {
			t.Errorf("supergraph lacks %q", want)
		}
	}

	// Each tenant's user, products and order, written through the services'
	// APIs (the order straight into the order service's table, as the saga
	// would leave it).
	seed := map[string]struct{ user, email, product, other string }{
		ta: {"Ada Lovelace", "ada@a.example", "Brass desk lamp", "Reading chair"},
		tb: {"Bob Marley", "bob@b.example", "Garden hose", "Watering can"},
	}
	for id, s := range seed {
		call(t, http.MethodPost, urls["users"]+"/users", id, map[string]any{"user_id": "u1", "email": s.email, "name": s.user}, http.StatusCreated)
		for pid, name := range map[string]string{"p1": s.product, "p2": s.other, "p3": s.other + " deluxe"} {
			call(t, http.MethodPut, urls["products"]+"/products/"+pid, id, map[string]any{"name": name, "category": "home", "price_cents": 1000}, http.StatusOK)
		}
	}
	orders := ordersModel(t, ks("orders"))
	for id := range seed {
		o := order.Order{OrderID: "o1", UserID: "u1", Items: []order.Item{{ProductID: "p1", Quantity: 2, PriceCents: 1000}},
			TotalCents: 2000, Currency: "EUR", Status: order.StatusConfirmed, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
		if err := orders.Insert(tenant.With(t.Context(), id), &o); err != nil {
			t.Fatal(err)
		}
	}

	g, gw := f.gateway(platformServices, gateway.Config{})
	waitFor(t, 3*time.Minute, "the five subgraphs composed", hasSubgraphs(g, platformServices...))
	const query = `{ order(order_id: "o1") { status total_cents user { name email } items { quantity product { name similar(limit: 2) { id } } } } }`
	answer := func(id string) (response, error) {
		return postErr(http.DefaultClient, gw+"/graphql", query, "X-Tenant-ID", id)
	}
	for id, s := range seed {
		other := seed[ta]
		if id == ta {
			other = seed[tb]
		}
		var last response
		waitFor(t, 2*time.Minute, "tenant "+id+"'s order with its user, product and similar products", func() (bool, string) {
			r, err := answer(id)
			if err != nil {
				return false, err.Error()
			}
			last = r
			o, _ := r.Data["order"].(map[string]any)
			if len(r.Errors) > 0 || o == nil {
				return false, fmt.Sprintf("%v %s", r.Data, r.errorsText())
			}
			item := o["items"].([]any)[0].(map[string]any)
			p, _ := item["product"].(map[string]any)
			similar, _ := p["similar"].([]any) // empty until the search index has the products
			return len(similar) == 2, fmt.Sprintf("%v", r.Data)
		})
		o := last.Data["order"].(map[string]any)
		u := o["user"].(map[string]any)
		p := o["items"].([]any)[0].(map[string]any)["product"].(map[string]any)
		if u["name"] != s.user || u["email"] != s.email || p["name"] != s.product || o["total_cents"] != "2000" || o["status"] != order.StatusConfirmed {
			t.Errorf("tenant %s: %v", id, last.Data)
		}
		for _, sim := range p["similar"].([]any) {
			if sid := sim.(map[string]any)["id"]; sid != "p2" && sid != "p3" {
				t.Errorf("tenant %s: similar product %v, want p2 or p3", id, sid)
			}
		}
		b, _ := json.Marshal(last.Data)
		for _, leak := range []string{other.user, other.email, other.product, other.other} {
			if bytes.Contains(b, []byte(leak)) {
				t.Errorf("tenant %s sees the other tenant's %q: %s", id, leak, b)
			}
		}
	}

	// The user service paused (SIGSTOP): past the gateway's timeout the
	// answer has the order and its product, a null user and an error naming
	// users; resumed, it answers again.
	if err := procs["users"].cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// Resumed however the test ends, before its SIGTERM (cleanups run last
	// first), which a stopped process would not act on.
	t.Cleanup(func() { _ = procs["users"].cmd.Process.Signal(syscall.SIGCONT) })
	waitFor(t, time.Minute, "partial data naming users", func() (bool, string) {
		r, err := answer(ta)
		if err != nil {
			return false, err.Error()
		}
		o, _ := r.Data["order"].(map[string]any)
		if o == nil {
			return false, fmt.Sprintf("%v %s", r.Data, r.errorsText())
		}
		item, _ := o["items"].([]any)[0].(map[string]any)
		p, _ := item["product"].(map[string]any)
		named := false
		for _, e := range r.Errors {
			named = named || e.Extensions["serviceName"] == "users"
		}
		return o["user"] == nil && p != nil && p["name"] == seed[ta].product && named, fmt.Sprintf("%v %s", r.Data, r.errorsText())
	})
	if err := procs["users"].cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the resumed user service answers through the gateway", func() (bool, string) {
		r, err := answer(ta)
		if err != nil {
			return false, err.Error()
		}
		o, _ := r.Data["order"].(map[string]any)
		u, _ := o["user"].(map[string]any)
		return len(r.Errors) == 0 && u != nil && u["name"] == seed[ta].user, fmt.Sprintf("%v %s", r.Data, r.errorsText())
	})

	// The product service killed: partial data and an error naming it.
	procs["products"].kill(t)
	waitFor(t, time.Minute, "partial data naming products", func() (bool, string) {
		r, err := answer(ta)
		if err != nil {
			return false, err.Error()
		}
		o, _ := r.Data["order"].(map[string]any)
		if o == nil {
			return false, fmt.Sprintf("%v %s", r.Data, r.errorsText())
		}
		u, _ := o["user"].(map[string]any)
		item, _ := o["items"].([]any)[0].(map[string]any)
		named := false
		for _, e := range r.Errors {
			named = named || (e.Extensions["serviceName"] == "products" && strings.Contains(e.Message, "products"))
		}
		return u != nil && u["name"] == seed[ta].user && item["product"] == nil && named, fmt.Sprintf("%v %s", r.Data, r.errorsText())
	})
	f.program(bin["products"], append(args["products"], "-listen", "127.0.0.1:0")...)
	waitFor(t, 2*time.Minute, "the new product process answers through the gateway", func() (bool, string) {
		r, err := answer(ta)
		if err != nil {
			return false, err.Error()
		}
		o, _ := r.Data["order"].(map[string]any)
		if len(r.Errors) > 0 || o == nil {
			return false, fmt.Sprintf("%v %s", r.Data, r.errorsText())
		}
		p, _ := o["items"].([]any)[0].(map[string]any)["product"].(map[string]any)
		return p != nil && p["name"] == seed[ta].product, fmt.Sprintf("%v", r.Data)
	})
}

// buildPrograms builds the commands of examples/ecommerce/cmd named by names
// into a temporary folder and returns their paths by name.
func buildPrograms(t *testing.T, names ...string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	cmdArgs := []string{"build", "-o", dir + string(filepath.Separator)}
	out := map[string]string{}
	for _, n := range names {
		cmdArgs = append(cmdArgs, "../cmd/"+n)
		out[n] = filepath.Join(dir, n)
	}
	cmd := exec.Command("go", cmdArgs...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(cmdArgs, " "), err, b)
	}
	return out
}

// program runs a built command with args, in the run's service registry,
// stopped (SIGTERM) at the end of the test.
func (f *fixture) program(path string, args ...string) *child {
	f.t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), "REGISTRY_KEYSPACE="+env.Keyspace(), "REALTIME_HMAC_KEY="+strings.Repeat("k", 32))
	return f.spawn(cmd)
}

// call sends body as JSON to url as tenant id and fails the test unless the
// answer has status want.
func call(t *testing.T, method, url, id string, body any, want int) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Tenant-ID", id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s as %s: %s %s, want %d", method, url, id, resp.Status, got, want)
	}
}

// ordersModel returns the orders model on the order service's keyspace,
// recording in its change feed as the service's own does.
func ordersModel(t *testing.T, keyspace string) *orm.Model[order.Order] {
	t.Helper()
	st, err := platform.Open(t.Context(), keyspace)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	feed, err := st.NewFeed()
	if err != nil {
		t.Fatal(err)
	}
	m, err := order.OrdersModel(st.Tenanted, feed.Feed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
