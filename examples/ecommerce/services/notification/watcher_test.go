package notification_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/inventory"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/notification"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/order"
	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/retry"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// tenantRooms records broadcasts with the tenant of their context.
type tenantRooms struct {
	mu  sync.Mutex
	got []broadcast
}

type broadcast struct {
	tenant, room string
	n            notification.Notification
}

func (r *tenantRooms) BroadcastToRoom(ctx context.Context, room, _ string, data any) error {
	n, ok := data.(notification.Notification)
	if !ok {
		return errors.New("not a notification")
	}
	id, _ := tenant.From(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, broadcast{id, room, n})
	return nil
}

// of returns the distinct notifications broadcast to room in tenant tid, of
// kind, by id.
func (r *tenantRooms) of(tid, room, kind string) map[string]notification.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]notification.Notification{}
	for _, b := range r.got {
		if b.tenant == tid && b.room == room && b.n.Kind == kind {
			out[b.n.ID] = b.n
		}
	}
	return out
}

// watched is the platform's services on one change feed, two tenants, and a
// watcher of both, with the notification worker delivering to tenantRooms.
type watched struct {
	*fixture
	other   context.Context // the second tenant
	otherID string
	orders  *order.Service
	stock   *inventory.Service
	rooms   *tenantRooms
	watcher *notification.Watcher
	subs    changefeed.Subscriber
}

func startWatched(t *testing.T) *watched {
	t.Helper()
	rooms := &tenantRooms{}
	ch, err := notification.NewRoomsChannel(rooms)
	if err != nil {
		t.Fatal(err)
	}
	w := &watched{fixture: newFixture(t, "watch", options{extra: []notification.Channel{ch}}), rooms: rooms}
	w.otherID = w.tenant + "-b"
	w.other = tenant.With(t.Context(), w.otherID)
	db := tenantedDB(t)
	run := strings.ReplaceAll(w.tenant, "-", "_")
	feed, err := changefeed.NewFeed(db, changefeed.FeedConfig{Log: changefeed.Config{Table: "changes_" + run, Lag: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if w.orders, err = order.New(db, order.Config{InventoryURL: "http://127.0.0.1:1", PaymentURL: "http://127.0.0.1:1", Feed: feed}); err != nil {
		t.Fatal(err)
	}
	if w.stock, err = inventory.New(db, inventory.Config{Feed: feed}); err != nil {
		t.Fatal(err)
	}
	leases, err := lease.New(db, lease.Config{Table: "leases_" + run, TTL: 3 * time.Second, Poll: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(w.ctx, feed.Models()...); err != nil {
		t.Fatal(err)
	}
	for _, sync := range []func(context.Context) error{w.orders.Sync, w.stock.Sync, leases.Sync} {
		if err := sync(w.ctx); err != nil {
			t.Fatal(err)
		}
	}
	w.subs = changefeed.Subscriber{Feed: feed, Leases: leases, Poll: 50 * time.Millisecond}
	if w.watcher, err = notification.NewWatcher(notification.WatcherConfig{Service: w.svc, Orders: &w.subs, Stock: &w.subs,
		Tenants: []string{w.tenant, w.otherID}, Backoff: retry.Backoff{Initial: 50 * time.Millisecond, Max: time.Second},
		Reorder: func(ctx context.Context, productID string) error {
			_, _, err := w.stock.Reorder(ctx, productID)
			return err
		}}); err != nil {
		t.Fatal(err)
	}
	w.run(w.svc)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.watcher.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watcher: %v", err)
		}
	})
	return w
}

// capture collects the changes a subscription with the watcher's selection
// delivers in ctx's tenant, for a test to hand to the watcher again.
func (w *watched) capture(t *testing.T, ctx context.Context, table string) func() []changefeed.Change {
	t.Helper()
	var (
		mu  sync.Mutex
		got []changefeed.Change
	)
	var sub changefeed.Subscription
	for _, s := range w.watcher.Subscriptions() {
		if s.Table == table {
			sub = s
		}
	}
	sub.Name += "-capture"
	sub.Handle = func(_ context.Context, c changefeed.Change) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, c)
		return nil
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.subs.Subscribe(sctx, sub) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("capture: %v", err)
		}
	})
	return func() []changefeed.Change {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// An order advanced to processing and shipped notifies its user once for
// each, in the user's room, even when the changes are handled again; placed
// and confirmed notify nothing; the other tenant's order reaches only the
// other tenant.
func TestWatcherOrders(t *testing.T) {
	w := startWatched(t)
	captured := w.capture(t, w.ctx, "orders")
	now := time.Now().UTC().Truncate(time.Millisecond)
	id := "o-" + orm.NewUUID().String()[:8]
	for _, ctx := range []context.Context{w.ctx, w.other} {
		if err := w.orders.Orders.Insert(ctx, &order.Order{OrderID: id, UserID: "ada", Status: order.StatusPlaced, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		// As send_confirmation does.
		if err := w.orders.Orders.Patch(ctx, []any{id}, []orm.Change{orm.Set("status", order.StatusConfirmed)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range []string{order.StatusProcessing, order.StatusShipped} {
		if _, err := w.orders.Advance(w.ctx, id, st); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.orders.Advance(w.other, id, order.StatusProcessing); err != nil {
		t.Fatal(err)
	}

	statuses := func(ctx context.Context) []string {
		rs, err := w.svc.ForUser(ctx, "ada", 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			if r.Kind != notification.KindOrderStatusUpdate || r.Data["order_id"] != id {
				t.Fatalf("notification %+v", r)
			}
			out = append(out, r.Data["status"])
		}
		slices.Sort(out)
		return out
	}
	testenv.WaitUntil(t, 30*time.Second, "both tenants' notifications in their rooms", func() bool {
		return len(w.rooms.of(w.tenant, "user:ada", notification.KindOrderStatusUpdate)) == 2 &&
			len(w.rooms.of(w.otherID, "user:ada", notification.KindOrderStatusUpdate)) == 1
	})
	if got := statuses(w.ctx); !slices.Equal(got, []string{"processing", "shipped"}) {
		t.Fatalf("notifications %q", got)
	}
	if got := statuses(w.other); !slices.Equal(got, []string{"processing"}) {
		t.Fatalf("the other tenant's notifications %q", got)
	}

	// Redelivery: the changes handled again record nothing new.
	testenv.WaitUntil(t, 30*time.Second, "the captured changes", func() bool { return len(captured()) == 2 })
	for _, c := range captured() {
		if err := w.watcher.Handle(w.ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if got := statuses(w.ctx); !slices.Equal(got, []string{"processing", "shipped"}) {
		t.Fatalf("after redelivery: notifications %q", got)
	}
	for _, b := range w.rooms.of(w.tenant, "user:ada", notification.KindOrderStatusUpdate) {
		if !strings.HasPrefix(b.ID, "change/") {
			t.Errorf("notification id %q: want one derived from the change", b.ID)
		}
	}
}

// A product whose available falls below the low-stock level alerts the
// administrators' room at every such change; its policy's threshold opens one
// purchase order, however many alerts follow and however often they are
// handled; the other tenant's stock alerts only the other tenant.
func TestWatcherLowStock(t *testing.T) {
	w := startWatched(t)
	captured := w.capture(t, w.ctx, "inventory_stock")
	pid := "p-" + orm.NewUUID().String()[:8]
	for _, ctx := range []context.Context{w.ctx, w.other} {
		if _, err := w.stock.SetStock(ctx, pid, 20); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.stock.SetReorder(w.ctx, pid, inventory.ReorderPolicy{AutoReorder: true, Threshold: 5, Quantity: 50}); err != nil {
		t.Fatal(err)
	}
	// 20 → 8: an alert, above the threshold; → 4 and → 3: alerts, one order.
	for i, q := range []int{12, 4, 1} {
		if _, err := w.stock.Reserve(w.ctx, fmt.Sprintf("r%d", i), []inventory.Item{{ProductID: pid, Quantity: q}}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.stock.Reserve(w.other, "r", []inventory.Item{{ProductID: pid, Quantity: 15}}, time.Minute); err != nil {
		t.Fatal(err)
	}
	testenv.WaitUntil(t, 30*time.Second, "the alerts in both tenants' admin rooms", func() bool {
		return len(w.rooms.of(w.tenant, notification.AdminRoom, notification.KindLowStockAlert)) == 3 &&
			len(w.rooms.of(w.otherID, notification.AdminRoom, notification.KindLowStockAlert)) == 1
	})
	var left []string
	for _, n := range w.rooms.of(w.tenant, notification.AdminRoom, notification.KindLowStockAlert) {
		if n.Data["product_id"] != pid || n.Data["threshold"] != "9" || n.UserID != "" {
			t.Errorf("alert %+v", n)
		}
		left = append(left, n.Data["quantity"])
	}
	slices.Sort(left)
	if !slices.Equal(left, []string{"3", "4", "8"}) {
		t.Errorf("alerts of %q units left", left)
	}
	if n := w.rooms.of(w.otherID, notification.AdminRoom, notification.KindLowStockAlert); len(n) != 1 {
		t.Errorf("the other tenant's alerts %+v", n)
	}

	// One purchase order; none in the other tenant (no policy).
	open := func(ctx context.Context) int {
		pos, err := w.stock.PurchaseOrders(ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		return len(pos)
	}
	testenv.WaitUntil(t, 30*time.Second, "the purchase order", func() bool { return open(w.ctx) == 1 })
	testenv.WaitUntil(t, 30*time.Second, "the captured changes", func() bool { return len(captured()) >= 3 })
	for _, c := range captured() {
		if err := w.watcher.Handle(w.ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if n := open(w.ctx); n != 1 {
		t.Errorf("%d purchase orders after redelivery, want 1", n)
	}
	if n := open(w.other); n != 0 {
		t.Errorf("%d purchase orders in the other tenant", n)
	}
	for _, c := range captured() {
		if _, ok := c.Values["available"]; !ok {
			continue // a change of the partition's other columns (the purchase order's): no alert
		}
		if _, err := w.svc.Get(w.ctx, "change/"+c.ID.String()); err != nil {
			t.Errorf("change %s: %v", c.ID, err)
		}
		if _, err := w.svc.Get(w.other, "change/"+c.ID.String()); !errors.Is(err, orm.ErrNotFound) {
			t.Errorf("change %s in the other tenant: %v", c.ID, err)
		}
	}
}
