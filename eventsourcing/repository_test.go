package eventsourcing_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/eventsourcing"
	"github.com/cassandraorm/cassandraorm-go/retry"
)

func TestRepositorySaveLoadAndMetadata(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "repo", eventsourcing.StoreConfig{})
	repo := newRepo(t, s, reg, eventsourcing.RepositoryConfig{})
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
	repo := newRepo(t, s, reg, eventsourcing.RepositoryConfig{})
	ctx := t.Context()
	const workers, each = 8, 10
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				p := retry.Policy{If: retry.On(eventsourcing.ErrConcurrency), MaxAttempts: 100}
				err := retry.Do(ctx, p, func(ctx context.Context, _ int) error {
					return repo.CreateOrUpdate(ctx, "shared", func(c *Counter) error {
						eventsourcing.Raise[CounterEvent](c, Added{N: 1})
						return nil
					})
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
	plain := newRepo(t, s, reg, eventsourcing.RepositoryConfig{})
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(7, 11))
	for h := range 15 {
		every := int64(1 + rng.IntN(10))
		snapped := newRepo(t, s, reg, eventsourcing.RepositoryConfig{Snapshots: &eventsourcing.SnapshotPolicy{Every: every, SchemaVersion: 1}})
		id := "hist-" + string(rune('a'+h))
		saves := 1 + rng.IntN(12)
		for range saves {
			err := snapped.CreateOrUpdate(ctx, id, func(c *Counter) error {
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
	v2 := newRepo(t, s, reg, eventsourcing.RepositoryConfig{Snapshots: &eventsourcing.SnapshotPolicy{Every: 1, SchemaVersion: 2}})
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
	repo := newRepo(t, s, reg, eventsourcing.RepositoryConfig{Snapshots: &eventsourcing.SnapshotPolicy{SlowLoad: time.Nanosecond, SchemaVersion: 1}})
	ctx := t.Context()
	for range 3 {
		if err := repo.CreateOrUpdate(ctx, "slow", func(c *Counter) error {
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

// Update is one load-decide-save: it needs the stream to exist, and reports a
// conflict instead of retrying; CreateOrUpdate starts a missing stream.
func TestRepositoryUpdateAndCreateOrUpdate(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "updsem", eventsourcing.StoreConfig{})
	repo := newRepo(t, s, reg, eventsourcing.RepositoryConfig{})
	ctx := t.Context()
	add := func(c *Counter) error {
		eventsourcing.Raise[CounterEvent](c, Added{N: 1})
		return nil
	}
	if err := repo.Update(ctx, "missing", add); !errors.Is(err, eventsourcing.ErrStreamNotFound) {
		t.Fatalf("Update of a missing stream: %v, want ErrStreamNotFound", err)
	}
	if err := repo.CreateOrUpdate(ctx, "made", add); err != nil {
		t.Fatal(err)
	}
	if err := repo.Update(ctx, "made", add); err != nil {
		t.Fatal(err)
	}
	// Another writer moves the stream while fn decides: one attempt, one conflict.
	calls := 0
	err := repo.Update(ctx, "made", func(c *Counter) error {
		calls++
		if err := repo.Update(ctx, "made", add); err != nil {
			return err
		}
		return add(c)
	})
	if !errors.Is(err, eventsourcing.ErrConcurrency) || calls != 1 {
		t.Fatalf("Update overtaken by another writer: %v after %d calls, want one conflict", err, calls)
	}
	// fn's error comes back as it is, and nothing is saved.
	errNo := errors.New("no")
	if err := repo.Update(ctx, "made", func(*Counter) error { return errNo }); err != errNo {
		t.Fatalf("fn's error: %v", err)
	}
	c, err := repo.Load(ctx, "made")
	if err != nil || c.Version() != 3 || c.Total != 3 {
		t.Fatalf("after the updates: %+v v%d %v, want total 3 at version 3", c, c.Version(), err)
	}
}

func TestNewRepositoryRefusesBadInput(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "repocfg", eventsourcing.StoreConfig{})
	newC := func() *Counter { return &Counter{} }
	cases := []struct {
		name   string
		store  *eventsourcing.Store
		reg    *eventsourcing.Registry
		newAgg func() *Counter
		cfg    eventsourcing.RepositoryConfig
		want   string
	}{
		{"nil store", nil, reg, newC, eventsourcing.RepositoryConfig{}, "nil store"},
		{"nil registry", s, nil, newC, eventsourcing.RepositoryConfig{}, "nil registry"},
		{"nil newAgg", s, reg, nil, eventsourcing.RepositoryConfig{}, "nil newAgg"},
		{"negative every", s, reg, newC, eventsourcing.RepositoryConfig{Snapshots: &eventsourcing.SnapshotPolicy{Every: -1}}, "negative"},
		{"negative slow load", s, reg, newC, eventsourcing.RepositoryConfig{Snapshots: &eventsourcing.SnapshotPolicy{SlowLoad: -time.Second}}, "negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := eventsourcing.NewRepository[*Counter, CounterEvent](c.store, c.reg, c.newAgg, c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%v, want an error containing %q", err, c.want)
			}
		})
	}
}
