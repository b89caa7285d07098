package cache_test

import (
	"testing"

	"github.com/cassandraorm/cassandraorm-go/cache"
	"github.com/cassandraorm/cassandraorm-go/cache/cachetest"
)

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name     string
		newStore func(t *testing.T) cache.Store
	}{
		{"Memory", func(t *testing.T) cache.Store { return newMemory(t, cache.MemoryConfig{}) }},
		{"MemoryByBytes", func(t *testing.T) cache.Store { return newMemory(t, cache.MemoryConfig{MaxBytes: 64 << 20}) }},
		{"Redis", func(t *testing.T) cache.Store { return newRedis(t, nil) }},
		{"Tiered", func(t *testing.T) cache.Store {
			return newTiered(t, newMemory(t, cache.MemoryConfig{}), newRedis(t, nil))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { cachetest.Run(t, tc.newStore) })
	}
}
