package cache

import "time"

// Observer is told what the cache does, for metrics; cacheprom.Observer is
// the Prometheus one. Its methods are called on the cache's hot paths, from
// many goroutines at once: they must be fast and safe for concurrent use.
// Embed NopObserver to implement only some.
type Observer interface {
	// Hit is a Get that found an entry in tier.
	Hit(tier string)
	// Miss is a Get that found none in tier.
	Miss(tier string)
	// Eviction is an entry that tier dropped to stay within its bounds.
	Eviction(tier string)
	// StaleDrop is a value that tier refused because it knows a newer
	// version: a copy from a lower tier, or a load's result, older than the
	// stored value or an invalidation's floor.
	StaleDrop(tier string)
	// Load is one call of a loader, which took d and ended with outcome.
	Load(d time.Duration, outcome LoadOutcome)
	// LoadShared is a GetOrLoad miss that joined another caller's flight in
	// this Cache (its load, or its second look in the tiers) instead of
	// running one of its own.
	LoadShared()
	// LockWait is a GetOrLoad that waited d for another process holding the
	// key's Redis lock, and got the value it stored.
	LockWait(d time.Duration)
	// Bypass is a read that a user of the cache sent to its source without
	// looking in the cache or storing what it read, because it could not keep
	// that entry right (package ormcache: a tenant whose changes its
	// Invalidator does not watch yet).
	Bypass()
}

// LoadOutcome is how a loader call ended.
type LoadOutcome int

// The outcomes of a load.
const (
	// LoadOK is a value.
	LoadOK LoadOutcome = iota
	// LoadNotFound is an error matching Options.NotFound.
	LoadNotFound
	// LoadError is any other error.
	LoadError
)

// String returns "ok", "not_found" or "error".
func (o LoadOutcome) String() string {
	switch o {
	case LoadOK:
		return "ok"
	case LoadNotFound:
		return "not_found"
	}
	return "error"
}

// NopObserver is an Observer that does nothing.
type NopObserver struct{}

// Hit does nothing.
func (NopObserver) Hit(string) {}

// Miss does nothing.
func (NopObserver) Miss(string) {}

// Eviction does nothing.
func (NopObserver) Eviction(string) {}

// StaleDrop does nothing.
func (NopObserver) StaleDrop(string) {}

// Load does nothing.
func (NopObserver) Load(time.Duration, LoadOutcome) {}

// LoadShared does nothing.
func (NopObserver) LoadShared() {}

// LockWait does nothing.
func (NopObserver) LockWait(time.Duration) {}

// Bypass does nothing.
func (NopObserver) Bypass() {}

// orNop returns o, or NopObserver if o is nil.
func orNop(o Observer) Observer {
	if o == nil {
		return NopObserver{}
	}
	return o
}
