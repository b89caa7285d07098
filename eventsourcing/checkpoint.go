package eventsourcing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// checkpointRow is how far a feed reader has got, and which lease holder wrote it.
type checkpointRow struct {
	Name   string   `cql:"name" orm:"pk"`
	Bucket int64    `cql:"bucket"`
	Seq    orm.UUID `cql:"seq" orm:"timeuuid"`
	Owner  string   `cql:"owner"`
	// Generation counts rebuilds: state kept per projection beside the checkpoint
	// (InStreamOrder's stream positions) is valid only for its generation.
	Generation int64     `cql:"generation"`
	UpdatedAt  time.Time `cql:"updated_at"`
}

// checkpointState is a checkpoint as a runner reads it.
type checkpointState struct {
	pos        Position
	owner      string
	generation int64
}

// Checkpoint returns the position saved under name (zero if none).
func (s *Store) Checkpoint(ctx context.Context, name string) (Position, error) {
	c, err := s.checkpoint(ctx, name)
	return c.pos, err
}

func (s *Store) checkpoint(ctx context.Context, name string) (checkpointState, error) {
	r, err := s.checks.Get(ctx, name)
	if errors.Is(err, orm.ErrNotFound) {
		return checkpointState{}, nil
	}
	if err != nil {
		return checkpointState{}, fmt.Errorf("eventsourcing: reading checkpoint %s: %w", name, err)
	}
	return checkpointState{pos: Position{Bucket: r.Bucket, Seq: r.Seq}, owner: r.Owner, generation: r.Generation}, nil
}

// errFenced is returned when a checkpoint was written by another lease holder since
// this one read it: this holder lost its lease and must stop.
var errFenced = errors.New("checkpoint written by another holder")

// saveCheckpoint records pos under name on behalf of lease holder owner, if the
// checkpoint's owner is still prev (the owner seen when the holder started, or owner
// itself after its first save). The condition fences out a holder that lost its lease
// while paused: once its successor has saved, its own saves fail.
func (s *Store) saveCheckpoint(ctx context.Context, name string, pos Position, generation int64, owner, prev string) error {
	var seq, prevOwner any
	if pos.Seq != (orm.UUID{}) {
		seq = pos.Seq
	}
	if prev != "" {
		prevOwner = prev
	}
	err := s.checks.PatchIf(ctx, []any{name}, []orm.Predicate{orm.Eq("owner", prevOwner)}, []orm.Change{
		orm.Set("bucket", pos.Bucket), orm.Set("seq", seq), orm.Set("owner", owner), orm.Set("generation", generation),
		orm.Set("updated_at", time.Now().UTC()),
	})
	if errors.Is(err, orm.ErrConflict) {
		return fmt.Errorf("eventsourcing: saving checkpoint %s: %w", name, errFenced)
	}
	if err != nil {
		return fmt.Errorf("eventsourcing: saving checkpoint %s: %w", name, err)
	}
	return nil
}
