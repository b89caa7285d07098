package ormcache_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cache"
	"github.com/cassandraorm/cassandraorm-go/cache/ormcache"
	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// handledSet records the changes an Invalidator has applied, by changeName.
type handledSet struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (h *handledSet) add(c changefeed.Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen == nil {
		h.seen = map[string]bool{}
	}
	h.seen[changeName(c)] = true
}

// has returns a condition: the change named what has been applied.
func (h *handledSet) has(what string) func() bool {
	return func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.seen[what] }
}

// changeName names change c: "tenant op key values... [seq n]".
func changeName(c changefeed.Change) string {
	k := fmt.Sprint(c.Tenant, " ", c.Op)
	for _, col := range []string{"id", "order_id", "n"} {
		if v, ok := c.Key[col]; ok {
			k += fmt.Sprint(" ", v)
		}
	}
	if v, ok := c.Values["seq"]; ok {
		k += fmt.Sprint(" seq ", v)
	}
	return k
}

// TestQueryDeleteTwoProcesses: two processes (two DBs and feeds on the same
// tables, two Invalidators, two memory tiers over one Redis) cache the rows of
// a partition, Get and Query; one deletes a slice of it with Query.Delete.
// Once both have applied a change recorded after the delete, neither serves
// the deleted rows, from Get or Query, and both still serve the others.
func TestQueryDeleteTwoProcesses(t *testing.T) {
	s := suffix()
	prefix := redisPrefix(t)
	type proc struct {
		f       *fixture
		lines   *ormcache.Model[line]
		loads   *loads
		handled *handledSet
	}
	var procs []*proc
	for range 2 {
		p := &proc{f: newFixture(t, "", s), loads: &loads{}, handled: &handledSet{}}
		inv, err := ormcache.NewInvalidator(ormcache.InvalidatorConfig{
			Subscriber: changefeed.Subscriber{Feed: p.f.feed, Poll: 50 * time.Millisecond},
			Tenants:    []string{"acme"},
			OnChange:   p.handled.add,
		})
		if err != nil {
			t.Fatal(err)
		}
		if p.lines, err = ormcache.Of(p.f.lines, stack(t, prefix, nil), inv, ormcache.Options{Get: cache.Options{Observer: p.loads}}); err != nil {
			t.Fatal(err)
		}
		run(t, inv)
		procs = append(procs, p)
	}
	ctx := tenant.With(t.Context(), "acme")
	for n := range int32(6) {
		if err := procs[0].f.lines.Insert(ctx, &line{Order: "o1", N: n, SKU: fmt.Sprint("sku", n)}); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range procs {
		testenv.WaitUntil(t, time.Minute, fmt.Sprintf("process %d applied the last insert", i), p.handled.has("acme insert o1 5"))
	}
	q := procs[0].f.lines.Query().Where(orm.Eq("order_id", "o1"))
	ns := func(rows []line) []int32 {
		out := []int32{}
		for _, r := range rows {
			out = append(out, r.N)
		}
		return out
	}
	// Both processes read every row twice, and the partition: each row is
	// loaded once in all (the second process finds the first's in Redis).
	for range 2 {
		for i, p := range procs {
			for n := range int32(6) {
				if v, err := p.lines.Get(ctx, "o1", n); err != nil || v.SKU != fmt.Sprint("sku", n) {
					t.Fatalf("process %d: Get(o1, %d) = %+v, %v", i, n, v, err)
				}
			}
			if rows, err := p.lines.Query(ctx, q); err != nil || !slices.Equal(ns(rows), []int32{0, 1, 2, 3, 4, 5}) {
				t.Fatalf("process %d: Query = %v, %v", i, ns(rows), err)
			}
		}
	}
	if n := procs[0].loads.n.Load() + procs[1].loads.n.Load(); n != 6 {
		t.Errorf("%d loads for 24 Gets of 6 rows, want 6: the rows are not served from the cache", n)
	}

	// The first process deletes rows 2 and 3; the second then writes a row of
	// another order, whose change comes after the delete's in the log.
	if err := procs[0].f.lines.Query().Where(orm.Eq("order_id", "o1"), orm.Gte("n", 2), orm.Lt("n", 4)).Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if err := procs[1].f.lines.Insert(ctx, &line{Order: "o2", N: 0, SKU: "later"}); err != nil {
		t.Fatal(err)
	}
	for i, p := range procs {
		testenv.WaitUntil(t, time.Minute, fmt.Sprintf("process %d applied the insert after the delete", i), p.handled.has("acme insert o2 0"))
	}
	for i, p := range procs {
		for n := range int32(6) {
			v, err := p.lines.Get(ctx, "o1", n)
			switch deleted := n == 2 || n == 3; {
			case deleted && !errors.Is(err, orm.ErrNotFound):
				t.Errorf("process %d: Get(o1, %d) after the delete of 2 to 3 = %+v, %v; want orm.ErrNotFound", i, n, v, err)
			case !deleted && (err != nil || v.SKU != fmt.Sprint("sku", n)):
				t.Errorf("process %d: Get(o1, %d) after the delete of 2 to 3 = %+v, %v; want the row", i, n, v, err)
			}
		}
		if rows, err := p.lines.Query(ctx, q); err != nil || !slices.Equal(ns(rows), []int32{0, 1, 4, 5}) {
			t.Errorf("process %d: Query after the delete = %v, %v; want [0 1 4 5]", i, ns(rows), err)
		}
	}
}
