// Package retry is the toolkit's one retry mechanism: a Policy that says which
// errors are worth another attempt, how many attempts in all and how long to wait
// between them, and Do, which runs an operation under a Policy.
//
// Retrying is safe only for operations that are idempotent or that decide afresh
// on each attempt (the optimistic-concurrency loop: load, decide, append). The
// toolkit never retries a lightweight transaction, a counter update or a list
// append by itself; the one exception is the migration lock, whose retry is safe
// under its lease (see docs/migrations.md).
//
//	p := retry.Policy{If: retry.On(eventsourcing.ErrConcurrency), MaxAttempts: 5}
//	err := retry.Do(ctx, p, func(ctx context.Context, attempt int) error {
//		return repo.Update(ctx, id, decide)
//	})
package retry
