// Package saga runs durable sagas on Cassandra: a sequence of steps, each with an
// action, a compensation, a timeout and a retry policy, over a typed state; a step
// that fails for good compensates the steps that may have taken effect, in reverse
// order. A saga survives the death of any process at any moment: its state lives in
// Cassandra, and workers in several processes share the sagas through leases.
//
//	def := &saga.Definition[Order]{Name: "order_processing", Steps: []saga.Step[Order]{
//		{Name: "reserve_inventory", Timeout: 15 * time.Second, Action: reserve, Compensate: release},
//		{Name: "process_payment", Timeout: 45 * time.Second, Action: charge, Compensate: refund},
//	}}
//	orch, _ := saga.New(db, saga.Config{})
//	_ = orch.Sync(ctx)
//	orders, _ := saga.Register(orch, def)
//	go orch.Run(ctx)                             // this process is a worker
//	res, err := orders.Execute(ctx, Order{...}) // or Start, then Status, Wait, History
//
// # Storage
//
// A saga is one partition of <Table>_runs: static columns hold its state (status,
// step, direction, attempt, the deadline of the attempt in flight, when it next
// needs a worker, the encoded state), and one clustering row per history entry.
// Every transition is one conditional batch on that partition, applied only if the
// saga's version and owner epoch are still the ones its writer read, so a worker
// that was paused or cut off cannot overwrite a newer state. A batch whose outcome
// is unknown (a timeout) is settled by a serial read of the entry it wrote, never
// sent again.
//
// Sagas are spread over Config.Shards shards. A worker (Run) holds the leases of
// some shards (package lease) and reads their timers: rows in <Table>_timers, one
// partition per shard and time bucket, read forward from a cursor that is kept in
// <Table>_cursors and moved only by the lease holder, past timers it has handled.
// Timers are hints and the saga row is the truth: every saga not yet ended has a
// timer at the time it next needs a worker, written before the state that needs
// it; a timer that finds nothing due is dropped. Fired timers and expired ones are
// behind the cursor, so their tombstones are never read again.
//
// # Guarantees
//
//   - A step's action (or compensation) runs at least once before the saga moves
//     past it: each attempt the saga records is called once, with a context whose
//     deadline is the attempt's (and the saga's) and which ends when the worker
//     loses the saga's shard, except an attempt whose worker died, or whose start
//     was stored without the worker knowing it, before the call: that attempt
//     times out and is retried like any other. KeyFrom gives the idempotency key,
//     the same for every attempt of the step in that direction.
//   - An attempt whose worker died, or that outlived its deadline, counts as timed
//     out: it may have run. It is retried under the step's policy and, once the
//     retries are spent, compensated with the other steps that may have run.
//   - A saga whose worker died resumes on another worker once the shard's lease
//     expires (Config.LeaseTTL) and the attempt's deadline has passed.
//   - Compensations are retried with capped backoff (Step.CompensateRetry); when
//     they are spent the saga parks as CompensationFailed with its reason, and the
//     observer sees a "parked" event. Nothing retries in a hot loop.
//
// Exactly-once effects are the participants' side: a participant deduplicates by
// the idempotency key, and package saga/barrier does that on Cassandra (a duplicate
// do or undo is skipped, an undo before its do is recorded as a null compensation
// and the late do is skipped).
//
// It does not cover: the effects of an action that ignores its context after its
// deadline (they may land after the saga moved on: fence them by the key), clock
// skew larger than the lease margin, or a definition whose steps change while
// sagas of it are in flight (add a saga with a new name instead).
//
// # Tenancy
//
// On a tenanted DB (orm.DB.WithTenancy) a saga belongs to the tenant of the context
// it was started with, its row lives where that tenant's data does, and its
// actions run with that tenant in their context. Workers serve every tenant: the
// timers, cursors and leases are shared tables.
package saga
