package cache_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/cache"
)

// versioned is a cached row of the staleness test: whose it is and its
// version.
type versioned struct {
	Tenant  string
	ID      int
	Version int64
}

// TestStalenessRandom runs 10,000 random operations of writers and readers on
// two Caches (two memory tiers, one Redis: two processes' worth), over keys
// of two tenants. A write updates the "database", then invalidates the key in
// both Caches, as the change feed would, and only then counts as
// acknowledged. No read returns a version older than the last write
// acknowledged before the read started, nor another tenant's row.
func TestStalenessRandom(t *testing.T) {
	const (
		ids     = 8
		workers = 8
		ops     = 10_000
	)
	tenants := []string{"acme", "globex"}
	p := redisPrefix(t)
	caches := []*cache.Cache[versioned]{
		newCache[versioned](t, newTiered(t, newMemory(t, cache.MemoryConfig{}), newRedisAt(t, p, nil)), cache.Options{}),
		newCache[versioned](t, newTiered(t, newMemory(t, cache.MemoryConfig{}), newRedisAt(t, p, nil)), cache.Options{}),
	}
	type slot struct {
		mu    sync.Mutex
		row   versioned // the database's row
		acked atomic.Int64
	}
	var clock atomic.Int64
	db := map[string]*slot{}
	var keys []cache.Key
	for _, tn := range tenants {
		for id := range ids {
			k := key(t, tn, "product", strconv.Itoa(id))
			keys = append(keys, k)
			db[k.String()] = &slot{row: versioned{Tenant: tn, ID: id, Version: clock.Add(1)}}
		}
	}
	var writes, reads, stale atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	var left atomic.Int64
	left.Store(ops)
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 12))
			ctx := t.Context()
			for left.Add(-1) >= 0 {
				ki := r.IntN(len(keys))
				k, s := keys[ki], db[keys[ki].String()]
				if r.IntN(4) == 0 { // a write
					s.mu.Lock()
					v := clock.Add(1)
					s.row.Version = v
					s.mu.Unlock()
					for _, c := range caches {
						if err := c.Invalidate(ctx, k, v); err != nil {
							errs <- err
							return
						}
					}
					for a := s.acked.Load(); a < v && !s.acked.CompareAndSwap(a, v); a = s.acked.Load() {
					}
					writes.Add(1)
					continue
				}
				lo := s.acked.Load()
				c := caches[r.IntN(len(caches))]
				got, err := c.GetOrLoad(ctx, k, func(context.Context) (versioned, int64, error) {
					s.mu.Lock()
					row := s.row
					s.mu.Unlock()
					for range r.IntN(4) {
						runtime.Gosched() // let invalidations overtake the load
					}
					return row, row.Version, nil
				})
				if err != nil {
					errs <- err
					return
				}
				reads.Add(1)
				s.mu.Lock()
				want := s.row
				s.mu.Unlock()
				switch {
				case got.Tenant != want.Tenant || got.ID != want.ID:
					errs <- fmt.Errorf("key %s returned %s's product %d", k, got.Tenant, got.ID)
					return
				case got.Version < lo:
					stale.Add(1)
					errs <- fmt.Errorf("key %s returned version %d after version %d was acknowledged", k, got.Version, lo)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d writes, %d reads, %d stale", writes.Load(), reads.Load(), stale.Load())
}
