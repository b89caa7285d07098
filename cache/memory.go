package cache

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
)

// MemoryConfig configures a Memory tier. Its zero value is ready to use.
type MemoryConfig struct {
	// Name names the tier in metrics and errors. Default "memory".
	Name string
	// MaxSize is the most entries kept; the least useful ones (otter's
	// policy) are evicted beyond it. Default 10,000, unless MaxBytes is set.
	MaxSize int
	// MaxBytes, instead of MaxSize, bounds the entries' weight: the bytes of
	// their keys and values plus 64 bytes each.
	MaxBytes uint64
	// MaxTTL, when set, caps the time an entry stays in memory, whatever the
	// ttl it was set with. It bounds how long a process that missed an
	// invalidation can serve the old value from memory.
	MaxTTL time.Duration
	// Observer is told of hits, misses, stale drops and evictions. Default none.
	Observer Observer
}

func (c *MemoryConfig) setDefaults() {
	if c.Name == "" {
		c.Name = "memory"
	}
	if c.MaxSize == 0 && c.MaxBytes == 0 {
		c.MaxSize = 10_000
	}
	c.Observer = orNop(c.Observer)
}

// Validate reports the first field a Memory tier cannot work with; zero
// fields count as their defaults.
func (c MemoryConfig) Validate() error {
	c.setDefaults()
	switch {
	case c.MaxSize < 0:
		return fmt.Errorf("cache: MemoryConfig %s: MaxSize %d is negative", c.Name, c.MaxSize)
	case c.MaxSize > 0 && c.MaxBytes > 0:
		return fmt.Errorf("cache: MemoryConfig %s: MaxSize %d and MaxBytes %d: set one bound, not both", c.Name, c.MaxSize, c.MaxBytes)
	case c.MaxTTL < 0:
		return fmt.Errorf("cache: MemoryConfig %s: MaxTTL %v is negative", c.Name, c.MaxTTL)
	}
	return nil
}

// entryOverhead is what MaxBytes counts for an entry beside its key and value.
const entryOverhead = 64

// stripes is the number of locks that make Set and Invalidate of one key
// atomic with respect to each other.
const stripes = 64

// floor is an invalidation's lower bound on a key's versions.
type floor struct {
	version int64
	expires time.Time
}

// Memory is an in-process Store on otter, bounded by entries or bytes, with
// per-entry expiry. Gets take no lock. It is safe for concurrent use.
type Memory struct {
	cfg       MemoryConfig
	entries   *otter.Cache[string, Entry]
	floors    *otter.Cache[string, floor] // unbounded in number: each lives a floor TTL
	seed      maphash.Seed
	locks     [stripes]sync.Mutex
	evictions atomic.Int64
}

// NewMemory returns a Memory tier, or the error of cfg.Validate.
func NewMemory(cfg MemoryConfig) (*Memory, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	m := &Memory{cfg: cfg, seed: maphash.MakeSeed()}
	opts := &otter.Options[string, Entry]{
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, Entry]) time.Duration {
			return time.Until(e.Value.Expires)
		}),
		OnDeletion: func(e otter.DeletionEvent[string, Entry]) {
			if e.Cause == otter.CauseOverflow {
				m.evictions.Add(1)
				m.cfg.Observer.Eviction(m.cfg.Name)
			}
		},
	}
	if cfg.MaxBytes > 0 {
		opts.MaximumWeight = cfg.MaxBytes
		opts.Weigher = func(k string, e Entry) uint32 {
			return uint32(min(uint64(len(k))+uint64(len(e.Value))+entryOverhead, math.MaxUint32))
		}
	} else {
		opts.MaximumSize = cfg.MaxSize
	}
	var err error
	if m.entries, err = otter.New(opts); err != nil {
		return nil, fmt.Errorf("cache: memory tier %s: %w", cfg.Name, err)
	}
	m.floors, err = otter.New(&otter.Options[string, floor]{
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, floor]) time.Duration {
			return time.Until(e.Value.expires)
		}),
	})
	if err != nil {
		return nil, fmt.Errorf("cache: memory tier %s floors: %w", cfg.Name, err)
	}
	return m, nil
}

// Name is the configured name.
func (m *Memory) Name() string { return m.cfg.Name }

// Get returns key's entry, whose Value the caller must not modify.
func (m *Memory) Get(_ context.Context, key string) (Entry, bool, error) {
	// otter does not return an expired entry: no clock read here.
	e, ok := m.entries.GetIfPresent(key)
	if !ok {
		m.cfg.Observer.Miss(m.cfg.Name)
		return Entry{}, false, nil
	}
	m.cfg.Observer.Hit(m.cfg.Name)
	return e, true, nil
}

// lock returns the lock of key's stripe.
func (m *Memory) lock(key string) *sync.Mutex {
	return &m.locks[maphash.String(m.seed, key)%stripes]
}

// Set stores a copy of e under key for ttl (capped by MaxTTL), unless the
// key's floor or stored entry is newer.
func (m *Memory) Set(_ context.Context, key string, e Entry, ttl time.Duration) (bool, error) {
	if err := checkTTL(m.cfg.Name, key, ttl); err != nil {
		return false, err
	}
	if m.cfg.MaxTTL > 0 {
		ttl = min(ttl, m.cfg.MaxTTL)
	}
	mu := m.lock(key)
	mu.Lock()
	defer mu.Unlock()
	now := time.Now()
	if f, ok := m.floors.GetIfPresent(key); ok && now.Before(f.expires) && e.Version < f.version {
		m.cfg.Observer.StaleDrop(m.cfg.Name)
		return false, nil
	}
	if cur, ok := m.entries.GetIfPresent(key); ok && now.Before(cur.Expires) && cur.Version > e.Version {
		m.cfg.Observer.StaleDrop(m.cfg.Name)
		return false, nil
	}
	e.Value = slices.Clone(e.Value)
	e.Expires = now.Add(ttl)
	m.entries.Set(key, e)
	return true, nil
}

// Delete removes the keys' entries.
func (m *Memory) Delete(_ context.Context, keys ...string) error {
	for _, k := range keys {
		m.entries.Invalidate(k)
	}
	return nil
}

// Invalidate removes key's entry and raises its floor to version.
func (m *Memory) Invalidate(_ context.Context, key string, version int64, floorTTL time.Duration) error {
	if floorTTL <= 0 {
		return errors.New("cache: " + m.cfg.Name + ": key " + quote(key) + ": floor ttl " + floorTTL.String() + " is not positive")
	}
	mu := m.lock(key)
	mu.Lock()
	defer mu.Unlock()
	now := time.Now()
	f := floor{version: version, expires: now.Add(floorTTL)}
	if old, ok := m.floors.GetIfPresent(key); ok && now.Before(old.expires) {
		f.version = max(f.version, old.version)
		if old.expires.After(f.expires) {
			f.expires = old.expires
		}
	}
	m.floors.Set(key, f)
	m.entries.Invalidate(key)
	return nil
}

// Len returns about how many entries the tier holds (otter's estimate).
func (m *Memory) Len() int { return m.entries.EstimatedSize() }

// Evictions returns how many entries the tier dropped to stay within its
// bounds since NewMemory.
func (m *Memory) Evictions() int64 { return m.evictions.Load() }

// CleanUp makes the tier apply its pending evictions and expiries now
// (otter applies them in batches).
func (m *Memory) CleanUp() { m.entries.CleanUp() }
