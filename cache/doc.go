// Package cache is the toolkit's tiered cache: an in-process tier (Memory, on
// otter) in front of Redis (Redis), stacked by Tiered or built from a list of
// stores by New, with a typed front, Cache[T], whose GetOrLoad loads a missing
// key once however many callers miss it at once.
//
//	stack, err := cache.New(cache.Config{Stores: []cache.StoreConfig{
//		{Name: "memory", Type: "memory", MaxSize: 1000},
//		{Name: "redis", Type: "redis", Addr: "127.0.0.1:6379"},
//	}})
//	products, err := cache.NewCache[Product](stack, cache.Options{TTL: 5 * time.Minute})
//	key, err := cache.NewKey("acme", "product", id)
//	p, err := products.GetOrLoad(ctx, key, func(ctx context.Context) (Product, int64, error) {
//		return loadProduct(ctx, id) // the row and its write time in microseconds
//	})
//
// # Keys
//
// Every key names its tenant and model (NewKey, TenantKey): components are
// joined by ':' with ':' and '%' escaped inside them, so two different
// (tenant, model, parts) tuples never share a key, and Cache refuses the zero
// Key.
//
// # Versions, floors and the staleness guarantee
//
// Every value carries a version, larger meaning newer: the write time of the
// data it was read from, in microseconds (Cassandra's WRITETIME), which the
// loader or setter supplies. A tier refuses a value older than the one it
// holds. Invalidate(ctx, key, version), which a change-feed handler calls in
// every process for every change, deletes the key in every tier and leaves in
// each a floor for Options.FloorTTL: until it expires the tier refuses any
// value of the key older than version (a stale drop, counted). It also makes
// the loads of the key in flight in that Cache not store their results, and
// keeps later callers from sharing them.
//
// The guarantee, for a key whose writes each call Invalidate with their
// version after they are acknowledged, and whose loader reads at a
// consistency that sees acknowledged writes: once Invalidate has returned nil
// in a process, no Get or GetOrLoad that starts afterwards in that process
// returns a value older than the invalidated version. The old value cannot
// come from its memory tier (deleted, and the floor refuses refills and late
// loads), nor from Redis (deleted, and the floor refuses the late loads of
// every process), nor from a load that read before the write (its result is
// returned only to the callers that were already waiting, and stored by no
// tier). Floors are forgotten after FloorTTL; a load's result is stored only
// if the load took less than FloorTTL/2, which keeps a late store out of
// Redis once the floor is gone provided the store reaches Redis within the
// other FloorTTL/2 (10 s by default).
//
// The bound: a process whose Invalidate has not run yet (its change-feed
// delivery is late) may serve the old value from its memory tier until it
// runs, and never longer than the entry's time in memory (the TTL, capped by
// MemoryConfig.MaxTTL). Redis is already clean for it: a late load of the old
// value is refused there by the floor another process left. Delete leaves no
// floor and gives no such guarantee; neither does a loader that reports no
// versions (0), beyond the per-Cache generation check.
//
// Package cache/ormcache is that change-feed handler: cached Get and Query
// over an orm.Model, with an Invalidator per process on the change feed.
//
// # Loads
//
// GetOrLoad deduplicates concurrent misses on a key within a Cache
// (singleflight) and, with Options.Lock, across the processes sharing a Redis
// server: the first takes a short lock (SET NX PX with a random token,
// released by a compare-and-delete script), the others poll the cache with
// the retry package's Backoff and load themselves if the lock is released or
// expires without a value. A loader's not-found (ErrNotFound, or
// Options.NotFound) is cached as a negative entry for Options.NegativeTTL; a
// hit in the last Options.RefreshAhead of the TTL is served and reloaded once
// in the background.
//
// # Metrics
//
// The tiers and the Cache tell an Observer of hits and misses per tier,
// evictions, stale drops, load latency, shared loads and lock waits;
// cacheprom adapts it to Prometheus. The conformance suite of a Store is
// cachetest.Run.
package cache
