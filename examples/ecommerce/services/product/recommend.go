package product

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/recommend"
	"github.com/cassandraorm/cassandraorm-go/vector"
)

// ErrNoRecommender is a recommendation call on a Service made without
// Config.Recommend.
var ErrNoRecommender = errors.New("product: no recommender (Config.Recommend)")

// content is the catalogue as the recommender's content-based model: the mean
// of the seed products' embeddings, searched shelf by shelf in the search
// table.
type content struct{ s *Service }

// Similar implements recommend.ContentSource.
func (c content) Similar(ctx context.Context, items []string, limit int) ([]recommend.Scored, error) {
	s := c.s
	var seeds [][]float32
	for _, id := range items {
		if checkID(id) != nil {
			continue
		}
		r, err := s.search.Get(ctx, s.shelf(id), id)
		if errors.Is(err, orm.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("product: content of %s: %w", id, err)
		}
		if len(r.Embedding) == Dimension {
			seeds = append(seeds, r.Embedding)
		}
	}
	if len(seeds) == 0 {
		return nil, nil
	}
	q := make([]float32, Dimension)
	for _, v := range seeds {
		for i, x := range v {
			q[i] += x / float32(len(seeds))
		}
	}
	if slices.Equal(q, make([]float32, Dimension)) {
		return nil, nil // opposite seeds: no direction to search
	}
	var out []recommend.Scored
	for shelf := range int32(s.cfg.Shelves) {
		res, err := vector.Search(ctx, s.search, "embedding", q, vector.SearchOptions{Limit: min(limit, orm.MaxANNLimit), Where: []orm.Predicate{orm.Eq("shelf", shelf)}})
		if err != nil {
			return nil, fmt.Errorf("product: content search: %w", err)
		}
		for _, r := range res.Rows {
			out = append(out, recommend.Scored{Item: r.Row.ID, Score: float64(r.Score)})
		}
	}
	slices.SortStableFunc(out, func(a, b recommend.Scored) int { return cmp.Compare(b.Score, a.Score) })
	return out[:min(len(out), limit)], nil
}

// Record records that a user viewed, carted or bought a product, for the
// recommender.
func (s *Service) Record(ctx context.Context, in recommend.Interaction) error {
	if s.rec == nil {
		return ErrNoRecommender
	}
	if err := checkID(in.ItemID); err != nil {
		return err
	}
	return s.rec.Record(ctx, in)
}

// Train runs the recommender's full training job (item-item neighbours and
// popularity, stored in Cassandra).
func (s *Service) Train(ctx context.Context) (recommend.TrainReport, error) {
	if s.rec == nil {
		return recommend.TrainReport{}, ErrNoRecommender
	}
	return s.rec.Train(ctx)
}

// Recommend returns up to limit products for user, from the stored lists of the
// last training (item-item neighbours of the user's products, the nearest
// products by meaning, popularity for a new user), without those they bought.
// Each hit's Score is the hybrid's.
func (s *Service) Recommend(ctx context.Context, user string, limit int) ([]Hit, error) {
	if s.rec == nil {
		return nil, ErrNoRecommender
	}
	if limit < 1 || limit > MaxLimit {
		return nil, fmt.Errorf("%w: limit %d: want 1 to %d", ErrInvalid, limit, MaxLimit)
	}
	got, err := s.rec.Recommend(ctx, user, limit)
	if err != nil {
		return nil, fmt.Errorf("product: recommendations for %s: %w", user, err)
	}
	hits := make([]Hit, 0, len(got))
	for _, g := range got {
		if checkID(g.Item) == nil {
			hits = append(hits, Hit{Product: Product{Shelf: s.shelf(g.Item), ID: g.Item}, Score: g.Score})
		}
	}
	return s.load(ctx, hits)
}
