// Package cacheprom is a Prometheus adapter of cache.Observer: counters of
// hits, misses, evictions and stale drops per tier, a histogram of load
// latency by outcome, counters of shared loads and of bypasses, and a
// histogram of lock waits, registered on a Registerer the caller gives.
//
//	obs, err := cacheprom.New(prometheus.DefaultRegisterer, "shop")
//	...
//	stack, err := cache.New(cache.Config{Stores: stores, Observer: obs})
//	products, err := cache.NewCache[Product](stack, cache.Options{Observer: obs})
//	http.Handle("/metrics", promhttp.Handler())
package cacheprom

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cassandraorm/cassandraorm-go/cache"
)

// Observer counts what caches tell it in Prometheus metrics, named with the
// namespace given to New:
//
//	<ns>_cache_hits_total{tier}         Gets that found an entry in tier
//	<ns>_cache_misses_total{tier}       Gets that found none
//	<ns>_cache_evictions_total{tier}    entries dropped to stay within bounds
//	<ns>_cache_stale_drops_total{tier}  values refused as older than known
//	<ns>_cache_load_seconds{outcome}    loader calls: ok, not_found or error
//	<ns>_cache_loads_shared_total       GetOrLoad misses that joined another's flight
//	<ns>_cache_lock_wait_seconds        waits for another process's load
//	<ns>_cache_bypasses_total           reads sent to the source, the cache unused
//
// It is safe for concurrent use.
type Observer struct {
	hits, misses, evictions, stale *prometheus.CounterVec
	loads                          *prometheus.HistogramVec
	shared, bypasses               prometheus.Counter
	lockWait                       prometheus.Histogram
}

var _ cache.Observer = (*Observer)(nil)

// New returns an Observer whose metrics are registered on reg, their names
// starting with namespace (which may be empty).
func New(reg prometheus.Registerer, namespace string) (*Observer, error) {
	if reg == nil {
		return nil, errors.New("cacheprom: nil Registerer")
	}
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: "cache", Name: name, Help: help}, []string{"tier"})
	}
	o := &Observer{
		hits:      counter("hits_total", "Gets that found an entry in the tier."),
		misses:    counter("misses_total", "Gets that found no entry in the tier."),
		evictions: counter("evictions_total", "Entries the tier dropped to stay within its bounds."),
		stale:     counter("stale_drops_total", "Values the tier refused as older than a stored value or an invalidation's floor."),
		loads: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Subsystem: "cache", Name: "load_seconds",
			Help: "Loader calls by outcome (ok, not_found, error).", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"outcome"}),
		shared: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Subsystem: "cache", Name: "loads_shared_total",
			Help: "GetOrLoad misses that joined another caller's flight instead of running their own."}),
		bypasses: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Subsystem: "cache", Name: "bypasses_total",
			Help: "Reads sent to the source without looking in the cache or storing in it (a tenant not yet watched)."}),
		lockWait: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Subsystem: "cache", Name: "lock_wait_seconds",
			Help: "Waits for another process holding a key's Redis lock.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 12)}),
	}
	for _, c := range []prometheus.Collector{o.hits, o.misses, o.evictions, o.stale, o.loads, o.shared, o.bypasses, o.lockWait} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("cacheprom: registering the cache metrics (namespace %q): %w", namespace, err)
		}
	}
	return o, nil
}

// Hit counts a hit in tier.
func (o *Observer) Hit(tier string) { o.hits.WithLabelValues(tier).Inc() }

// Miss counts a miss in tier.
func (o *Observer) Miss(tier string) { o.misses.WithLabelValues(tier).Inc() }

// Eviction counts an eviction from tier.
func (o *Observer) Eviction(tier string) { o.evictions.WithLabelValues(tier).Inc() }

// StaleDrop counts a stale drop in tier.
func (o *Observer) StaleDrop(tier string) { o.stale.WithLabelValues(tier).Inc() }

// Load observes a loader call's latency under its outcome.
func (o *Observer) Load(d time.Duration, outcome cache.LoadOutcome) {
	o.loads.WithLabelValues(outcome.String()).Observe(d.Seconds())
}

// LoadShared counts a shared load.
func (o *Observer) LoadShared() { o.shared.Inc() }

// LockWait observes a wait for another process's lock.
func (o *Observer) LockWait(d time.Duration) { o.lockWait.Observe(d.Seconds()) }

// Bypass counts a read the cache was not used for.
func (o *Observer) Bypass() { o.bypasses.Inc() }
