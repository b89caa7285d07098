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

// DeleteShelf deletes the products of shelf whose ids are from or after
// from ("" for all), with one Query.Delete of the products table.
func (s *Service) DeleteShelf(ctx context.Context, shelf int32, from string) error {
	q := s.products.Query().Where(orm.Eq("shelf", shelf))
	if from != "" {
		q = q.Where(orm.Gte("id", from))
	}
	return q.Delete(ctx)
}
