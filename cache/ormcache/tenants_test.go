package ormcache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cache"
	"github.com/cassandraorm/cassandraorm-go/cache/ormcache"
	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// counted counts the loads and the bypasses a Cache's user reports.
type counted struct {
	cache.NopObserver
	loads, bypasses atomic.Int64
}

func (c *counted) Load(time.Duration, cache.LoadOutcome) { c.loads.Add(1) }
func (c *counted) Bypass()                               { c.bypasses.Add(1) }

// tenantList is a TenantSource whose list the test changes.
type tenantList struct {
	mu    sync.Mutex
	ids   []string
	calls atomic.Int64
}

func (l *tenantList) set(ids ...string) { l.mu.Lock(); defer l.mu.Unlock(); l.ids = ids }

func (l *tenantList) list(context.Context) ([]string, error) {
	l.calls.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.ids...), nil
}

// TestTenantsWatchedLater: a tenant the Invalidator starts watching while it
// runs, by Watch or because its TenantSource lists it, is read from the
// database until its subscriptions have run a Lag, then cached and
// invalidated by its changes; a tenant it never watches is never cached: each
// read goes to the database (a Bypass) and sees a write at once.
func TestTenantsWatchedLater(t *testing.T) {
	s := suffix()
	f := newFixture(t, "", s)
	st := stack(t, redisPrefix(t), nil)
	handled := &handledSet{}
	src := &tenantList{}
	inv, err := ormcache.NewInvalidator(ormcache.InvalidatorConfig{
		Subscriber:   changefeed.Subscriber{Feed: f.feed, Poll: 50 * time.Millisecond},
		Tenants:      []string{"first-" + s},
		TenantSource: src.list,
		TenantPoll:   100 * time.Millisecond,
		OnChange:     handled.add,
	})
	if err != nil {
		t.Fatal(err)
	}
	gets, queries := &counted{}, &counted{}
	items, err := ormcache.Of(f.items, st, inv, ormcache.Options{Get: cache.Options{Observer: gets}, QueryObserver: queries})
	if err != nil {
		t.Fatal(err)
	}
	run(t, inv)

	// write writes item a of tenant id with seq n, and waits for its change
	// to be applied when the tenant is watched.
	write := func(id string, n int64, watched bool) {
		t.Helper()
		ctx := tenant.With(t.Context(), id)
		if err := f.items.Insert(ctx, &item{ID: "a", Seq: n, Owner: id}); err != nil {
			t.Fatal(err)
		}
		if watched {
			testenv.WaitUntil(t, time.Minute, fmt.Sprintf("the write of seq %d in %s applied", n, id), handled.has(fmt.Sprint(id, " insert a seq ", n)))
		}
	}
	// read reads item a of tenant id by Get and by Query, wants seq n, and
	// returns the loads and bypasses the two reads made.
	read := func(id string, n int64) (loads, bypasses int64) {
		t.Helper()
		l0, b0 := gets.loads.Load()+queries.loads.Load(), gets.bypasses.Load()+queries.bypasses.Load()
		ctx := tenant.With(t.Context(), id)
		v, err := items.Get(ctx, "a")
		if err != nil || v.Seq != n || v.Owner != id {
			t.Fatalf("Get(%s, a) = %+v, %v; want seq %d", id, v, err, n)
		}
		rows, err := items.Query(ctx, f.items.Query().Where(orm.Eq("id", "a")))
		if err != nil || len(rows) != 1 || rows[0].Seq != n || rows[0].Owner != id {
			t.Fatalf("Query(%s, a) = %+v, %v; want seq %d", id, rows, err, n)
		}
		return gets.loads.Load() + queries.loads.Load() - l0, gets.bypasses.Load() + queries.bypasses.Load() - b0
	}
	// cached checks that tenant id, watched, caches and invalidates: a read
	// loads, a second is served, a write is seen once applied.
	cached := func(id string) {
		t.Helper()
		write(id, 1, true)
		if l, b := read(id, 1); l != 2 || b != 0 {
			t.Errorf("%s: the first reads made %d loads and %d bypasses, want 2 and 0", id, l, b)
		}
		if l, b := read(id, 1); l != 0 || b != 0 {
			t.Errorf("%s: the second reads made %d loads and %d bypasses, want 0 and 0: not served from the cache", id, l, b)
		}
		write(id, 2, true)
		if l, b := read(id, 2); l != 2 || b != 0 {
			t.Errorf("%s: the reads after a write made %d loads and %d bypasses, want 2 and 0", id, l, b)
		}
	}

	cached("first-" + s)

	// Never watched: every read goes to the database, and nothing is stored.
	stranger := "stranger-" + s
	for n := int64(1); n <= 3; n++ {
		write(stranger, n, false)
		if l, b := read(stranger, n); l != 0 || b != 2 {
			t.Errorf("%s (not watched), seq %d: the reads made %d loads and %d bypasses, want 0 and 2", stranger, n, l, b)
		}
	}
	k, err := items.Key(tenant.With(t.Context(), stranger), "a")
	if err != nil {
		t.Fatal(err)
	}
	for _, tier := range st.Tiers() {
		if _, ok, err := tier.Get(t.Context(), k.String()); ok || err != nil {
			t.Errorf("tier %s holds %s, a tenant not watched (err %v)", tier.Name(), k, err)
		}
	}

	// Watched with Watch while Run runs: read from the database until ready.
	later := "later-" + s
	ready, err := inv.Watch(later)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := inv.Watch(later); err != nil || again != ready {
		t.Errorf("Watch(%s) again = %v, %v; want the same channel", later, again, err)
	}
	select {
	case <-ready:
		t.Errorf("%s ready at once, before its subscriptions ran a Lag", later)
	default:
		write(later, 0, false)
		if l, b := read(later, 0); b != 2 || l != 0 {
			t.Errorf("%s before ready: %d loads and %d bypasses, want 0 and 2", later, l, b)
		}
	}
	select {
	case <-ready:
	case <-time.After(time.Minute):
		t.Fatalf("%s not ready after a minute", later)
	}
	cached(later)

	// Listed by the TenantSource: watched at its next poll, served once
	// ready (the reads stop being bypasses).
	listed := "listed-" + s
	write(listed, 0, false)
	src.set(listed)
	testenv.WaitUntil(t, time.Minute, listed+" served from the cache", func() bool {
		_, b := read(listed, 0)
		return b == 0
	})
	if src.calls.Load() < 2 {
		t.Errorf("TenantSource called %d times, want at least 2 (at Run, then at a poll)", src.calls.Load())
	}
	cached(listed)

	if _, err := inv.Watch("Not A Tenant"); err == nil {
		t.Error("Watch of an invalid tenant id: no error")
	}
}

// TestStoppedInvalidator: once Run has returned, the cached models read the
// database, and Watch fails; Run with no tenant to watch fails at once.
func TestStoppedInvalidator(t *testing.T) {
	f := newFixture(t, "", suffix())
	none, err := ormcache.NewInvalidator(ormcache.InvalidatorConfig{Subscriber: changefeed.Subscriber{Feed: f.feed}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ormcache.Of(f.items, stack(t, redisPrefix(t), nil), none, ormcache.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := none.Run(t.Context()); err == nil || !errors.Is(err, tenant.ErrNoTenant) {
		t.Errorf("Run without a tenant to watch = %v, want an error matching tenant.ErrNoTenant", err)
	}
	inv, err := ormcache.NewInvalidator(ormcache.InvalidatorConfig{
		Subscriber: changefeed.Subscriber{Feed: f.feed, Poll: 50 * time.Millisecond},
		Tenants:    []string{"acme"},
	})
	if err != nil {
		t.Fatal(err)
	}
	gets := &counted{}
	items, err := ormcache.Of(f.items, stack(t, redisPrefix(t), nil), inv, ormcache.Options{Get: cache.Options{Observer: gets}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- inv.Run(ctx) }()
	select {
	case <-inv.Ready():
	case <-time.After(time.Minute):
		t.Fatal("not ready after a minute")
	}
	acme := tenant.With(t.Context(), "acme")
	if err := f.items.Insert(acme, &item{ID: "s", Seq: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := items.Get(acme, "s"); err != nil || gets.loads.Load() != 1 || gets.bypasses.Load() != 0 {
		t.Fatalf("Get while running: %v, %d loads, %d bypasses; want 1 load", err, gets.loads.Load(), gets.bypasses.Load())
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if err := f.items.Update(acme, &item{ID: "s", Seq: 2}); err != nil {
		t.Fatal(err)
	}
	if v, err := items.Get(acme, "s"); err != nil || v.Seq != 2 || gets.bypasses.Load() != 1 {
		t.Errorf("Get after Run returned = %+v, %v, %d bypasses; want seq 2 from the database", v, err, gets.bypasses.Load())
	}
	if _, err := inv.Watch("globex"); err == nil {
		t.Error("Watch after Run returned: no error")
	}
}
