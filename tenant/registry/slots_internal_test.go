package registry

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// TestReserveConcurrent: goroutines of two registries on two sessions (as two
// processes) reserve keyspace slots at once, beyond the ceiling: exactly the ceiling
// get one, the others get ErrCeiling, and the slot row lists exactly the winners.
// Reserving again is idempotent, and releasing frees the slot.
func TestReserveConcurrent(t *testing.T) {
	ctx := t.Context()
	const ceiling, contenders = 3, 8
	s2, err := Env.ClusterConfig(t).CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s2.Close)
	var rs []*Registry
	for i, s := range []*gocql.Session{Env.Session(t), s2} {
		db, err := orm.New(s, Env.Keyspace(), nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := New(db, Config{Table: "slots_conc", MaxKeyspaceTenants: ceiling})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := r.Sync(ctx); err != nil {
				t.Fatal(err)
			}
		}
		rs = append(rs, r)
	}
	var wg sync.WaitGroup
	errs := make([]error, contenders)
	for i := range contenders {
		wg.Go(func() { errs[i] = rs[i%2].reserve(ctx, fmt.Sprintf("slot-%d", i), 1) })
	}
	wg.Wait()
	var won []string
	for i, err := range errs {
		switch {
		case err == nil:
			won = append(won, fmt.Sprintf("slot-%d", i))
		case !errors.Is(err, ErrCeiling):
			t.Errorf("slot-%d: %v", i, err)
		}
	}
	if len(won) != ceiling {
		t.Errorf("%d reservations succeeded (%v), want %d: %v", len(won), won, ceiling, errs)
	}
	cur, _, err := rs[0].readSlots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(cur.Holders)
	if !slices.Equal(cur.Holders, won) {
		t.Errorf("the slot row holds %v, want %v", cur.Holders, won)
	}
	if err := rs[1].reserve(ctx, won[0], 1); err != nil {
		t.Errorf("reserving again: %v", err)
	}
	if err := rs[1].reserve(ctx, "slot-late", 1); !errors.Is(err, ErrCeiling) {
		t.Errorf("reserving past the ceiling: %v", err)
	}
	if err := rs[0].release(ctx, won[0]); err != nil {
		t.Fatal(err)
	}
	if err := rs[0].release(ctx, won[0]); err != nil {
		t.Errorf("releasing again: %v", err)
	}
	if err := rs[1].reserve(ctx, "slot-late", 1); err != nil {
		t.Errorf("reserving a released slot: %v", err)
	}
}
