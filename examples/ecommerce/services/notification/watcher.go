package notification

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/changefeed/filter"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/retry"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// WatcherConfig configures a Watcher. Zero fields take the defaults documented
// on each.
type WatcherConfig struct {
	// Service records the notifications. Required.
	Service *Service
	// Orders runs the subscription to the orders' changes: a Subscriber on the
	// feed the order service's model records in (order.Config.Feed), with
	// Leases. Optional: without it, no order is watched.
	Orders *changefeed.Subscriber
	// OrdersTable is the orders' table (default "orders"), keyed by order_id,
	// with the columns user_id and status.
	OrdersTable string
	// Statuses are the order statuses notified to the order's user (default
	// processing, shipped, delivered).
	Statuses []string
	// Stock runs the subscription to the stock's changes: a Subscriber on the
	// feed the inventory service's model records in (inventory.Config.Feed),
	// with Leases. Optional: without it, no stock is watched.
	Stock *changefeed.Subscriber
	// StockTable is the stock's table (default "inventory_stock"), keyed by
	// product_id, with the column available.
	StockTable string
	// LowStock is the level below which a change of available is a low-stock
	// alert (default 10).
	LowStock int
	// Reorder, when set, is called with the product of each low-stock alert,
	// after the alert is recorded (inventory.Service.Reorder, which opens a
	// purchase order only when the product's policy says so, and once). It must
	// be idempotent: a change may be delivered again.
	Reorder func(ctx context.Context, productID string) error
	// Tenants are the tenants watched, each with subscriptions of its own, on a
	// tenanted DB; none on a DB without tenancy.
	Tenants []string
	// Name prefixes the durable subscriptions' names (default "notification"):
	// Name+"-orders" and Name+"-stock", checkpointed per tenant.
	Name string
	// Backoff spaces the restarts of a subscription that failed (default 1 s
	// doubling up to 30 s, with jitter).
	Backoff retry.Backoff
	// Log receives the failures. Default: Service's log.
	Log *slog.Logger
}

func (c *WatcherConfig) setDefaults() {
	if c.OrdersTable == "" {
		c.OrdersTable = "orders"
	}
	if len(c.Statuses) == 0 {
		c.Statuses = []string{"processing", "shipped", "delivered"}
	}
	if c.StockTable == "" {
		c.StockTable = "inventory_stock"
	}
	if c.LowStock == 0 {
		c.LowStock = 10
	}
	if c.Name == "" {
		c.Name = "notification"
	}
	if c.Backoff == (retry.Backoff{}) {
		c.Backoff = retry.Backoff{Initial: time.Second, Max: 30 * time.Second}
	}
	if c.Log == nil && c.Service != nil {
		c.Log = c.Service.cfg.Log
	}
}

// Validate reports a WatcherConfig a Watcher cannot run with: no Service,
// neither Orders nor Stock, a Subscriber without a Feed or Leases, a LowStock
// below 1, an empty or repeated tenant, an invalid Backoff.
func (c WatcherConfig) Validate() error {
	c.setDefaults()
	var errs []error
	if c.Service == nil {
		errs = append(errs, errors.New("notification: WatcherConfig.Service is nil"))
	}
	if c.Orders == nil && c.Stock == nil {
		errs = append(errs, errors.New("notification: WatcherConfig: neither Orders nor Stock: nothing to watch"))
	}
	for name, s := range map[string]*changefeed.Subscriber{"Orders": c.Orders, "Stock": c.Stock} {
		if s != nil && (s.Feed == nil || s.Leases == nil) {
			errs = append(errs, fmt.Errorf("notification: WatcherConfig.%s: a durable subscription needs a Feed and Leases", name))
		}
	}
	if c.LowStock < 1 {
		errs = append(errs, fmt.Errorf("notification: WatcherConfig.LowStock %d: want at least 1", c.LowStock))
	}
	seen := map[string]bool{}
	for _, id := range c.Tenants {
		if id == "" || seen[id] {
			errs = append(errs, fmt.Errorf("notification: WatcherConfig.Tenants: %q empty or named twice", id))
		}
		seen[id] = true
	}
	if err := c.Backoff.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("notification: WatcherConfig.Backoff: %w", err))
	}
	return errors.Join(errs...)
}

// Watcher turns the platform's changes into notifications, as the seed's
// subscribe calls did: an update of an order whose status becomes one of
// Statuses notifies the order's user (KindOrderStatusUpdate), and an update of a
// product's stock that sets available below LowStock alerts the administrators
// (KindLowStockAlert) and calls Reorder. Each runs as a durable subscription
// per tenant: checkpointed, held under a lease (one process at a time handles
// a tenant's shard), at least once. A notification's id is derived from the
// change's id, so a change delivered again records nothing new. It is safe for
// concurrent use.
type Watcher struct {
	cfg WatcherConfig
}

// NewWatcher returns a watcher, or the error of cfg.Validate.
func NewWatcher(cfg WatcherConfig) (*Watcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return &Watcher{cfg: cfg}, nil
}

// Subscriptions returns the watcher's subscriptions (of one tenant: run them
// with its context), their Handle the watcher's.
func (w *Watcher) Subscriptions() []changefeed.Subscription {
	var out []changefeed.Subscription
	if w.cfg.Orders != nil {
		out = append(out, changefeed.Subscription{Name: w.cfg.Name + "-orders", Table: w.cfg.OrdersTable,
			Ops: []orm.ChangeOp{orm.OpUpdate}, Filter: filter.In("status", w.cfg.Statuses...), ReadRow: true, Handle: w.Handle})
	}
	if w.cfg.Stock != nil {
		out = append(out, changefeed.Subscription{Name: w.cfg.Name + "-stock", Table: w.cfg.StockTable,
			Ops: []orm.ChangeOp{orm.OpUpdate}, Filter: filter.Lt("available", int32(w.cfg.LowStock)), Handle: w.Handle})
	}
	return out
}

// Run runs the subscriptions for every tenant until ctx ends, then returns nil.
// A subscription that fails (its lease lost to another process, the database
// unavailable, a handler's error) is logged and started again after Backoff,
// from its checkpoint (a table that no model of this process records in the
// feed too: that is logged again and again). One whose filter its table
// refuses (an unknown column, a value of the wrong type) makes Run return the
// error.
func (w *Watcher) Run(ctx context.Context) error {
	tenants := w.cfg.Tenants
	if len(tenants) == 0 {
		tenants = []string{""}
	}
	subs := w.Subscriptions()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, id := range tenants {
		tctx := ctx
		if id != "" {
			tctx = tenant.With(ctx, id)
		}
		for _, sub := range subs {
			s := w.cfg.Stock
			if sub.Table == w.cfg.OrdersTable {
				s = w.cfg.Orders
			}
			wg.Go(func() { w.keep(tctx, cancel, *s, sub, id) })
		}
	}
	wg.Wait()
	if err := context.Cause(ctx); !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// keep runs sub until ctx ends, starting it again after a failure; a
// subscription refused as configured cancels the watcher with its error.
func (w *Watcher) keep(ctx context.Context, fail context.CancelCauseFunc, s changefeed.Subscriber, sub changefeed.Subscription, tenantID string) {
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := s.Subscribe(ctx, sub)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, orm.ErrUnknownColumn) || errors.Is(err, filter.ErrNotApplicable) || errors.Is(err, filter.ErrSyntax) {
			fail(fmt.Errorf("notification: watcher, tenant %q: %w", tenantID, err))
			return
		}
		if time.Since(start) > w.cfg.Backoff.Max {
			attempt = 1 // it ran a while: start the backoff afresh
		}
		w.cfg.Log.Warn("notification: watcher subscription failed; restarting", "tenant", tenantID, "subscription", sub.Name, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.cfg.Backoff.Delay(attempt)):
		}
	}
}

// Handle handles change c of the orders or the stock as the subscriptions do
// (it is their Handle), for the tenant of ctx. Handling one change again
// records nothing new: the notification's id is "change/<c.ID>". It returns an
// error only for a failure worth another delivery; a change it cannot use (no
// user, a malformed value) is logged and skipped.
func (w *Watcher) Handle(ctx context.Context, c changefeed.Change) error {
	var n Notification
	switch c.Table {
	case w.cfg.OrdersTable:
		status, ok := c.Values["status"].(string)
		if !ok {
			return nil // not a change of the status
		}
		orderID, _ := c.Key["order_id"].(string)
		userID, _ := c.Row["user_id"].(string)
		if userID == "" {
			w.cfg.Log.Warn("notification: watcher: order without a user, or no longer there", "order", orderID, "change", c.ID)
			return nil
		}
		n = Notification{UserID: userID, Kind: KindOrderStatusUpdate,
			Subject: fmt.Sprintf("Your order %s is %s", orderID, status),
			Data:    map[string]string{"order_id": orderID, "status": status}}
	case w.cfg.StockTable:
		available, ok := intValue(c.Values["available"])
		if !ok {
			return nil // a change that did not set available
		}
		productID, _ := c.Key["product_id"].(string)
		// The threshold is the level at or below which the alert is sent.
		n = Notification{Kind: KindLowStockAlert,
			Subject: fmt.Sprintf("Low stock: %s has %d left", productID, available),
			Data: map[string]string{"product_id": productID, "name": productID,
				"quantity": strconv.FormatInt(available, 10), "threshold": strconv.Itoa(w.cfg.LowStock - 1)}}
	default:
		return nil
	}
	n.ID = "change/" + c.ID.String()
	if _, _, err := w.cfg.Service.Notify(ctx, n); err != nil {
		if errors.Is(err, ErrInvalid) || errors.Is(err, ErrConflict) {
			w.cfg.Log.Warn("notification: watcher: change not notified", "change", c.ID, "table", c.Table, "err", err)
			return nil
		}
		return fmt.Errorf("notification: watcher: change %s of %s: %w", c.ID, c.Table, err)
	}
	if n.Kind == KindLowStockAlert && w.cfg.Reorder != nil {
		if err := w.cfg.Reorder(ctx, n.Data["product_id"]); err != nil {
			return fmt.Errorf("notification: watcher: reorder of product %q (change %s): %w", n.Data["product_id"], c.ID, err)
		}
	}
	return nil
}

// intValue returns v, an integer or a pointer to one, as an int64.
func intValue(v any) (int64, bool) {
	switch x := v.(type) {
	case int32:
		return int64(x), true
	case *int32:
		if x != nil {
			return int64(*x), true
		}
	case int:
		return int64(x), true
	case *int:
		if x != nil {
			return int64(*x), true
		}
	case int64:
		return x, true
	case *int64:
		if x != nil {
			return *x, true
		}
	}
	return 0, false
}
