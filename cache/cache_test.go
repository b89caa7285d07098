package cache_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cassandraorm/cassandraorm-go/cache"
	"github.com/cassandraorm/cassandraorm-go/retry"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// newCache returns a Cache of T on store.
func newCache[T any](t testing.TB, store cache.Store, opt cache.Options) *cache.Cache[T] {
	t.Helper()
	c, err := cache.NewCache[T](store, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestGetSetInvalidate(t *testing.T) {
	ctx := t.Context()
	c := newCache[map[string]int](t, newTiered(t, newMemory(t, cache.MemoryConfig{}), newRedis(t, nil)), cache.Options{})
	k := key(t, "acme", "product", "42")
	if _, err := c.Get(ctx, k); !errors.Is(err, cache.ErrMiss) {
		t.Fatalf("Get of an empty cache: %v, want ErrMiss", err)
	}
	if err := c.Set(ctx, k, map[string]int{"stock": 3}, 10, 0); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, k); err != nil || v["stock"] != 3 {
		t.Fatalf("Get = %v, %v; want stock 3", v, err)
	}
	if err := c.Set(ctx, k, map[string]int{"stock": 2}, 9, 0); !errors.Is(err, cache.ErrStale) {
		t.Fatalf("Set of an older version: %v, want ErrStale", err)
	}
	if err := c.Invalidate(ctx, k, 11); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, k); !errors.Is(err, cache.ErrMiss) {
		t.Fatalf("Get after Invalidate: %v, want ErrMiss", err)
	}
	if err := c.Set(ctx, k, map[string]int{"stock": 3}, 10, 0); !errors.Is(err, cache.ErrStale) {
		t.Fatalf("Set below the floor: %v, want ErrStale", err)
	}
	if err := c.Set(ctx, k, map[string]int{"stock": 1}, 11, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, k); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, k); !errors.Is(err, cache.ErrMiss) {
		t.Fatalf("Get after Delete: %v, want ErrMiss", err)
	}
}

// 1,000 goroutines miss one key at once: one load, whose value all get.
func TestStampede(t *testing.T) {
	obs := newCounts()
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) cache.Store
	}{
		{"memory", func(t *testing.T) cache.Store { return newMemory(t, cache.MemoryConfig{}) }},
		{"tiered", func(t *testing.T) cache.Store {
			return newTiered(t, newMemory(t, cache.MemoryConfig{}), newRedis(t, nil))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCache[string](t, tc.store(t), cache.Options{Observer: obs})
			k := key(t, "acme", "product", tc.name)
			var loads atomic.Int64
			load := func(context.Context) (string, int64, error) {
				loads.Add(1)
				return "value", 1, nil
			}
			start := make(chan struct{})
			var wg sync.WaitGroup
			errs := make(chan error, 1000)
			for range 1000 {
				wg.Go(func() {
					<-start
					v, err := c.GetOrLoad(t.Context(), k, load)
					if err == nil && v != "value" {
						err = fmt.Errorf("GetOrLoad = %q", v)
					}
					if err != nil {
						errs <- err
					}
				})
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if n := loads.Load(); n != 1 {
				t.Fatalf("%d loads, want 1", n)
			}
		})
	}
	t.Logf("loads %d, shared %d", obs.get("load"), obs.get("shared"))
}

// stampedeEnv names the Redis key prefix a helper process of
// TestStampedeAcrossProcesses works under.
const stampedeEnv = "CACHE_TEST_STAMPEDE_PREFIX"

// TestStampedeAcrossProcesses runs hammer in this process and in a second
// one (this test binary run again): with the Redis lock, the two make one
// load between them, counted in Redis.
func TestStampedeAcrossProcesses(t *testing.T) {
	p := redisPrefix(t)
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestStampedeHelper$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), stampedeEnv+"="+p)
	done := make(chan error, 1)
	var out []byte
	go func() {
		var err error
		out, err = cmd.CombinedOutput()
		done <- err
	}()
	hammer(t, p)
	if err := <-done; err != nil {
		t.Fatalf("helper process: %v\n%s", err, out)
	}
	n, err := env.Redis(t).Get(t.Context(), p+"loads").Int()
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d loads across the two processes, want 1\nhelper:\n%s", n, out)
	}
	i := strings.Index(string(out), "hammer: 200 hits of value")
	if i < 0 {
		t.Fatalf("the helper did not report its results:\n%s", out)
	}
	t.Logf("helper process: %s", strings.SplitN(string(out[i:]), "\n", 2)[0])
}

// TestStampedeHelper is the second process of TestStampedeAcrossProcesses.
func TestStampedeHelper(t *testing.T) {
	p := os.Getenv(stampedeEnv)
	if p == "" {
		t.Skip("runs as TestStampedeAcrossProcesses's helper process")
	}
	hammer(t, p)
}

// hammer waits for the other process, then makes 200 concurrent GetOrLoads of
// one key on a cache of its own (its own memory tier) over the Redis prefix
// p, with the Redis lock; the loader counts its calls in Redis.
func hammer(t *testing.T, p string) {
	ctx := t.Context()
	rdb := env.Redis(t)
	lock, err := cache.NewRedisLock(cache.LockConfig{Client: rdb, Prefix: p + "lock:"})
	if err != nil {
		t.Fatal(err)
	}
	obs := newCounts()
	missed := &firstMiss{tier: "redis", f: func() { rdb.Incr(context.Background(), p+"missed") }}
	c := newCache[string](t, newTiered(t, newMemory(t, cache.MemoryConfig{}), newRedisAt(t, p, missed)), cache.Options{Lock: lock, Observer: obs})
	k := key(t, "acme", "product", "hot")
	if err := rdb.Incr(ctx, p+"ready").Err(); err != nil {
		t.Fatal(err)
	}
	testenv.WaitUntil(t, time.Minute, "both processes ready", func() bool {
		n, err := rdb.Get(ctx, p+"ready").Int()
		return err == nil && n >= 2
	})
	// The load returns only once both processes have missed the key in
	// Redis, so that the other one meets the lock and waits.
	errNotYet := errors.New("the other process has not missed yet")
	load := func(ctx context.Context) (string, int64, error) {
		if err := rdb.Incr(ctx, p+"loads").Err(); err != nil {
			return "", 0, err
		}
		err := retry.Do(ctx, retry.Policy{If: retry.On(errNotYet), MaxAttempts: 3000, Backoff: retry.Backoff{Initial: time.Millisecond, Max: 20 * time.Millisecond}},
			func(ctx context.Context, _ int) error {
				if n, err := rdb.Get(ctx, p+"missed").Int(); err != nil || n < 2 {
					return errors.Join(errNotYet, err)
				}
				return nil
			})
		return "value", 1, err
	}
	var wg sync.WaitGroup
	var hits atomic.Int64
	errs := make(chan error, 200)
	for range 200 {
		wg.Go(func() {
			v, err := c.GetOrLoad(ctx, k, load)
			switch {
			case err != nil:
				errs <- err
			case v != "value":
				errs <- fmt.Errorf("GetOrLoad = %q", v)
			default:
				hits.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("hammer: %d hits of value; in this process %d loads, %d shared, %d lock waits", hits.Load(), obs.get("load"), obs.get("shared"), obs.get("lockwait"))
}

// firstMiss is an Observer that calls f at the first miss in tier.
type firstMiss struct {
	cache.NopObserver
	tier string
	once sync.Once
	f    func()
}

func (o *firstMiss) Miss(tier string) {
	if tier == o.tier {
		o.once.Do(o.f)
	}
}

// row is a database row of the two-tier trap: a value and its write time.
type row struct {
	mu      sync.Mutex
	value   string
	version int64
}

func (r *row) write(v string, version int64) {
	r.mu.Lock()
	r.value, r.version = v, version
	r.mu.Unlock()
}

func (r *row) read() (string, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.value, r.version
}

// The two-tier trap: processes A and B (two Caches: memory tiers of their
// own, one Redis) cache v1; B starts a slow load that reads v1; the row is
// written (v2) and invalidated; then B's load returns v1. No later Get in A or
// B returns v1, whether the invalidation reached both processes or only A
// (B's change-feed delivery late).
func TestTwoTierTrap(t *testing.T) {
	for _, both := range []bool{true, false} {
		t.Run(fmt.Sprintf("invalidated in both %v", both), func(t *testing.T) {
			ctx := t.Context()
			p := redisPrefix(t)
			obs := newCounts()
			memA, memB := newMemory(t, cache.MemoryConfig{Observer: obs}), newMemory(t, cache.MemoryConfig{Observer: obs})
			rA, rB := newRedisAt(t, p, obs), newRedisAt(t, p, obs)
			a := newCache[string](t, newTiered(t, memA, rA), cache.Options{})
			b := newCache[string](t, newTiered(t, memB, rB), cache.Options{})
			k := key(t, "acme", "product", "trap")
			db := &row{value: "v1", version: 1}
			fast := func(context.Context) (string, int64, error) { v, ver := db.read(); return v, ver, nil }

			if v, err := a.GetOrLoad(ctx, k, fast); err != nil || v != "v1" {
				t.Fatalf("A: %q, %v", v, err)
			}
			if v, err := b.GetOrLoad(ctx, k, fast); err != nil || v != "v1" {
				t.Fatalf("B: %q, %v", v, err)
			}
			if obs.get("hit memory") != 0 || obs.get("hit redis") != 1 {
				t.Fatalf("B did not take v1 from Redis: %v", obs.n)
			}
			// B's copies go (evicted from its memory, expired in Redis), and B
			// starts a load that reads v1 and is slow to return.
			if err := memB.Delete(ctx, k.String()); err != nil {
				t.Fatal(err)
			}
			if err := rB.Delete(ctx, k.String()); err != nil {
				t.Fatal(err)
			}
			read, release := make(chan struct{}), make(chan struct{})
			slow := func(context.Context) (string, int64, error) {
				v, ver := db.read()
				close(read)
				<-release
				return v, ver, nil
			}
			inFlight := make(chan string, 1)
			go func() {
				v, err := b.GetOrLoad(ctx, k, slow)
				if err != nil {
					v = err.Error()
				}
				inFlight <- v
			}()
			<-read
			// The write, and the change feed's invalidations.
			db.write("v2", 2)
			if err := a.Invalidate(ctx, k, 2); err != nil {
				t.Fatal(err)
			}
			if both {
				if err := b.Invalidate(ctx, k, 2); err != nil {
					t.Fatal(err)
				}
			}
			close(release)
			if v := <-inFlight; v != "v1" {
				t.Fatalf("B's load in flight returned %q, want v1 (it read before the write)", v)
			}
			if e, ok, err := rA.Get(ctx, k.String()); err != nil || ok {
				t.Fatalf("Redis holds %q (version %d) after B's late load, %v; want nothing", e.Value, e.Version, err)
			}
			if obs.get("stale redis") != 1 && !both {
				t.Errorf("stale drops in redis %d, want 1 (B's late load refused)", obs.get("stale redis"))
			}
			for i := range 20 {
				for name, c := range map[string]*cache.Cache[string]{"A": a, "B": b} {
					v, err := c.GetOrLoad(ctx, k, fast)
					if err != nil || v != "v2" {
						t.Fatalf("round %d: %s.GetOrLoad = %q, %v; want v2", i, name, v, err)
					}
					if v, err := c.Get(ctx, k); err != nil || v != "v2" {
						t.Fatalf("round %d: %s.Get = %q, %v; want v2", i, name, v, err)
					}
				}
			}
		})
	}
}

// A load in flight when an invalidation arrives in the same Cache does not
// store its result, and a GetOrLoad that starts after the invalidation does
// not share that load.
func TestInvalidateDuringLoad(t *testing.T) {
	ctx := t.Context()
	c := newCache[string](t, newMemory(t, cache.MemoryConfig{}), cache.Options{})
	k := key(t, "acme", "product", "1")
	read, release := make(chan struct{}), make(chan struct{})
	var loads atomic.Int64
	slow := func(context.Context) (string, int64, error) {
		loads.Add(1)
		close(read)
		<-release
		return "old", 0, nil // a loader without versions: the generation saves it
	}
	first := make(chan string, 1)
	go func() { v, _ := c.GetOrLoad(ctx, k, slow); first <- v }()
	<-read
	if err := c.Invalidate(ctx, k, 0); err != nil {
		t.Fatal(err)
	}
	v, err := c.GetOrLoad(ctx, k, func(context.Context) (string, int64, error) { loads.Add(1); return "new", 0, nil })
	if err != nil || v != "new" {
		t.Fatalf("GetOrLoad after the invalidation = %q, %v; want new, not the old load's", v, err)
	}
	close(release)
	if v := <-first; v != "old" {
		t.Fatalf("the load in flight returned %q", v)
	}
	if v, err := c.Get(ctx, k); err != nil || v != "new" {
		t.Fatalf("Get = %q, %v; want new", v, err)
	}
	if n := loads.Load(); n != 2 {
		t.Fatalf("%d loads, want 2", n)
	}
}

var errNoRow = errors.New("no such row")

func TestNegativeCaching(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name     string
		opt      cache.Options
		err      error // the loader's not-found
		wantIs   error
		negative bool // cached
	}{
		{"default sentinel", cache.Options{NegativeTTL: time.Minute}, cache.ErrNotFound, cache.ErrNotFound, true},
		{"own sentinel", cache.Options{NegativeTTL: time.Minute, NotFound: errNoRow}, fmt.Errorf("product 7: %w", errNoRow), errNoRow, true},
		{"not cached without NegativeTTL", cache.Options{}, cache.ErrNotFound, cache.ErrNotFound, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCache[string](t, newTiered(t, newMemory(t, cache.MemoryConfig{}), newRedis(t, nil)), tc.opt)
			k := key(t, "acme", "product", "7")
			var loads atomic.Int64
			missing := func(context.Context) (string, int64, error) { loads.Add(1); return "", 5, tc.err }
			for range 3 {
				if _, err := c.GetOrLoad(ctx, k, missing); !errors.Is(err, tc.wantIs) {
					t.Fatalf("GetOrLoad: %v, want %v", err, tc.wantIs)
				}
			}
			want := int64(3)
			if tc.negative {
				want = 1
				if _, err := c.Get(ctx, k); !errors.Is(err, tc.wantIs) {
					t.Fatalf("Get: %v, want %v", err, tc.wantIs)
				}
			}
			if n := loads.Load(); n != want {
				t.Fatalf("%d loads, want %d", n, want)
			}
			// The row is created: its change invalidates the negative entry.
			if err := c.Invalidate(ctx, k, 6); err != nil {
				t.Fatal(err)
			}
			found := func(context.Context) (string, int64, error) { return "created", 6, nil }
			if v, err := c.GetOrLoad(ctx, k, found); err != nil || v != "created" {
				t.Fatalf("GetOrLoad after the invalidation = %q, %v", v, err)
			}
		})
	}
}

func TestNegativeTTLExpires(t *testing.T) {
	c := newCache[string](t, newMemory(t, cache.MemoryConfig{}), cache.Options{NegativeTTL: 50 * time.Millisecond})
	k := key(t, "acme", "product", "8")
	var loads atomic.Int64
	missing := func(context.Context) (string, int64, error) { loads.Add(1); return "", 0, cache.ErrNotFound }
	testenv.WaitUntil(t, 30*time.Second, "a second load after the negative entry expired", func() bool {
		_, err := c.GetOrLoad(t.Context(), k, missing)
		return errors.Is(err, cache.ErrNotFound) && loads.Load() == 2
	})
}

// A hit in the last half of the TTL serves the value and reloads it once in
// the background.
func TestRefreshAhead(t *testing.T) {
	ctx := t.Context()
	obs := newCounts()
	c := newCache[string](t, newMemory(t, cache.MemoryConfig{}), cache.Options{TTL: time.Hour, RefreshAhead: 0.5, Observer: obs})
	k := key(t, "acme", "product", "9")
	// A minute left of an hour's TTL: in the refresh window.
	if err := c.Set(ctx, k, "old", 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var loads atomic.Int64
	load := func(context.Context) (string, int64, error) {
		loads.Add(1)
		<-release
		return "new", 2, nil
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if v, err := c.GetOrLoad(ctx, k, load); err != nil || v != "old" {
				t.Errorf("GetOrLoad during the refresh = %q, %v; want old, served at once", v, err)
			}
		})
	}
	wg.Wait()
	close(release)
	c.Close() // waits for the background refresh
	if n := loads.Load(); n != 1 {
		t.Fatalf("%d background loads, want 1", n)
	}
	if v, err := c.GetOrLoad(ctx, k, load); err != nil || v != "new" {
		t.Fatalf("GetOrLoad after the refresh = %q, %v; want new", v, err)
	}
	if n := loads.Load(); n != 1 {
		t.Fatalf("%d loads after the refresh, want still 1 (the new entry has its whole TTL)", n)
	}
}

// Far more entries than MaxSize: the tier stays bounded and counts its
// evictions.
func TestBoundedMemory(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name    string
		cfg     cache.MemoryConfig
		maxLen  int
		entries int
	}{
		{"by entries", cache.MemoryConfig{MaxSize: 100}, 100, 10_000},
		// A 1 KiB value weighs 1,024 + 64 bytes and its key: at most 60 fit in 64 KiB.
		{"by bytes", cache.MemoryConfig{MaxBytes: 64 << 10}, 60, 2_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obs := newCounts()
			tc.cfg.Observer = obs
			m := newMemory(t, tc.cfg)
			val := make([]byte, 1024)
			for i := range tc.entries {
				if ok, err := m.Set(ctx, strconv.Itoa(i), cache.Entry{Value: val, Version: 1}, time.Hour); err != nil || !ok {
					t.Fatalf("Set %d = %v, %v", i, ok, err)
				}
			}
			least := int64(tc.entries - tc.maxLen)
			testenv.WaitFor(t, 30*time.Second, func() error {
				m.CleanUp()
				if n, ev, seen := m.Len(), m.Evictions(), int64(obs.get("eviction memory")); n > tc.maxLen || ev < least || seen != ev {
					return fmt.Errorf("%d entries (want at most %d), %d evictions (want at least %d), %d told to the observer", n, tc.maxLen, ev, least, seen)
				}
				return nil
			})
			t.Logf("%d entries set, %d kept, %d evicted", tc.entries, m.Len(), m.Evictions())
		})
	}
}

// A hit in Redis fills the memory tier with the time the entry has left; a
// copy that the memory tier's floor refuses is a stale drop and a miss.
func TestTieredRefill(t *testing.T) {
	ctx := t.Context()
	obs := newCounts()
	mem, rd := newMemory(t, cache.MemoryConfig{Observer: obs}), newRedis(t, obs)
	s := newTiered(t, mem, rd)
	if ok, err := rd.Set(ctx, "k", cache.Entry{Value: []byte("v1"), Version: 1}, time.Minute); err != nil || !ok {
		t.Fatal(ok, err)
	}
	e, ok, err := s.Get(ctx, "k")
	if err != nil || !ok || string(e.Value) != "v1" {
		t.Fatalf("Get = %+v, %v, %v", e, ok, err)
	}
	m, ok, _ := mem.Get(ctx, "k")
	if !ok || m.Version != 1 || m.Expires.After(e.Expires.Add(time.Millisecond)) {
		t.Fatalf("memory tier after the refill: %+v, %v; want version 1 expiring by %v", m, ok, e.Expires)
	}
	// An invalidation that reached the memory tier but not Redis.
	if err := mem.Invalidate(ctx, "k", 2, time.Minute); err != nil {
		t.Fatal(err)
	}
	if e, ok, err := s.Get(ctx, "k"); err != nil || ok {
		t.Fatalf("Get = %+v, %v, %v; want a miss: Redis's copy is older than the floor", e, ok, err)
	}
	if n := obs.get("stale memory"); n != 1 {
		t.Fatalf("%d stale drops in memory, want 1", n)
	}
}

// With the lock, a waiter whose holder vanished (its lock left to expire)
// loads by itself once the lock expires.
func TestLockHolderGone(t *testing.T) {
	ctx := t.Context()
	p := redisPrefix(t)
	rdb := env.Redis(t)
	lock, err := cache.NewRedisLock(cache.LockConfig{Client: rdb, Prefix: p + "lock:", TTL: 200 * time.Millisecond,
		Poll: retry.Backoff{Initial: time.Millisecond, Max: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	c := newCache[string](t, newRedisAt(t, p, nil), cache.Options{Lock: lock})
	k := key(t, "acme", "product", "gone")
	// A crashed holder: its lock, and no value.
	if err := rdb.Set(ctx, p+"lock:"+k.String(), "crashed-holder", 200*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	v, err := c.GetOrLoad(ctx, k, func(context.Context) (string, int64, error) { return "mine", 1, nil })
	if err != nil || v != "mine" {
		t.Fatalf("GetOrLoad = %q, %v", v, err)
	}
	if n, err := rdb.Exists(ctx, p+"lock:"+k.String()).Result(); err != nil || n != 0 {
		t.Fatalf("lock left behind: %d, %v", n, err)
	}
}

// With OnStoreError, an unreachable Redis makes GetOrLoad load, not fail;
// without it, GetOrLoad returns the tier's error.
func TestStoreErrors(t *testing.T) {
	ctx := t.Context()
	// Nothing listens on port 1: every command fails at once, without retries.
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = dead.Close() })
	rd, err := cache.NewRedis(cache.RedisConfig{Client: dead})
	if err != nil {
		t.Fatal(err)
	}
	lock, err := cache.NewRedisLock(cache.LockConfig{Client: dead})
	if err != nil {
		t.Fatal(err)
	}
	k := key(t, "acme", "product", "down")
	load := func(context.Context) (string, int64, error) { return "from the loader", 1, nil }
	strict := newCache[string](t, newTiered(t, newMemory(t, cache.MemoryConfig{}), rd), cache.Options{})
	if _, err := strict.GetOrLoad(ctx, k, load); err == nil || !strings.Contains(err.Error(), "redis") {
		t.Fatalf("GetOrLoad with Redis down = %v, want the redis tier's error", err)
	}
	var seen atomic.Int64
	for _, opt := range []cache.Options{
		{OnStoreError: func(error) { seen.Add(1) }},
		{OnStoreError: func(error) { seen.Add(1) }, Lock: lock},
	} {
		seen.Store(0)
		lenient := newCache[string](t, newTiered(t, newMemory(t, cache.MemoryConfig{}), rd), opt)
		if v, err := lenient.GetOrLoad(ctx, k, load); err != nil || v != "from the loader" {
			t.Fatalf("GetOrLoad with OnStoreError (lock %v) = %q, %v", opt.Lock != nil, v, err)
		}
		if seen.Load() == 0 {
			t.Fatalf("OnStoreError (lock %v) was not called", opt.Lock != nil)
		}
	}
}

// A loader's context is not the caller's: it outlives a caller that gives up,
// and ends FloorTTL/2 after the load starts.
func TestLoaderContext(t *testing.T) {
	c := newCache[string](t, newMemory(t, cache.MemoryConfig{}), cache.Options{FloorTTL: 200 * time.Millisecond})
	k := key(t, "acme", "product", "ctx")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var deadline time.Duration
	v, err := c.GetOrLoad(t.Context(), k, func(lctx context.Context) (string, int64, error) {
		d, ok := lctx.Deadline()
		if !ok {
			return "", 0, errors.New("the loader's context has no deadline")
		}
		deadline = time.Until(d)
		<-lctx.Done()
		return "", 0, lctx.Err()
	})
	if !errors.Is(err, context.DeadlineExceeded) || v != "" {
		t.Fatalf("GetOrLoad of a loader that waits for its context = %q, %v; want DeadlineExceeded", v, err)
	}
	if deadline > 100*time.Millisecond {
		t.Fatalf("the loader's deadline was %v away, want at most FloorTTL/2 = 100ms", deadline)
	}
	// A caller that gives up gets its context's error; the load goes on and
	// stores the value for the next caller.
	release := make(chan struct{})
	started := make(chan struct{})
	go func() {
		<-started
		cancel()
	}()
	_, err = c.GetOrLoad(ctx, k, func(context.Context) (string, int64, error) {
		close(started)
		<-release
		return "v", 1, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("GetOrLoad whose caller gave up: %v, want context.Canceled", err)
	}
	close(release)
	testenv.WaitFor(t, 30*time.Second, func() error {
		if v, err := c.Get(t.Context(), k); err != nil || v != "v" {
			return fmt.Errorf("Get = %q, %v; want the abandoned load's value", v, err)
		}
		return nil
	})
}
