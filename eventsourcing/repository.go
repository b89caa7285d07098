package eventsourcing

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// RepositoryConfig configures a Repository. The zero RepositoryConfig takes no
// snapshots.
type RepositoryConfig struct {
	// Snapshots, when set, makes the repository snapshot aggregates that implement
	// Snapshotter (default nil: no snapshots).
	Snapshots *SnapshotPolicy
}

// Validate reports a configuration the repository cannot run with: a snapshot
// policy with a negative Every or SlowLoad.
func (c RepositoryConfig) Validate() error {
	if p := c.Snapshots; p != nil && (p.Every < 0 || p.SlowLoad < 0) {
		return fmt.Errorf("eventsourcing: repository: snapshot policy Every %d, SlowLoad %v: negative", p.Every, p.SlowLoad)
	}
	return nil
}

// Repository loads and saves aggregates of type A, whose events are E, from a Store.
// It is safe for concurrent use; the aggregates it returns are not.
type Repository[A Aggregate[E], E Event] struct {
	store  *Store
	reg    *Registry
	newAgg func() A
	opts   RepositoryConfig
}

// NewRepository returns a repository of store's aggregates, decoded with reg.
// newAgg returns a zero aggregate; the repository sets its id and replays its
// events. It returns an error for a nil store, registry or newAgg, and cfg's
// Validate error.
func NewRepository[A Aggregate[E], E Event](store *Store, reg *Registry, newAgg func() A, cfg RepositoryConfig) (*Repository[A, E], error) {
	switch {
	case store == nil:
		return nil, errors.New("eventsourcing: repository: nil store")
	case reg == nil:
		return nil, errors.New("eventsourcing: repository: nil registry")
	case newAgg == nil:
		return nil, errors.New("eventsourcing: repository: nil newAgg")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Repository[A, E]{store: store, reg: reg, newAgg: newAgg, opts: cfg}, nil
}

// New returns a new aggregate with the given id and no events, to raise its first
// events on.
func (r *Repository[A, E]) New(id string) A {
	a := r.newAgg()
	a.AggregateRoot().id = id
	return a
}

// Load rebuilds aggregate id from its latest usable snapshot and the events after it.
// It returns ErrStreamNotFound when the stream has no events, and an error naming the
// stream and version for an event it cannot decode.
func (r *Repository[A, E]) Load(ctx context.Context, id string) (A, error) {
	a, _, err := r.load(ctx, id)
	return a, err
}

// load also reports how long loading took and from which snapshot version.
func (r *Repository[A, E]) load(ctx context.Context, id string) (A, loadInfo, error) {
	start := time.Now()
	a := r.New(id)
	info := loadInfo{}
	if snap, ok := any(a).(Snapshotter); ok && r.opts.Snapshots != nil {
		row, err := r.store.snaps.Get(ctx, id)
		if err == nil && int(row.SchemaVersion) == r.opts.Snapshots.SchemaVersion {
			if err := snap.UnmarshalSnapshot(row.Data); err != nil {
				var zero A
				return zero, info, fmt.Errorf("eventsourcing: snapshot of %s at version %d: %w", id, row.Version, err)
			}
			a.AggregateRoot().version = row.Version
			info.snapshotAt = row.Version
		}
	}
	for rec, err := range r.store.Load(ctx, id, a.AggregateRoot().version+1) {
		if err != nil {
			var zero A
			return zero, info, err
		}
		ev, err := r.decode(rec)
		if err != nil {
			var zero A
			return zero, info, err
		}
		replay(a, ev, rec.Version)
	}
	if a.AggregateRoot().version == 0 {
		var zero A
		return zero, info, fmt.Errorf("%w: %s", ErrStreamNotFound, id)
	}
	info.took = time.Since(start)
	return a, info, nil
}

type loadInfo struct {
	took       time.Duration
	snapshotAt int64
}

func (r *Repository[A, E]) decode(rec Record) (E, error) {
	var zero E
	ev, err := r.reg.Decode(rec)
	if err != nil {
		return zero, err
	}
	e, ok := ev.(E)
	if !ok {
		return zero, fmt.Errorf("%w: %s at stream %s version %d decodes to %T, which is not an event of this aggregate",
			ErrCorruptEvent, rec.Type, rec.Stream, rec.Version, ev)
	}
	return e, nil
}

// Save appends a's pending events at its stored version, stamped with the metadata
// of ctx (see WithMetadata) and the tenant of ctx (tenant.From), and clears them.
// It appends nothing, and returns an error naming the stream, when ctx's tenant is
// invalid (tenant.ErrInvalidID) or the metadata names another tenant than ctx's
// (tenant.ErrMismatch); under a ctx without tenant, Metadata.Tenant is what
// WithMetadata gave, possibly empty. It returns a *ConcurrencyError if the
// stream moved since a was loaded; then a is stale and must be loaded again. After any
// other error the outcome is unknown and Save may be called again: the events keep
// the ids they got when raised, so a save that did apply is not repeated.
func (r *Repository[A, E]) Save(ctx context.Context, a A) error {
	return r.save(ctx, a, loadInfo{took: -1, snapshotAt: -1})
}

func (r *Repository[A, E]) save(ctx context.Context, a A, info loadInfo) error {
	root := a.AggregateRoot()
	if len(root.pending) == 0 {
		return nil
	}
	meta := MetadataFrom(ctx) // Append takes ctx's tenant into it, or refuses it
	data := make([]EventData, len(root.pending))
	for i, e := range root.pending {
		d, err := r.reg.Encode(e)
		if err != nil {
			return fmt.Errorf("eventsourcing: saving %s: %w", root.id, err)
		}
		d.ID, d.Metadata = root.ids[i], meta
		data[i] = d
	}
	// On an error other than a conflict (a timeout, say) the events may be stored;
	// saving a again appends the same event ids, which succeeds without doubling
	// them if the first attempt did apply.
	if _, err := r.store.Append(ctx, root.id, root.StoredVersion(), data); err != nil {
		return err
	}
	root.pending, root.ids = nil, nil
	r.maybeSnapshot(ctx, a, info)
	return nil
}

// maybeSnapshot takes a snapshot when the policy says so. A failed snapshot is not an
// error: the events are saved, and loading replays them.
func (r *Repository[A, E]) maybeSnapshot(ctx context.Context, a A, info loadInfo) {
	snap, ok := any(a).(Snapshotter)
	if !ok || r.opts.Snapshots == nil {
		return
	}
	root := a.AggregateRoot()
	if info.snapshotAt < 0 {
		row, err := r.store.snaps.Get(ctx, root.id)
		switch {
		case err == nil && int(row.SchemaVersion) == r.opts.Snapshots.SchemaVersion:
			info.snapshotAt = row.Version
		default:
			info.snapshotAt = 0
		}
	}
	if !r.opts.Snapshots.due(root.version, info.snapshotAt, info.took) {
		return
	}
	data, err := snap.MarshalSnapshot()
	if err != nil {
		return
	}
	row := snapshotRow{Stream: root.id, Version: root.version, SchemaVersion: int32(r.opts.Snapshots.SchemaVersion),
		Data: data, TakenAt: time.Now().UTC()}
	_ = r.store.snaps.Insert(context.WithoutCancel(ctx), &row)
}

// Update loads aggregate id, calls fn to raise events on it, and saves it: one
// load-decide-save. It returns ErrStreamNotFound if the stream has no events (see
// CreateOrUpdate), fn's error as it is, and Save's errors: a *ConcurrencyError when
// another writer moved the stream between the load and the save. Update does not
// retry; to start over on a conflict, run it under retry.Do with
// retry.On(ErrConcurrency). fn must then be free of side effects other than raising
// events, since it may run more than once.
func (r *Repository[A, E]) Update(ctx context.Context, id string, fn func(A) error) error {
	return r.update(ctx, id, false, fn)
}

// CreateOrUpdate is Update that gives fn a new aggregate (see New) when the stream has
// no events, instead of returning ErrStreamNotFound. Two concurrent creations of one
// id conflict like any other concurrent saves.
func (r *Repository[A, E]) CreateOrUpdate(ctx context.Context, id string, fn func(A) error) error {
	return r.update(ctx, id, true, fn)
}

func (r *Repository[A, E]) update(ctx context.Context, id string, create bool, fn func(A) error) error {
	a, info, err := r.load(ctx, id)
	switch {
	case errors.Is(err, ErrStreamNotFound) && create:
		a, info = r.New(id), loadInfo{}
	case err != nil:
		return err
	}
	if err := fn(a); err != nil {
		return err
	}
	return r.save(ctx, a, info)
}
