package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/inventory"
)

// buyers runs one goroutine per reservation id, all released at once, each
// reserving one unit of pid, while a watcher reads the level and checks its
// invariants (never negative, available = on hand - held) until they are done.
// It returns each buyer's error.
func buyers(t *testing.T, svc *inventory.Service, pid string, ids []string) []error {
	t.Helper()
	ctx := t.Context()
	errs := make([]error, len(ids))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			<-start
			_, errs[i] = svc.Reserve(ctx, id, items(pid, 1), 10*time.Minute)
		})
	}
	done := make(chan struct{})
	var bad atomic.Pointer[error]
	var reads atomic.Int64
	watcher := make(chan struct{})
	go func() {
		defer close(watcher)
		for {
			select {
			case <-done:
				return
			default:
			}
			l, err := svc.Get(ctx, pid)
			if err == nil {
				err = invariants(l)
			}
			if err != nil {
				bad.CompareAndSwap(nil, &err)
				return
			}
			reads.Add(1)
		}
	}()
	close(start)
	wg.Wait()
	close(done)
	<-watcher
	if p := bad.Load(); p != nil {
		t.Fatalf("during the run: %v", *p)
	}
	t.Logf("%d buyers, %d reads of the level during the run", len(ids), reads.Load())
	return errs
}

// THE test: 50 buyers at once for the last 10 units. Exactly 10 get one, the 40
// others are told the stock is insufficient, and the product never shows fewer
// than zero available.
func TestReserveLastUnitsConcurrently(t *testing.T) {
	svc := newService(t, testConfig())
	pid := stocked(t, svc, "last", 10)
	ids := make([]string, 50)
	for i := range ids {
		ids[i] = fmt.Sprintf("order-%d/reserve_inventory", i)
	}
	errs := buyers(t, svc, pid, ids)
	won, short := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, inventory.ErrInsufficient):
			short++
		default:
			t.Errorf("buyer %d: %v", i, err)
		}
	}
	if won != 10 || short != 40 {
		t.Fatalf("%d reserved, %d insufficient; want 10 and 40", won, short)
	}
	l := wantLevel(t, svc, pid, 10, 0)
	if l.Held != 10 || len(l.Reservations) != 10 {
		t.Fatalf("held %d in %d reservations, want 10 in 10", l.Held, len(l.Reservations))
	}
	for i, err := range errs {
		want := inventory.StateHeld
		if err != nil {
			if _, err := svc.Reservation(t.Context(), pid, ids[i]); err == nil {
				t.Fatalf("buyer %d was refused but has a row", i)
			}
			continue
		}
		wantState(t, svc, pid, ids[i], want)
	}
}

// 50 buyers for the last 10 units again, 20 of them repeating another's
// reservation id (a saga's duplicate call): still exactly 10 units held, by 10
// ids, and every buyer of a held id is told it succeeded.
func TestReserveLastUnitsWithDuplicates(t *testing.T) {
	svc := newService(t, testConfig())
	pid := stocked(t, svc, "dups", 10)
	ids := make([]string, 50)
	for i := range ids {
		ids[i] = fmt.Sprintf("order-%d/reserve_inventory", i%30)
	}
	errs := buyers(t, svc, pid, ids)
	l := wantLevel(t, svc, pid, 10, 0)
	if l.Held != 10 || len(l.Reservations) != 10 {
		t.Fatalf("held %d in %d reservations, want 10 in 10", l.Held, len(l.Reservations))
	}
	held := map[string]bool{}
	for _, r := range l.Reservations {
		held[r.ReservationID] = true
	}
	for i, err := range errs {
		switch {
		case held[ids[i]] && err != nil:
			t.Errorf("buyer %d of held %s: %v", i, ids[i], err)
		case !held[ids[i]] && !errors.Is(err, inventory.ErrInsufficient):
			t.Errorf("buyer %d of %s, not held: %v", i, ids[i], err)
		}
	}
}

// Concurrent releases and commits of one reservation, with its reserve, in any
// order: the units are given back at most once, and the stock ends consistent.
func TestConcurrentCallsOfOneReservation(t *testing.T) {
	svc := newService(t, testConfig())
	ctx := t.Context()
	pid := stocked(t, svc, "mixed", 5)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for k := range 9 {
		wg.Go(func() {
			<-start
			var err error
			switch k % 3 {
			case 0:
				_, err = svc.Reserve(ctx, "r", items(pid, 2), time.Minute)
			case 1:
				_, err = svc.Release(ctx, "r", []string{pid})
			case 2:
				_, err = svc.Commit(ctx, "r", []string{pid})
			}
			if err != nil && !errors.Is(err, inventory.ErrCompensated) && !errors.Is(err, inventory.ErrNotHeld) {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	// Whatever the order, a last release leaves all 5 units on hand and available.
	if _, err := svc.Release(context.Background(), "r", []string{pid}); err != nil {
		t.Fatal(err)
	}
	wantLevel(t, svc, pid, 5, 5)
}
