package eventsourcing_test

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/eventsourcing"
)

func newCounter() *Counter { return &Counter{} }

func TestRepositorySaveLoadAndMetadata(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "repo", eventsourcing.StoreConfig{})
	repo := eventsourcing.NewRepository[*Counter, CounterEvent](s, reg, newCounter, eventsourcing.RepositoryOptions{})
	ctx := eventsourcing.WithMetadata(t.Context(), eventsourcing.Metadata{CorrelationID: "req-1", Actor: "ann", Tenant: "acme"})

	c := repo.New("counter-1")
	eventsourcing.Raise[CounterEvent](c, Added{N: 2})
	eventsourcing.Raise[CounterEvent](c, Added{N: 3})
	if c.Total != 5 || c.Version() != 2 || c.StoredVersion() != 0 || len(c.Pending()) != 2 {
		t.Fatalf("after raise: %+v v%d", c, c.Version())
	}
	if err := repo.Save(ctx, c); err != nil {
		t.Fatal(err)
	}
	if len(c.Pending()) != 0 || c.StoredVersion() != 2 {
		t.Fatalf("after save: pending %d stored %d", len(c.Pending()), c.StoredVersion())
	}
	got, err := repo.Load(ctx, "counter-1")
	if err != nil || got.Total != 5 || got.Version() != 2 {
		t.Fatalf("loaded %+v %v", got, err)
	}
	for r, err := range s.Load(ctx, "counter-1", 1) {
		if err != nil {
			t.Fatal(err)
		}
		if r.Metadata.CorrelationID != "req-1" || r.Metadata.Actor != "ann" || r.Metadata.Tenant != "acme" {
			t.Fatalf("metadata %+v", r.Metadata)
		}
	}
	if _, err := repo.Load(ctx, "nobody"); !errors.Is(err, eventsourcing.ErrStreamNotFound) {
		t.Fatalf("missing stream: %v", err)
	}
	// A stale aggregate cannot be saved.
	stale, _ := repo.Load(ctx, "counter-1")
	eventsourcing.Raise[CounterEvent](got, Reset{})
	if err := repo.Save(ctx, got); err != nil {
		t.Fatal(err)
	}
	eventsourcing.Raise[CounterEvent](stale, Added{N: 1})
	if err := repo.Save(ctx, stale); !errors.Is(err, eventsourcing.ErrConcurrency) {
		t.Fatalf("stale save: %v", err)
	}
}

func TestRepositoryUpdateRetriesConflicts(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "upd", eventsourcing.StoreConfig{BucketSize: 10})
	repo := eventsourcing.NewRepository[*Counter, CounterEvent](s, reg, newCounter, eventsourcing.RepositoryOptions{})
	ctx := t.Context()
	const workers, each = 8, 10
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				err := repo.Update(ctx, "shared", true, 100, func(c *Counter) error {
					eventsourcing.Raise[CounterEvent](c, Added{N: 1})
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	c, err := repo.Load(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	if c.Total != workers*each || c.Version() != workers*each {
		t.Fatalf("total %d version %d, want %d", c.Total, c.Version(), workers*each)
	}
}

// Snapshot plus tail equals a full replay, for random histories and policies.
func TestSnapshotPlusTailEqualsReplay(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "snap", eventsourcing.StoreConfig{BucketSize: 16})
	plain := eventsourcing.NewRepository[*Counter, CounterEvent](s, reg, newCounter, eventsourcing.RepositoryOptions{})
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(7, 11))
	for h := range 15 {
		every := int64(1 + rng.IntN(10))
		snapped := eventsourcing.NewRepository[*Counter, CounterEvent](s, reg, newCounter,
			eventsourcing.RepositoryOptions{Snapshots: &eventsourcing.SnapshotPolicy{Every: every, SchemaVersion: 1}})
		id := "hist-" + string(rune('a'+h))
		saves := 1 + rng.IntN(12)
		for range saves {
			err := snapped.Update(ctx, id, true, 3, func(c *Counter) error {
				for range 1 + rng.IntN(4) {
					if rng.IntN(6) == 0 {
						eventsourcing.Raise[CounterEvent](c, Reset{})
					} else {
						eventsourcing.Raise[CounterEvent](c, Added{N: rng.IntN(100)})
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		full, err := plain.Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		fast, err := snapped.Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if full.Total != fast.Total || full.Adds != fast.Adds || full.Version() != fast.Version() {
			t.Fatalf("history %d (every %d): replay %+v v%d, snapshot+tail %+v v%d",
				h, every, full, full.Version(), fast, fast.Version())
		}
	}
	// A snapshot of another schema version is ignored, not misread.
	v2 := eventsourcing.NewRepository[*Counter, CounterEvent](s, reg, func() *Counter { return &Counter{} },
		eventsourcing.RepositoryOptions{Snapshots: &eventsourcing.SnapshotPolicy{Every: 1, SchemaVersion: 2}})
	full, _ := plain.Load(ctx, "hist-a")
	got, err := v2.Load(ctx, "hist-a")
	if err != nil || got.Total != full.Total || got.Version() != full.Version() {
		t.Fatalf("other schema version: %+v %v", got, err)
	}
	var snapshotted int
	if err := env.Session(t).Query(`SELECT COUNT(*) FROM snap_snapshots`).Scan(&snapshotted); err != nil {
		t.Fatal(err)
	}
	if snapshotted == 0 {
		t.Fatal("no snapshot was taken")
	}
}

func TestSnapshotOnSlowLoad(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "slow", eventsourcing.StoreConfig{})
	repo := eventsourcing.NewRepository[*Counter, CounterEvent](s, reg, newCounter,
		eventsourcing.RepositoryOptions{Snapshots: &eventsourcing.SnapshotPolicy{SlowLoad: time.Nanosecond, SchemaVersion: 1}})
	ctx := t.Context()
	for range 3 {
		if err := repo.Update(ctx, "slow", true, 1, func(c *Counter) error {
			eventsourcing.Raise[CounterEvent](c, Added{N: 1})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	var version int64
	if err := env.Session(t).Query(`SELECT version FROM slow_snapshots WHERE stream = 'slow'`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version < 2 {
		t.Fatalf("snapshot at version %d", version)
	}
}
