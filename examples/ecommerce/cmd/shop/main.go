// Command shop runs the order flow of the e-commerce platform in one process, end
// to end on the local Cassandra: the card network simulator, the inventory, payment
// and order services, each with its own keyspace, tenant registry and HTTP API on a
// loopback port, talking to each other over HTTP as separate programs do
// (examples/ecommerce/cmd/{cardnet,inventory,payments,orders}). It stocks two
// products, places an order that is confirmed, one whose card is declined (the
// saga compensates: the reservation is released), and one for more than is in
// stock, ships and delivers the first, and prints what each service then holds.
//
// The order and inventory services record their changes in change feeds of
// their keyspaces (package changefeed), and the notification service's Watcher
// (on a keyspace of its own) turns them into notifications, as the seed's
// subscriptions did: the order's user is told of each fulfilment status, the
// administrators of each low-stock level, and the mug, whose reorder policy
// says so, gets one purchase order. The notifications go on a channel that
// collects them for the demo to print.
//
//	make demo    # starts the dev servers, then runs the quickstart, users and this
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/jsonhttp"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/platform"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/cardnet"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/inventory"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/notification"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/order"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/payment"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/saga"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

const shopTenant = "acme"

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	// Each run starts afresh: the demo's keyspaces hold nothing worth keeping.
	// SHOP_KEYSPACES prefixes the demo's keyspaces (default "ecommerce"), so
	// that a run can keep clear of another's.
	ks := platform.Env("SHOP_KEYSPACES", "ecommerce")
	if err := platform.Reset(ctx, ks+"_inventory", ks+"_payments", ks+"_orders", ks+"_notifications"); err != nil {
		return err
	}

	// The card network.
	network, err := cardnet.New(cardnet.Config{Latency: 20 * time.Millisecond})
	if err != nil {
		return err
	}
	netURL, err := listen(ctx, network.Handler(), quiet)
	if err != nil {
		return err
	}

	// Inventory and payments, each on its own keyspace and registry.
	invStore, err := platform.Open(ctx, ks+"_inventory")
	if err != nil {
		return err
	}
	defer invStore.Close()
	invFeed, err := invStore.NewFeed()
	if err != nil {
		return err
	}
	inv, err := inventory.New(invStore.Tenanted, inventory.Config{Feed: invFeed.Feed})
	if err != nil {
		return err
	}
	invURL, err := serveService(ctx, invStore, invFeed.SyncWith(inv.Sync), inv.Handler(), quiet)
	if err != nil {
		return err
	}
	payStore, err := platform.Open(ctx, ks+"_payments")
	if err != nil {
		return err
	}
	defer payStore.Close()
	pay, err := payment.New(payStore.Tenanted, payment.Config{CardNetURL: netURL, Log: quiet})
	if err != nil {
		return err
	}
	payURL, err := serveService(ctx, payStore, pay.Sync, pay.Handler(), quiet)
	if err != nil {
		return err
	}

	// Orders, with a worker of the order_processing saga.
	ordStore, err := platform.Open(ctx, ks+"_orders")
	if err != nil {
		return err
	}
	defer ordStore.Close()
	ordFeed, err := ordStore.NewFeed()
	if err != nil {
		return err
	}
	orders, err := order.New(ordStore.Tenanted, order.Config{InventoryURL: invURL, PaymentURL: payURL,
		Saga: saga.Config{Poll: 50 * time.Millisecond, Log: quiet}, Feed: ordFeed.Feed})
	if err != nil {
		return err
	}
	ordURL, err := serveService(ctx, ordStore, ordFeed.SyncWith(orders.Sync), orders.Handler(), quiet)
	if err != nil {
		return err
	}

	// Notifications, and the watcher of both feeds.
	ntfStore, err := platform.Open(ctx, ks+"_notifications")
	if err != nil {
		return err
	}
	defer ntfStore.Close()
	inbox := &collected{}
	notes, err := notification.New(ntfStore.Tenanted, notification.Config{Channels: []notification.Channel{inbox}, Poll: 100 * time.Millisecond, Log: quiet})
	if err != nil {
		return err
	}
	if err := ntfStore.Provision(ctx, notes.Sync, shopTenant); err != nil {
		return err
	}
	watcher, err := notification.NewWatcher(notification.WatcherConfig{Service: notes,
		Orders: ordFeed.Subscriber(), Stock: invFeed.Subscriber(), Tenants: []string{shopTenant}, Log: quiet,
		Reorder: func(ctx context.Context, productID string) error {
			_, _, err := inv.Reorder(ctx, productID)
			return err
		}})
	if err != nil {
		return err
	}

	wctx, stopWorkers := context.WithCancel(ctx)
	var workers sync.WaitGroup
	workers.Go(func() { _ = orders.Run(wctx) })
	workers.Go(func() { _ = notes.Run(wctx) })
	workers.Go(func() {
		if err := watcher.Run(wctx); err != nil {
			log.Printf("watcher: %v", err)
		}
	})
	defer func() { stopWorkers(); workers.Wait() }()

	fmt.Printf("services on loopback: cardnet %s, inventory %s, payments %s, orders %s (tenant %s)\n", netURL, invURL, payURL, ordURL, shopTenant)
	run := orm.NewUUID().String()[:8]
	kettle, mug := "kettle-"+run, "mug-"+run
	c := client{tenant: shopTenant}
	for product, n := range map[string]int{kettle: 5, mug: 2} {
		if _, _, err := c.do(ctx, "PUT", invURL+"/stock/"+product, map[string]int{"on_hand": n}); err != nil {
			return err
		}
	}
	if _, _, err := c.do(ctx, "PUT", invURL+"/stock/"+mug+"/reorder", inventory.ReorderPolicy{AutoReorder: true, Threshold: 1, Quantity: 10}); err != nil {
		return err
	}
	fmt.Printf("stock: %s 5, %s 2 (re-ordered by 10 at 1 left)\n\n", kettle, mug)

	for _, o := range []struct {
		what, id, card string
		items          []order.Item
	}{
		{"an order paid with a good card", "order-" + run + "-1", cardnet.CardApprove,
			[]order.Item{{ProductID: kettle, Quantity: 2, PriceCents: 3999}, {ProductID: mug, Quantity: 1, PriceCents: 1250}}},
		{"an order whose card is declined", "order-" + run + "-2", cardnet.CardDecline,
			[]order.Item{{ProductID: kettle, Quantity: 1, PriceCents: 3999}}},
		{"an order for more mugs than are in stock", "order-" + run + "-3", cardnet.CardApprove,
			[]order.Item{{ProductID: mug, Quantity: 5, PriceCents: 1250}}},
	} {
		start := time.Now()
		code, body, err := c.do(ctx, "POST", ordURL+"/orders?wait=60s", order.PlaceOrder{OrderID: o.id, UserID: "ada", Items: o.items, Currency: "EUR", Card: o.card})
		if err != nil {
			return err
		}
		var v order.View
		if err := json.Unmarshal(body, &v); err != nil {
			return fmt.Errorf("POST /orders: %d %s", code, body)
		}
		fmt.Printf("%s: POST /orders → %d, %s in %s\n", o.what, code, v.Status, time.Since(start).Round(time.Millisecond))
		if v.Reason != "" {
			fmt.Printf("  reason: %s\n", shorten(v.Reason, 150))
		}
		hist, err := orders.Processing.History(tenant.With(ctx, shopTenant), o.id)
		if err != nil {
			return err
		}
		var steps []string
		for _, e := range hist {
			if e.Event == "succeeded" || e.Event == "failed" {
				steps = append(steps, fmt.Sprintf("%s/%s %s", e.Step, e.Direction, e.Event))
			}
		}
		fmt.Printf("  saga: %s\n", strings.Join(steps, ", "))
	}

	shipped := "order-" + run + "-1"
	for _, st := range []string{order.StatusProcessing, order.StatusShipped, order.StatusDelivered} {
		code, body, err := c.do(ctx, "POST", ordURL+"/orders/"+shipped+"/status", map[string]string{"status": st})
		if err != nil {
			return err
		}
		fmt.Printf("POST /orders/%s/status %s → %d\n", shipped, st, code)
		if code != http.StatusOK {
			return fmt.Errorf("advance to %s: %d %s", st, code, body)
		}
	}
	// The watcher reads the feeds a second or so behind: wait for the last
	// status's notification and the mug's purchase order.
	var pos struct {
		PurchaseOrders []inventory.PurchaseOrder `json:"purchase_orders"`
	}
	for !inbox.has(notification.KindOrderStatusUpdate, order.StatusDelivered) || len(pos.PurchaseOrders) == 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the watcher's notifications: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
		_, body, err := c.do(ctx, "GET", invURL+"/stock/"+mug+"/purchase-orders", nil)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(body, &pos); err != nil {
			return err
		}
	}

	fmt.Println("\nafterwards:")
	for _, product := range []string{kettle, mug} {
		_, body, err := c.do(ctx, "GET", invURL+"/stock/"+product, nil)
		if err != nil {
			return err
		}
		var l inventory.Level
		if err := json.Unmarshal(body, &l); err != nil {
			return err
		}
		fmt.Printf("  stock %-16s on hand %d, available %d, held %d\n", product, l.OnHand, l.Available, l.Held)
	}
	_, body, err := c.do(ctx, "GET", payURL+"/ledger/balances", nil)
	if err != nil {
		return err
	}
	fmt.Printf("  ledger balances: %s\n", bytes.TrimSpace(body))
	st := network.Stats()
	fmt.Printf("  card network: %d charges, %d approved (%d cents), %d declined\n", st.Charges, st.Approved, st.ApprovedCents, st.Declined)
	for n, err := range orders.Notifications.Query().AllowFiltering().All(tenant.With(ctx, shopTenant)) {
		if err != nil {
			return err
		}
		if strings.Contains(n.OrderID, run) {
			fmt.Printf("  notification to send: %s: %s\n", n.Kind, n.Body)
		}
	}
	for _, po := range pos.PurchaseOrders {
		fmt.Printf("  purchase order of %s: %d units, %s\n", po.ProductID, po.Quantity, po.State)
	}
	for _, line := range inbox.lines() {
		fmt.Printf("  notified: %s\n", line)
	}
	return nil
}

// collected is the demo's notification channel: it keeps what it delivers.
type collected struct {
	mu  sync.Mutex
	got []notification.Notification
}

// Name is "demo".
func (*collected) Name() string { return "demo" }

// Target sends every notification: to its user's inbox, or to the
// administrators'.
func (*collected) Target(n notification.Notification) string {
	if n.UserID == "" {
		return "admin"
	}
	return "user:" + n.UserID
}

// Deliver keeps n, once by its id.
func (c *collected) Deliver(_ context.Context, n notification.Notification, _ string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.got {
		if m.ID == n.ID {
			return nil
		}
	}
	c.got = append(c.got, n)
	return nil
}

// has reports whether a notification of kind with status in its data came.
func (c *collected) has(kind, status string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.got {
		if n.Kind == kind && n.Data["status"] == status {
			return true
		}
	}
	return false
}

// lines returns what came, one line each, in the order delivered.
func (c *collected) lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.got))
	for i, n := range c.got {
		to := "admin"
		if n.UserID != "" {
			to = n.UserID
		}
		out[i] = fmt.Sprintf("%s, to %s: %s", n.Kind, to, n.Subject)
	}
	return out
}

// serveService provisions the shop's tenant for a service and serves its API.
func serveService(ctx context.Context, st *platform.Store, sync func(context.Context) error, h http.Handler, log *slog.Logger) (string, error) {
	if err := st.Provision(ctx, sync, shopTenant); err != nil {
		return "", err
	}
	th, err := st.Handler(h)
	if err != nil {
		return "", err
	}
	return listen(ctx, th, log)
}

// listen serves h on a loopback port until ctx ends and returns its URL.
func listen(ctx context.Context, h http.Handler, log *slog.Logger) (string, error) {
	addr := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- platform.Serve(ctx, "127.0.0.1:0", h, log, func(a string) { addr <- a }) }()
	select {
	case a := <-addr:
		return "http://" + a, nil
	case err := <-errc:
		return "", err
	}
}

// shorten cuts s to n bytes (at a rune boundary), marking the cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// client calls the services as the shop's front end would.
type client struct{ tenant string }

func (c client) do(ctx context.Context, method, url string, body any) (int, []byte, error) {
	code, data, err := jsonhttp.Send(ctx, method, url, c.tenant, body)
	if err == nil && code >= 500 {
		err = fmt.Errorf("%s %s: %d %s", method, url, code, data)
	}
	return code, data, err
}
