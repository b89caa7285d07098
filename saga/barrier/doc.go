// Package barrier is the participant side of a saga: a barrier that makes the
// orchestrator's at-least-once calls of a step's action (do) and compensation (undo)
// take effect once, in a sane order, as DTM's "sub-transaction barrier" does with a
// SQL transaction, here with Cassandra lightweight transactions on one row per
// branch.
//
// A branch is a saga's step without its direction ("<saga id>/<step>"; SplitKey
// takes it out of the idempotency key "<saga id>/<step>/<do|undo>" the saga package
// gives participants). For each branch the barrier guarantees:
//
//   - a do or undo that already finished is not run again (Duplicate);
//   - an undo that comes before any do is recorded as a null compensation and runs
//     nothing (NullCompensation), and a do that comes after it, or after any undo,
//     is skipped (Skipped, ErrCompensated): a late reservation never hangs;
//   - a do or undo whose earlier run did not finish (fn returned an error or
//     panicked, the process died, its deadline passed) is run again;
//   - while a run is in flight (started, not finished, before its deadline) another
//     call of the branch returns ErrInFlight instead of running concurrently (but a
//     do while its undo runs is skipped at once: it may never run, however the undo
//     ends); after the deadline the run counts as abandoned, the next call takes the
//     branch over with a new fencing token, and the abandoned run's end is refused
//     (ErrLost).
//
// # The contract of fn
//
// The barrier orders and dedupes finished work; it cannot make fn's effects
// exactly-once on its own, because fn's effects and the barrier's record are two
// writes, not one transaction. A run that dies after fn's effects and before its end
// is recorded is run again. So fn must be idempotent for the branch: key its writes
// by the branch (an INSERT ... IF NOT EXISTS keyed by it, a PatchIf conditioned on
// it) or pass the branch to the service it calls as an idempotency key. fn should
// also stop when its context ends: that is the run's deadline, after which another
// run may take over. An undo compensates whatever a started do may have done, even
// one that failed or was abandoned, so it too must be idempotent and must cope with
// a do whose effects are partial or absent.
//
// # Storage
//
// One row per branch (tenant-scoped by the orm by default: on a tenanted DB each
// tenant has its own branches): partition key branch, and for each direction its
// phase ("started", "done", "failed", and "null" for a null compensation), the
// token of the run that holds it, that run's deadline and the time of its last
// transition. Every transition is a lightweight transaction (UPDATE ... IF):
//
//   - taking the branch (start a run, record a null compensation) is conditioned on
//     every column the decision read being as read, so two callers never both take
//     it; a missing row counts as all null. The first attempt assumes the row is
//     missing, and a conflict hands back the row as it is (its condition names all
//     the columns the decision needs) for the next: one LWT in the common case. A do
//     is taken only if no undo is recorded; an undo that takes over an abandoned do
//     records that do as failed under a new token, fencing it;
//   - the end of a run (done or failed) is conditioned on the run's token, so the
//     end of a run that another took over is refused.
//
// An outcome unknown (orm.ErrUncertain) is resolved by a SERIAL read, never by
// sending the same transaction again. A take whose outcome was unknown and that
// applies after that read is never run, and is taken over once its deadline passes.
//
// A run's deadline is its context's deadline if it has one, else Config.InFlight from
// its start, and fn runs with a context that ends then. Deadlines are wall-clock
// times compared by every process: keep the clocks of the participants in sync (NTP)
// to well within the deadlines used. Every write carries the TTL Config.Retain, so a
// branch's record disappears that long after its last write; a duplicate that comes
// later is not recognised.
//
//	bar, _ := barrier.New(db, barrier.Config{})
//	_ = bar.Sync(ctx)
//	branch, _, err := barrier.SplitKey(r.Header.Get("Idempotency-Key")) // ".../do"
//	reserve := func(ctx context.Context) error { return stock.Reserve(ctx, branch, sku, n) } // idempotent by branch
//	out, err := bar.Do(ctx, branch, reserve)
//	switch {
//	case errors.Is(err, barrier.ErrCompensated): // the saga already gave up on this step
//	case errors.Is(err, barrier.ErrInFlight):    // another delivery is on it: answer "retry later"
//	case err != nil:
//	}
package barrier
