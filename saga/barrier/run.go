package barrier

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// step is what the barrier decides to do about a call, given the branch's row.
type step struct {
	// outcome and err end the call without taking the branch (outcome zero: err).
	outcome Outcome
	err     error
	// take is true when the call takes the branch: null records a null compensation
	// instead of running fn, fence moves an abandoned do's token away.
	take, null, fence bool
}

// decide is the barrier's state machine: what a call of op does to a branch whose
// row is cur, at now.
func decide(op Op, cur *row, now time.Time) step {
	do, undo := cur.side(Do), cur.side(Undo)
	if op == Do {
		switch {
		case undo.phase != phaseNever:
			return step{outcome: Skipped, err: ErrCompensated}
		case do.phase == phaseDone:
			return step{outcome: Duplicate}
		case do.inFlight(now):
			return step{err: ErrInFlight}
		}
		return step{take: true}
	}
	switch {
	case undo.phase == phaseDone || undo.phase == phaseNull:
		return step{outcome: Duplicate}
	case undo.inFlight(now), do.inFlight(now):
		return step{err: ErrInFlight}
	case do.phase == phaseNever && undo.phase == phaseNever:
		return step{take: true, null: true}
	}
	return step{take: true, fence: do.phase == phaseStarted}
}

// conditions hold when the row is still cur, as far as decide looks at it. They name
// every column decide reads, so a conflict's current row carries all of them. A
// missing row counts as all null.
func conditions(cur *row) []orm.Predicate {
	return []orm.Predicate{
		eqOrNull("do_phase", cur.DoPhase, cur.DoPhase == ""),
		eqOrNull("do_token", cur.DoToken, cur.DoToken.IsZero()),
		eqOrNull("do_deadline", cur.DoDeadline, cur.DoDeadline.IsZero()),
		eqOrNull("undo_phase", cur.UndoPhase, cur.UndoPhase == ""),
		eqOrNull("undo_token", cur.UndoToken, cur.UndoToken.IsZero()),
		eqOrNull("undo_deadline", cur.UndoDeadline, cur.UndoDeadline.IsZero()),
	}
}

// eqOrNull is column = v, or column = null when null is true.
func eqOrNull(column string, v any, null bool) orm.Predicate {
	if null {
		return orm.Eq(column, nil)
	}
	return orm.Eq(column, v)
}

// prefix is the column prefix of op's side of the row.
func prefix(op Op) string { return string(op) + "_" }

// run is Do and Undo.
func (b *Barrier) run(ctx context.Context, op Op, branch string, fn func(ctx context.Context) error) (Outcome, error) {
	if ctx == nil {
		return 0, fmt.Errorf("barrier: %s: nil context", op)
	}
	if err := checkBranch(branch); err != nil {
		return 0, fmt.Errorf("barrier: %s: %w", op, err)
	}
	if fn == nil {
		return 0, fmt.Errorf("barrier: %s %q: nil fn", op, branch)
	}
	// The first attempt takes the branch as if it had no row, the common case; a
	// conflict hands back the row as it is, for the next.
	cur := row{Branch: branch}
	for range maxAttempts {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("barrier: %s %q in table %s: %w", op, branch, b.cfg.Table, err)
		}
		now := time.Now()
		s := decide(op, &cur, now)
		if !s.take {
			if s.err != nil {
				return s.outcome, b.refusal(op, branch, &cur, now, s.err)
			}
			return s.outcome, nil
		}
		token, deadline := orm.NewUUID(), b.deadline(ctx, now)
		p := prefix(op)
		changes := []orm.Change{orm.Set(p+"token", token), orm.Set(p+"at", now)}
		if s.null {
			changes = append(changes, orm.Set(p+"phase", string(phaseNull)))
		} else {
			changes = append(changes, orm.Set(p+"phase", string(phaseStarted)), orm.Set(p+"deadline", deadline))
		}
		if s.fence {
			changes = append(changes, orm.Set("do_phase", string(phaseFailed)), orm.Set("do_token", orm.NewUUID()), orm.Set("do_at", now))
		}
		err := b.patchIf(ctx, branch, conditions(&cur), changes)
		if err != nil {
			var mine bool
			if cur, mine, err = b.settle(ctx, op, branch, token, err); err != nil {
				return 0, err
			}
			if !mine {
				continue
			}
		}
		if s.null {
			return NullCompensation, nil
		}
		if cerr := ctx.Err(); cerr != nil {
			// The caller is gone (its context ended while the take was in flight, and
			// the read that settled it found it applied): give the branch back rather
			// than leave it in flight until its deadline.
			if ferr := b.finish(ctx, op, branch, token, phaseFailed); ferr != nil {
				return 0, fmt.Errorf("barrier: %s %q in table %s: %w; giving the branch back: %w", op, branch, b.cfg.Table, cerr, ferr)
			}
			return 0, fmt.Errorf("barrier: %s %q in table %s: %w", op, branch, b.cfg.Table, cerr)
		}
		return b.call(ctx, op, branch, token, deadline, fn)
	}
	return 0, fmt.Errorf("%w: %s %q in table %s: its record changed under each of %d attempts to take it", ErrInFlight, op, branch, b.cfg.Table, maxAttempts)
}

// settle finds out, after the take of branch failed with err, whether it applied:
// mine reports that it did, else cur is the row as it is now. A conflict carries
// the row; an outcome unknown is resolved by a SERIAL read, never by sending the
// take again. The read runs even when ctx has ended (within finishTimeout): the
// take may have applied because ctx ended while it was in flight, and a branch
// taken must be known to be given back. Any other error is returned, naming the
// table and branch.
func (b *Barrier) settle(ctx context.Context, op Op, branch string, token orm.UUID, err error) (cur row, mine bool, _ error) {
	var ce *orm.ConflictError
	switch {
	case errors.As(err, &ce):
		if r, ok := ce.Current.(*row); ok && r != nil {
			r.Branch = branch
			return *r, false, nil
		}
		return row{Branch: branch}, false, nil // no row any more: it expired
	case errors.Is(err, orm.ErrUncertain):
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
		defer cancel()
		r, rerr := b.readBack(rctx, branch)
		if rerr != nil {
			return row{}, false, fmt.Errorf("barrier: %s %q in table %s: taking the branch: %w; reading it back: %w", op, branch, b.cfg.Table, err, rerr)
		}
		return r, r.side(op).token == token, nil
	}
	return row{}, false, fmt.Errorf("barrier: %s %q in table %s: %w", op, branch, b.cfg.Table, err)
}

// refusal is the error of a call refused for reason, given the row cur at now.
func (b *Barrier) refusal(op Op, branch string, cur *row, now time.Time, reason error) error {
	if errors.Is(reason, ErrInFlight) {
		holder := Do
		if cur.side(Undo).inFlight(now) {
			holder = Undo
		}
		return fmt.Errorf("%w: %s %q in table %s: a %s is running until %s", reason, op, branch, b.cfg.Table,
			holder, cur.side(holder).deadline.Format(time.RFC3339Nano))
	}
	return fmt.Errorf("%w: %s %q in table %s: its undo is %s", reason, op, branch, b.cfg.Table, cur.UndoPhase)
}

// deadline is the deadline of a run starting at now: ctx's, if it has one, else
// Config.InFlight from now; never later than Config.Retain from now, so the run's
// record outlives it.
func (b *Barrier) deadline(ctx context.Context, now time.Time) time.Time {
	limit := now.Add(b.cfg.Retain)
	d, ok := ctx.Deadline()
	if !ok {
		d = now.Add(b.cfg.InFlight)
	}
	if d.After(limit) {
		d = limit
	}
	return d
}

// call runs fn under the run token holds until deadline, then records its end.
func (b *Barrier) call(ctx context.Context, op Op, branch string, token orm.UUID, deadline time.Time, fn func(ctx context.Context) error) (Outcome, error) {
	fnErr := b.invoke(ctx, op, branch, token, deadline, fn)
	phase := phaseDone
	if fnErr != nil {
		phase = phaseFailed
	}
	err := b.finish(ctx, op, branch, token, phase)
	switch {
	case fnErr != nil && err != nil:
		return 0, fmt.Errorf("barrier: %s %q: %w; recording the failure: %w", op, branch, fnErr, err)
	case fnErr != nil:
		return 0, fmt.Errorf("barrier: %s %q: %w", op, branch, fnErr)
	case err != nil:
		return 0, err
	}
	return Ran, nil
}

// invoke calls fn with a context that ends at deadline. If fn panics, the run is
// recorded as failed, so that the next call need not wait for its deadline, and the
// panic goes on.
func (b *Barrier) invoke(ctx context.Context, op Op, branch string, token orm.UUID, deadline time.Time, fn func(ctx context.Context) error) error {
	runCtx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	finished := false
	defer func() {
		if !finished {
			_ = b.finish(ctx, op, branch, token, phaseFailed) // the panic says more than this error would
		}
	}()
	err := fn(runCtx)
	finished = true
	return err
}

// finish records the end of the run token holds: phase done or failed. It runs even
// when ctx has ended, within finishTimeout. If another run took the branch over it
// returns ErrLost. An outcome unknown is resolved by a SERIAL read, and the mark sent
// again only when that read shows it did not apply.
func (b *Barrier) finish(ctx context.Context, op Op, branch string, token orm.UUID, phase Phase) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	p := prefix(op)
	var err error
	for range maxAttempts {
		err = b.patchIf(ctx, branch, []orm.Predicate{orm.Eq(p+"token", token)},
			[]orm.Change{orm.Set(p+"phase", string(phase)), orm.Set(p+"at", time.Now())})
		if err == nil {
			return nil
		}
		if errors.Is(err, orm.ErrConflict) {
			return fmt.Errorf("%w: %s %q in table %s: another run took the branch over before this one was recorded as %s", ErrLost, op, branch, b.cfg.Table, phase)
		}
		if !errors.Is(err, orm.ErrUncertain) {
			return fmt.Errorf("barrier: %s %q in table %s: recording it %s: %w", op, branch, b.cfg.Table, phase, err)
		}
		r, rerr := b.readBack(ctx, branch)
		if rerr != nil {
			return fmt.Errorf("barrier: %s %q in table %s: recording it %s: %w; reading it back: %w", op, branch, b.cfg.Table, phase, err, rerr)
		}
		s := r.side(op)
		switch {
		case s.token != token:
			return fmt.Errorf("%w: %s %q in table %s: another run took the branch over before this one was recorded as %s", ErrLost, op, branch, b.cfg.Table, phase)
		case s.phase == phase:
			return nil
		}
	}
	return fmt.Errorf("barrier: %s %q in table %s: recording it %s: %w", op, branch, b.cfg.Table, phase, err)
}
