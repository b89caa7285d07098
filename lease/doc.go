// Package lease gives one process at a time ownership of a named job — a projection,
// a saga recovery loop, a relay — through a Cassandra row claimed with a lightweight
// transaction and kept alive by renewal. A lease whose holder dies expires after its
// TTL and can be taken by another process. A holder that cannot renew gives its
// lease up (Held.Lost, Held.Err) before it can expire. TryAcquire's *HeldError names
// the holder; Config.Waiting tells Acquire's caller whom it waits for.
//
//	leases, _ := lease.New(db, lease.Config{TTL: 10 * time.Second})
//	_ = leases.Sync(ctx)
//	held, err := leases.Acquire(ctx, "projection/user-profiles") // waits while someone else holds it
//	defer held.Release(context.Background())
//	select { case <-held.Lost(): /* stop working */ case <-done: }
package lease
