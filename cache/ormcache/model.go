package ormcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cache"
	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// Options configures a cached Model.
type Options struct {
	// Get configures the cache of Get (TTL, NegativeTTL, RefreshAhead, Lock,
	// Observer, ...). Its NotFound is always orm.ErrNotFound: with
	// Get.NegativeTTL set, a row that is not there is cached as such.
	Get cache.Options
	// QueryTTL is how long a Query's rows are kept. Default 1 minute.
	QueryTTL time.Duration
	// QueryObserver is told of the loads of queries. Default none.
	QueryObserver cache.Observer
}

func (o *Options) setDefaults() {
	o.Get.NotFound = orm.ErrNotFound
	if o.QueryTTL == 0 {
		o.QueryTTL = time.Minute
	}
}

// Validate reports the first field a Model cannot work with; zero fields
// count as their defaults.
func (o Options) Validate() error {
	o.setDefaults()
	if o.QueryTTL < 0 {
		return fmt.Errorf("ormcache: Options.QueryTTL %v is negative", o.QueryTTL)
	}
	if err := o.Get.Validate(); err != nil {
		return fmt.Errorf("ormcache: Options.Get: %w", err)
	}
	return nil
}

// Model is an orm.Model[T] with cached reads: Get by primary key and Query,
// both kept in a cache.Store (a memory tier over Redis) and invalidated by
// the change feed through an Invalidator. It has no write methods: write
// through the orm.Model (which must record its changes in the Invalidator's
// feed); writes and lightweight transactions are never cached.
type Model[T any] struct {
	m       *orm.Model[T]
	inv     *Invalidator
	gets    *cache.Cache[T]
	queries *cache.Cache[[]T]
	// getObs and queryObs count the reads sent to the database because inv
	// does not watch their tenant (yet).
	getObs, queryObs cache.Observer
	// ranged holds the Get keys of a table with clustering columns that this
	// process has cached, with when, so that a delete of a range can
	// invalidate those it covers.
	mu      sync.Mutex
	ranged  map[string]rangedKey
	getTTL  time.Duration
	pruneAt int
}

// rangedKey is a tracked Get key.
type rangedKey struct {
	key cache.Key
	at  time.Time
}

// Of returns m with cached reads over store, invalidated by inv (whose feed m
// must record its changes in; Run inv after making the models), or the error
// of opt.Validate.
func Of[T any](m *orm.Model[T], store cache.Store, inv *Invalidator, opt Options) (*Model[T], error) {
	switch {
	case m == nil:
		return nil, errors.New("ormcache: Of: nil Model")
	case inv == nil:
		return nil, fmt.Errorf("ormcache: model %s: nil Invalidator", m.Table().Name)
	}
	if err := opt.Validate(); err != nil {
		return nil, fmt.Errorf("ormcache: model %s: %w", m.Table().Name, err)
	}
	opt.setDefaults()
	gets, err := cache.NewCache[T](store, opt.Get)
	if err != nil {
		return nil, fmt.Errorf("ormcache: model %s: %w", m.Table().Name, err)
	}
	queries, err := cache.NewCache[[]T](store, cache.Options{TTL: opt.QueryTTL, Observer: opt.QueryObserver, FloorTTL: opt.Get.FloorTTL})
	if err != nil {
		return nil, fmt.Errorf("ormcache: model %s: %w", m.Table().Name, err)
	}
	getTTL := opt.Get.TTL
	if getTTL == 0 {
		getTTL = 5 * time.Minute
	}
	c := &Model[T]{m: m, inv: inv, gets: gets, queries: queries, getObs: opt.Get.Observer, queryObs: opt.QueryObserver,
		ranged: map[string]rangedKey{}, getTTL: max(getTTL, opt.Get.NegativeTTL)}
	if c.getObs == nil {
		c.getObs = cache.NopObserver{}
	}
	if c.queryObs == nil {
		c.queryObs = cache.NopObserver{}
	}
	t := m.Table()
	w := &watcher{table: t, tenanted: m.DB().Tenanted() && t.Scope() != orm.GlobalScope, apply: c.apply}
	if err := inv.watch(w); err != nil {
		return nil, err
	}
	return c, nil
}

// Model returns the orm.Model, to write through.
func (c *Model[T]) Model() *orm.Model[T] { return c.m }

// Key returns the cache key of the row with primary key values keys in the
// tenant of ctx: cache.NewKey(tenant, table, keys...) with each value as
// keyPart formats it, and GlobalTenant on a DB without tenancy.
func (c *Model[T]) Key(ctx context.Context, keys ...any) (cache.Key, error) {
	id, err := keyTenant(ctx, c.m.DB(), c.m.Table())
	if err != nil {
		return cache.Key{}, err
	}
	return keyOf(id, c.m.Table(), keys)
}

// Get returns the row with the given primary key values, as orm.Model.Get
// does (an error matching orm.ErrNotFound when there is none), from the cache
// when it holds it. It reads the database, without looking in the cache or
// storing in it, when the Invalidator does not serve the tenant of ctx: one
// it does not watch, or whose subscriptions have not yet run a Lag, and
// after Run has returned (counted as a Bypass by Options.Get.Observer).
func (c *Model[T]) Get(ctx context.Context, keys ...any) (T, error) {
	t := c.m.Table()
	if n := len(t.PartitionKey) + len(t.Clustering); len(keys) != n {
		return c.m.Get(ctx, keys...) // the orm's error
	}
	id, err := keyTenant(ctx, c.m.DB(), t)
	if err != nil {
		return *new(T), err
	}
	if !c.inv.serves(id) {
		c.getObs.Bypass()
		return c.m.Get(ctx, keys...)
	}
	k, err := keyOf(id, t, keys)
	if err != nil {
		return *new(T), err
	}
	if len(t.Clustering) > 0 {
		c.track(k)
	}
	return c.gets.GetOrLoad(ctx, k, func(lctx context.Context) (T, int64, error) {
		start := time.Now()
		v, err := c.m.Get(lctx, keys...)
		return v, start.UnixMicro(), err
	})
}

// Query returns the rows of q (all of them: give it a Limit), from the cache
// when it holds them. The entry's key is the tenant, the table, the table's
// query generation (which every change of the table moves on) and a hash of
// q's statement and bound values (q.CQL). Like Get, it reads the database
// when the Invalidator does not serve the tenant of ctx (a Bypass of
// Options.QueryObserver).
func (c *Model[T]) Query(ctx context.Context, q orm.Query[T]) ([]T, error) {
	t := c.m.Table()
	id, err := keyTenant(ctx, c.m.DB(), t)
	if err != nil {
		return nil, err
	}
	if !c.inv.serves(id) {
		c.queryObs.Bypass()
		return collect(ctx, q)
	}
	stmt, vals, err := q.CQL(ctx)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write([]byte(strings.Join(strings.Fields(stmt), " ")))
	for _, v := range vals {
		fmt.Fprintf(h, "\x00%T\x00%v", v, v)
	}
	k, err := cache.NewKey(id, t.Name, "query", c.inv.queryGen(id, t.Name), hex.EncodeToString(h.Sum(nil)))
	if err != nil {
		return nil, err
	}
	return c.queries.GetOrLoad(ctx, k, func(lctx context.Context) ([]T, int64, error) {
		start := time.Now()
		rows, err := collect(lctx, q)
		return rows, start.UnixMicro(), err
	})
}

// collect returns all the rows of q.
func collect[T any](ctx context.Context, q orm.Query[T]) ([]T, error) {
	var out []T
	for v, err := range q.All(ctx) {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// track records that key was read, for range deletes; every 1024 new keys it
// forgets those read longer ago than the TTL (no longer cached).
func (c *Model[T]) track(k cache.Key) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.ranged[k.String()]; !ok {
		c.pruneAt++
	}
	c.ranged[k.String()] = rangedKey{key: k, at: now}
	if c.pruneAt >= 1024 {
		c.pruneAt = 0
		for s, r := range c.ranged {
			if now.Sub(r.at) > c.getTTL {
				delete(c.ranged, s)
			}
		}
	}
}

// covered returns the tracked keys that start with prefix.
func (c *Model[T]) covered(prefix string) []cache.Key {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []cache.Key
	for s, r := range c.ranged {
		if strings.HasPrefix(s, prefix) {
			out = append(out, r.key)
		}
	}
	return out
}

// apply invalidates what change ch makes old: the table's queries in ch's
// tenant, and the row's Get entry or, for a range, the entries of the range
// this process has read.
func (c *Model[T]) apply(ctx context.Context, ch changefeed.Change) error {
	t := c.m.Table()
	id := changeTenant(ch)
	c.inv.bumpQueries(id, t.Name, ch)
	version := c.inv.version(ch)
	keys, whole := changeKey(t, ch)
	k, err := keyOf(id, t, keys)
	if err != nil {
		return fmt.Errorf("ormcache: change %s of %s: %w", ch.ID, t.Name, err)
	}
	if whole {
		return c.gets.Invalidate(ctx, k, version)
	}
	for _, rk := range c.covered(k.String() + ":") {
		if err := c.gets.Invalidate(ctx, rk, version); err != nil {
			return fmt.Errorf("ormcache: change %s of %s (a range): %w", ch.ID, t.Name, err)
		}
	}
	return nil
}

// Close waits for the background refreshes of the Model's caches.
func (c *Model[T]) Close() {
	c.gets.Close()
	c.queries.Close()
}
