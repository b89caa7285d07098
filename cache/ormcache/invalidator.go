package ormcache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
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
	// Tenants are tenants whose changes to watch on a tenanted DB from the
	// start: one subscription per tenant and watched table. More can be added
	// while the Invalidator runs, with Watch or TenantSource. When Tenants,
	// the first listing of TenantSource and the calls of Watch before Run
	// give none, Run watches the tenant of its context (it fails without one,
	// unless there is a TenantSource). Ignored on a DB without tenancy.
	Tenants []string
	// TenantSource, when set, lists tenants to watch (the active tenants of a
	// tenant registry, say): Run calls it as it starts and then every
	// TenantPoll, and watches each tenant it lists that is not watched yet,
	// as Watch does. A tenant it no longer lists stays watched. An error is
	// logged and the source asked again at the next poll; meanwhile reads in
	// the tenants not watched go to the database.
	TenantSource func(ctx context.Context) ([]string, error)
	// TenantPoll is how often TenantSource is asked. Default 30 s.
	TenantPoll time.Duration
	// Log receives the errors of TenantSource. Default: discarded.
	Log *slog.Logger
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
	if c.TenantPoll == 0 {
		c.TenantPoll = 30 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
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
	case c.TenantPoll < 0:
		return fmt.Errorf("ormcache: InvalidatorConfig.TenantPoll %v is negative", c.TenantPoll)
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

// watched is a tenant the Invalidator watches (GlobalTenant for the models
// of a DB without tenancy): since when its subscriptions run, and whether
// they have run a Lag, after which the cached models serve its reads.
type watched struct {
	start   time.Time     // when its subscriptions started; zero until Run starts them
	ready   chan struct{} // closed one Lag after start
	isReady atomic.Bool   // ready is closed
}

// Invalidator subscribes to the change feed for the tables of the cached
// models made with it (Of) and invalidates, in this process's cache, every
// entry a change makes old: the row's Get entry (or, for a delete of several
// rows, those of the rows under its key prefix this process has cached) and
// the table's cached queries. Each process runs its own (its subscriptions
// are ephemeral), since each must clear its own memory tier. Make the models
// with Of first, then call Run.
//
// On a tenanted DB it watches the tenants it is given (InvalidatorConfig's
// Tenants and TenantSource, Watch), one subscription per tenant and table;
// the cached models serve from the cache, and store in it, only the reads of
// a tenant whose subscriptions have run one Lag: the others go to the
// database, each counted as a Bypass by the model's observer.
type Invalidator struct {
	cfg   InvalidatorConfig
	lag   time.Duration
	floor time.Duration // added to a change's At to give its invalidation's version

	// tenants maps the tenants watched to their state; it is replaced, never
	// changed, so that reads look it up without a lock.
	tenants atomic.Pointer[map[string]*watched]
	stopped atomic.Bool // Run has returned: nothing is invalidated any more

	mu       sync.Mutex
	watchers map[string]*watcher
	running  bool
	runCtx   context.Context         // Run's, once it runs
	fail     context.CancelCauseFunc // ends Run with an error
	wg       sync.WaitGroup          // Run's goroutines and the subscriptions
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
	inv := &Invalidator{cfg: cfg, lag: lag, floor: lag/2 + cfg.MaxSkew,
		watchers: map[string]*watcher{}, ready: make(chan struct{}), gens: map[string]queryGen{}}
	inv.tenants.Store(&map[string]*watched{})
	for _, id := range cfg.Tenants {
		inv.add(id)
	}
	return inv, nil
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

// add returns the state of tenant id, adding it if it is new (and then
// reporting true). The caller holds inv.mu, or has the Invalidator to itself.
func (inv *Invalidator) add(id string) (*watched, bool) {
	old := *inv.tenants.Load()
	if w := old[id]; w != nil {
		return w, false
	}
	m := make(map[string]*watched, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	w := &watched{ready: make(chan struct{})}
	m[id] = w
	inv.tenants.Store(&m)
	return w, true
}

// Watch makes the Invalidator watch the changes of tenant id, on a tenanted
// DB: before Run, from its start; while it runs, at once (one subscription
// per watched table). It returns a channel closed once the tenant's
// subscriptions have run one Lag, from when the cached models serve its
// reads from the cache; until then they read the database. Watching a tenant
// already watched returns its channel. It fails for an invalid tenant id,
// and once Run has returned.
func (inv *Invalidator) Watch(id string) (<-chan struct{}, error) {
	if err := tenant.Check(id); err != nil {
		return nil, fmt.Errorf("ormcache: Invalidator.Watch: %w", err)
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.stopped.Load() {
		return nil, fmt.Errorf("ormcache: Invalidator.Watch(%q): the Invalidator has stopped", id)
	}
	w, isNew := inv.add(id)
	if isNew && inv.running {
		inv.start(id, w, inv.tenantedWatchers())
	}
	return w.ready, nil
}

// tenantedWatchers returns the watchers of tenant-scoped models. The caller
// holds inv.mu.
func (inv *Invalidator) tenantedWatchers() []*watcher {
	var out []*watcher
	for _, w := range inv.watchers {
		if w.tenanted {
			out = append(out, w)
		}
	}
	return out
}

// start starts the subscriptions of ws, the watchers of tenant-scoped models
// or those of models without tenancy (whose id is GlobalTenant), for tenant
// id, and the timer that marks them ready one Lag later. The caller holds
// inv.mu, Run is running and has not stopped.
func (inv *Invalidator) start(id string, st *watched, ws []*watcher) {
	ctx := inv.runCtx
	sctx := ctx
	if len(ws) > 0 && ws[0].tenanted {
		sctx = tenant.With(ctx, id)
	}
	for _, w := range ws {
		inv.wg.Go(func() {
			err := inv.cfg.Subscriber.Subscribe(sctx, changefeed.Subscription{Table: w.table.Name, Handle: inv.handler(w)})
			if ctx.Err() == nil {
				inv.fail(fmt.Errorf("ormcache: invalidating %s (tenant %q): %w", w.table.Name, id, err))
			}
		})
	}
	// The subscriptions start at the present: a write recorded just before
	// lands at most half the Lag after its record (plus the writers' clock
	// skew), so one Lag after they start nothing missed can still land.
	st.start = time.Now()
	inv.wg.Go(func() {
		t := time.NewTimer(inv.lag)
		defer t.Stop()
		select {
		case <-t.C:
			st.isReady.Store(true)
			close(st.ready)
		case <-ctx.Done():
		}
	})
}

// Ready is closed once the subscriptions Run starts with (those of the
// tenants given before it, or its context's) have run long enough that every
// write they may have missed (one recorded before they started) has landed:
// until then the cached models read the database. A tenant watched later has
// its own (Watch).
func (inv *Invalidator) Ready() <-chan struct{} { return inv.ready }

// serves reports whether the cached models may serve and store the reads of
// tenant id (GlobalTenant on a DB without tenancy): its subscriptions have
// run a Lag, and Run has not returned.
func (inv *Invalidator) serves(id string) bool {
	w := (*inv.tenants.Load())[id]
	return w != nil && w.isReady.Load() && !inv.stopped.Load()
}

// Run subscribes to the changes of every watched table (on a tenanted DB, for
// each tenant watched: see InvalidatorConfig.Tenants, TenantSource and Watch)
// and invalidates until ctx ends, when it returns ctx's error, or a
// subscription fails (an invalidation that failed stops it), when it returns
// that error. Ready is closed one feed Lag after the first subscriptions
// start. Once Run has returned the cached models read the database. Run may
// be called once.
func (inv *Invalidator) Run(ctx context.Context) error {
	inv.mu.Lock()
	if inv.running {
		inv.mu.Unlock()
		return errors.New("ormcache: Invalidator.Run called twice")
	}
	inv.running = true
	var tenanted, global []*watcher
	for _, w := range inv.watchers {
		if w.tenanted {
			tenanted = append(tenanted, w)
		} else {
			global = append(global, w)
		}
	}
	inv.mu.Unlock()
	if len(tenanted)+len(global) == 0 {
		inv.stopped.Store(true)
		return errors.New("ormcache: Invalidator.Run: no cached models (make them with Of first)")
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var listed []string
	if inv.cfg.TenantSource != nil && len(tenanted) > 0 {
		listed = inv.listTenants(ctx)
	}

	inv.mu.Lock()
	inv.runCtx, inv.fail = ctx, cancel
	inv.wg.Add(1) // Run's own, so that Watch may add subscriptions until Run stops
	if len(tenanted) > 0 {
		for _, id := range listed {
			inv.add(id)
		}
		if len(*inv.tenants.Load()) == 0 {
			// None given: the tenant of ctx, which a TenantSource may also
			// do without (its tenants come later).
			id, err := tenant.From(ctx)
			switch {
			case err == nil:
				inv.add(id)
			case inv.cfg.TenantSource == nil:
				inv.mu.Unlock()
				inv.wg.Done()
				inv.stopped.Store(true)
				return fmt.Errorf("ormcache: Invalidator.Run: no tenant to watch (give Tenants or a TenantSource, call Watch, or run it in a tenant's context): %w", err)
			}
		}
		for id, st := range *inv.tenants.Load() {
			inv.start(id, st, tenanted)
		}
	}
	if len(global) > 0 {
		st, _ := inv.add(GlobalTenant)
		inv.start(GlobalTenant, st, global)
	}
	inv.mu.Unlock()
	if inv.cfg.TenantSource != nil && len(tenanted) > 0 {
		inv.wg.Go(func() { inv.pollTenants(ctx) })
	}

	timer := time.NewTimer(inv.lag)
	select {
	case <-timer.C:
		close(inv.ready)
	case <-ctx.Done():
		timer.Stop()
	}
	<-ctx.Done()
	inv.mu.Lock()
	inv.stopped.Store(true)
	inv.mu.Unlock()
	inv.wg.Done()
	inv.wg.Wait()
	if err := context.Cause(ctx); !errors.Is(err, context.Canceled) || ctx.Err() == nil {
		return err
	}
	return ctx.Err()
}

// listTenants asks TenantSource for the tenants to watch, logging its error.
func (inv *Invalidator) listTenants(ctx context.Context) []string {
	ids, err := inv.cfg.TenantSource(ctx)
	if err != nil {
		if ctx.Err() == nil {
			inv.cfg.Log.Warn("ormcache: listing the tenants to watch failed; reads in tenants not yet watched go to the database", "err", err)
		}
		return nil
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if err := tenant.Check(id); err != nil {
			inv.cfg.Log.Warn("ormcache: TenantSource listed an invalid tenant; not watched", "tenant", id, "err", err)
			continue
		}
		out = append(out, id)
	}
	return out
}

// pollTenants watches the tenants TenantSource lists every TenantPoll until
// ctx ends.
func (inv *Invalidator) pollTenants(ctx context.Context) {
	tick := time.NewTicker(inv.cfg.TenantPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, id := range inv.listTenants(ctx) {
			if _, err := inv.Watch(id); err != nil {
				return // Run has stopped
			}
		}
	}
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
		g = queryGen{max: inv.startOf(id).UnixMicro()}
		g.gen = fmt.Sprint(g.max)
		inv.gens[k] = g
	}
	return g.gen
}

// startOf returns when the subscriptions of tenant id started (zero for a
// tenant not watched). The caller holds inv.mu.
func (inv *Invalidator) startOf(id string) time.Time {
	if w := (*inv.tenants.Load())[id]; w != nil {
		return w.start
	}
	return time.Time{}
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
		g.gen = fmt.Sprintf("late.%d.%d.%d", inv.startOf(id).UnixNano(), inv.lateSeq, time.Now().UnixNano())
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
