// Package lease gives one process at a time ownership of a named job — a projection,
// a saga recovery loop, a relay — through a Cassandra row claimed with a lightweight
// transaction and kept alive by renewal. A lease whose holder dies expires after its
// TTL and can be taken by another process.
//
// A holder stops by itself before its row can expire: its lease is valid until its
// last successful renewal was sent TTL minus Config.Margin ago (Held.Deadline,
// Held.Valid), and Held.Lost is closed then, even if the process was paused or cut
// off and no renewal failed. A lease only protects work that checks it: check Valid
// (or a context that ends with Lost) before each write, and fence writes with
// Held.Token where the data allows, since a write checked just before the deadline
// can still land after it. NewContext and FromContext hand the lease to the code it
// guards. TryAcquire's *HeldError names the holder; Config.Waiting tells Acquire's
// caller whom it waits for.
//
//	leases, _ := lease.New(db, lease.Config{TTL: 10 * time.Second})
//	_ = leases.Sync(ctx)
//	held, err := leases.Acquire(ctx, "projection/user-profiles") // waits while someone else holds it
//	defer held.Release(context.Background())
//	for _, job := range jobs {
//		if !held.Valid() {
//			return held.Err() // stop working
//		}
//		_ = job(lease.NewContext(ctx, held))
//	}
package lease
