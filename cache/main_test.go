package cache_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/cassandraorm/cassandraorm-go/cache"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("cache_test")

func TestMain(m *testing.M) { env.Main(m) }

// runPrefix starts every Redis key of this test run.
var runPrefix = func() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "cache_test:" + hex.EncodeToString(b[:]) + ":"
}()

// redisPrefix returns a Redis key prefix of t's own, whose keys are deleted
// when t ends.
func redisPrefix(t testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	p := runPrefix + hex.EncodeToString(b[:]) + ":"
	rdb := env.Redis(t)
	t.Cleanup(func() { deletePrefix(t, rdb, p) })
	return p
}

// deletePrefix deletes the Redis keys that start with p.
func deletePrefix(t testing.TB, rdb *redis.Client, p string) {
	ctx := context.Background()
	it := rdb.Scan(ctx, 0, p+"*", 1000).Iterator()
	var keys []string
	for it.Next(ctx) {
		keys = append(keys, it.Val())
	}
	if err := it.Err(); err != nil {
		t.Logf("cleaning up Redis keys %s*: %v", p, err)
		return
	}
	if len(keys) > 0 {
		if err := rdb.Del(ctx, keys...).Err(); err != nil {
			t.Logf("cleaning up Redis keys %s*: %v", p, err)
		}
	}
}

// newMemory returns a Memory tier of cfg.
func newMemory(t testing.TB, cfg cache.MemoryConfig) *cache.Memory {
	t.Helper()
	m, err := cache.NewMemory(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// newRedis returns a Redis tier on the test Redis under a prefix of t's own.
func newRedis(t testing.TB, obs cache.Observer) *cache.Redis {
	t.Helper()
	return newRedisAt(t, redisPrefix(t), obs)
}

// newRedisAt returns a Redis tier on the test Redis under prefix.
func newRedisAt(t testing.TB, prefix string, obs cache.Observer) *cache.Redis {
	t.Helper()
	r, err := cache.NewRedis(cache.RedisConfig{Client: env.Redis(t), Prefix: prefix, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// newTiered returns a Tiered stack of its tiers.
func newTiered(t testing.TB, tiers ...cache.Store) *cache.Tiered {
	t.Helper()
	s, err := cache.NewTiered(tiers...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// key returns NewKey's key, failing t on error.
func key(t testing.TB, tenant, model string, parts ...string) cache.Key {
	t.Helper()
	k, err := cache.NewKey(tenant, model, parts...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
