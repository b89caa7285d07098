package cacheprom_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cassandraorm/cassandraorm-go/cache"
	"github.com/cassandraorm/cassandraorm-go/cache/cacheprom"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("cacheprom_test")

func TestMain(m *testing.M) { env.Main(m) }

// scrape returns the exposition text of srv's /metrics.
func scrape(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/metrics: %d, %v", srv.URL, resp.StatusCode, err)
	}
	return string(b)
}

// missing returns the lines of want that text lacks.
func missing(text string, want []string) []string {
	have := map[string]bool{}
	for _, l := range strings.Split(text, "\n") {
		have[l] = true
	}
	var out []string
	for _, w := range want {
		if !have[w] {
			out = append(out, w)
		}
	}
	return out
}

// Known operations on a memory+Redis stack, then the scraped numbers.
func TestScrape(t *testing.T) {
	ctx := t.Context()
	reg := prometheus.NewRegistry()
	obs, err := cacheprom.New(reg, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cacheprom.New(reg, "test"); err == nil {
		t.Fatal("registering the metrics twice: no error")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "cacheprom_test:" + hex.EncodeToString(b[:]) + ":"
	stack, err := cache.New(cache.Config{Observer: obs, Stores: []cache.StoreConfig{
		{Name: "memory", Type: "memory", MaxSize: 10},
		{Name: "redis", Type: "redis", Client: env.Redis(t), Prefix: prefix},
	}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.NewCache[string](stack, cache.Options{Observer: obs, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	k1, _ := cache.NewKey("acme", "product", "1")
	k2, _ := cache.NewKey("acme", "product", "2")
	t.Cleanup(func() { _ = stack.Delete(context.Background(), k1.String(), k2.String()) })

	// A miss in both tiers (twice: before the load and in it), one load.
	if _, err := c.GetOrLoad(ctx, k1, func(context.Context) (string, int64, error) { return "v", 1, nil }); err != nil {
		t.Fatal(err)
	}
	// A memory hit.
	if _, err := c.GetOrLoad(ctx, k1, nil); err == nil {
		t.Fatal("GetOrLoad with a nil loader: no error")
	}
	if v, err := c.Get(ctx, k1); err != nil || v != "v" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	// A value below an invalidation's floor: Redis refuses it.
	if err := c.Invalidate(ctx, k1, 10); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, k1, "old", 5, 0); !errors.Is(err, cache.ErrStale) {
		t.Fatalf("Set below the floor: %v", err)
	}
	// A not-found: two misses in each tier, one load.
	if _, err := c.GetOrLoad(ctx, k2, func(context.Context) (string, int64, error) { return "", 0, cache.ErrNotFound }); !errors.Is(err, cache.ErrNotFound) {
		t.Fatal(err)
	}
	// 30 entries in a memory tier of 10: 20 evictions.
	mem := stack.Tiers()[0]
	for i := range 30 {
		if _, err := mem.Set(ctx, fmt.Sprint("e", i), cache.Entry{Value: []byte("x")}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}

	// Two reads that a cached model sent to the database.
	obs.Bypass()
	obs.Bypass()

	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	want := []string{
		`test_cache_hits_total{tier="memory"} 1`,
		`test_cache_misses_total{tier="memory"} 4`,
		`test_cache_misses_total{tier="redis"} 4`,
		`test_cache_stale_drops_total{tier="redis"} 1`,
		`test_cache_load_seconds_count{outcome="ok"} 1`,
		`test_cache_load_seconds_count{outcome="not_found"} 1`,
		`test_cache_loads_shared_total 0`,
		`test_cache_lock_wait_seconds_count 0`,
		`test_cache_bypasses_total 2`,
		`test_cache_evictions_total{tier="memory"} 20`,
	}
	testenv.WaitFor(t, 30*time.Second, func() error {
		mem.(*cache.Memory).CleanUp() // evictions are told asynchronously
		if m := missing(scrape(t, srv), want); len(m) > 0 {
			return fmt.Errorf("the scrape lacks %q", m)
		}
		return nil
	})
	if text := scrape(t, srv); strings.Contains(text, `test_cache_hits_total{tier="redis"}`) {
		t.Errorf("a Redis hit was counted:\n%s", text)
	}
}

func TestNewNilRegisterer(t *testing.T) {
	if _, err := cacheprom.New(nil, "x"); err == nil {
		t.Fatal("no error")
	}
}
