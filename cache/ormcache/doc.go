// Package ormcache puts the tiered cache (package cache) in front of the
// reads of an orm.Model and keeps it right with the change feed: Of wraps a
// model whose writes are recorded in a changefeed.Feed (orm.RecordChanges),
// and an Invalidator, one per process, subscribes to the feed (ephemeral
// subscriptions, one per watched table and tenant) and invalidates what each
// change makes old in that process's memory tier and in Redis.
//
//	inv, err := ormcache.NewInvalidator(ormcache.InvalidatorConfig{
//		Subscriber:   changefeed.Subscriber{Feed: feed},
//		TenantSource: activeTenants, // on a tenanted DB: asked every TenantPoll
//	})
//	products, err := ormcache.Of(productModel, stack, inv, ormcache.Options{})
//	go inv.Run(ctx)          // until ctx ends
//	ready, err := inv.Watch("initech") // a tenant provisioned now, cached after <-ready
//	p, err := products.Get(ctx, id)                   // cached
//	rows, err := products.Query(ctx, q.Limit(20))     // cached until the table changes
//	err = products.Model().Update(ctx, &p)            // writes go to the orm.Model
//
// # Keys
//
// A Get entry's key is cache.NewKey(tenant, table, key values...), the
// tenant being that of the context on a tenanted DB and GlobalTenant
// otherwise, each key value formatted by the same function on the read side
// and on the change side (numbers whatever their Go type, times in UTC to the
// millisecond, UUIDs by String). A Query entry's key is cache.NewKey(tenant,
// table, "query", generation, sha256(statement, bound values)), where the
// generation is the largest At of the changes of the table this process has
// been delivered: a change invalidates every cached query of its table and
// tenant by moving it on, one operation, and processes that have seen the
// same changes share query entries in Redis.
//
// # Versions and the bound
//
// A loaded value's version is the time its load started (µs, the loading
// process's clock). An invalidation's version is the change's At plus half
// the feed's Lag plus InvalidatorConfig.MaxSkew: the feed makes a recorded
// write land within half its Lag of its record's At (or fail), so a load that
// may have read the data from before the write started before that version,
// in any process whose clock is within MaxSkew, and its value is refused by
// the floor the invalidation leaves in every tier. A change is delivered at
// the earliest one Lag after its At, when its write has landed: a load that
// starts after a process handled it reads the new data.
//
// The guarantee: once a process has handled the change of a write, no Get or
// Query that starts afterwards in it returns data older than that write. The
// bound on staleness after a write's acknowledgement is therefore the feed's
// delivery delay in the reading process (the Lag, plus its Poll, plus the
// time to read and handle the changes before it), provided the clocks of the
// processes differ by at most MaxSkew (which must be at most half the Lag).
// During that delay a process may serve the old value from its memory tier;
// Redis is cleared by the first process that handles the change.
//
// # Tenants
//
// On a tenanted DB the Invalidator watches the tenants it is given:
// InvalidatorConfig.Tenants, InvalidatorConfig.TenantSource (asked at Run and
// every TenantPoll), and Watch, before Run or while it runs; without any, the
// tenant of Run's context. A Get or Query is served from the cache, and
// stored in it, only in a tenant whose subscriptions have run one Lag (the
// channel Watch returns is closed then; Ready for those Run starts with). In
// any other tenant, and once Run has returned, it reads the database without
// looking in the cache or storing in it, a Bypass for the model's observer:
// a tenant provisioned after start is never served an entry its Invalidator
// could not have invalidated.
//
// # Range deletes
//
// A delete of several rows (a change whose Key is a prefix of the primary
// key: Model.Delete of a prefix, Query.Delete, whose change may carry a
// Range of the next clustering column) invalidates the Get entries under that
// prefix this process has read in the last TTL (each Model of a table with
// clustering columns keeps the keys it read), and the table's queries. For a
// slice that is more than was deleted, which is safe: the rows outside the
// Range are loaded again at their next read. Every process does the same for
// its own reads, so every entry in Redis is invalidated by the process that
// read it, if it is still running; an entry stored by a process that has
// stopped stays until its TTL.
//
// # What is not covered
//
// A change delivered late (Change.Late, a batch that applied after the
// readers had passed its place) invalidates its row normally, but moves the
// query generation of this process only: other processes that have seen a
// later change may share query entries filled before the late write landed,
// until the next change of the table or the QueryTTL. A subscription that
// fails stops Run with its error; the cached models then read the database,
// uncached, until the caller restarts the Invalidator and the models. The
// subscriptions
// start at the present: Ready is closed one Lag after Run starts them, and
// until then the models read the database.
package ormcache
