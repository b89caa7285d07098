package inventory_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/inventory"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("inventory_test")

func TestMain(m *testing.M) { env.Main(m) }

// testConfig is the service's configuration in tests: one-second buckets and
// grace, so that expiry is seen within seconds, and a sweeper that starts a
// minute back.
func testConfig() inventory.Config {
	return inventory.Config{Bucket: time.Second, Grace: time.Second, Lookback: time.Minute, Poll: 50 * time.Millisecond}
}

// newService returns the service on the package's keyspace, its tables synced.
func newService(t *testing.T, cfg inventory.Config) *inventory.Service {
	t.Helper()
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := inventory.New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	return svc
}

// product returns a product id of this test's own.
func product(t *testing.T, name string) string {
	return fmt.Sprintf("%s-%s-%s", t.Name(), name, orm.NewUUID().String()[:8])
}

// stocked returns a new product with onHand units.
func stocked(t *testing.T, svc *inventory.Service, name string, onHand int) string {
	t.Helper()
	pid := product(t, name)
	if _, err := svc.SetStock(t.Context(), pid, onHand); err != nil {
		t.Fatal(err)
	}
	return pid
}

// level reads a product's level and checks the invariants that hold after every
// change: available is on hand minus held, never negative, and the held total is
// the sum of the listed holds.
func level(t *testing.T, svc *inventory.Service, pid string) inventory.Level {
	t.Helper()
	l, err := svc.Get(t.Context(), pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := invariants(l); err != nil {
		t.Fatal(err)
	}
	return l
}

func invariants(l inventory.Level) error {
	sum := 0
	for _, r := range l.Reservations {
		if r.State != inventory.StateHeld || r.Quantity < 1 {
			return fmt.Errorf("product %s: listed reservation %+v", l.ProductID, r)
		}
		sum += r.Quantity
	}
	if l.Available < 0 || l.Available != l.OnHand-l.Held || l.Held != sum {
		return fmt.Errorf("product %s: on hand %d, available %d, held %d, holds summing to %d", l.ProductID, l.OnHand, l.Available, l.Held, sum)
	}
	return nil
}

// wantLevel checks a product's on hand and available units.
func wantLevel(t *testing.T, svc *inventory.Service, pid string, onHand, available int) inventory.Level {
	t.Helper()
	l := level(t, svc, pid)
	if l.OnHand != onHand || l.Available != available {
		t.Fatalf("product %s: on hand %d, available %d; want %d, %d", pid, l.OnHand, l.Available, onHand, available)
	}
	return l
}

// wantState checks the state of a reservation's row in a product.
func wantState(t *testing.T, svc *inventory.Service, pid, rid string, want inventory.State) inventory.Reservation {
	t.Helper()
	r, err := svc.Reservation(t.Context(), pid, rid)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != want {
		t.Fatalf("reservation %s of %s: %s, want %s", rid, pid, r.State, want)
	}
	return r
}

// wantRefusal checks that err is a *ProductError of kind want about product pid.
func wantRefusal(t *testing.T, err, want error, pid string) *inventory.ProductError {
	t.Helper()
	var pe *inventory.ProductError
	if !errors.Is(err, want) || !errors.As(err, &pe) || pe.ProductID != pid {
		t.Fatalf("got %v, want %v about product %s", err, want, pid)
	}
	return pe
}

func items(pid string, q int) []inventory.Item {
	return []inventory.Item{{ProductID: pid, Quantity: q}}
}

// same reports whether two reservations are equal, their times compared as
// instants.
func same(a, b inventory.Reservation) bool {
	return a.ProductID == b.ProductID && a.ReservationID == b.ReservationID && a.Quantity == b.Quantity &&
		a.State == b.State && a.ExpiresAt.Equal(b.ExpiresAt) && a.CreatedAt.Equal(b.CreatedAt)
}
