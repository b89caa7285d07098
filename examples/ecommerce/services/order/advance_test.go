package order_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/order"
	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// fulfilment is an order service whose orders record their changes in a feed
// of this run's own, with a durable subscription collecting them.
type fulfilment struct {
	svc    *order.Service
	ctx    context.Context // with a tenant of this run's own
	mu     sync.Mutex
	orders []changefeed.Change
}

func startFulfilment(t *testing.T) *fulfilment {
	t.Helper()
	base, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := base.WithTenancy(orm.Tenancy{})
	if err != nil {
		t.Fatal(err)
	}
	run := strings.ReplaceAll(orm.NewUUID().String()[:8], "-", "")
	feed, err := changefeed.NewFeed(db, changefeed.FeedConfig{Log: changefeed.Config{Table: "changes_" + run, Lag: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := order.New(db, order.Config{InventoryURL: "http://127.0.0.1:1", PaymentURL: "http://127.0.0.1:1", Feed: feed})
	if err != nil {
		t.Fatal(err)
	}
	leases, err := lease.New(db, lease.Config{Table: "leases_" + run, TTL: 3 * time.Second, Poll: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f := &fulfilment{svc: svc, ctx: tenant.With(t.Context(), "ful"+run)}
	if err := db.Sync(f.ctx, feed.Models()...); err != nil {
		t.Fatal(err)
	}
	for _, sync := range []func(context.Context) error{svc.Sync, leases.Sync} {
		if err := sync(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan error, 1)
	subs := changefeed.Subscriber{Feed: feed, Leases: leases, Poll: 50 * time.Millisecond}
	go func() {
		done <- subs.Subscribe(ctx, changefeed.Subscription{Name: "advance-test", Table: "orders", Ops: []orm.ChangeOp{orm.OpUpdate},
			Handle: func(_ context.Context, c changefeed.Change) error {
				f.mu.Lock()
				defer f.mu.Unlock()
				f.orders = append(f.orders, c)
				return nil
			}})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("subscription: %v", err)
		}
	})
	return f
}

// confirmed writes a confirmed order, as the saga leaves one.
func (f *fulfilment) confirmed(t *testing.T, id string) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := f.svc.Orders.Insert(f.ctx, &order.Order{OrderID: id, UserID: "ada", Status: order.StatusConfirmed, Currency: "EUR", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
}

// statuses returns the statuses that the updates of order id recorded, once
// there are n.
func (f *fulfilment) statuses(t *testing.T, id string, n int) []string {
	t.Helper()
	var got []string
	testenv.WaitUntil(t, 30*time.Second, "the order's updates on the feed", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		got = nil
		for _, c := range f.orders {
			if c.Key["order_id"] == id {
				s, _ := c.Values["status"].(string)
				got = append(got, s)
			}
		}
		return len(got) >= n
	})
	return got
}

// Advance moves forward one status at a time, each a change on the feed with
// the status in its values; a repeated advance is a no-op, and backwards, a
// skip, an unknown order or an unknown status are refused.
func TestAdvance(t *testing.T) {
	f := startFulfilment(t)
	id := "adv-" + orm.NewUUID().String()[:8]
	f.confirmed(t, id)
	steps := []struct {
		status  string
		wantErr error // nil: the order then has status
	}{
		{order.StatusShipped, order.ErrTransition},
		{order.StatusProcessing, nil},
		{order.StatusProcessing, nil}, // repeated: a no-op
		{order.StatusDelivered, order.ErrTransition},
		{order.StatusShipped, nil},
		{order.StatusProcessing, order.ErrTransition},
		{order.StatusDelivered, nil},
		{order.StatusShipped, order.ErrTransition},
		{order.StatusConfirmed, order.ErrInvalid},
		{"lost", order.ErrInvalid},
	}
	for i, st := range steps {
		o, err := f.svc.Advance(f.ctx, id, st.status)
		switch {
		case st.wantErr != nil && !errors.Is(err, st.wantErr):
			t.Fatalf("step %d: advance to %s: %v, want %v", i, st.status, err, st.wantErr)
		case st.wantErr == nil && (err != nil || o.Status != st.status):
			t.Fatalf("step %d: advance to %s: %+v, %v", i, st.status, o, err)
		}
	}
	if _, err := f.svc.Advance(f.ctx, "no-such-"+id, order.StatusProcessing); !errors.Is(err, orm.ErrNotFound) {
		t.Errorf("unknown order: %v", err)
	}
	if got := f.statuses(t, id, 3); !slices.Equal(got, []string{order.StatusProcessing, order.StatusShipped, order.StatusDelivered}) {
		t.Errorf("changes recorded %q", got)
	}
}

// Of concurrent advances of one order to one status, one applies and is one
// change; the others are no-ops.
func TestAdvanceConcurrently(t *testing.T) {
	f := startFulfilment(t)
	id := "conc-" + orm.NewUUID().String()[:8]
	f.confirmed(t, id)
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			o, err := f.svc.Advance(f.ctx, id, order.StatusProcessing)
			if err == nil && o.Status != order.StatusProcessing {
				err = errors.New("status " + o.Status)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// A later change marks the end of what the concurrent ones recorded.
	if _, err := f.svc.Advance(f.ctx, id, order.StatusShipped); err != nil {
		t.Fatal(err)
	}
	if got := f.statuses(t, id, 2); !slices.Equal(got, []string{order.StatusProcessing, order.StatusShipped}) {
		t.Errorf("changes recorded %q, want one per status", got)
	}
}

// POST /orders/{id}/status advances an order, answering 409 with the current
// status for a transition refused and 400 for an unknown status.
func TestAdvanceHTTP(t *testing.T) {
	f := startFulfilment(t)
	tid, _ := tenant.From(f.ctx)
	url := serve(t, f.svc.Handler())
	id := "http-" + orm.NewUUID().String()[:8]
	f.confirmed(t, id)
	tests := []struct {
		body string
		want int
	}{
		{`{"status":"shipped"}`, http.StatusConflict},
		{`{"status":"processing"}`, http.StatusOK},
		{`{"status":"processing"}`, http.StatusOK},
		{`{"status":"gone"}`, http.StatusBadRequest},
		{`{"state":"shipped"}`, http.StatusBadRequest},
	}
	for _, tc := range tests {
		req, err := http.NewRequestWithContext(f.ctx, "POST", url+"/orders/"+id+"/status", bytes.NewBufferString(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Tenant-ID", tid)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.body, resp.StatusCode, tc.want)
		}
	}
}
