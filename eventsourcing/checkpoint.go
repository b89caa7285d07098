package eventsourcing

import (
	"context"
	"fmt"
)

// Checkpoint returns the position saved under name (zero if none).
func (s *Store) Checkpoint(ctx context.Context, name string) (Position, error) {
	c, err := s.checks.Get(ctx, name)
	if err != nil {
		return Position{}, fmt.Errorf("eventsourcing: %w", err)
	}
	return c.Position, nil
}
