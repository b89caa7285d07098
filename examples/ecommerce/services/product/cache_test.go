package product_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cache"
	"github.com/cassandraorm/cassandraorm-go/cache/cacheprom"
	"github.com/cassandraorm/cassandraorm-go/cache/ormcache"
	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/platform"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/product"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// cachedInstance is one process of the product service with its cache on: its
// own memory tier over the shared Redis, its own Invalidator, and its own
// metrics registry served at /metrics, as command products runs it.
type cachedInstance struct {
	svc     *product.Service
	metrics http.Handler
}

// newCachedInstance makes an instance on tdb's tables table (recording in
// feed), its Redis entries under prefix, watching tenant id.
func newCachedInstance(t *testing.T, tdb *orm.DB, feed *changefeed.Feed, table, prefix, id string) *cachedInstance {
	t.Helper()
	reg := platform.NewMetrics()
	obs, err := cacheprom.New(reg, "products")
	if err != nil {
		t.Fatal(err)
	}
	stack, err := cache.New(cache.Config{Observer: obs, Stores: []cache.StoreConfig{
		{Name: "memory", Type: cache.TypeMemory, MaxSize: 1000},
		{Name: "redis", Type: cache.TypeRedis, Client: env.Redis(t), Prefix: prefix},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stack.Close() })
	svc, err := product.New(tdb, product.Config{Embedder: embedder(t), Feed: feed, Table: table,
		Cache: &product.CacheConfig{Store: stack, Options: ormcache.Options{Get: cache.Options{Observer: obs}},
			Invalidator: ormcache.InvalidatorConfig{Tenants: []string{id}, Subscriber: changefeed.Subscriber{Poll: 50 * time.Millisecond}}}})
	if err != nil {
		t.Fatal(err)
	}
	return &cachedInstance{svc: svc, metrics: platform.WithMetrics(svc.Handler(), reg)}
}

// run runs the instance's cache invalidator until the test ends, and waits
// until it is ready.
func (c *cachedInstance) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.svc.RunCache(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("RunCache: %v", err)
		}
	})
	select {
	case <-c.svc.CacheReady():
	case err := <-done:
		t.Fatalf("RunCache ended before it was ready: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the cache was not ready after a minute")
	}
}

// scrape returns the samples of /metrics whose names start with prefix, by
// their name and labels as the text format writes them.
func (c *cachedInstance) scrape(t *testing.T, prefix string) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(t.Context(), "GET", "/metrics", nil)
	req.Header.Set("Accept", "text/plain")
	c.metrics.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestCachedGetAcrossInstances: two instances of the service with the cache
// on, sharing one Redis server and the change feed. A product read by both
// is served from their caches; an update through one is seen by the other's
// Get once the feed has delivered the change (its memory tier would serve the
// old value for the 5-minute TTL otherwise), a delete likewise; and /metrics
// of each shows hits and misses per tier.
func TestCachedGetAcrossInstances(t *testing.T) {
	tdb, feed, run := newFeed(t)
	id, table, prefix := "cache-"+run, "products_"+run, "product_test:"+run+":"
	rdb := env.Redis(t)
	t.Cleanup(func() {
		ctx := context.Background()
		for it := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator(); it.Next(ctx); {
			rdb.Del(ctx, it.Val())
		}
	})
	a := newCachedInstance(t, tdb, feed, table, prefix, id)
	b := newCachedInstance(t, tdb, feed, table, prefix, id)
	ctx := tenant.With(t.Context(), id)
	if err := tdb.Sync(ctx, feed.Models()...); err != nil {
		t.Fatal(err)
	}
	if err := a.svc.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	a.run(t)
	b.run(t)

	p := catalogue[4] // the brass desk lamp
	if err := a.svc.Put(ctx, p); err != nil {
		t.Fatal(err)
	}
	get := func(in *cachedInstance) product.Product {
		t.Helper()
		got, err := in.svc.Get(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for range 3 { // b: a miss in both tiers and a load, then memory hits
		if got := get(b); got.Name != p.Name {
			t.Fatalf("b read %q, want %q", got.Name, p.Name)
		}
	}
	for range 2 { // a: a memory miss and a Redis hit, then a memory hit
		if got := get(a); got.Name != p.Name {
			t.Fatalf("a read %q, want %q", got.Name, p.Name)
		}
	}

	// The update over a's API, which answers with the row as written though
	// a's memory tier still holds the old one.
	p.Name = "Brass desk lamp, polished"
	body, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	put := httptest.NewRecorder()
	a.metrics.ServeHTTP(put, httptest.NewRequestWithContext(ctx, "PUT", "/products/"+p.ID, bytes.NewReader(body)))
	var answer product.Product
	if err := json.Unmarshal(put.Body.Bytes(), &answer); put.Code != http.StatusOK || err != nil || answer.Name != p.Name {
		t.Fatalf("PUT /products/%s: %d %s (%v), want the new name", p.ID, put.Code, put.Body, err)
	}
	start := time.Now()
	testenv.WaitFor(t, time.Minute, func() error {
		if got := get(b); got.Name != p.Name {
			return errors.New("b still reads " + strconv.Quote(got.Name))
		}
		return nil
	})
	t.Logf("b saw the update %s after the write (feed Lag 2s, Poll 50ms)", time.Since(start).Round(time.Millisecond))
	testenv.WaitFor(t, time.Minute, func() error {
		if got := get(a); got.Name != p.Name {
			return errors.New("a still reads " + strconv.Quote(got.Name))
		}
		return nil
	})

	if err := b.svc.Delete(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, time.Minute, func() error {
		_, err := a.svc.Get(ctx, p.ID)
		if errors.Is(err, product.ErrNotFound) {
			return nil
		}
		return errors.New("a still reads the deleted product")
	})

	// a: memory miss + Redis hit, memory hit; b: memory and Redis misses
	// and a load, memory hits.
	for _, c := range []struct {
		name string
		in   *cachedInstance
		want []string
	}{
		{"a", a, []string{`products_cache_hits_total{tier="memory"}`, `products_cache_misses_total{tier="memory"}`, `products_cache_hits_total{tier="redis"}`}},
		{"b", b, []string{`products_cache_hits_total{tier="memory"}`, `products_cache_misses_total{tier="memory"}`, `products_cache_misses_total{tier="redis"}`,
			`products_cache_load_seconds_count{outcome="ok"}`}},
	} {
		m := c.in.scrape(t, "products_cache_")
		for _, k := range c.want {
			if m[k] <= 0 {
				t.Errorf("%s's /metrics: %s = %v, want it above 0", c.name, k, m[k])
			}
		}
		t.Logf("%s's /metrics: %v", c.name, c.in.scrape(t, "products_cache_hits_total"))
		t.Logf("%s's /metrics: %v", c.name, c.in.scrape(t, "products_cache_misses_total"))
	}
}

// A cache needs the change feed that invalidates it, and a store; on a
// tenanted DB, the tenants it covers.
func TestCacheConfigValidate(t *testing.T) {
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	plainFeed := func() *changefeed.Feed {
		f, err := changefeed.NewFeed(db, changefeed.FeedConfig{})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	feed, other := plainFeed(), plainFeed()
	mem, err := cache.NewMemory(cache.MemoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  product.Config
		want string // "" when valid
	}{
		{"no cache", product.Config{}, ""},
		{"cache", product.Config{Feed: feed, Cache: &product.CacheConfig{Store: mem}}, ""},
		{"no feed", product.Config{Cache: &product.CacheConfig{Store: mem}}, "needs Config.Feed"},
		{"no store", product.Config{Feed: feed, Cache: &product.CacheConfig{}}, "Store is nil"},
		{"another feed", product.Config{Feed: feed, Cache: &product.CacheConfig{Store: mem,
			Invalidator: ormcache.InvalidatorConfig{Subscriber: changefeed.Subscriber{Feed: other}}}}, "is not Config.Feed"},
		{"skew above half the lag", product.Config{Feed: feed, Cache: &product.CacheConfig{Store: mem,
			Invalidator: ormcache.InvalidatorConfig{MaxSkew: time.Hour}}}, "MaxSkew"},
		{"bad tenant", product.Config{Feed: feed, Cache: &product.CacheConfig{Store: mem,
			Invalidator: ormcache.InvalidatorConfig{Tenants: []string{"no spaces"}}}}, "Tenants"},
		{"negative query ttl", product.Config{Feed: feed, Cache: &product.CacheConfig{Store: mem,
			Options: ormcache.Options{QueryTTL: -time.Second}}}, "QueryTTL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Embedder = embedder(t)
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate: %v, want an error containing %q", err, tc.want)
			}
		})
	}
	tdb, tfeed, _ := newFeed(t)
	// On a tenanted DB with no tenant to watch, the invalidator has nothing
	// to follow: RunCache says so at once (and every read goes to Cassandra).
	svc, err := product.New(tdb, product.Config{Embedder: embedder(t), Feed: tfeed, Cache: &product.CacheConfig{Store: mem}})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.RunCache(t.Context()); err == nil || !strings.Contains(err.Error(), "tenant") {
		t.Errorf("RunCache on a tenanted DB with no tenant to watch: %v, want an error about the tenants", err)
	}
}
