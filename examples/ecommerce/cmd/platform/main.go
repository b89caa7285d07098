// Command platform runs the whole e-commerce platform as separate programs
// behind the federated gateway, places an order, and prints one
// federated query's answer: the order (order service) with its user (user
// service), its items' product names and similar products (product service)
// and its payment (payment service), and the user's recommendations
// (product service, trained on purchases the demo records), asked once of the
// gateway.
//
// It builds the programs of examples/ecommerce/cmd (cardnet, inventory,
// payments, orders, users -serve, products, notifications, gateway) into a
// temporary folder and starts each as its own process on a free loopback
// port, on keyspaces of its own (platform_demo_*, dropped at start) and the
// service registry platform_demo_registry, with an SMTP mailbox in this
// process for the notification service's mail. It waits until the gateway
// has composed the five subgraphs, writes a user, three products and their
// stock through the services' HTTP APIs, places an order (the order saga
// reserves the stock and charges the card through the payment service),
// records purchases for the recommender (trained every 2 s here), waits
// until the product search index has the products and the recommender has
// lists, prints the query
// and the answer, and stops every program. The programs' logs go to a file
// whose path it prints.
//
//	make demo    # starts the dev servers, then runs the demos, this one last
//
// Run it from inside the checkout (it builds with the go command, and the
// gateway installs its npm packages into the development cache); Cassandra,
// Redis and Kafka are those of make up.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/gateway"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/jsonhttp"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/mailbox"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/platform"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/cardnet"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/order"
)

const (
	demoTenant = "acme"
	prefix     = "platform_demo_"
)

// The federated query the demo asks the gateway.
const query = `query ($id: String!) {
  order(order_id: $id) {
    status
    total_cents
    user { name email }
    items { quantity product { name similar(limit: 2) { name } } }
    payment { status amount_cents card_last4 }
  }
  recommendations(user_id: "ada", limit: 2) { name }
}`

func main() {
	// The programs are stopped on the way out whatever ends the demo: a
	// signal, or a reader of its output that went away (SIGPIPE ignored, the
	// writes fail instead).
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 8*time.Minute)
	defer cancel()
	services := []string{"users", "products", "orders", "payments", "notifications"}
	keyspaces := []string{prefix + "registry"}
	for _, s := range append(services, "inventory") {
		keyspaces = append(keyspaces, prefix+s)
	}
	if err := platform.Reset(ctx, keyspaces...); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "platform-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	logPath := filepath.Join(os.TempDir(), "platform-demo.log")
	logs, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logs.Close()
	fmt.Printf("programs' logs: %s\n", logPath)

	programs := []string{"cardnet", "inventory", "payments", "orders", "users", "products", "notifications", "gateway"}
	fmt.Printf("building %s ...\n", strings.Join(programs, ", "))
	start := time.Now()
	if err := build(ctx, dir, programs); err != nil {
		return err
	}
	fmt.Printf("built in %s\n", time.Since(start).Round(100*time.Millisecond))

	mb, err := mailbox.Start("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer mb.Close()
	addr := map[string]string{}
	for _, p := range programs {
		if addr[p], err = freeAddr(); err != nil {
			return err
		}
	}
	url := func(p string) string { return "http://" + addr[p] }
	args := map[string][]string{
		"cardnet":   {"-latency", "20ms"},
		"inventory": {"-keyspace", prefix + "inventory", "-tenant", demoTenant},
		"payments":  {"-keyspace", prefix + "payments", "-tenant", demoTenant, "-cardnet", url("cardnet")},
		"orders": {"-keyspace", prefix + "orders", "-tenant", demoTenant, "-inventory", url("inventory"),
			"-payments", url("payments")},
		"users":    {"-serve", "-keyspace", prefix + "users", "-tenant", demoTenant},
		"products": {"-keyspace", prefix + "products", "-tenant", demoTenant, "-train-every", "2s"},
		"notifications": {"-keyspace", prefix + "notifications", "-tenant", demoTenant, "-orders-keyspace", prefix + "orders",
			"-inventory-keyspace", prefix + "inventory", "-smtp", mb.Addr()},
		"gateway": {"-registry", prefix + "registry", "-services", strings.Join(services, ",")},
	}
	var procs []*exec.Cmd
	defer func() { stopAll(procs) }()
	for _, p := range programs {
		cmd := exec.CommandContext(ctx, filepath.Join(dir, p), append(args[p], "-listen", addr[p])...)
		cmd.Env = append(os.Environ(), "REGISTRY_KEYSPACE="+prefix+"registry", "REALTIME_HMAC_KEY="+strings.Repeat("d", 64))
		cmd.Stdout, cmd.Stderr = logs, logs
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.WaitDelay = 15 * time.Second
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start %s: %w", p, err)
		}
		procs = append(procs, cmd)
	}
	fmt.Printf("started %d programs; gateway at %s\n", len(procs), url("gateway"))

	start = time.Now()
	if err := waitFor(ctx, 4*time.Minute, "the gateway to compose the five subgraphs", func() (bool, error) {
		var st gateway.Status
		if _, err := do(ctx, http.MethodGet, url("gateway")+"/status", nil, &st); err != nil {
			return false, err
		}
		return st.Ready && len(st.Subgraphs) == len(services), fmt.Errorf("status %+v", st)
	}); err != nil {
		return fmt.Errorf("%w (see %s)", err, logPath)
	}
	fmt.Printf("gateway composed %s in %s\n", strings.Join(services, ", "), time.Since(start).Round(100*time.Millisecond))

	// A user, a catalogue and its stock, through the services' APIs.
	if _, err := do(ctx, http.MethodPost, url("users")+"/users", map[string]string{"user_id": "ada", "email": "ada@example.com", "name": "Ada Lovelace"}, nil); err != nil {
		return err
	}
	catalogue := []struct{ id, name, description string }{
		{"lamp", "Brass desk lamp", "A warm reading light for the desk"},
		{"chair", "Reading armchair", "A deep chair to read in by the window"},
		{"shelf", "Oak bookshelf", "Five shelves for a growing library"},
	}
	for _, p := range catalogue {
		body := map[string]any{"name": p.name, "description": p.description, "category": "home", "price_cents": 4900}
		if _, err := do(ctx, http.MethodPut, url("products")+"/products/"+p.id, body, nil); err != nil {
			return err
		}
		if _, err := do(ctx, http.MethodPut, url("inventory")+"/stock/"+p.id, map[string]int{"on_hand": 10}, nil); err != nil {
			return err
		}
	}
	fmt.Println("wrote user ada, products lamp, chair and shelf, 10 of each in stock")

	// An order through the saga: stock reserved, card charged, confirmed.
	var v order.View
	place := order.PlaceOrder{OrderID: "order-1", UserID: "ada", Currency: "EUR", Card: cardnet.CardApprove,
		Items: []order.Item{{ProductID: "lamp", Quantity: 2, PriceCents: 4900}, {ProductID: "shelf", Quantity: 1, PriceCents: 4900}}}
	if _, err := do(ctx, http.MethodPost, url("orders")+"/orders?wait=60s", place, &v); err != nil {
		return err
	}
	if v.Status != order.StatusConfirmed {
		return fmt.Errorf("order-1 is %s (%s), want confirmed (see %s)", v.Status, v.Reason, logPath)
	}
	fmt.Printf("placed order-1: %s, payment %s\n", v.Status, v.Payment)

	// Purchases for the recommender: ada's order, and two others who bought
	// the lamp with the chair.
	for user, items := range map[string][]string{"ada": {"lamp", "shelf"}, "bob": {"lamp", "chair"}, "eve": {"lamp", "chair"}} {
		for _, it := range items {
			if _, err := do(ctx, http.MethodPost, url("products")+"/users/"+user+"/interactions", map[string]string{"product_id": it, "kind": "purchase"}, nil); err != nil {
				return err
			}
		}
	}
	fmt.Println("recorded purchases: ada lamp and shelf, bob and eve lamp and chair")
	fmt.Println()

	// The federated query, once the search index has the products and the
	// recommender has been trained on the purchases.
	var answer json.RawMessage
	if err := waitFor(ctx, 2*time.Minute, "the federated answer with similar products and recommendations", func() (bool, error) {
		var r struct {
			Data struct {
				Order struct {
					User  *struct{ Name string }
					Items []struct {
						Product struct{ Similar []any }
					}
				}
				Recommendations []any
			}
			Errors []any
		}
		b, err := do(ctx, http.MethodPost, url("gateway")+"/graphql", map[string]any{"query": query, "variables": map[string]string{"id": "order-1"}}, nil)
		if err != nil {
			return false, err
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return false, err
		}
		answer = b
		return len(r.Errors) == 0 && r.Data.Order.User != nil && len(r.Data.Order.Items) == 2 && len(r.Data.Recommendations) > 0 && len(r.Data.Order.Items[0].Product.Similar) == 2, fmt.Errorf("answer %s", b)
	}); err != nil {
		return err
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, answer, "", "  "); err != nil {
		return err
	}
	fmt.Printf("POST %s/graphql (X-Tenant-ID: %s)\n%s\n\n%s\n", url("gateway"), demoTenant, query, pretty.String())
	return nil
}

// build builds the named commands of examples/ecommerce/cmd into dir.
func build(ctx context.Context, dir string, programs []string) error {
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, p := range programs {
		args = append(args, "./examples/ecommerce/cmd/"+p)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w (run it from the checkout's root)\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// freeAddr returns a loopback address with a port free now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// stopAll sends SIGTERM to every program and waits for it to exit.
func stopAll(procs []*exec.Cmd) {
	for _, p := range procs {
		_ = p.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range procs {
		_ = p.Wait()
	}
}

// waitFor calls cond every 200 ms until it holds, for up to timeout; the
// error it returned last says what it saw.
func waitFor(ctx context.Context, timeout time.Duration, what string, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, last := cond()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waited %s for %s: %v", timeout, what, last)
		case <-tick.C:
		}
	}
}

// do sends body (JSON, if not nil) to url as the demo's tenant, decodes a
// 2xx answer into out (if not nil) and returns the answer's body.
func do(ctx context.Context, method, url string, body, out any) ([]byte, error) {
	code, b, err := jsonhttp.Send(ctx, method, url, demoTenant, body)
	if err != nil {
		return nil, err
	}
	if code/100 != 2 {
		return b, fmt.Errorf("%s %s: %d %s", method, url, code, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return b, fmt.Errorf("%s %s: %w", method, url, err)
		}
	}
	return b, nil
}
