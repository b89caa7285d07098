// Package cachetest is the conformance suite of cache.Store tiers: every tier
// runs it from its own tests (the toolkit's Memory, Redis and Tiered do), and
// a tier that passes keeps the contract cache.Cache relies on.
//
// The suite checks that Set, Get and Delete keep and remove entries with
// their version, negative flag and expiry; that an entry expires after its
// ttl (waited for, never slept); that a value older than the stored one is
// refused, with versions compared exactly over the whole int64 range; that
// Invalidate removes the entry and leaves a floor that refuses older values,
// never goes down and is forgotten after its ttl; that negative entries, an
// empty value and a 1 MiB value survive the trip; that keys are opaque (any
// bytes, and cache.NewKey's escaped separators) and never collide; and that
// concurrent Sets, Gets and Invalidates under -race never return a value
// older than an invalidation that returned before the Get started.
//
//	func TestConformance(t *testing.T) {
//		cachetest.Run(t, func(t *testing.T) cache.Store {
//			m, err := cache.NewMemory(cache.MemoryConfig{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return m
//		})
//	}
//
// Each subtest runs in parallel on a store of its own from the constructor,
// with keys of its own (a random prefix), so a store shared by several runs,
// such as a Redis server, is fine.
package cachetest
