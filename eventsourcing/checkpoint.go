package eventsourcing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// checkpointRow is how far a feed reader has got.
type checkpointRow struct {
	Name      string    `cql:"name" orm:"pk"`
	Bucket    int64     `cql:"bucket"`
	Seq       orm.UUID  `cql:"seq" orm:"timeuuid"`
	UpdatedAt time.Time `cql:"updated_at"`
}

// Checkpoint returns the position saved under name (zero if none).
func (s *Store) Checkpoint(ctx context.Context, name string) (Position, error) {
	r, err := s.checks.Get(ctx, name)
	if errors.Is(err, orm.ErrNotFound) {
		return Position{}, nil
	}
	if err != nil {
		return Position{}, fmt.Errorf("eventsourcing: reading checkpoint %s: %w", name, err)
	}
	return Position{Bucket: r.Bucket, Seq: r.Seq}, nil
}

// SaveCheckpoint records pos under name.
func (s *Store) SaveCheckpoint(ctx context.Context, name string, pos Position) error {
	r := checkpointRow{Name: name, Bucket: pos.Bucket, Seq: pos.Seq, UpdatedAt: time.Now().UTC()}
	if err := s.checks.Insert(ctx, &r, orm.WithNulls()); err != nil {
		return fmt.Errorf("eventsourcing: saving checkpoint %s: %w", name, err)
	}
	return nil
}
