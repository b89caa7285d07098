package product

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/cassandraorm/cassandraorm-go/graphql"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// Subgraph returns the product service's GraphQL API, an Apollo Federation v2
// subgraph (package graphql) built with cfg's limits:
//
//   - type Product @key(fields: "id"), read only (products are written
//     through Put, which the search index follows), with the generated
//     queries along its access paths (by shelf, by the SAI-indexed category,
//     brand and price);
//   - productById(id: String!): Product, which computes the shelf;
//   - search(text: String!, mode: String = "hybrid", category: String,
//     limit: Int = 10): [Product!]!, ranked as Search ranks;
//   - Product.similar(limit: Int = 5): [Product!]!, the nearest products by
//     meaning (Similar; empty for a product the search index does not have
//     yet);
//   - recommendations(user_id: String!, limit: Int = 10): [Product!]!, when
//     the service has a recommender (Config.Recommend).
//
// Other subgraphs reference a product by its id alone: _entities computes
// the shelf and reads each shelf's products with one IN.
func (s *Service) Subgraph(cfg graphql.Config) (*graphql.Schema, error) {
	g, err := graphql.New(cfg)
	if err != nil {
		return nil, err
	}
	errs := []error{
		graphql.Add(g, s.products, graphql.ReadOnly(), graphql.EntityKey("id", s.entities)),
		graphql.AddQuery(g, "productById", "id: String!", func(ctx context.Context, args map[string]any) (*Product, error) {
			p, err := s.Get(ctx, args["id"].(string))
			if err != nil {
				return nil, notFoundIsNull(err)
			}
			return &p, nil
		}),
		graphql.AddQuery(g, "search", `text: String!, mode: String = "hybrid", category: String, limit: Int = 10`,
			func(ctx context.Context, args map[string]any) ([]Product, error) {
				q := Query{Text: args["text"].(string), Mode: Mode(args["mode"].(string)), Limit: int(args["limit"].(int64))}
				if c, ok := args["category"].(string); ok {
					q.Category = c
				}
				hits, err := s.Search(ctx, q)
				return products(hits), err
			}),
		graphql.AddField(g, "similar", "limit: Int = 5", func(ctx context.Context, ps []Product, args map[string]any) ([][]Product, error) {
			out := make([][]Product, len(ps))
			eg, ctx := errgroup.WithContext(ctx)
			eg.SetLimit(4)
			for i, p := range ps {
				eg.Go(func() error {
					hits, err := s.Similar(ctx, p.ID, int(args["limit"].(int64)), false)
					if errors.Is(err, ErrNotEmbedded) { // written, not indexed yet: none known
						err = nil
					}
					out[i] = products(hits)
					return err
				})
			}
			return out, eg.Wait()
		}),
	}
	if s.rec != nil {
		errs = append(errs, graphql.AddQuery(g, "recommendations", "user_id: String!, limit: Int = 10",
			func(ctx context.Context, args map[string]any) ([]Product, error) {
				hits, err := s.Recommend(ctx, args["user_id"].(string), int(args["limit"].(int64)))
				return products(hits), err
			}))
	}
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("product: subgraph: %w", err)
		}
	}
	if err := g.Build(); err != nil {
		return nil, fmt.Errorf("product: subgraph: %w", err)
	}
	return g, nil
}

// entities reads the products of representations {"__typename": "Product",
// "id": ...}: one IN per shelf, nil where there is no such product.
func (s *Service) entities(ctx context.Context, reps []map[string]any) ([]*Product, error) {
	ids := make([]string, len(reps))
	byShelf := map[int32][]any{}
	for i, r := range reps {
		id, ok := r["id"].(string)
		if !ok || checkID(id) != nil {
			return nil, fmt.Errorf("%w: Product representation %d: id %v is not a product id", ErrInvalid, i, r["id"])
		}
		ids[i] = id
		sh := s.shelf(id)
		byShelf[sh] = append(byShelf[sh], id)
	}
	found := map[string]*Product{}
	for sh, keys := range byShelf {
		for p, err := range s.products.Query().Where(orm.Eq("shelf", sh), orm.In("id", keys...)).All(ctx) {
			if err != nil {
				return nil, fmt.Errorf("product: entities of shelf %d: %w", sh, err)
			}
			found[p.ID] = &p
		}
	}
	out := make([]*Product, len(ids))
	for i, id := range ids {
		out[i] = found[id]
	}
	return out, nil
}

// products returns the hits' products, in rank order.
func products(hits []Hit) []Product {
	out := make([]Product, len(hits))
	for i, h := range hits {
		out[i] = h.Product
	}
	return out
}

// notFoundIsNull makes a missing product a null answer, not an error.
func notFoundIsNull(err error) error {
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}
