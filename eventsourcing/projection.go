package eventsourcing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cassandraorm/cassandraorm-go/lease"
)

// Envelope is what a projection handles: a stored event, its place in the global
// feed, and the decoded event when its type is registered (nil otherwise).
type Envelope struct {
	Entry
	Event Event
}

// Projection turns the global feed into a read model. Delivery is at least once: after
// a crash, events since the last checkpoint are handled again, so Handle must be
// idempotent, for example by keying writes on the event ID or by recording the
// versions it applied.
type Projection struct {
	// Name identifies the projection's checkpoint and lease.
	Name string
	// Handle applies one event. An error stops the projection (its checkpoint stays
	// before the event) and is returned by Run.
	Handle func(ctx context.Context, e Envelope) error
	// Reset clears the read model; Rebuild calls it before replaying from the start.
	Reset func(ctx context.Context) error
}

// ProjectorOptions tune a Projector.
type ProjectorOptions struct {
	// Batch is how many feed entries are read and handled between checkpoints
	// (default 100).
	Batch int
	// Poll is how long to wait when the feed has nothing new (default 250ms).
	Poll time.Duration
}

// Projector runs projections over a store's global feed, each under a lease so that
// one process at a time runs a given projection, with checkpoints in Cassandra so a
// restarted process resumes where the last one stopped.
type Projector struct {
	store  *Store
	leases *lease.Manager
	reg    *Registry
	opts   ProjectorOptions
}

// generationKey carries the projection's generation (its count of rebuilds) to the
// handlers, for state kept per generation.
type generationKey struct{}

// ErrLeaseLost is returned by Run when the projection's lease was taken by another
// process (this one paused for longer than the lease's TTL).
var ErrLeaseLost = errors.New("eventsourcing: projection lease lost")

// NewProjector returns a projector. reg decodes events for handlers; it may be nil.
func NewProjector(store *Store, leases *lease.Manager, reg *Registry, opts ProjectorOptions) *Projector {
	if opts.Batch <= 0 {
		opts.Batch = 100
	}
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	return &Projector{store: store, leases: leases, reg: reg, opts: opts}
}

// Run takes the projection's lease (waiting while another process holds it) and
// handles the feed from the projection's checkpoint on, following new events until
// ctx ends (it then returns ctx's error), a handler fails, or the lease is lost.
func (p *Projector) Run(ctx context.Context, proj Projection) error {
	return p.run(ctx, proj, false, false)
}

// CatchUp is Run that returns nil once the projection has handled every event it can
// read now: events younger than StoreOptions.FeedLag, and those after an append still
// in flight, wait for a later call.
func (p *Projector) CatchUp(ctx context.Context, proj Projection) error {
	return p.run(ctx, proj, true, false)
}

// Rebuild resets the projection's read model and checkpoint and replays the whole
// feed, returning once it has caught up. It holds the lease throughout, so it waits
// for a running instance to stop.
func (p *Projector) Rebuild(ctx context.Context, proj Projection) error {
	return p.run(ctx, proj, true, true)
}

func (p *Projector) run(ctx context.Context, proj Projection, catchUp, rebuild bool) error {
	shards := p.store.opts.FeedShards
	if !rebuild {
		// Each shard takes its own lease, so the shards of one projection can be
		// spread over processes.
		return p.eachShard(ctx, shards, func(ctx context.Context, k int) (err error) {
			held, err := p.leases.Acquire(ctx, shardName(proj.Name, k))
			if err != nil {
				return err
			}
			defer func() {
				if rerr := held.Release(context.WithoutCancel(ctx)); err == nil {
					err = rerr
				}
			}()
			return p.runShard(ctx, proj, k, held, catchUp, false)
		})
	}
	// A rebuild holds every shard's lease, so no reader runs while the read model
	// is reset.
	helds := make([]*lease.Held, 0, shards)
	defer func() {
		for _, h := range helds {
			_ = h.Release(context.WithoutCancel(ctx))
		}
	}()
	for k := range shards {
		h, err := p.leases.Acquire(ctx, shardName(proj.Name, k))
		if err != nil {
			return err
		}
		helds = append(helds, h)
	}
	if proj.Reset != nil {
		if err := proj.Reset(ctx); err != nil {
			return fmt.Errorf("eventsourcing: resetting projection %s: %w", proj.Name, err)
		}
	}
	return p.eachShard(ctx, shards, func(ctx context.Context, k int) error {
		return p.runShard(ctx, proj, k, helds[k], true, true)
	})
}

// shardName names the lease and checkpoint of shard k of a projection.
func shardName(proj string, k int) string {
	if k == 0 {
		return "projection/" + proj
	}
	return fmt.Sprintf("projection/%s#%d", proj, k)
}

// eachShard runs f for every shard at once and returns the first error; an error
// cancels the other shards.
func (p *Projector) eachShard(ctx context.Context, shards int, f func(ctx context.Context, k int) error) error {
	if shards == 1 {
		return f(ctx, 0)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errs := make(chan error, shards)
	for k := range shards {
		go func() {
			err := f(ctx, k)
			if err != nil {
				cancel(err)
			}
			errs <- err
		}()
	}
	var first error
	for range shards {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause // the error that stopped the others, not their cancellation
	}
	return first
}

// runShard reads one shard of the feed into proj, holding that shard's lease. With
// newGeneration it first restarts the shard at the beginning of the feed in a new
// generation (a rebuild).
func (p *Projector) runShard(ctx context.Context, proj Projection, shard int, held *lease.Held, catchUp, newGeneration bool) error {
	ckpt := shardName(proj.Name, shard)
	state, err := p.store.checkpoint(ctx, ckpt)
	if err != nil {
		return err
	}
	pos, prev, gen := state.pos, state.owner, state.generation
	// Checkpoints are fenced by the lease token: see saveCheckpoint.
	save := func(ctx context.Context, at Position) error {
		err := p.store.saveCheckpoint(ctx, ckpt, at, gen, held.Token(), prev)
		if err == nil {
			prev = held.Token()
		}
		if errors.Is(err, errFenced) {
			return fmt.Errorf("%w: %s: %w", ErrLeaseLost, proj.Name, err)
		}
		return err
	}
	if newGeneration {
		pos, gen = Position{}, gen+1
		if err := save(ctx, pos); err != nil {
			return err
		}
	}
	// Handlers run on a context that ends with the lease, so a holder that lost it
	// stops at once rather than after its batch.
	hctx, stop := context.WithCancel(context.WithValue(ctx, generationKey{}, gen))
	defer stop()
	go func() {
		select {
		case <-held.Lost():
			stop()
		case <-hctx.Done():
		}
	}()
	lost := func() error {
		select {
		case <-held.Lost():
			return fmt.Errorf("%w: %s", ErrLeaseLost, proj.Name)
		default:
			return nil
		}
	}
	for {
		if err := lost(); err != nil {
			return err
		}
		start := pos
		entries, next, err := p.store.ReadFeed(ctx, shard, pos, p.opts.Batch)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := lost(); err != nil {
				_ = save(context.WithoutCancel(ctx), pos)
				return err
			}
			env := Envelope{Entry: e}
			if env.Event, err = p.decode(e.Record); err != nil {
				_ = save(context.WithoutCancel(ctx), pos) // keep the progress made; the failure is what the caller sees
				return fmt.Errorf("eventsourcing: projection %s: %w", proj.Name, err)
			}
			if err := proj.Handle(hctx, env); err != nil {
				_ = save(context.WithoutCancel(ctx), pos)
				if lerr := lost(); lerr != nil {
					return lerr
				}
				return fmt.Errorf("eventsourcing: projection %s at %s version %d: %w", proj.Name, e.Stream, e.Version, err)
			}
			pos = e.Position
		}
		// next may lie past the last entry handled: entries of lost appends are
		// skipped.
		pos = next
		if pos != start {
			if err := save(ctx, pos); err != nil {
				return err
			}
		}
		if len(entries) > 0 {
			continue
		}
		if catchUp {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-held.Lost():
			return lost()
		case <-time.After(p.opts.Poll):
		}
	}
}
