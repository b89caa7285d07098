package changefeed

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cassandraorm/cassandraorm-go/lease"
)

// ErrLeaseLost is matched by the error of a reader that stopped because the lease
// of its shard was lost: another process took it, or this one could not renew it
// in time, or a later holder saved the shard's checkpoint (ErrFenced). The error
// wraps the lease's.
var ErrLeaseLost = errors.New("changefeed: lease lost")

// LeaseLost returns an error matching ErrLeaseLost that names reader and wraps
// why h is no longer valid, or nil while it is. It reads the lease's deadline
// itself, so it is exact even before h.Lost is closed.
func LeaseLost(h *lease.Held, reader string) error {
	if h.Valid() {
		return nil
	}
	return fmt.Errorf("%w: %s (%s): %w", ErrLeaseLost, reader, h.Name(), leaseErr(h))
}

// FollowConfig configures Log.Follow. Zero fields take the defaults documented
// on each.
type FollowConfig struct {
	// Batch is how many entries are read at a time, and so between checkpoint
	// saves (default 100).
	Batch int
	// Poll is how long to wait when the log has nothing new (default 250ms).
	Poll time.Duration
	// CatchUp makes Follow return nil once it has handled every entry it can
	// read now: entries younger than the lag, and those after an entry still
	// waited for, are left for a later call.
	CatchUp bool
}

// Validate reports a negative Batch or Poll.
func (c FollowConfig) Validate() error {
	if c.Batch < 0 || c.Poll < 0 {
		return fmt.Errorf("changefeed: negative Batch (%d) or Poll (%v)", c.Batch, c.Poll)
	}
	return nil
}

func (c *FollowConfig) setDefaults() {
	if c.Batch == 0 {
		c.Batch = 100
	}
	if c.Poll == 0 {
		c.Poll = 250 * time.Millisecond
	}
}

// Follow reads shard of the log in order, handing each entry to handle, until ctx
// ends (it returns ctx's error), handle fails (it returns handle's error as it
// is), or the claim's lease is lost (an error matching ErrLeaseLost).
//
// With a claim, the shard's checkpoint held under its lease, Follow starts at
// the claim's position and saves its progress to it after each batch and before
// returning a handler's error (so the failed entry comes again); handle's context
// carries the lease (lease.FromContext) and ends when it is lost, at the latest
// at its deadline, so that a handler fences its writes with the lease's token and
// stops at once. Without one (claim nil) it starts at from and keeps no position.
// handle's context is derived from ctx, values and all.
func (l *Log[R, P]) Follow(ctx context.Context, shard int, from Position, claim *Claim, cfg FollowConfig, handle func(ctx context.Context, r *R) error) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg.setDefaults()
	pos := from
	lost := func() error { return nil }
	var lostCh <-chan struct{}
	hctx := ctx
	if claim != nil {
		held := claim.Held()
		pos = claim.Position()
		lost = func() error { return LeaseLost(held, claim.name) }
		lostCh = held.Lost()
		var stop context.CancelCauseFunc
		hctx, stop = context.WithCancelCause(lease.NewContext(ctx, held))
		defer stop(nil)
		go func() {
			select {
			case <-lostCh:
				stop(lost())
			case <-hctx.Done():
			}
		}()
	}
	save := func(ctx context.Context, p Position) error {
		if claim == nil {
			return nil
		}
		return claim.Save(ctx, p)
	}
	for {
		if err := lost(); err != nil {
			return err
		}
		start := pos
		rows, next, err := l.Read(ctx, shard, pos, cfg.Batch)
		if err != nil {
			return err
		}
		for i := range rows {
			if err := lost(); err != nil {
				return err // nothing to save: the checkpoint is the successor's now
			}
			if err := handle(hctx, &rows[i]); err != nil {
				_ = save(context.WithoutCancel(ctx), pos) // keep the progress made; the failure is what the caller sees
				if lerr := lost(); lerr != nil {
					return lerr
				}
				if ctx.Err() != nil {
					return ctx.Err() // a stop, whatever the handler made of it
				}
				return err
			}
			pos = P(&rows[i]).head().Position()
		}
		// next may lie past the last entry handled: entries given up are skipped.
		pos = next
		if pos != start {
			if err := save(ctx, pos); err != nil {
				return err
			}
		}
		if len(rows) > 0 {
			continue
		}
		if cfg.CatchUp {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-lostCh:
			return lost()
		case <-time.After(cfg.Poll):
		}
	}
}

// EachShard runs f for shards 0 to n-1 at once and returns the first error; an
// error cancels the other shards, and is returned rather than their
// cancellation.
func EachShard(ctx context.Context, n int, f func(ctx context.Context, shard int) error) error {
	if n == 1 {
		return f(ctx, 0)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errs := make(chan error, n)
	for k := range n {
		go func() {
			err := f(ctx, k)
			if err != nil {
				cancel(err)
			}
			errs <- err
		}()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return first
}

// Hold takes the lease called name from leases, waiting while another process
// holds it, claims the checkpoint of the same name under it, runs f with the
// claim, and gives the lease back. Errors name the reader.
func (c *Checkpoints) Hold(ctx context.Context, leases *lease.Manager, name string, f func(ctx context.Context, c *Claim) error) (err error) {
	held, err := leases.Acquire(ctx, name)
	if err != nil {
		return fmt.Errorf("changefeed: reader %s: %w", name, err)
	}
	defer func() {
		if rerr := held.Release(context.WithoutCancel(ctx)); err == nil && rerr != nil {
			err = fmt.Errorf("changefeed: reader %s: %w", name, rerr)
		}
	}()
	if err := LeaseLost(held, name); err != nil {
		return err
	}
	claim, err := c.Claim(ctx, name, held)
	if err != nil {
		return err
	}
	return f(ctx, claim)
}
