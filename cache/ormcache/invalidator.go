package ormcache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cache"
	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// GlobalTenant is the tenant component of the keys of a model on a DB without
// tenancy (cache.NewKey needs one).
const GlobalTenant = "global"

// InvalidatorConfig configures an Invalidator.
type InvalidatorConfig struct {
	// Subscriber runs the invalidator's ephemeral subscriptions; its Feed is
	// required (Leases is not used: the subscriptions have no Name).
	Subscriber changefeed.Subscriber
	// Tenants are the tenants whose changes to watch on a tenanted DB: one
	// subscription per tenant and watched table. Empty: the tenant of Run's
	// context only. Ignored on a DB without tenancy.
	Tenants []string
	// MaxSkew is the largest difference between the clocks of the processes
	// that write and read the watched models. Default 250 ms; at most half the
	// feed's Lag (see the package doc for why).
	MaxSkew time.Duration
	// OnChange, when set, is called with each change once its invalidation
	// has been applied (to count them, or measure the feed's delay as
	// time.Since(c.At)). It must not block for long.
	OnChange func(c changefeed.Change)
}

func (c *InvalidatorConfig) setDefaults() {
	if c.MaxSkew == 0 {
		c.MaxSkew = 250 * time.Millisecond
	}
}

// Validate reports the first field an Invalidator cannot work with; zero
// fields count as their defaults.
func (c InvalidatorConfig) Validate() error {
	c.setDefaults()
	if c.Subscriber.Feed == nil {
		return errors.New("ormcache: InvalidatorConfig.Subscriber.Feed is nil")
	}
	lag := c.Subscriber.Feed.Config().Log.Lag
	switch {
	case c.MaxSkew < 0:
		return fmt.Errorf("ormcache: InvalidatorConfig.MaxSkew %v is negative", c.MaxSkew)
	case c.MaxSkew > lag/2:
		return fmt.Errorf("ormcache: InvalidatorConfig.MaxSkew %v is above half the feed's Lag (%v)", c.MaxSkew, lag)
	}
	for _, id := range c.Tenants {
		if err := tenant.Check(id); err != nil {
			return fmt.Errorf("ormcache: InvalidatorConfig.Tenants: %w", err)
		}
	}
	return nil
}

// watcher is what a cached model gives the Invalidator: its table and what
// to do with a change of it.
type watcher struct {
	table    *orm.Table
	tenanted bool
	apply    func(ctx context.Context, c changefeed.Change) error
}

// Invalidator subscribes to the change feed for the tables of the cached
// models made with it (Of) and invalidates, in this process's cache, every
// entry a change makes old: the row's Get entry (or, for a delete of a range,
// those of the rows of the range this process has cached) and the table's
// cached queries. Each process runs its own (its subscriptions are
// ephemeral), since each must clear its own memory tier. Make the models with
// Of first, then call Run.
type Invalidator struct {
	cfg   InvalidatorConfig
	lag   time.Duration
	floor time.Duration // added to a change's At to give its invalidation's version

	mu       sync.Mutex
	watchers map[string]*watcher
	running  bool
	readyAt  time.Time
	ready    chan struct{}
	gens     map[string]queryGen // tenant + "\x00" + table
	lateSeq  int
}

// NewInvalidator returns an Invalidator of cfg, or the error of cfg.Validate.
func NewInvalidator(cfg InvalidatorConfig) (*Invalidator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	lag := cfg.Subscriber.Feed.Config().Log.Lag
	return &Invalidator{cfg: cfg, lag: lag, floor: lag/2 + cfg.MaxSkew,
		watchers: map[string]*watcher{}, ready: make(chan struct{}), gens: map[string]queryGen{}}, nil
}

// watch registers w; it fails once Run has started or if the table is
// already watched.
func (inv *Invalidator) watch(w *watcher) error {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	switch {
	case inv.running:
		return fmt.Errorf("ormcache: model %s: the Invalidator already runs (make the cached models before Run)", w.table.Name)
	case inv.watchers[w.table.Name] != nil:
		return fmt.Errorf("ormcache: model %s: already cached with this Invalidator", w.table.Name)
	}
	inv.watchers[w.table.Name] = w
	return nil
}

// Ready is closed once the Invalidator's subscriptions have run long enough
// that every write they may have missed (one recorded before they started)
// has landed: until then the cached models read the database directly.
func (inv *Invalidator) Ready() <-chan struct{} { return inv.ready }

// isReady reports whether Ready is closed.
func (inv *Invalidator) isReady() bool {
	select {
	case <-inv.ready:
		return true
	default:
		return false
	}
}

// Run subscribes to the changes of every watched table (for each tenant of
// the config, or the tenant of ctx, on a tenanted DB) and invalidates until
// ctx ends, when it returns ctx's error, or a subscription fails (an
// invalidation that failed stops it), when it returns that error. Ready is
// closed one feed Lag after the subscriptions start. Run may be called once.
func (inv *Invalidator) Run(ctx context.Context) error {
	inv.mu.Lock()
	if inv.running {
		inv.mu.Unlock()
		return errors.New("ormcache: Invalidator.Run called twice")
	}
	inv.running = true
	ws := make([]*watcher, 0, len(inv.watchers))
	for _, w := range inv.watchers {
		ws = append(ws, w)
	}
	inv.mu.Unlock()
	if len(ws) == 0 {
		return errors.New("ormcache: Invalidator.Run: no cached models (make them with Of first)")
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, w := range ws {
		tenants := []string{""}
		if w.tenanted && len(inv.cfg.Tenants) > 0 {
			tenants = inv.cfg.Tenants
		}
		for _, id := range tenants {
			sctx := ctx
			if id != "" {
				sctx = tenant.With(ctx, id)
			}
			wg.Go(func() {
				err := inv.cfg.Subscriber.Subscribe(sctx, changefeed.Subscription{Table: w.table.Name, Handle: inv.handler(w)})
				if ctx.Err() == nil {
					cancel(fmt.Errorf("ormcache: invalidating %s (tenant %q): %w", w.table.Name, id, err))
				}
			})
		}
	}
	// The subscriptions start at the present: a write recorded just before
	// lands at most half the Lag after its record (plus the writers' clock
	// skew), so one Lag after they start nothing missed can still land.
	start := time.Now()
	inv.mu.Lock()
	inv.readyAt = start
	inv.mu.Unlock()
	timer := time.NewTimer(inv.lag)
	select {
	case <-timer.C:
		close(inv.ready)
	case <-ctx.Done():
		timer.Stop()
	}
	<-ctx.Done()
	wg.Wait()
	if err := context.Cause(ctx); !errors.Is(err, context.Canceled) || ctx.Err() == nil {
		return err
	}
	return ctx.Err()
}

// handler returns the subscription handler of w's table.
func (inv *Invalidator) handler(w *watcher) func(ctx context.Context, c changefeed.Change) error {
	return func(ctx context.Context, c changefeed.Change) error {
		if err := w.apply(ctx, c); err != nil {
			return err
		}
		if inv.cfg.OnChange != nil {
			inv.cfg.OnChange(c)
		}
		return nil
	}
}

// version returns the version an invalidation of change c carries: a load
// that started before it may have read the data from before c's write.
func (inv *Invalidator) version(c changefeed.Change) int64 {
	return c.At.Add(inv.floor).UnixMicro()
}

// queryGen is a table's query generation in one tenant.
type queryGen struct {
	max int64  // the largest At seen, in µs
	gen string // the generation the query keys include
}

// queryGen returns the query generation of table for tenant id: the largest
// At (µs) of the changes of it this process has been delivered, initially the
// time Run started, so that processes that have seen the same changes share
// their cached queries through Redis.
func (inv *Invalidator) queryGen(id, table string) string {
	k := id + "\x00" + table
	inv.mu.Lock()
	defer inv.mu.Unlock()
	g, ok := inv.gens[k]
	if !ok {
		g = queryGen{max: inv.readyAt.UnixMicro()}
		g.gen = fmt.Sprint(g.max)
		inv.gens[k] = g
	}
	return g.gen
}

// bumpQueries moves the query generation of table for tenant id past change
// c: to c's At if it is the newest seen, or, for a change delivered late
// (Change.Late), to a generation of this process only, since the entries of
// the generations of later changes may have been filled before c's write
// landed.
func (inv *Invalidator) bumpQueries(id, table string, c changefeed.Change) {
	inv.queryGen(id, table)
	k := id + "\x00" + table
	inv.mu.Lock()
	defer inv.mu.Unlock()
	g := inv.gens[k]
	at := c.At.UnixMicro()
	switch {
	case c.Late:
		inv.lateSeq++
		g.gen = fmt.Sprintf("late.%d.%d.%d", inv.readyAt.UnixNano(), inv.lateSeq, time.Now().UnixNano())
	case at > g.max:
		g.max, g.gen = at, fmt.Sprint(at)
	}
	inv.gens[k] = g
}

// keyTenant returns the tenant component of keys for a table of db in ctx.
func keyTenant(ctx context.Context, db *orm.DB, t *orm.Table) (string, error) {
	if !db.Tenanted() || t.Scope() == orm.GlobalScope {
		return GlobalTenant, nil
	}
	id, err := tenant.From(ctx)
	if err != nil {
		return "", fmt.Errorf("ormcache: model %s: %w", t.Name, err)
	}
	return id, nil
}

// changeTenant returns the tenant component of keys for change c.
func changeTenant(c changefeed.Change) string {
	if c.Tenant == "" {
		return GlobalTenant
	}
	return c.Tenant
}

// keyOf returns the cache key of the row of table t with primary key values
// keys, for tenant id.
func keyOf(id string, t *orm.Table, keys []any) (cache.Key, error) {
	parts := make([]string, len(keys))
	for i, v := range keys {
		parts[i] = keyPart(v)
	}
	return cache.NewKey(id, t.Name, parts...)
}

// changeKey returns the key values of change c in key order, and whether
// they are the whole primary key (not the prefix of a range delete).
func changeKey(t *orm.Table, c changefeed.Change) ([]any, bool) {
	var out []any
	for _, cols := range [][]*orm.Column{t.PartitionKey, t.Clustering} {
		for _, col := range cols {
			v, ok := c.Key[col.Name]
			if !ok {
				return out, false
			}
			out = append(out, v)
		}
	}
	return out, true
}

// keyPart returns the key component of primary key value v: a number prints
// the same whatever its Go type, a time in UTC to the millisecond (Cassandra's
// precision), a []byte in hex, a fmt.Stringer (UUID) by its String.
func keyPart(v any) string {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano)
	case *time.Time:
		if x != nil {
			return keyPart(*x)
		}
	case []byte:
		return fmt.Sprintf("%x", x)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}
