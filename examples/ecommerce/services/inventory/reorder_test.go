package inventory_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/inventory"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// SetReorder sets a product's policy, which its level then shows; it refuses
// an unknown product and values out of range.
func TestSetReorder(t *testing.T) {
	svc := newService(t, testConfig())
	ctx := t.Context()
	pid := stocked(t, svc, "p", 10)
	tests := []struct {
		name    string
		pid     string
		policy  inventory.ReorderPolicy
		wantErr error
	}{
		{"auto", pid, inventory.ReorderPolicy{AutoReorder: true, Threshold: 5, Quantity: 20}, nil},
		{"off", pid, inventory.ReorderPolicy{Threshold: 3}, nil},
		{"no quantity", pid, inventory.ReorderPolicy{AutoReorder: true, Threshold: 5}, inventory.ErrInvalid},
		{"negative threshold", pid, inventory.ReorderPolicy{Threshold: -1}, inventory.ErrInvalid},
		{"too many", pid, inventory.ReorderPolicy{AutoReorder: true, Quantity: inventory.MaxQuantity + 1}, inventory.ErrInvalid},
		{"unknown product", product(t, "none"), inventory.ReorderPolicy{Threshold: 3}, inventory.ErrUnknownProduct},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := svc.SetReorder(ctx, tc.pid, tc.policy)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || l.Reorder != tc.policy {
				t.Fatalf("level %+v, %v", l, err)
			}
			if got := wantLevel(t, svc, tc.pid, 10, 10); got.Reorder != tc.policy {
				t.Fatalf("stored policy %+v, want %+v", got.Reorder, tc.policy)
			}
		})
	}
}

// reorderAll calls Reorder of pid from n goroutines at once, spread over the
// services, and returns the purchase orders they saw and how many opened one.
func reorderAll(t *testing.T, svcs []*inventory.Service, pid string, n int) (ids map[string]int, created int) {
	t.Helper()
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	ids = map[string]int{}
	for i := range n {
		wg.Go(func() {
			<-start
			po, c, err := svcs[i%len(svcs)].Reorder(t.Context(), pid)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Error(err)
				return
			}
			if po.ID != "" {
				ids[po.ID]++
			}
			if c {
				created++
			}
		})
	}
	close(start)
	wg.Wait()
	return ids, created
}

// openOrders returns the ids of pid's open purchase orders, as stored.
func openOrders(t *testing.T, svc *inventory.Service, pid string) []string {
	t.Helper()
	pos, err := svc.PurchaseOrders(t.Context(), pid)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, po := range pos {
		if po.State == inventory.POOpen {
			out = append(out, po.ID)
		}
	}
	return out
}

// Many concurrent low-stock triggers in two services (two processes) open
// exactly one purchase order; receiving it restocks once and lets exactly one
// new order open at the next crossing.
func TestAutoReorderOnce(t *testing.T) {
	a, b := newService(t, testConfig()), newService(t, testConfig())
	ctx := t.Context()
	pid := stocked(t, a, "p", 4)
	policy := inventory.ReorderPolicy{AutoReorder: true, Threshold: 5, Quantity: 30}
	if _, err := a.SetReorder(ctx, pid, policy); err != nil {
		t.Fatal(err)
	}
	svcs := []*inventory.Service{a, b}

	ids, created := reorderAll(t, svcs, pid, 20)
	open := openOrders(t, a, pid)
	if created != 1 || len(ids) != 1 || len(open) != 1 || ids[open[0]] != 20 {
		t.Fatalf("%d calls opened one, they saw %v; open purchase orders %v", created, ids, open)
	}
	first := open[0]
	if l := wantLevel(t, a, pid, 4, 4); l.OpenPurchaseOrder != first {
		t.Fatalf("level's open purchase order %q, want %q", l.OpenPurchaseOrder, first)
	}
	po, err := b.PurchaseOrder(ctx, pid, first)
	if err != nil || po.ProductID != pid || po.Quantity != 30 || po.State != inventory.POOpen || po.CreatedAt.IsZero() {
		t.Fatalf("purchase order %+v, %v", po, err)
	}

	// Received (twice, in both services): restocked once, and cleared.
	for _, svc := range []*inventory.Service{a, b} {
		po, err := svc.Receive(ctx, pid, first)
		if err != nil || po.State != inventory.POReceived || po.ReceivedAt.IsZero() {
			t.Fatalf("receive: %+v, %v", po, err)
		}
	}
	if l := wantLevel(t, a, pid, 34, 34); l.OpenPurchaseOrder != "" {
		t.Fatalf("open purchase order %q after its receipt", l.OpenPurchaseOrder)
	}
	// Above the threshold: nothing.
	if ids, created := reorderAll(t, svcs, pid, 4); created != 0 || len(ids) != 0 {
		t.Fatalf("above the threshold: %d opened, saw %v", created, ids)
	}
	// The next crossing opens exactly one new purchase order.
	if _, err := a.SetStock(ctx, pid, 5); err != nil {
		t.Fatal(err)
	}
	ids, created = reorderAll(t, svcs, pid, 20)
	open = openOrders(t, a, pid)
	if created != 1 || len(ids) != 1 || len(open) != 1 || open[0] == first {
		t.Fatalf("second crossing: %d opened, saw %v; open %v (first %s)", created, ids, open, first)
	}
	if _, err := a.Receive(ctx, pid, "no-such-order"); !errors.Is(err, orm.ErrNotFound) {
		t.Errorf("receive of an unknown purchase order: %v", err)
	}
}

// No purchase order without auto_reorder, or above the threshold, or for a
// product without stock.
func TestNoReorder(t *testing.T) {
	svc := newService(t, testConfig())
	ctx := t.Context()
	tests := []struct {
		name   string
		onHand int
		policy *inventory.ReorderPolicy
	}{
		{"no policy", 1, nil},
		{"auto_reorder off", 1, &inventory.ReorderPolicy{Threshold: 5, Quantity: 10}},
		{"above the threshold", 6, &inventory.ReorderPolicy{AutoReorder: true, Threshold: 5, Quantity: 10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pid := stocked(t, svc, "p", tc.onHand)
			if tc.policy != nil {
				if _, err := svc.SetReorder(ctx, pid, *tc.policy); err != nil {
					t.Fatal(err)
				}
			}
			po, created, err := svc.Reorder(ctx, pid)
			if err != nil || created || po.ID != "" {
				t.Fatalf("reorder: %+v, %v, %v", po, created, err)
			}
			if open := openOrders(t, svc, pid); len(open) != 0 {
				t.Fatalf("open purchase orders %v", open)
			}
		})
	}
	if _, _, err := svc.Reorder(ctx, product(t, "none")); !errors.Is(err, inventory.ErrUnknownProduct) {
		t.Errorf("unknown product: %v", err)
	}
}

// A reorder whose batch's answer is lost, applied or not, is settled by reading
// back: one purchase order, reported as opened by the call; one whose every
// attempt is lost fails with orm.ErrUncertain, and the next call finds the
// order, never a second.
func TestReorderUnknownOutcome(t *testing.T) {
	ctx := t.Context()
	for _, applied := range []bool{true, false} {
		name := map[bool]string{true: "answer lost", false: "request lost"}[applied]
		t.Run(name, func(t *testing.T) {
			svc := newService(t, testConfig())
			pid := stocked(t, svc, "p", 2)
			if _, err := svc.SetReorder(ctx, pid, inventory.ReorderPolicy{AutoReorder: true, Threshold: 5, Quantity: 10}); err != nil {
				t.Fatal(err)
			}
			l := &losing{pid: pid, applied: applied, n: 1}
			inventory.LoseAnswers(svc, l.lose, nil)
			po, created, err := svc.Reorder(ctx, pid)
			if err != nil || !created || l.lost != 1 {
				t.Fatalf("reorder: %+v, %v, %v (%d lost)", po, created, err, l.lost)
			}
			if open := openOrders(t, svc, pid); len(open) != 1 || open[0] != po.ID {
				t.Fatalf("open purchase orders %v, want [%s]", open, po.ID)
			}
			// A receipt whose answer is lost restocks once.
			l.mu.Lock()
			l.n, l.lost = 1, 0
			l.mu.Unlock()
			if got, err := svc.Receive(ctx, pid, po.ID); err != nil || got.State != inventory.POReceived || l.lost != 1 {
				t.Fatalf("receive: %+v, %v (%d lost)", got, err, l.lost)
			}
			wantLevel(t, svc, pid, 12, 12)
		})
	}
	t.Run("every attempt lost", func(t *testing.T) {
		cfg := testConfig()
		cfg.Attempts = 2
		svc := newService(t, cfg)
		pid := stocked(t, svc, "p", 2)
		if _, err := svc.SetReorder(ctx, pid, inventory.ReorderPolicy{AutoReorder: true, Threshold: 5, Quantity: 10}); err != nil {
			t.Fatal(err)
		}
		// The first request is lost; the second applies, its answer lost.
		var mu sync.Mutex
		calls := 0
		inventory.LoseAnswers(svc, func(string) (bool, bool) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			return calls <= 2, calls == 2
		}, nil)
		if _, _, err := svc.Reorder(ctx, pid); !errors.Is(err, orm.ErrUncertain) {
			t.Fatalf("reorder: %v, want one matching orm.ErrUncertain", err)
		}
		po, created, err := svc.Reorder(ctx, pid)
		if err != nil || created || po.ID == "" {
			t.Fatalf("the next reorder: %+v, %v, %v", po, created, err)
		}
		if open := openOrders(t, svc, pid); len(open) != 1 || open[0] != po.ID {
			t.Fatalf("open purchase orders %v, want [%s]", open, po.ID)
		}
	})
}
