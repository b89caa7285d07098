// Package registry is a service registry on Cassandra: services register their
// instances (name, id, URL, version, metadata such as {"graphql": "true"}) with a
// TTL kept alive by heartbeats, Discover returns a service's healthy instances, and
// Watch reports joins, leaves and changes.
//
//	reg, _ := registry.New(db, registry.Config{TTL: 15 * time.Second})
//	_ = reg.Sync(ctx)
//	h, err := reg.Register(ctx, registry.Instance{Name: "orders", ID: "orders-1",
//		URL: "http://10.0.0.7:8080", Version: "1.4.2", HealthURL: "http://10.0.0.7:8080/healthz",
//		Metadata: map[string]string{"graphql": "true"}})
//	defer h.Close()                               // deregisters
//	insts, _ := reg.Discover(ctx, "orders")       // healthy, live instances
//	events, _ := reg.Watch(ctx, "orders")         // Joined, Left, Changed, Failed
//
// # Liveness
//
// Each heartbeat (every Config.Heartbeat, by default TTL/3) rewrites the instance's
// row with the TTL, so the row of a process that dies expires in Cassandra at most
// TTL after its last heartbeat reached the node; Close, Deregister and the end of
// Register's context delete it at once. A registration whose heartbeats could not
// be written for longer than the TTL says so on Registration.Lapses (and Err): the
// others no longer see it.
//
// # Health
//
// An instance may name a HealthURL. The registering process GETs it before each
// heartbeat and writes the outcome (2xx: healthy) with the heartbeat, so Discover
// needs no network call to the instances: it returns those whose last check passed,
// and DiscoverAll returns every live one with its status. Without a HealthURL an
// instance counts as healthy while it heartbeats.
//
// # Consistency
//
// Every write (heartbeat, update, deregistration) and every read is LOCAL_QUORUM:
// on a cluster with three replicas per data centre, a Discover sees the last
// acknowledged write whichever nodes coordinate them.
//
// More in docs/registry.md.
package registry
