package cache

import (
	"context"
	"errors"
	"time"
)

// Entry is a value as the tiers keep it: the encoded bytes, the version the
// setter gave them and when the entry expires.
type Entry struct {
	// Value is the encoded value; empty for a negative entry. A Store's Get may
	// return bytes it keeps: the caller must not modify them.
	Value []byte
	// Version orders the values of one key: a larger version is newer. The
	// toolkit uses the write time of the row in microseconds (Cassandra's
	// WRITETIME), which the loader or setter supplies.
	Version int64
	// Negative marks a cached "not found": the key's loader said there is no
	// value (as of Version).
	Negative bool
	// Expires is when the entry stops being served. Set sets it from its ttl;
	// Get returns it, so that a Tiered stack copies an entry up with the time
	// it has left.
	Expires time.Time
}

// Store is one tier of a cache, keeping Entries by string key. Every method
// is safe for concurrent use. Keys are opaque to a Store: any string, with
// any bytes, is its own key. Memory, Redis and Tiered are the toolkit's;
// cachetest.Run is the contract a Store must pass.
//
// A Store keeps, beside the entries, a floor per invalidated key: a version
// below which Set refuses the key's values until the floor expires. Set also
// refuses a value older than the one stored. Set and Invalidate on one key
// are atomic with respect to each other, so that once Invalidate has
// returned, no value older than its version is stored under the key until
// its floor expires, whatever Set calls were in flight.
type Store interface {
	// Name names the tier in metrics and errors ("memory", "redis").
	Name() string
	// Get returns the entry stored under key, and false if there is none (or
	// it has expired).
	Get(ctx context.Context, key string) (Entry, bool, error)
	// Set stores e under key for ttl (which must be positive), and returns
	// true; or stores nothing and returns false if e.Version is below the
	// key's floor or below the Version of the entry stored. e.Expires is
	// ignored.
	Set(ctx context.Context, key string, e Entry, ttl time.Duration) (bool, error)
	// Delete removes the keys' entries, leaving no floor.
	Delete(ctx context.Context, keys ...string) error
	// Invalidate removes key's entry and raises the key's floor to version
	// (a floor never goes down) for floorTTL (positive), after which the
	// floor is forgotten.
	Invalidate(ctx context.Context, key string, version int64, floorTTL time.Duration) error
}

// Errors of the package, for errors.Is.
var (
	// ErrNotFound is a loader's "no such value", cached as a negative entry
	// (Options.NotFound names another sentinel), and the error of a Get or
	// GetOrLoad that finds a negative entry.
	ErrNotFound = errors.New("cache: not found")
	// ErrMiss is Get's error when the cache holds nothing under the key.
	ErrMiss = errors.New("cache: miss")
	// ErrStale is Set's error when a tier refused the value because it knows
	// a newer version of the key (a stored value or an invalidation's floor).
	ErrStale = errors.New("cache: stale value refused")
)

// checkTTL reports a ttl a Store cannot keep an entry for.
func checkTTL(store, key string, ttl time.Duration) error {
	if ttl <= 0 {
		return errors.New("cache: " + store + ": key " + quote(key) + ": ttl " + ttl.String() + " is not positive")
	}
	return nil
}
