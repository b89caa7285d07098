//go:build unix

package cache_test

import (
	"bytes"
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cache"
)

// Memory-tier hits from every core: the tier's Get on 1,000 warm keys.
func BenchmarkMemoryHit(b *testing.B) {
	ctx := context.Background()
	m := newMemory(b, cache.MemoryConfig{MaxSize: 10_000})
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = key(b, "acme", "product", strconv.Itoa(i)).String()
		if _, err := m.Set(ctx, keys[i], cache.Entry{Value: []byte("value"), Version: 1}, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	var misses atomic.Int64
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime(b)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok, _ := m.Get(ctx, keys[i%len(keys)]); !ok {
				misses.Add(1)
			}
			i++
		}
	})
	reportHits(b, start, cpu)
	if misses.Load() > 0 {
		b.Fatalf("%d misses", misses.Load())
	}
}

// The typed front's Get of a memory-tier hit, decoded by the Raw codec.
func BenchmarkCacheGetMemory(b *testing.B) {
	ctx := context.Background()
	c := newCache[string](b, newMemory(b, cache.MemoryConfig{}), cache.Options{Codec: cache.Raw{}})
	keys := make([]cache.Key, 1000)
	for i := range keys {
		keys[i] = key(b, "acme", "product", strconv.Itoa(i))
		if err := c.Set(ctx, keys[i], "value", 1, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime(b)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := c.Get(ctx, keys[i%len(keys)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	reportHits(b, start, cpu)
}

// cpuTime returns the CPU time the process has used so far, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportHits reports b.N hits per second of wall time since start, and per
// second of the CPU time used since cpu: on a shared machine the first
// depends on the other tenants, the second much less.
func reportHits(b *testing.B, start time.Time, cpu time.Duration) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "hits/s")
	b.ReportMetric(float64(b.N)/(cpuTime(b)-cpu).Seconds(), "hits/cpu-s")
}

// A Redis-tier hit through the typed front (Raw codec, no memory tier)
// against a raw go-redis GET of the same Redis key, alternating, serially and
// with 32 in flight. Reported: the mean latency of each and their ratio.
func BenchmarkRedisHit(b *testing.B) {
	ctx := context.Background()
	rdb := env.Redis(b)
	p := redisPrefix(b)
	c := newCache[[]byte](b, newRedisAt(b, p, nil), cache.Options{Codec: cache.Raw{}})
	k := key(b, "acme", "product", "bench")
	val := bytes.Repeat([]byte("x"), 512)
	if err := c.Set(ctx, k, val, 1, time.Hour); err != nil {
		b.Fatal(err)
	}
	raw := p + "v:{" + k.String() + "}"
	for _, inFlight := range []int{1, 32} {
		b.Run("inflight="+strconv.Itoa(inFlight), func(b *testing.B) {
			var cacheNs, rawNs atomic.Int64
			var left atomic.Int64
			left.Store(int64(b.N))
			var wg sync.WaitGroup
			b.ResetTimer()
			for range inFlight {
				wg.Go(func() {
					var cn, rn time.Duration
					for left.Add(-1) >= 0 {
						t0 := time.Now()
						v, err := c.Get(ctx, k)
						t1 := time.Now()
						r, err2 := rdb.Get(ctx, raw).Bytes()
						t2 := time.Now()
						if err != nil || err2 != nil || len(v) != len(val) || len(r) <= len(val) {
							b.Errorf("cache %d bytes, %v; raw %d bytes, %v", len(v), err, len(r), err2)
							return
						}
						cn, rn = cn+t1.Sub(t0), rn+t2.Sub(t1)
					}
					cacheNs.Add(int64(cn))
					rawNs.Add(int64(rn))
				})
			}
			wg.Wait()
			cm, rm := float64(cacheNs.Load())/float64(b.N), float64(rawNs.Load())/float64(b.N)
			b.ReportMetric(cm, "cache-ns/get")
			b.ReportMetric(rm, "raw-ns/get")
			b.ReportMetric(cm/rm, "ratio")
		})
	}
}
