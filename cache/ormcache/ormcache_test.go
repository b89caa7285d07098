package ormcache_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// loads counts the loader calls a Cache reports.
type loads struct {
	cache.NopObserver
	n atomic.Int64
}

func (l *loads) Load(time.Duration, cache.LoadOutcome) { l.n.Add(1) }

// TestGetQueryAndRange: Gets and Queries are served from the cache, and each
// kind of change (a row's write, a delete of a range) is seen by the reads
// that start after the Invalidator handled it; the two tenants never see each
// other's rows.
func TestGetQueryAndRange(t *testing.T) {
	s := suffix()
	f := newFixture(t, "", s)
	st := stack(t, redisPrefix(t), nil)
	var mu sync.Mutex
	handled := map[string]bool{} // "tenant op key...": changes the Invalidator applied
	seen := func(what string) func() bool {
		return func() bool { mu.Lock(); defer mu.Unlock(); return handled[what] }
	}
	inv, err := ormcache.NewInvalidator(ormcache.InvalidatorConfig{
		Subscriber: changefeed.Subscriber{Feed: f.feed, Poll: 50 * time.Millisecond},
		Tenants:    []string{"acme", "globex"},
		OnChange: func(c changefeed.Change) {
			k := fmt.Sprint(c.Tenant, " ", c.Op)
			for _, col := range []string{"id", "order_id", "n"} {
				if v, ok := c.Key[col]; ok {
					k += fmt.Sprint(" ", v)
				}
			}
			if v, ok := c.Values["seq"]; ok {
				k += fmt.Sprint(" seq ", v)
			}
			mu.Lock()
			handled[k] = true
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	getObs, queryObs := &loads{}, &loads{}
	items, err := ormcache.Of(f.items, st, inv, ormcache.Options{Get: cache.Options{Observer: getObs, NegativeTTL: time.Minute}, QueryObserver: queryObs})
	if err != nil {
		t.Fatal(err)
	}
	lines, err := ormcache.Of(f.lines, st, inv, ormcache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run(t, inv)
	acme, globex := tenant.With(t.Context(), "acme"), tenant.With(t.Context(), "globex")
	for _, w := range []struct {
		ctx   context.Context
		owner string
	}{{acme, "acme"}, {globex, "globex"}} {
		if err := f.items.Insert(w.ctx, &item{ID: "a", Seq: 1, Owner: w.owner}); err != nil {
			t.Fatal(err)
		}
	}

	// Get: loaded once, then served; a not-found is cached negatively.
	for range 3 {
		v, err := items.Get(acme, "a")
		if err != nil || v.Owner != "acme" || v.Seq != 1 {
			t.Fatalf("Get(acme, a) = %+v, %v", v, err)
		}
	}
	if v, err := items.Get(globex, "a"); err != nil || v.Owner != "globex" {
		t.Fatalf("Get(globex, a) = %+v, %v", v, err)
	}
	if n := getObs.n.Load(); n != 2 {
		t.Errorf("%d loads for 4 Gets of two rows, want 2", n)
	}
	for range 2 {
		if _, err := items.Get(acme, "none"); !errors.Is(err, orm.ErrNotFound) {
			t.Fatalf("Get(acme, none): %v, want orm.ErrNotFound", err)
		}
	}
	if n := getObs.n.Load(); n != 3 {
		t.Errorf("%d loads after two Gets of a missing row, want 3", n)
	}

	// Query: cached until a change of the table in that tenant.
	q := f.items.Query().Where(orm.In("id", "a", "none"))
	for range 2 {
		rows, err := items.Query(acme, q)
		if err != nil || len(rows) != 1 || rows[0].Owner != "acme" {
			t.Fatalf("Query(acme) = %+v, %v", rows, err)
		}
	}
	if n := queryObs.n.Load(); n != 1 {
		t.Errorf("%d loads for 2 Queries, want 1", n)
	}

	// A write reaches the cache through the feed: once the Invalidator has
	// handled it, the Get and the Query see it, and the missing row exists.
	if err := f.items.Update(acme, &item{ID: "a", Seq: 2, Owner: "acme"}); err != nil {
		t.Fatal(err)
	}
	if err := f.items.Insert(acme, &item{ID: "none", Seq: 1, Owner: "acme"}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitUntil(t, time.Minute, "the update of a handled", seen("acme update a seq 2"))
	testenv.WaitUntil(t, time.Minute, "the insert of none handled", seen("acme insert none seq 1"))
	if v, err := items.Get(acme, "a"); err != nil || v.Seq != 2 {
		t.Errorf("Get(acme, a) after the update = %+v, %v; want seq 2", v, err)
	}
	if v, err := items.Get(acme, "none"); err != nil || v.Seq != 1 {
		t.Errorf("Get(acme, none) after its insert = %+v, %v", v, err)
	}
	if v, err := items.Get(globex, "a"); err != nil || v.Seq != 1 || v.Owner != "globex" {
		t.Errorf("Get(globex, a) = %+v, %v; want globex's seq 1", v, err)
	}
	rows, err := items.Query(acme, q)
	if err != nil {
		t.Fatal(err)
	}
	seqs := []int64{}
	for _, r := range rows {
		seqs = append(seqs, r.Seq)
	}
	slices.Sort(seqs)
	if !slices.Equal(seqs, []int64{1, 2}) {
		t.Errorf("Query(acme) after the writes: seqs %v, want [1 2]", seqs)
	}

	// A delete of a range (a partition of lines) invalidates the rows of it
	// this process read.
	for n := range int32(3) {
		if err := f.lines.Insert(acme, &line{Order: "o1", N: n, SKU: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	testenv.WaitUntil(t, time.Minute, "the lines' inserts handled", seen("acme insert o1 2"))
	for n := range int32(3) {
		if _, err := lines.Get(acme, "o1", n); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.lines.Delete(acme, "o1"); err != nil { // a key prefix: the partition
		t.Fatal(err)
	}
	testenv.WaitUntil(t, time.Minute, "the range delete handled", seen("acme delete o1"))
	for n := range int32(3) {
		if _, err := lines.Get(acme, "o1", n); !errors.Is(err, orm.ErrNotFound) {
			t.Errorf("Get(acme, o1, %d) after the range delete: %v, want orm.ErrNotFound", n, err)
		}
	}
}

// TestConfigValidate checks the configs' Validate.
func TestConfigValidate(t *testing.T) {
	f := newFixture(t, "", suffix())
	sub := changefeed.Subscriber{Feed: f.feed}
	for _, tc := range []struct {
		name string
		cfg  ormcache.InvalidatorConfig
		ok   bool
	}{
		{"defaults", ormcache.InvalidatorConfig{Subscriber: sub}, true},
		{"no feed", ormcache.InvalidatorConfig{}, false},
		{"negative skew", ormcache.InvalidatorConfig{Subscriber: sub, MaxSkew: -time.Second}, false},
		{"skew above half the lag", ormcache.InvalidatorConfig{Subscriber: sub, MaxSkew: feedLag}, false},
		{"bad tenant", ormcache.InvalidatorConfig{Subscriber: sub, Tenants: []string{"a b"}}, false},
		{"negative tenant poll", ormcache.InvalidatorConfig{Subscriber: sub, TenantPoll: -time.Second}, false},
		{"a tenant source", ormcache.InvalidatorConfig{Subscriber: sub, TenantSource: func(context.Context) ([]string, error) { return nil, nil }}, true},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	for _, tc := range []struct {
		name string
		opt  ormcache.Options
		ok   bool
	}{
		{"defaults", ormcache.Options{}, true},
		{"negative query TTL", ormcache.Options{QueryTTL: -time.Second}, false},
		{"bad get options", ormcache.Options{Get: cache.Options{TTL: -time.Second}}, false},
	} {
		if err := tc.opt.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
