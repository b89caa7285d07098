package orm_test

import (
	ctxpkg "context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

type Account struct {
	ID      string `cql:"id" orm:"pk"`
	Owner   string `cql:"owner"`
	Balance int64  `cql:"balance"`
	Version int32  `cql:"version"`
}

func TestLightweightTransactions(t *testing.T) {
	db := openDB(t)
	accounts := newModel[Account](t, db)
	ctx := t.Context()
	a := Account{ID: "acc-1", Owner: "ann", Balance: 100, Version: 1}
	if err := accounts.InsertIfNotExists(ctx, &a); err != nil {
		t.Fatal(err)
	}
	// A second insert conflicts and carries the current row.
	b := Account{ID: "acc-1", Owner: "bob", Balance: 5, Version: 1}
	err := accounts.InsertIfNotExists(ctx, &b)
	var ce *orm.ConflictError
	if !errors.Is(err, orm.ErrConflict) || !errors.As(err, &ce) {
		t.Fatalf("got %v, want a ConflictError", err)
	}
	if cur, ok := ce.Current.(*Account); !ok || cur.Owner != "ann" || cur.Balance != 100 {
		t.Fatalf("current row %#v", ce.Current)
	}

	// Optimistic update on version.
	a.Balance, a.Version = 150, 2
	if err := accounts.UpdateIf(ctx, &a, []orm.Predicate{orm.Eq("version", int32(1))}); err != nil {
		t.Fatal(err)
	}
	stale := Account{ID: "acc-1", Owner: "ann", Balance: 999, Version: 2}
	err = accounts.UpdateIf(ctx, &stale, []orm.Predicate{orm.Eq("version", int32(1))})
	if !errors.As(err, &ce) {
		t.Fatalf("stale update: %v", err)
	}
	if cur := ce.Current.(*Account); cur.Version != 2 {
		t.Fatalf("conflict shows version %d", cur.Version)
	}

	// PatchIf with a range condition.
	if err := accounts.PatchIf(ctx, []any{"acc-1"}, []orm.Predicate{orm.Gte("balance", int64(100))},
		[]orm.Change{orm.Set("balance", int64(50))}); err != nil {
		t.Fatal(err)
	}
	err = accounts.PatchIf(ctx, []any{"acc-1"}, []orm.Predicate{orm.Gte("balance", int64(100))},
		[]orm.Change{orm.Set("balance", int64(0))})
	if !errors.Is(err, orm.ErrConflict) {
		t.Fatalf("overdraft patch: %v", err)
	}
	// UpdateIf with no conditions is IF EXISTS.
	ghost := Account{ID: "ghost", Owner: "x"}
	if err := accounts.UpdateIf(ctx, &ghost, nil); !errors.Is(err, orm.ErrConflict) {
		t.Fatalf("update if exists on a missing row: %v", err)
	}
	if _, err := accounts.Get(ctx, "ghost"); !errors.Is(err, orm.ErrNotFound) {
		t.Fatalf("UpdateIf created a row: %v", err)
	}
	// DeleteIf.
	err = accounts.DeleteIf(ctx, []any{"acc-1"}, orm.Eq("owner", "bob"))
	if !errors.As(err, &ce) || ce.Current.(*Account).Owner != "ann" {
		t.Fatalf("delete if owner=bob: %v", err)
	}
	if err := accounts.DeleteIf(ctx, []any{"acc-1"}, orm.Eq("owner", "ann")); err != nil {
		t.Fatal(err)
	}
	if err := accounts.DeleteIf(ctx, []any{"acc-1"}); !errors.Is(err, orm.ErrConflict) {
		t.Fatalf("delete if exists on a deleted row: %v", err)
	}
	// Conditions on keys are refused.
	if err := accounts.DeleteIf(ctx, []any{"acc-1"}, orm.Eq("id", "x")); !errors.Is(err, orm.ErrInvalidQuery) {
		t.Fatalf("condition on key: %v", err)
	}
}

func TestConcurrentInsertIfNotExistsOneWinner(t *testing.T) {
	db := openDB(t)
	accounts := newModel[Account](t, db)
	ctx := t.Context()
	const writers = 50
	for round := range 5 {
		id := fmt.Sprintf("race-%d", round)
		var wins, conflicts atomic.Int32
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := Account{ID: id, Owner: fmt.Sprint("w", w)}
				err := accounts.InsertIfNotExists(ctx, &a)
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, orm.ErrConflict):
					conflicts.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 || conflicts.Load() != writers-1 {
			t.Fatalf("round %d: %d winners, %d conflicts", round, wins.Load(), conflicts.Load())
		}
	}
}

// TestUncertainWrite cuts lightweight transactions, plain writes and batches short
// while they are in flight: each error must say the outcome is unknown, never that
// the write conflicted or definitely failed.
func TestUncertainWrite(t *testing.T) {
	db := openDB(t)
	accounts := newModel[Account](t, db)
	writes := map[string]func(ctx ctxpkg.Context, id string) error{
		"lwt insert": func(ctx ctxpkg.Context, id string) error {
			return accounts.InsertIfNotExists(ctx, &Account{ID: id, Owner: "ann"})
		},
		"insert": func(ctx ctxpkg.Context, id string) error {
			return accounts.Insert(ctx, &Account{ID: id, Owner: "ann"})
		},
		"logged batch": func(ctx ctxpkg.Context, id string) error {
			b := db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})
			if err := accounts.Batch(b).Insert(ctx, &Account{ID: id, Owner: "ann"}); err != nil {
				return err
			}
			return b.Exec(ctx)
		},
	}
	for name, write := range writes {
		t.Run(name, func(t *testing.T) {
			// Keep going until a write was cut short after it reached the server: its
			// error came back, and yet its row is there.
			seen, inFlight := 0, 0
			for i := 0; i < 600 && inFlight == 0; i++ {
				id := fmt.Sprintf("%s-%d", name, i)
				ctx, cancel := withTimeout(t, time.Duration(50+i*20)*time.Microsecond)
				err := write(ctx, id)
				cancel()
				if err == nil {
					continue
				}
				seen++
				if !errors.Is(err, orm.ErrUncertain) || errors.Is(err, orm.ErrConflict) {
					t.Fatalf("write cut short: %v; want ErrUncertain and no conflict", err)
				}
				if !strings.Contains(err.Error(), "account") {
					t.Fatalf("error %q does not name the table", err)
				}
				if _, gerr := accounts.Get(t.Context(), id); gerr == nil {
					inFlight++
				} else if !errors.Is(gerr, orm.ErrNotFound) {
					t.Fatal(gerr)
				}
			}
			if inFlight == 0 {
				t.Fatalf("%d writes were cut short, none after it had reached the server: the in-flight case was not tested", seen)
			}
		})
	}
}
