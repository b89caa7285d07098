package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/inventory"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// sweeps records what RunExpiry's passes did.
type sweeps struct {
	mu   sync.Mutex
	list []inventory.Sweep
}

func (s *sweeps) add(sw inventory.Sweep) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, sw)
}

func (s *sweeps) all() []inventory.Sweep {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]inventory.Sweep(nil), s.list...)
}

// sweeper starts RunExpiry on a new service (as a new process would) recording
// its passes, and returns them with a function that stops it and returns its
// error.
func sweeper(t *testing.T, ctx context.Context) (*inventory.Service, *sweeps, func() error) {
	t.Helper()
	rec := &sweeps{}
	cfg := testConfig()
	cfg.OnSweep = rec.add
	svc := newService(t, cfg)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.RunExpiry(ctx) }()
	stop := sync.OnceValue(func() error {
		cancel()
		return <-done
	})
	t.Cleanup(func() { _ = stop() })
	return svc, rec, stop
}

// waitExpired waits until the hold's expiry has passed on this machine's clock.
func waitExpired(t *testing.T, rs []inventory.Reservation) {
	t.Helper()
	testenv.WaitUntil(t, 30*time.Second, "the hold's expiry to pass", func() bool { return time.Now().After(rs[0].ExpiresAt) })
}

// A hold whose time has passed is released by the next change to its product, in
// the same batch, and its reservation can no longer be committed.
func TestLazyExpiry(t *testing.T) {
	svc := newService(t, testConfig())
	ctx := t.Context()
	pid := stocked(t, svc, "p", 5)
	rs, err := svc.Reserve(ctx, "slow", items(pid, 3), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	waitExpired(t, rs)
	// Stored, it is still held; a check counts it as available.
	wantLevel(t, svc, pid, 5, 2)
	if err := svc.Check(ctx, items(pid, 5)); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Reserve(ctx, "fast", items(pid, 5), time.Minute); err != nil {
		t.Fatal(err)
	}
	wantLevel(t, svc, pid, 5, 0)
	wantState(t, svc, pid, "slow", inventory.StateExpired)
	_, err = svc.Commit(ctx, "slow", []string{pid})
	pe := wantRefusal(t, err, inventory.ErrExpired, pid)
	if pe.ReservationID != "slow" {
		t.Fatalf("refusal %+v", pe)
	}
	_, err = svc.Reserve(ctx, "slow", items(pid, 3), time.Minute)
	wantRefusal(t, err, inventory.ErrExpired, pid)
	if _, err := svc.Release(ctx, "slow", []string{pid}); err != nil {
		t.Fatal(err)
	}
	wantState(t, svc, pid, "slow", inventory.StateExpired)
	wantLevel(t, svc, pid, 5, 0)
	// A held reservation whose time passed before its commit: the commit is
	// refused (the next change to the product, or the sweeper, releases it).
	rs, err = svc.Reserve(ctx, "late-commit", items(stocked(t, svc, "q", 1), 1), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	waitExpired(t, rs)
	_, err = svc.Commit(ctx, "late-commit", []string{rs[0].ProductID})
	wantRefusal(t, err, inventory.ErrExpired, rs[0].ProductID)
}

// More expired holds than one change releases (20): a reserve that needs all
// their units frees them over several changes, then holds.
func TestLazyExpiryOfManyHolds(t *testing.T) {
	svc := newService(t, testConfig())
	ctx := t.Context()
	pid := stocked(t, svc, "p", 25)
	var last []inventory.Reservation
	for i := range 25 {
		rs, err := svc.Reserve(ctx, fmt.Sprint("cart-", i), items(pid, 1), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		last = rs
	}
	wantLevel(t, svc, pid, 25, 0)
	waitExpired(t, last)
	if err := svc.Check(ctx, items(pid, 25)); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Reserve(ctx, "big", items(pid, 25), time.Minute); err != nil {
		t.Fatal(err)
	}
	l := wantLevel(t, svc, pid, 25, 0)
	if len(l.Reservations) != 1 || l.Reservations[0].ReservationID != "big" {
		t.Fatalf("holds %+v", l.Reservations)
	}
	for i := range 25 {
		wantState(t, svc, pid, fmt.Sprint("cart-", i), inventory.StateExpired)
	}
}

// The sweeper releases holds that expired without any other change to their
// product, moves its cursor past their bucket, and a restarted sweeper goes on
// from the cursor.
func TestExpirySweeper(t *testing.T) {
	ctx := t.Context()
	svc, rec, stop := sweeper(t, ctx)
	pid := stocked(t, svc, "p", 5)
	other := stocked(t, svc, "q", 5)
	rs, err := svc.Reserve(ctx, "abandoned", append(items(pid, 2), items(other, 1)...), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := svc.Reserve(ctx, "kept", items(pid, 1), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 30*time.Second, func() error {
		for _, p := range []string{pid, other} {
			l, err := svc.Get(ctx, p)
			if err != nil {
				return err
			}
			if l.Held != 0 && p == other || l.Held != 1 && p == pid {
				return fmt.Errorf("product %s: %d held", p, l.Held)
			}
		}
		return nil
	})
	wantLevel(t, svc, pid, 5, 4)
	wantLevel(t, svc, other, 5, 5)
	wantState(t, svc, pid, "abandoned", inventory.StateExpired)
	wantState(t, svc, pid, "kept", inventory.StateHeld)
	_, err = svc.Commit(ctx, "abandoned", []string{pid, other})
	wantRefusal(t, err, inventory.ErrExpired, min(pid, other))
	if _, err := svc.Commit(ctx, "kept", []string{pid}); err != nil {
		t.Fatal(err)
	}
	if kept[0].State != inventory.StateHeld {
		t.Fatalf("kept: %+v", kept)
	}
	released := 0
	for _, sw := range rec.all() {
		released += sw.Released
	}
	if released < 2 { // and any an earlier test left to expire
		t.Fatalf("the sweeper released %d holds, want at least 2", released)
	}
	// The cursor passes the reservation's bucket once it is complete.
	testenv.WaitUntil(t, 30*time.Second, "the cursor past the expired reservation's bucket", func() bool {
		l := rec.all()
		return len(l) > 0 && l[len(l)-1].To.After(rs[0].ExpiresAt)
	})
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("RunExpiry: %v", err)
	}
	passes := rec.all()
	last := passes[len(passes)-1]
	for _, sw := range passes {
		if sw.Err != nil {
			t.Fatalf("pass %+v", sw)
		}
	}

	// A new sweeper (a restart) starts at the stored cursor, not Lookback ago.
	_, rec2, _ := sweeper(t, ctx)
	testenv.WaitUntil(t, 30*time.Second, "the restarted sweeper's first pass", func() bool { return len(rec2.all()) > 0 })
	first := rec2.all()[0]
	if !first.From.Equal(last.To) {
		t.Fatalf("restarted at %s, the cursor was at %s", first.From, last.To)
	}
}
