package eventsourcing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed"
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
	//
	// ctx ends when the shard's lease is lost, at the latest at the lease's deadline
	// (context.Cause is then an ErrLeaseLost), and the projector checks the lease
	// before every event. ctx also carries the lease (lease.FromContext), so a
	// handler can check it right before a write (Valid) and fence the write with the
	// lease's Token; see docs/eventsourcing.md.
	Handle func(ctx context.Context, e Envelope) error
	// Reset clears the read model; Rebuild calls it before replaying from the start.
	Reset func(ctx context.Context) error
}

// ProjectorConfig tunes a Projector. A zero field takes its default.
type ProjectorConfig struct {
	// Batch is how many feed entries are read and handled between checkpoints
	// (default 100).
	Batch int
	// Poll is how long to wait when the feed has nothing new, and between attempts
	// of a rebuild to take every shard's lease (default 250ms).
	Poll time.Duration
}

// setDefaults fills the zero fields.
func (c *ProjectorConfig) setDefaults() {
	if c.Batch == 0 {
		c.Batch = 100
	}
	if c.Poll == 0 {
		c.Poll = 250 * time.Millisecond
	}
}

// Validate reports the first field a Projector cannot work with. Zero fields count
// as their defaults.
func (c ProjectorConfig) Validate() error {
	c.setDefaults()
	if c.Batch < 0 {
		return fmt.Errorf("eventsourcing: ProjectorConfig.Batch %d: want a positive count", c.Batch)
	}
	if c.Poll < 0 {
		return fmt.Errorf("eventsourcing: ProjectorConfig.Poll %v: want a positive interval", c.Poll)
	}
	return nil
}

// Projector runs projections over a store's global feed, each under a lease so that
// one process at a time runs a given projection, with checkpoints in Cassandra so a
// restarted process resumes where the last one stopped.
type Projector struct {
	store  *Store
	leases *lease.Manager
	reg    *Registry
	cfg    ProjectorConfig
}

// generationKey carries the projection's generation (its count of rebuilds) to the
// handlers, for state kept per generation.
type generationKey struct{}

// ErrLeaseLost is matched by the error of Run when the projection's lease was lost:
// another process took it, or its deadline passed before it could be renewed (this
// process was paused, or cut off from Cassandra). The error wraps the lease's Err.
// It is changefeed.ErrLeaseLost: a projection reads the feed as every reader of a
// changefeed.Log does.
var ErrLeaseLost = changefeed.ErrLeaseLost

// NewProjector returns a projector, or the error of cfg.Validate. reg decodes events
// for handlers; it may be nil.
func NewProjector(store *Store, leases *lease.Manager, reg *Registry, cfg ProjectorConfig) (*Projector, error) {
	if store == nil || leases == nil {
		return nil, errors.New("eventsourcing: NewProjector: nil store or lease manager")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return &Projector{store: store, leases: leases, reg: reg, cfg: cfg}, nil
}

// Run takes the projection's lease (waiting while another process holds it) and
// handles the feed from the projection's checkpoint on, following new events until
// ctx ends (it then returns ctx's error), a handler fails, or the lease is lost.
func (p *Projector) Run(ctx context.Context, proj Projection) error {
	return p.run(ctx, proj, false, false)
}

// CatchUp is Run that returns nil once the projection has handled every event it can
// read now: events younger than StoreConfig.FeedLag, and those after an append still
// in flight, wait for a later call. It takes each shard's lease like Run, so a shard
// that a running process holds makes it wait until that process stops.
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
	if err := p.store.checkLayout(ctx); err != nil {
		return err
	}
	shards := p.store.opts.FeedShards
	if !rebuild {
		// Each shard takes its own lease, so the shards of one projection can be
		// spread over processes.
		return changefeed.EachShard(ctx, shards, func(ctx context.Context, k int) error {
			return p.store.checks.Hold(ctx, p.leases, shardName(proj.Name, k), func(ctx context.Context, c *changefeed.Claim) error {
				return p.runShard(ctx, proj, k, c, catchUp)
			})
		})
	}
	helds, err := p.acquireAll(ctx, proj.Name, shards)
	defer func() {
		for _, h := range helds {
			_ = h.Release(context.WithoutCancel(ctx))
		}
	}()
	if err != nil {
		return err
	}
	// Every shard moves to a new generation at the start of the feed before the
	// read model is reset: if the rebuild stops half way, later runs replay every
	// shard from the start into a read model that may hold old rows, which
	// idempotent handlers tolerate; the other order could leave shards that never
	// replay into a read model that was emptied.
	claims := make([]*changefeed.Claim, shards)
	for k := range shards {
		c, err := p.claim(ctx, proj.Name, k, helds[k])
		if err != nil {
			return err
		}
		if err := c.Restart(ctx); err != nil {
			return fmt.Errorf("eventsourcing: projection %s: %w", proj.Name, err)
		}
		claims[k] = c
	}
	for _, h := range helds {
		if err := changefeed.LeaseLost(h, proj.Name); err != nil {
			return err
		}
	}
	if proj.Reset != nil {
		if err := proj.Reset(ctx); err != nil {
			return fmt.Errorf("eventsourcing: resetting projection %s: %w", proj.Name, err)
		}
	}
	return changefeed.EachShard(ctx, shards, func(ctx context.Context, k int) error {
		return p.runShard(ctx, proj, k, claims[k], true)
	})
}

// acquireAll takes the leases of every shard of a projection, all or none: while one
// is held elsewhere it gives back those it took and tries again, so a waiting rebuild
// does not stall the shards it already holds.
func (p *Projector) acquireAll(ctx context.Context, name string, shards int) ([]*lease.Held, error) {
	for {
		var helds []*lease.Held
		var err error
		for k := range shards {
			var h *lease.Held
			if h, err = p.leases.TryAcquire(ctx, shardName(name, k)); err != nil {
				break
			}
			helds = append(helds, h)
		}
		if err == nil {
			return helds, nil
		}
		for _, h := range helds {
			_ = h.Release(context.WithoutCancel(ctx))
		}
		if !errors.Is(err, lease.ErrHeld) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("eventsourcing: waiting for the leases of %s: %w (last: %w)", name, ctx.Err(), err)
		case <-time.After(p.cfg.Poll):
		}
	}
}

// claim takes a shard's checkpoint under held, fencing out a former holder's saves.
func (p *Projector) claim(ctx context.Context, proj string, shard int, held *lease.Held) (*changefeed.Claim, error) {
	if err := changefeed.LeaseLost(held, proj); err != nil {
		return nil, err
	}
	c, err := p.store.checks.Claim(ctx, shardName(proj, shard), held)
	if err != nil {
		return nil, fmt.Errorf("eventsourcing: projection %s: %w", proj, err)
	}
	return c, nil
}

// shardName names the lease and checkpoint of shard k of a projection.
func shardName(proj string, k int) string {
	if k == 0 {
		return "projection/" + proj
	}
	return fmt.Sprintf("projection/%s#%d", proj, k)
}

// runShard reads one shard of the feed into proj under claim c. Handlers run on a
// context that carries the lease and the generation.
func (p *Projector) runShard(ctx context.Context, proj Projection, shard int, c *changefeed.Claim, catchUp bool) error {
	ctx = context.WithValue(ctx, generationKey{}, c.Generation())
	cfg := changefeed.FollowConfig{Batch: p.cfg.Batch, Poll: p.cfg.Poll, CatchUp: catchUp}
	return p.store.feed.Follow(ctx, shard, Position{}, c, cfg, func(ctx context.Context, f *feedRow) error {
		env := Envelope{Entry: entryOf(f)}
		var err error
		if env.Event, err = p.decode(env.Record); err != nil {
			return fmt.Errorf("eventsourcing: projection %s: %w", proj.Name, err)
		}
		if err := proj.Handle(ctx, env); err != nil {
			return fmt.Errorf("eventsourcing: projection %s at %s version %d: %w", proj.Name, env.Stream, env.Version, err)
		}
		return nil
	})
}
