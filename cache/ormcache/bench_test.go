package ormcache_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cache"
	"github.com/cassandraorm/cassandraorm-go/cache/ormcache"
	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// A cached Get served by the memory tier, one served by Redis (a stack with
// no memory tier) and an uncached orm.Model.Get of the same row, alternating
// in each goroutine, serially and with 32 in flight. Reported: the mean
// latency of each and the ratios of the uncached Get's to the cached ones'
// (how many times faster the cached Get is).
func BenchmarkGet(b *testing.B) {
	s := suffix()
	f := newFixture(b, "", s)
	prefix := redisPrefix(b)
	inv, err := ormcache.NewInvalidator(ormcache.InvalidatorConfig{
		Subscriber: changefeed.Subscriber{Feed: f.feed}, Tenants: []string{"acme"}})
	if err != nil {
		b.Fatal(err)
	}
	mem, err := ormcache.Of(f.items, stack(b, prefix, nil), inv, ormcache.Options{Get: cache.Options{TTL: time.Hour}})
	if err != nil {
		b.Fatal(err)
	}
	r, err := cache.NewRedis(cache.RedisConfig{Client: env.Redis(b), Prefix: prefix + "r:"})
	if err != nil {
		b.Fatal(err)
	}
	// A second model of the same table for the Redis-only stack (one cached
	// Model per table and Invalidator).
	inv2, err := ormcache.NewInvalidator(ormcache.InvalidatorConfig{
		Subscriber: changefeed.Subscriber{Feed: f.feed}, Tenants: []string{"acme"}})
	if err != nil {
		b.Fatal(err)
	}
	red, err := ormcache.Of(f.items, r, inv2, ormcache.Options{Get: cache.Options{TTL: time.Hour}})
	if err != nil {
		b.Fatal(err)
	}
	run(b, inv)
	run(b, inv2)
	ctx := tenant.With(context.Background(), "acme")
	if err := f.items.Insert(ctx, &item{ID: "bench", Seq: 1, Owner: "acme"}); err != nil {
		b.Fatal(err)
	}
	for _, m := range []*ormcache.Model[item]{mem, red} {
		if _, err := m.Get(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
	}
	for _, inFlight := range []int{1, 32} {
		b.Run("inflight="+strconv.Itoa(inFlight), func(b *testing.B) {
			var memNs, redisNs, ormNs, left atomic.Int64
			left.Store(int64(b.N))
			var wg sync.WaitGroup
			b.ResetTimer()
			for range inFlight {
				wg.Go(func() {
					var mn, rn, on time.Duration
					for left.Add(-1) >= 0 {
						t0 := time.Now()
						v1, err1 := mem.Get(ctx, "bench")
						t1 := time.Now()
						v2, err2 := red.Get(ctx, "bench")
						t2 := time.Now()
						v3, err3 := f.items.Get(ctx, "bench")
						t3 := time.Now()
						if err1 != nil || err2 != nil || err3 != nil || v1.Seq != 1 || v2.Seq != 1 || v3.Seq != 1 {
							b.Errorf("memory %+v, %v; redis %+v, %v; orm %+v, %v", v1, err1, v2, err2, v3, err3)
							return
						}
						mn, rn, on = mn+t1.Sub(t0), rn+t2.Sub(t1), on+t3.Sub(t2)
					}
					memNs.Add(int64(mn))
					redisNs.Add(int64(rn))
					ormNs.Add(int64(on))
				})
			}
			wg.Wait()
			n := float64(b.N)
			mm, rm, om := float64(memNs.Load())/n, float64(redisNs.Load())/n, float64(ormNs.Load())/n
			b.ReportMetric(mm, "memory-ns/get")
			b.ReportMetric(rm, "redis-ns/get")
			b.ReportMetric(om, "orm-ns/get")
			b.ReportMetric(om/mm, "orm/memory")
			b.ReportMetric(om/rm, "orm/redis")
		})
	}
}
