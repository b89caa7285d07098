package product

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/vector"
)

// Mode is how Search ranks products.
type Mode string

// Search modes.
const (
	// Hybrid fuses the keyword and semantic rankings (reciprocal rank fusion).
	Hybrid Mode = "hybrid"
	// Keyword ranks by the share of the query's words a product's text has.
	Keyword Mode = "keyword"
	// Semantic ranks by the similarity of the product's embedding to the query's.
	Semantic Mode = "semantic"
)

// rrfK is reciprocal rank fusion's constant: a hit at rank r scores 1/(rrfK+r).
const rrfK = 60

// Query is a search of the catalogue.
type Query struct {
	// Text is what to look for. Required.
	Text string
	// Mode is the ranking (default Hybrid).
	Mode Mode
	// Category, when set, keeps only products of that category.
	Category string
	// MinPriceCents and MaxPriceCents, when not zero, bound the price.
	MinPriceCents, MaxPriceCents int64
	// Limit is the number of hits (default 10, at most MaxLimit).
	Limit int
}

func (q *Query) check() error {
	if q.Mode == "" {
		q.Mode = Hybrid
	}
	if q.Limit == 0 {
		q.Limit = 10
	}
	switch {
	case q.Text == "" || len(q.Text) > MaxTextLen:
		return fmt.Errorf("%w: query text: want 1 to %d bytes", ErrInvalid, MaxTextLen)
	case q.Mode != Hybrid && q.Mode != Keyword && q.Mode != Semantic:
		return fmt.Errorf("%w: mode %q: want hybrid, keyword or semantic", ErrInvalid, q.Mode)
	case q.Limit < 1 || q.Limit > MaxLimit:
		return fmt.Errorf("%w: limit %d: want 1 to %d", ErrInvalid, q.Limit, MaxLimit)
	case q.MinPriceCents < 0 || q.MaxPriceCents < 0 || (q.MaxPriceCents != 0 && q.MaxPriceCents < q.MinPriceCents):
		return fmt.Errorf("%w: price range %d to %d", ErrInvalid, q.MinPriceCents, q.MaxPriceCents)
	}
	return nil
}

// filters are the query's restrictions within one shelf.
func (q *Query) filters(shelf int32) []orm.Predicate {
	where := []orm.Predicate{orm.Eq("shelf", shelf)}
	if q.Category != "" {
		where = append(where, orm.Eq("category", q.Category))
	}
	if q.MinPriceCents != 0 {
		where = append(where, orm.Gte("price_cents", q.MinPriceCents))
	}
	if q.MaxPriceCents != 0 {
		where = append(where, orm.Lte("price_cents", q.MaxPriceCents))
	}
	return where
}

// Search returns the products that best match q, best first.
func (s *Service) Search(ctx context.Context, q Query) ([]Hit, error) {
	if err := q.check(); err != nil {
		return nil, err
	}
	var kw, sem []Hit
	var err error
	if q.Mode != Semantic {
		if kw, err = s.keyword(ctx, q); err != nil {
			return nil, err
		}
	}
	if q.Mode != Keyword {
		vecs, err := s.cfg.Embedder.Embed(ctx, []string{q.Text})
		if err != nil {
			return nil, fmt.Errorf("product: embedding the query: %w", err)
		}
		if sem, err = s.nearest(ctx, q, vecs[0], ""); err != nil {
			return nil, err
		}
	}
	var hits []Hit
	switch q.Mode {
	case Keyword:
		hits = kw[:min(len(kw), q.Limit)]
	case Semantic:
		hits = sem
	default:
		hits = fuse(kw, sem, q.Limit)
	}
	return s.load(ctx, hits)
}

// Similar returns up to limit products nearest to product id by meaning (in
// the same category when sameCategory), not counting it.
func (s *Service) Similar(ctx context.Context, id string, limit int, sameCategory bool) ([]Hit, error) {
	if limit < 1 || limit > MaxLimit {
		return nil, fmt.Errorf("%w: limit %d: want 1 to %d", ErrInvalid, limit, MaxLimit)
	}
	if err := checkID(id); err != nil {
		return nil, err
	}
	r, err := s.search.Get(ctx, s.shelf(id), id)
	if errors.Is(err, orm.ErrNotFound) {
		if _, gerr := s.Get(ctx, id); gerr != nil {
			return nil, gerr
		}
		return nil, fmt.Errorf("%w: %s", ErrNotEmbedded, id)
	}
	if err != nil {
		return nil, fmt.Errorf("product: similar to %s: %w", id, err)
	}
	q := Query{Limit: limit}
	if sameCategory {
		q.Category = r.Category
	}
	hits, err := s.nearest(ctx, q, r.Embedding, id)
	if err != nil {
		return nil, err
	}
	return s.load(ctx, hits)
}

// nearest is the semantic ranking: an ANN read of the search table per shelf,
// merged, without product skip.
func (s *Service) nearest(ctx context.Context, q Query, vec []float32, skip string) ([]Hit, error) {
	var hits []Hit
	for shelf := range int32(s.cfg.Shelves) {
		limit := q.Limit
		if skip != "" {
			limit++
		}
		res, err := vector.Search(ctx, s.search, "embedding", vec, vector.SearchOptions{Limit: limit, Where: q.filters(shelf)})
		if err != nil {
			return nil, fmt.Errorf("product: semantic search: %w", err)
		}
		for _, r := range res.Rows {
			if r.Row.ID != skip {
				hits = append(hits, Hit{Product: Product{Shelf: r.Row.Shelf, ID: r.Row.ID}, Score: float64(r.Score)})
			}
		}
	}
	slices.SortStableFunc(hits, func(a, b Hit) int { return cmp.Compare(b.Score, a.Score) })
	hits = hits[:min(len(hits), q.Limit)]
	for i := range hits {
		hits[i].SemanticRank = i + 1
	}
	return hits, nil
}

// loadConcurrency bounds the catalogue reads of one search in flight.
const loadConcurrency = 8

// load fills in the hits' products from the catalogue, a few reads at a time,
// dropping those deleted since the search table last heard of them. The hits
// keep their order.
func (s *Service) load(ctx context.Context, hits []Hit) ([]Hit, error) {
	found := make([]bool, len(hits))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(loadConcurrency)
	for i := range hits {
		g.Go(func() error {
			p, err := s.get(gctx, hits[i].Product.ID, true)
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("product: loading hit %s: %w", hits[i].Product.ID, err)
			}
			hits[i].Product, found[i] = p, true
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := hits[:0]
	for i, h := range hits {
		if found[i] {
			out = append(out, h)
		}
	}
	return out, nil
}

// keywordCandidates bounds the products read per query word and shelf.
const keywordCandidates = 200

// keyword is the keyword ranking: for each word of the query, the products
// whose tokens hold it (an SAI read per word and shelf), ranked by how many of
// the words they hold, then by id. It returns up to MaxLimit hits.
func (s *Service) keyword(ctx context.Context, q Query) ([]Hit, error) {
	words := Tokens(q.Text)
	if len(words) == 0 {
		return nil, nil
	}
	found := map[string]*Hit{}
	for shelf := range int32(s.cfg.Shelves) {
		for _, w := range words {
			where := append(q.filters(shelf), orm.Contains("tokens", w))
			for r, err := range s.search.Query().Where(where...).Limit(keywordCandidates).All(ctx) {
				if err != nil {
					return nil, fmt.Errorf("product: keyword search for %q: %w", w, err)
				}
				h := found[r.ID]
				if h == nil {
					h = &Hit{Product: Product{Shelf: r.Shelf, ID: r.ID}}
					found[r.ID] = h
				}
				h.Score += 1 / float64(len(words))
			}
		}
	}
	hits := make([]Hit, 0, len(found))
	for _, h := range found {
		hits = append(hits, *h)
	}
	slices.SortFunc(hits, func(a, b Hit) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Product.ID, b.Product.ID))
	})
	hits = hits[:min(len(hits), MaxLimit)]
	for i := range hits {
		hits[i].KeywordRank = i + 1
	}
	return hits, nil
}

// fuse merges two rankings by reciprocal rank fusion.
func fuse(kw, sem []Hit, limit int) []Hit {
	byID := map[string]*Hit{}
	var order []string
	add := func(h Hit, rank int, keyword bool) {
		f := byID[h.Product.ID]
		if f == nil {
			f = &Hit{Product: h.Product}
			byID[h.Product.ID] = f
			order = append(order, h.Product.ID)
		}
		f.Score += 1 / float64(rrfK+rank)
		if keyword {
			f.KeywordRank = rank
		} else {
			f.SemanticRank = rank
		}
	}
	for i, h := range kw {
		add(h, i+1, true)
	}
	for i, h := range sem {
		add(h, i+1, false)
	}
	out := make([]Hit, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	slices.SortStableFunc(out, func(a, b Hit) int { return cmp.Compare(b.Score, a.Score) })
	return out[:min(len(out), limit)]
}
