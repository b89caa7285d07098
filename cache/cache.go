package cache

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Loader loads the value of a key that the cache does not hold, with its
// version (see Entry.Version). It returns an error matching Options.NotFound
// (ErrNotFound by default) when there is no value, which GetOrLoad caches as a
// negative entry for Options.NegativeTTL. The context it is given is not the
// caller's: it is not cancelled when the caller gives up, since other callers
// may wait for the same load; it ends Options.FloorTTL/2 after the load
// starts, when the result could no longer be stored.
type Loader[T any] func(ctx context.Context) (value T, version int64, err error)

// Options configures a Cache. Its zero value is ready to use.
type Options struct {
	// TTL is how long a loaded or set value is kept. Default 5 minutes.
	TTL time.Duration
	// NegativeTTL is how long a loader's not-found is kept. Zero (the
	// default) does not cache not-founds.
	NegativeTTL time.Duration
	// NotFound is the sentinel a loader's error matches (errors.Is) to say
	// there is no value. Default ErrNotFound. A cached negative entry is
	// returned as an error wrapping NotFound.
	NotFound error
	// RefreshAhead, between 0 and 1, makes a GetOrLoad hit on an entry with
	// less than RefreshAhead*TTL left serve it and reload it once in the
	// background. Zero (the default) never refreshes ahead.
	RefreshAhead float64
	// FloorTTL is how long an Invalidate's floor lasts in each tier. A load's
	// result is stored only if the load took less than FloorTTL/2, so that
	// no load that read the data before an invalidation can store it after
	// the floor has gone (see the package doc). Default 10 s.
	FloorTTL time.Duration
	// Codec encodes the values. Default JSON.
	Codec Codec
	// Lock, when set, makes GetOrLoad take a Redis lock on a miss, so that
	// processes sharing the Redis server load a key once between them.
	Lock *RedisLock
	// Observer is told of loads, shared loads and lock waits (the tiers tell
	// their own Observer of hits and misses). Default none.
	Observer Observer
	// OnStoreError, when set, keeps a tier's errors (Redis unreachable) from
	// failing GetOrLoad: each is passed to it, a failed look counts as a
	// miss, a failed store or lock is skipped, and the loader's value is
	// returned. When nil, such an error is GetOrLoad's. Get, Set, Delete and
	// Invalidate return their errors either way.
	OnStoreError func(err error)
}

func (o *Options) setDefaults() {
	if o.TTL == 0 {
		o.TTL = 5 * time.Minute
	}
	if o.NotFound == nil {
		o.NotFound = ErrNotFound
	}
	if o.FloorTTL == 0 {
		o.FloorTTL = 10 * time.Second
	}
	if o.Codec == nil {
		o.Codec = JSON{}
	}
	o.Observer = orNop(o.Observer)
}

// Validate reports the first field a Cache cannot work with; zero fields
// count as their defaults.
func (o Options) Validate() error {
	o.setDefaults()
	switch {
	case o.TTL < 0:
		return fmt.Errorf("cache: Options.TTL %v is negative", o.TTL)
	case o.NegativeTTL < 0:
		return fmt.Errorf("cache: Options.NegativeTTL %v is negative", o.NegativeTTL)
	case !(o.RefreshAhead >= 0 && o.RefreshAhead < 1):
		return fmt.Errorf("cache: Options.RefreshAhead %v: want 0 to 1 (excluded)", o.RefreshAhead)
	case o.FloorTTL < 2*time.Millisecond:
		return fmt.Errorf("cache: Options.FloorTTL %v: want at least 2ms", o.FloorTTL)
	}
	return nil
}

// Cache is the typed front of a Store: values of type T, encoded by a Codec,
// under namespaced Keys. It is safe for concurrent use. Close it to wait for
// its background refreshes.
type Cache[T any] struct {
	store Store
	opt   Options
	sf    singleflight.Group
	seed  maphash.Seed
	// gens counts the invalidations of the keys of each stripe: a load
	// stores its result only if its stripe saw none while it ran, and loads
	// started after an invalidation never share a flight with one started
	// before it.
	gens [stripes]atomic.Uint64

	refreshing sync.Map // key -> struct{}: a background refresh runs
	mu         sync.Mutex
	closed     bool
	wg         sync.WaitGroup // background refreshes
}

// NewCache returns a Cache of T on store, or the error of opt.Validate.
func NewCache[T any](store Store, opt Options) (*Cache[T], error) {
	if store == nil {
		return nil, errors.New("cache: NewCache: nil Store")
	}
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	opt.setDefaults()
	return &Cache[T]{store: store, opt: opt, seed: maphash.MakeSeed()}, nil
}

// Store returns the cache's Store.
func (c *Cache[T]) Store() Store { return c.store }

// gen returns the invalidation counter of key's stripe.
func (c *Cache[T]) gen(key string) *atomic.Uint64 {
	return &c.gens[maphash.String(c.seed, key)%stripes]
}

// decode returns e as Get returns it.
func (c *Cache[T]) decode(key string, e Entry) (T, error) {
	var v T
	if e.Negative {
		return v, fmt.Errorf("cache: key %s: %w", quote(key), c.opt.NotFound)
	}
	if err := c.opt.Codec.Unmarshal(e.Value, &v); err != nil {
		return v, fmt.Errorf("cache: key %s: decoding the value: %w", quote(key), err)
	}
	return v, nil
}

// Get returns key's value, an error wrapping ErrMiss if the cache holds none,
// or one wrapping Options.NotFound if it holds a negative entry.
func (c *Cache[T]) Get(ctx context.Context, key Key) (T, error) {
	var zero T
	if key.IsZero() {
		return zero, errNoNamespace
	}
	e, ok, err := c.store.Get(ctx, key.s)
	if err != nil {
		return zero, err
	}
	if !ok {
		return zero, fmt.Errorf("cache: key %s: %w", quote(key.s), ErrMiss)
	}
	return c.decode(key.s, e)
}

// Set stores v under key with its version for ttl (zero: Options.TTL) in
// every tier. It returns an error wrapping ErrStale if a tier knows a newer
// version of key (a stored value or an invalidation's floor) and refused it.
func (c *Cache[T]) Set(ctx context.Context, key Key, v T, version int64, ttl time.Duration) error {
	if key.IsZero() {
		return errNoNamespace
	}
	if ttl == 0 {
		ttl = c.opt.TTL
	}
	b, err := c.opt.Codec.Marshal(v)
	if err != nil {
		return fmt.Errorf("cache: key %s: encoding the value: %w", quote(key.s), err)
	}
	stored, err := c.store.Set(ctx, key.s, Entry{Value: b, Version: version}, ttl)
	if err != nil {
		return err
	}
	if !stored {
		return fmt.Errorf("cache: key %s, version %d: %w", quote(key.s), version, ErrStale)
	}
	return nil
}

// Delete removes the keys from every tier. Unlike Invalidate it leaves no
// floor: a load in flight may store an older value afterwards.
func (c *Cache[T]) Delete(ctx context.Context, keys ...Key) error {
	ks := make([]string, len(keys))
	for i, k := range keys {
		if k.IsZero() {
			return errNoNamespace
		}
		ks[i] = k.s
	}
	return c.store.Delete(ctx, ks...)
}

// Invalidate says that key changed at version (the change's write time, for
// instance): it removes key from every tier and leaves in each a floor, for
// Options.FloorTTL, that refuses any value of key older than version; and a
// load of key in flight in this Cache does not store its result. It is what a
// change-feed handler calls, in every process, for each change.
func (c *Cache[T]) Invalidate(ctx context.Context, key Key, version int64) error {
	if key.IsZero() {
		return errNoNamespace
	}
	c.gen(key.s).Add(1)
	return c.store.Invalidate(ctx, key.s, version, c.opt.FloorTTL)
}

// flightKey is the singleflight key of key's loads under generation gen.
func flightKey(key string, gen uint64) string {
	return strconv.FormatUint(gen, 36) + "\x00" + key
}

// GetOrLoad returns key's value from the cache or, on a miss, from load,
// storing what load returns. Concurrent misses on one key in this Cache make
// one call of load, whose result they all get (and, with Options.Lock, so do
// the misses of other processes on the same Redis server). A not-found from
// load is returned as an error wrapping Options.NotFound, and cached if
// Options.NegativeTTL is set. A hit near expiry may start a background
// refresh (Options.RefreshAhead). If ctx ends first, GetOrLoad returns ctx's
// error, and the load goes on for the other callers.
func (c *Cache[T]) GetOrLoad(ctx context.Context, key Key, load Loader[T]) (T, error) {
	var zero T
	if key.IsZero() {
		return zero, errNoNamespace
	}
	if load == nil {
		return zero, fmt.Errorf("cache: GetOrLoad key %s: nil Loader", quote(key.s))
	}
	ks := key.s
	e, ok, err := c.look(ctx, ks)
	if err != nil {
		return zero, err
	}
	if ok {
		c.maybeRefresh(ctx, ks, e, load)
		return c.decode(ks, e)
	}
	gen := c.gen(ks).Load()
	led := false
	lctx := context.WithoutCancel(ctx)
	ch := c.sf.DoChan(flightKey(ks, gen), func() (any, error) {
		led = true
		return c.fill(lctx, ks, gen, load)
	})
	select {
	case <-ctx.Done():
		return zero, fmt.Errorf("cache: GetOrLoad key %s: %w", quote(ks), ctx.Err())
	case r := <-ch:
		if !led {
			c.opt.Observer.LoadShared()
		}
		if r.Err != nil {
			return zero, r.Err
		}
		return c.decode(ks, r.Val.(Entry))
	}
}

// fill is the shared work of a miss: look again (a flight that ended between
// this caller's miss and its flight may have stored the value), then load,
// under the Redis lock if there is one.
func (c *Cache[T]) fill(ctx context.Context, key string, gen uint64, load Loader[T]) (Entry, error) {
	look := func() (Entry, bool, error) { return c.look(ctx, key) }
	if e, ok, err := look(); err != nil || ok {
		return e, err
	}
	if c.opt.Lock != nil {
		loaded := false
		e, err := c.opt.Lock.run(ctx, key, look, func() (Entry, error) {
			loaded = true
			return c.loadAndStore(ctx, key, gen, load)
		}, c.opt.Observer)
		if err == nil || loaded || c.opt.OnStoreError == nil || ctx.Err() != nil {
			return e, err
		}
		c.opt.OnStoreError(err) // the lock's Redis failed: load without it
	}
	return c.loadAndStore(ctx, key, gen, load)
}

// look is the store's Get, its error turned into a miss by OnStoreError.
func (c *Cache[T]) look(ctx context.Context, key string) (Entry, bool, error) {
	e, ok, err := c.store.Get(ctx, key)
	if err != nil && c.opt.OnStoreError != nil {
		c.opt.OnStoreError(err)
		return Entry{}, false, nil
	}
	return e, ok, err
}

// loadAndStore calls load and stores its result, unless the load took
// FloorTTL/2 or more or an invalidation of key's stripe arrived meanwhile.
func (c *Cache[T]) loadAndStore(ctx context.Context, key string, gen uint64, load Loader[T]) (Entry, error) {
	start := time.Now()
	lctx, cancel := context.WithTimeout(ctx, c.opt.FloorTTL/2)
	v, version, err := load(lctx)
	cancel()
	took := time.Since(start)
	e, ttl := Entry{Version: version}, c.opt.TTL
	switch {
	case err == nil:
		c.opt.Observer.Load(took, LoadOK)
		if e.Value, err = c.opt.Codec.Marshal(v); err != nil {
			return Entry{}, fmt.Errorf("cache: key %s: encoding the value: %w", quote(key), err)
		}
	case errors.Is(err, c.opt.NotFound):
		c.opt.Observer.Load(took, LoadNotFound)
		e.Negative, ttl = true, c.opt.NegativeTTL
	default:
		c.opt.Observer.Load(took, LoadError)
		return Entry{}, fmt.Errorf("cache: loading key %s: %w", quote(key), err)
	}
	if ttl > 0 && time.Since(start) < c.opt.FloorTTL/2 && c.gen(key).Load() == gen {
		if _, err := c.store.Set(ctx, key, e, ttl); err != nil {
			if c.opt.OnStoreError == nil {
				return Entry{}, err
			}
			c.opt.OnStoreError(err)
		}
	}
	return e, nil
}

// maybeRefresh starts a background reload of key if e is in the last
// RefreshAhead of the TTL and none runs.
func (c *Cache[T]) maybeRefresh(ctx context.Context, key string, e Entry, load Loader[T]) {
	if c.opt.RefreshAhead == 0 || e.Negative || time.Until(e.Expires) > time.Duration(float64(c.opt.TTL)*c.opt.RefreshAhead) {
		return
	}
	if _, busy := c.refreshing.LoadOrStore(key, struct{}{}); busy {
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.refreshing.Delete(key)
		return
	}
	c.wg.Add(1)
	c.mu.Unlock()
	gen := c.gen(key).Load()
	lctx := context.WithoutCancel(ctx)
	go func() {
		defer c.wg.Done()
		defer c.refreshing.Delete(key)
		// A refresh shares the flight of a concurrent miss; its error, like
		// a failed refresh's, leaves the entry to expire as it would have.
		_, _, _ = c.sf.Do(flightKey(key, gen), func() (any, error) { return c.loadAndStore(lctx, key, gen, load) })
	}()
}

// Close stops new background refreshes and waits for the running ones. The
// Cache still serves Get, Set and GetOrLoad afterwards. It does not close the
// Store.
func (c *Cache[T]) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.wg.Wait()
}
