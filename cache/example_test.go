package cache_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cassandraorm/cassandraorm-go/cache"
)

// Product is a cached row of the examples.
type Product struct {
	ID    string
	Name  string
	Price int
}

// The seed's configuration: a memory tier of 1,000 entries in front of Redis,
// and a typed cache of products on it. (It uses the Redis server at
// 127.0.0.1:6379, under a prefix of its own.)
func ExampleNew() {
	ctx := context.Background()
	var b [4]byte
	_, _ = rand.Read(b[:])
	stack, err := cache.New(cache.Config{Stores: []cache.StoreConfig{
		{Name: "memory", Type: "memory", MaxSize: 1000},
		{Name: "redis", Type: "redis", Addr: "127.0.0.1:6379", Prefix: "example:" + hex.EncodeToString(b[:]) + ":"},
	}})
	if err != nil {
		log.Fatal(err)
	}
	defer stack.Close()
	products, err := cache.NewCache[Product](stack, cache.Options{TTL: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	key, err := cache.NewKey("acme", "product", "p-1")
	if err != nil {
		log.Fatal(err)
	}
	defer products.Delete(ctx, key)
	load := func(ctx context.Context) (Product, int64, error) {
		fmt.Println("loading p-1")
		return Product{ID: "p-1", Name: "Teapot", Price: 25}, 1_733_300_000_000_000, nil
	}
	for range 2 {
		p, err := products.GetOrLoad(ctx, key, load)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(p.Name, p.Price)
	}
	// Output:
	// loading p-1
	// Teapot 25
	// Teapot 25
}

// Keys name a tenant, a model and the key's parts; separators inside them are
// escaped, so different tuples never share a key.
func ExampleNewKey() {
	for _, parts := range [][]string{{"a:b"}, {"a", "b"}} {
		k, err := cache.NewKey("acme", "order_item", parts...)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(k)
	}
	_, err := cache.NewKey("", "product", "1")
	fmt.Println(err)
	// Output:
	// acme:order_item:a%3Ab
	// acme:order_item:a:b
	// cache: key of model "product": no tenant
}

// A change invalidates its key with the change's version: the old value is
// gone, and a late load of it (or a copy of it from another tier) is refused.
func ExampleCache_Invalidate() {
	ctx := context.Background()
	mem, err := cache.NewMemory(cache.MemoryConfig{MaxSize: 1000})
	if err != nil {
		log.Fatal(err)
	}
	prices, err := cache.NewCache[int](mem, cache.Options{})
	if err != nil {
		log.Fatal(err)
	}
	key, _ := cache.NewKey("acme", "price", "p-1")
	if err := prices.Set(ctx, key, 25, 100, 0); err != nil {
		log.Fatal(err)
	}
	// The change feed: p-1's price was written at version 200.
	if err := prices.Invalidate(ctx, key, 200); err != nil {
		log.Fatal(err)
	}
	_, err = prices.Get(ctx, key)
	fmt.Println(errors.Is(err, cache.ErrMiss))
	err = prices.Set(ctx, key, 25, 100, 0) // a load that read before the write
	fmt.Println(errors.Is(err, cache.ErrStale))
	fmt.Println(prices.Set(ctx, key, 30, 200, 0))
	// Output:
	// true
	// true
	// <nil>
}

// A not-found is cached for NegativeTTL: the loader is not asked again.
func ExampleCache_GetOrLoad_negative() {
	ctx := context.Background()
	mem, _ := cache.NewMemory(cache.MemoryConfig{})
	products, err := cache.NewCache[Product](mem, cache.Options{NegativeTTL: 30 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	key, _ := cache.NewKey("acme", "product", "nope")
	loads := 0
	load := func(ctx context.Context) (Product, int64, error) {
		loads++
		return Product{}, 0, fmt.Errorf("product nope: %w", cache.ErrNotFound)
	}
	for range 3 {
		_, err := products.GetOrLoad(ctx, key, load)
		fmt.Println(errors.Is(err, cache.ErrNotFound))
	}
	fmt.Println("loads:", loads)
	// Output:
	// true
	// true
	// true
	// loads: 1
}

// Processes sharing a Redis server load a missing key once between them with
// a RedisLock. (It uses the Redis server at 127.0.0.1:6379.)
func ExampleNewRedisLock() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	var b [4]byte
	_, _ = rand.Read(b[:])
	prefix := "example:" + hex.EncodeToString(b[:]) + ":"
	lock, err := cache.NewRedisLock(cache.LockConfig{Client: rdb, Prefix: prefix + "lock:", TTL: 2 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	store, err := cache.NewRedis(cache.RedisConfig{Client: rdb, Prefix: prefix})
	if err != nil {
		log.Fatal(err)
	}
	c, err := cache.NewCache[string](store, cache.Options{Lock: lock, TTL: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	key, _ := cache.NewKey("acme", "report", "daily")
	defer c.Delete(ctx, key)
	v, err := c.GetOrLoad(ctx, key, func(ctx context.Context) (string, int64, error) { return "42 orders", 1, nil })
	fmt.Println(v, err)
	// Output:
	// 42 orders <nil>
}
