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
//
// With Config.LookBack on, Follow also reads the log again behind its position,
// after the first batch and then every quarter of LookBack, from LookBack and a
// quarter before the present, and hands handle each entry it finds there that
// it has not handled (Head.Late reports such an entry): one whose write applied
// after the reader had passed its place. It remembers the entries it handled in
// that window, and saves a digest of them per second with the checkpoint, so
// that a successor's first look-back hands over again only the seconds whose
// entries differ from what its predecessor handled. The cost: each look-back
// reads some 1.25 LookBack of the shard's log (so, at the default spacing, the
// log is read about five times more than without), and a reader keeps the Seq
// of each entry of that window in memory.
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
	var lb *lookBack
	if l.cfg.LookBack > 0 {
		var floor time.Time
		if claim == nil && from != (Position{}) {
			floor = from.Seq.Time() // an ephemeral reader delivers nothing from before its start
		}
		lb = newLookBack(l.cfg.LookBack, floor)
		if claim != nil {
			if err := lb.inherit(pos, claim.seen); err != nil {
				return fmt.Errorf("changefeed: %s: checkpoint %s: %w", l.cfg.Table, claim.name, err)
			}
		}
	}
	save := func(ctx context.Context, p Position) error {
		if claim == nil {
			return nil
		}
		if lb == nil {
			return claim.Save(ctx, p)
		}
		return claim.save(ctx, p, lb.record())
	}
	// fail keeps the progress made before a handler's error and returns what
	// the caller should see.
	fail := func(err error) error {
		_ = save(context.WithoutCancel(ctx), pos)
		if lerr := lost(); lerr != nil {
			return lerr
		}
		if ctx.Err() != nil {
			return ctx.Err() // a stop, whatever the handler made of it
		}
		return err
	}
	var nextLook time.Time // the first look-back follows the first batch
	look := func(force bool) error {
		if lb == nil || (!force && time.Now().Before(nextLook)) {
			return nil
		}
		nextLook = time.Now().Add(l.cfg.LookBack / 4)
		handed := false
		err := l.lookBack(ctx, shard, lb, pos, func(r *R) error {
			if err := lost(); err != nil {
				return err
			}
			handed = true
			return handle(hctx, r)
		})
		if err != nil {
			if errors.Is(err, ErrLeaseLost) {
				return err
			}
			return fail(err)
		}
		if handed {
			return save(ctx, pos)
		}
		return nil
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
			h := P(&rows[i]).head()
			if lb != nil && lb.has(h) {
				pos = h.Position() // handed over already, by a look-back
				continue
			}
			if err := handle(hctx, &rows[i]); err != nil {
				return fail(err)
			}
			pos = h.Position()
			if lb != nil {
				lb.handled(h)
			}
		}
		// next may lie past the last entry handled: entries given up are skipped.
		pos = next
		if pos != start {
			if err := save(ctx, pos); err != nil {
				return err
			}
		}
		if err := look(len(rows) == 0 && cfg.CatchUp); err != nil {
			return err
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
