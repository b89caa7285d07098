package inventory_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/inventory"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// A duplicate reserve under one id holds once, and reports the first hold.
func TestReserveDuplicate(t *testing.T) {
	svc := newService(t, testConfig())
	ctx := t.Context()
	pid := stocked(t, svc, "p", 10)
	first, err := svc.Reserve(ctx, "saga-1/reserve_inventory", items(pid, 3), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	again, err := svc.Reserve(ctx, "saga-1/reserve_inventory", items(pid, 3), 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 1 || !same(again[0], first[0]) || first[0].State != inventory.StateHeld || first[0].Quantity != 3 {
		t.Fatalf("first %+v, again %+v", first, again)
	}
	l := wantLevel(t, svc, pid, 10, 7)
	if len(l.Reservations) != 1 || !same(l.Reservations[0], first[0]) {
		t.Fatalf("holds %+v", l.Reservations)
	}
}

// A release given twice gives the units back once.
func TestReleaseTwice(t *testing.T) {
	svc := newService(t, testConfig())
	ctx := t.Context()
	pid := stocked(t, svc, "p", 10)
	if _, err := svc.Reserve(ctx, "r1", items(pid, 4), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Reserve(ctx, "r2", items(pid, 1), time.Minute); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		rs, err := svc.Release(ctx, "r1", []string{pid})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 || rs[0].State != inventory.StateReleased || rs[0].Quantity != 4 {
			t.Fatalf("release: %+v", rs)
		}
		wantLevel(t, svc, pid, 10, 9)
	}
}

// A release that comes before its reserve (the saga's undo overtaking its do)
// leaves a cancelled row, and the late reserve is refused: nothing stays held.
func TestReleaseBeforeReserve(t *testing.T) {
	svc := newService(t, testConfig())
	ctx := t.Context()
	pid := stocked(t, svc, "p", 10)
	rs, err := svc.Release(ctx, "late", []string{pid})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].State != inventory.StateCancelled || rs[0].Quantity != 0 {
		t.Fatalf("release: %+v", rs)
	}
	wantState(t, svc, pid, "late", inventory.StateCancelled)
	before := wantLevel(t, svc, pid, 10, 10)
	_, err = svc.Reserve(ctx, "late", items(pid, 2), time.Minute)
	pe := wantRefusal(t, err, inventory.ErrCompensated, pid)
	if pe.ReservationID != "late" || pe.State != inventory.StateCancelled {
		t.Fatalf("refusal %+v", pe)
	}
	after := wantLevel(t, svc, pid, 10, 10)
	if after.Version != before.Version {
		t.Fatalf("version moved from %d to %d: the refused reserve changed the stock", before.Version, after.Version)
	}
	// A second release is a duplicate: nothing changes.
	if _, err := svc.Release(ctx, "late", []string{pid}); err != nil {
		t.Fatal(err)
	}
	wantState(t, svc, pid, "late", inventory.StateCancelled)
	// A reserve after its release is refused the same way.
	if _, err := svc.Reserve(ctx, "r", items(pid, 1), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Release(ctx, "r", []string{pid}); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Reserve(ctx, "r", items(pid, 1), time.Minute)
	wantRefusal(t, err, inventory.ErrCompensated, pid)
	wantLevel(t, svc, pid, 10, 10)
}

// Commit sells the held units; commit twice sells once; a release afterwards (the
// compensation of the sale) puts them back on hand.
func TestCommitThenRelease(t *testing.T) {
	svc := newService(t, testConfig())
	ctx := t.Context()
	pid := stocked(t, svc, "p", 10)
	if _, err := svc.Reserve(ctx, "r", items(pid, 3), time.Minute); err != nil {
		t.Fatal(err)
	}
	wantLevel(t, svc, pid, 10, 7)
	for range 2 {
		rs, err := svc.Commit(ctx, "r", []string{pid})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 || rs[0].State != inventory.StateCommitted {
			t.Fatalf("commit: %+v", rs)
		}
		l := wantLevel(t, svc, pid, 7, 7)
		if l.Held != 0 {
			t.Fatalf("held %d after commit", l.Held)
		}
	}
	// A duplicate reserve after the commit reports the sale, holding nothing.
	rs, err := svc.Reserve(ctx, "r", items(pid, 3), time.Minute)
	if err != nil || rs[0].State != inventory.StateCommitted {
		t.Fatalf("reserve after commit: %+v, %v", rs, err)
	}
	wantLevel(t, svc, pid, 7, 7)
	for range 2 {
		if _, err := svc.Release(ctx, "r", []string{pid}); err != nil {
			t.Fatal(err)
		}
		wantLevel(t, svc, pid, 10, 10)
	}
	wantState(t, svc, pid, "r", inventory.StateReleased)
}

// A commit of a reservation that is not held is refused, and changes nothing.
func TestCommitNotHeld(t *testing.T) {
	svc := newService(t, testConfig())
	ctx := t.Context()
	pid := stocked(t, svc, "p", 10)
	if _, err := svc.Reserve(ctx, "r", items(pid, 2), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Release(ctx, "r", []string{pid}); err != nil {
		t.Fatal(err)
	}
	_, err := svc.Commit(ctx, "r", []string{pid})
	pe := wantRefusal(t, err, inventory.ErrNotHeld, pid)
	if pe.ReservationID != "r" || pe.State != inventory.StateReleased {
		t.Fatalf("refusal %+v", pe)
	}
	_, err = svc.Commit(ctx, "never", []string{pid})
	wantRefusal(t, err, inventory.ErrNotHeld, pid)
	wantLevel(t, svc, pid, 10, 10)
	// Of two products, one not held: neither is committed.
	other := stocked(t, svc, "q", 5)
	if _, err := svc.Reserve(ctx, "both", append(items(pid, 1), items(other, 1)...), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Release(ctx, "both", []string{other}); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Commit(ctx, "both", []string{pid, other})
	wantRefusal(t, err, inventory.ErrNotHeld, other)
	wantState(t, svc, pid, "both", inventory.StateHeld)
	wantLevel(t, svc, pid, 10, 9)
}

// A reservation of two products whose second is short: the first is given back,
// and the error names the second.
func TestReserveSeveralProductsOneShort(t *testing.T) {
	svc := newService(t, testConfig())
	ctx := t.Context()
	a := stocked(t, svc, "a", 10)
	b := stocked(t, svc, "b", 1)
	_, err := svc.Reserve(ctx, "r", []inventory.Item{{ProductID: b, Quantity: 5}, {ProductID: a, Quantity: 2}}, time.Minute)
	pe := wantRefusal(t, err, inventory.ErrInsufficient, b)
	if pe.Requested != 5 || pe.Available != 1 || !strings.Contains(err.Error(), b) {
		t.Fatalf("refusal %+v: %v", pe, err)
	}
	wantLevel(t, svc, a, 10, 10)
	wantLevel(t, svc, b, 1, 1)
	wantState(t, svc, a, "r", inventory.StateReleased)
	if _, err := svc.Reservation(ctx, b, "r"); !errors.Is(err, orm.ErrNotFound) {
		t.Fatalf("row of the short product: %v", err)
	}
	// Both available: both held, in one call.
	rs, err := svc.Reserve(ctx, "r2", []inventory.Item{{ProductID: b, Quantity: 1}, {ProductID: a, Quantity: 2}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].ProductID != min(a, b) || rs[0].State != inventory.StateHeld || rs[1].State != inventory.StateHeld {
		t.Fatalf("reservations %+v", rs)
	}
	wantLevel(t, svc, a, 10, 8)
	wantLevel(t, svc, b, 1, 0)
}

// Products that were never stocked are unknown to every call that needs them.
func TestUnknownProduct(t *testing.T) {
	svc := newService(t, testConfig())
	ctx := t.Context()
	pid := product(t, "none")
	_, err := svc.Get(ctx, pid)
	wantRefusal(t, err, inventory.ErrUnknownProduct, pid)
	wantRefusal(t, svc.Check(ctx, items(pid, 1)), inventory.ErrUnknownProduct, pid)
	_, err = svc.Reserve(ctx, "r", items(pid, 1), time.Minute)
	wantRefusal(t, err, inventory.ErrUnknownProduct, pid)
	_, err = svc.Commit(ctx, "r", []string{pid})
	wantRefusal(t, err, inventory.ErrNotHeld, pid)
}

func TestCheck(t *testing.T) {
	svc := newService(t, testConfig())
	ctx := t.Context()
	a := stocked(t, svc, "a", 3)
	b := stocked(t, svc, "b", 1)
	if err := svc.Check(ctx, []inventory.Item{{ProductID: a, Quantity: 3}, {ProductID: b, Quantity: 1}}); err != nil {
		t.Fatal(err)
	}
	pe := wantRefusal(t, svc.Check(ctx, []inventory.Item{{ProductID: a, Quantity: 1}, {ProductID: b, Quantity: 2}}), inventory.ErrInsufficient, b)
	if pe.Available != 1 || pe.Requested != 2 {
		t.Fatalf("refusal %+v", pe)
	}
	before := level(t, svc, a)
	if _, err := svc.Reserve(ctx, "r", items(a, 1), time.Minute); err != nil {
		t.Fatal(err)
	}
	wantRefusal(t, svc.Check(ctx, items(a, 3)), inventory.ErrInsufficient, a)
	if after := level(t, svc, a); after.Version != before.Version+1 {
		t.Fatalf("version %d after one reserve from %d: a check changed something", after.Version, before.Version)
	}
}

func TestSetStockAndRestock(t *testing.T) {
	svc := newService(t, testConfig())
	ctx := t.Context()
	pid := product(t, "p")
	l, err := svc.Restock(ctx, pid, 4) // a product without stock gets some
	if err != nil || l.OnHand != 4 || l.Available != 4 || l.Version != 1 {
		t.Fatalf("restock of a new product: %+v, %v", l, err)
	}
	if _, err := svc.Reserve(ctx, "r", items(pid, 3), time.Minute); err != nil {
		t.Fatal(err)
	}
	if l, err = svc.Restock(ctx, pid, 6); err != nil || l.OnHand != 10 || l.Available != 7 {
		t.Fatalf("restock: %+v, %v", l, err)
	}
	// Setting on hand keeps the holds: available follows.
	if l, err = svc.SetStock(ctx, pid, 5); err != nil || l.OnHand != 5 || l.Available != 2 || l.Held != 3 {
		t.Fatalf("set stock: %+v, %v", l, err)
	}
	// Below the held units: refused, nothing changes.
	_, err = svc.SetStock(ctx, pid, 2)
	pe := wantRefusal(t, err, inventory.ErrInsufficient, pid)
	if pe.Requested != 3 || pe.Available != 2 {
		t.Fatalf("refusal %+v", pe)
	}
	wantLevel(t, svc, pid, 5, 2)
	if _, err := svc.Restock(ctx, pid, inventory.MaxQuantity); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetStock(ctx, pid, inventory.MaxOnHand); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Restock(ctx, pid, 1)
	var ve *inventory.ValidationError
	if !errors.As(err, &ve) || ve.Fields["quantity"] == "" {
		t.Fatalf("restock past the maximum: %v", err)
	}
	wantLevel(t, svc, pid, inventory.MaxOnHand, inventory.MaxOnHand-3)
}

// Every invalid request is refused before anything is sent, naming each bad field.
func TestValidation(t *testing.T) {
	svc := newService(t, testConfig())
	ctx := t.Context()
	long := strings.Repeat("x", inventory.MaxIDLen+1)
	many := make([]inventory.Item, inventory.MaxItems+1)
	for i := range many {
		many[i] = inventory.Item{ProductID: string(rune('a' + i%26)), Quantity: 1}
	}
	tests := []struct {
		name   string
		call   func() error
		fields []string
	}{
		{"reserve: no id, no items", func() error { _, err := svc.Reserve(ctx, "", nil, 0); return err }, []string{"reservation_id", "items"}},
		{"reserve: bad items", func() error {
			_, err := svc.Reserve(ctx, long, []inventory.Item{{ProductID: "a", Quantity: 0}, {ProductID: "", Quantity: 1}, {ProductID: "a", Quantity: inventory.MaxQuantity + 1}, {ProductID: "\xff", Quantity: 1}}, time.Minute)
			return err
		}, []string{"reservation_id", "items[0].quantity", "items[1].product_id", "items[2].product_id", "items[2].quantity", "items[3].product_id"}},
		{"reserve: too many items", func() error { _, err := svc.Reserve(ctx, "r", many, 0); return err }, []string{"items"}},
		{"reserve: ttl too long", func() error { _, err := svc.Reserve(ctx, "r", items("a", 1), 2*time.Hour); return err }, []string{"ttl"}},
		{"reserve: negative ttl", func() error { _, err := svc.Reserve(ctx, "r", items("a", 1), -time.Second); return err }, []string{"ttl"}},
		{"release: no products", func() error { _, err := svc.Release(ctx, "r", nil); return err }, []string{"product_ids"}},
		{"release: duplicate product", func() error { _, err := svc.Release(ctx, "r", []string{"a", "a", ""}); return err }, []string{"product_ids[1]", "product_ids[2]"}},
		{"commit: no id", func() error { _, err := svc.Commit(ctx, "", []string{"a"}); return err }, []string{"reservation_id"}},
		{"check: bad quantity", func() error { return svc.Check(ctx, items("a", -1)) }, []string{"items[0].quantity"}},
		{"set stock: negative", func() error { _, err := svc.SetStock(ctx, "a", -1); return err }, []string{"on_hand"}},
		{"set stock: too many", func() error { _, err := svc.SetStock(ctx, "", inventory.MaxOnHand+1); return err }, []string{"product_id", "on_hand"}},
		{"restock: zero", func() error { _, err := svc.Restock(ctx, "a", 0); return err }, []string{"quantity"}},
		{"get: no id", func() error { _, err := svc.Get(ctx, ""); return err }, []string{"product_id"}},
		{"reservation: long id", func() error { _, err := svc.Reservation(ctx, "a", long); return err }, []string{"reservation_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ve *inventory.ValidationError
			if !errors.Is(err, inventory.ErrInvalid) || !errors.As(err, &ve) {
				t.Fatalf("got %v, want a validation error", err)
			}
			if len(ve.Fields) != len(tt.fields) {
				t.Fatalf("fields %v, want %v", ve.Fields, tt.fields)
			}
			for _, f := range tt.fields {
				if ve.Fields[f] == "" {
					t.Fatalf("fields %v: no %s", ve.Fields, f)
				}
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  inventory.Config
		ok   bool
	}{
		{"defaults", inventory.Config{}, true},
		{"test settings", testConfig(), true},
		{"default ttl above max", inventory.Config{DefaultTTL: 2 * time.Hour}, false},
		{"ttl below a second", inventory.Config{MaxTTL: time.Millisecond}, false},
		{"short retention", inventory.Config{Retention: time.Hour}, false},
		{"retention past 20 years", inventory.Config{Retention: 21 * 365 * 24 * time.Hour}, false},
		{"bucket of a fraction of a second", inventory.Config{Bucket: 1500 * time.Millisecond}, false},
		{"negative poll", inventory.Config{Poll: -time.Second}, false},
		{"negative attempts", inventory.Config{Attempts: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate: %v", err)
			}
			if _, nerr := inventory.New(nil, tt.cfg); !tt.ok && nerr == nil {
				t.Fatal("New took an invalid Config")
			}
		})
	}
}
