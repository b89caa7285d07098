package order_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/mailbox"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/cardnet"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/notification"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/order"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// With a NotificationURL, a confirmed order's confirmation goes through the
// notification service and arrives at the SMTP server once, addressed to the
// user; the order service's own notifications table stays empty.
func TestConfirmationMailed(t *testing.T) {
	mb, err := mailbox.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mb.Close() })
	email, err := notification.NewEmail(notification.EmailConfig{Addr: mb.Addr(), From: "shop@shop.test",
		To: func(n notification.Notification) string { return n.UserID + "@shop.test" }})
	if err != nil {
		t.Fatal(err)
	}
	base, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := base.WithTenancy(orm.Tenancy{})
	if err != nil {
		t.Fatal(err)
	}
	notes, err := notification.New(db, notification.Config{Channels: []notification.Channel{email}, Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := notes.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = notes.Run(wctx) }()
	t.Cleanup(func() { stop(); <-done })
	notesURL := serve(t, notes.Handler())

	p := start(t, func(c *order.Config) { c.NotificationURL = notesURL })
	ctx := tenant.With(t.Context(), "mailed") // a tenant of its own: TestOrderFlow sums the ledger of "acme"
	run := orm.NewUUID().String()[:8]
	product, id := "teapot-"+run, "mailed-"+run
	if _, err := p.inventory.SetStock(ctx, product, 3); err != nil {
		t.Fatal(err)
	}
	if err := p.orders.Place(ctx, order.PlaceOrder{OrderID: id, UserID: "ada-" + run, Currency: "EUR", Card: cardnet.CardApprove,
		Items: []order.Item{{ProductID: product, Quantity: 1, PriceCents: 3100}}}); err != nil {
		t.Fatal(err)
	}
	octx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if v, err := p.orders.Wait(octx, id); err != nil || v.Status != order.StatusConfirmed {
		t.Fatalf("order %s: %+v, %v", id, v, err)
	}
	nid := id + "/send_confirmation/do"
	testenv.WaitFor(t, 20*time.Second, func() error {
		r, err := notes.Get(ctx, nid)
		if err == nil && (len(r.Deliveries) != 1 || r.Deliveries[0].State != notification.StateSent) {
			return fmt.Errorf("deliveries %+v", r.Deliveries)
		}
		return err
	})
	var mine []mailbox.Message
	for _, m := range mb.Messages() {
		if m.Header.Get("Message-ID") == email.MessageID(nid) {
			mine = append(mine, m)
		}
	}
	if len(mine) != 1 || mine[0].To[0] != "ada-"+run+"@shop.test" || mine[0].Header.Get("Subject") != "Your order "+id+" is confirmed" {
		t.Fatalf("%d messages for the confirmation (%+v), want 1 to ada-%s@shop.test", len(mine), mine, run)
	}
	if _, err := p.orders.Notifications.Get(ctx, nid); !errors.Is(err, orm.ErrNotFound) {
		t.Errorf("the order service's own notifications table: %v, want not found", err)
	}
}
