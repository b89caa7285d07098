package product

import (
	"context"
	"errors"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// Indexed returns the text hash of product id's search row, and whether it has
// an embedding.
func (s *Service) Indexed(ctx context.Context, id string) (string, bool, error) {
	r, err := s.search.Get(ctx, s.shelf(id), id)
	if errors.Is(err, orm.ErrNotFound) {
		return "", false, nil
	}
	return r.TextHash, len(r.Embedding) == Dimension, err
}
