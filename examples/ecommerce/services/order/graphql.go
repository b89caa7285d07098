package order

import (
	"fmt"

	"github.com/cassandraorm/cassandraorm-go/graphql"
)

// Subgraph returns the order service's GraphQL API, an Apollo Federation v2
// subgraph (package graphql) built with cfg's limits: type Order
// @key(fields: "order_id"), read only (orders are placed through Place and
// moved on by the saga and Advance), with the query order(order_id: String!),
// and the entities of other subgraphs an order names: Order.user (User by
// user_id), Order.payment (Payment by payment_id) and each item's
// Item.product (Product by id). The service's own notifications table (what
// send_confirmation records without a notification service) is not in it: the
// notification service's subgraph serves notifications.
func (s *Service) Subgraph(cfg graphql.Config) (*graphql.Schema, error) {
	g, err := graphql.New(cfg)
	if err != nil {
		return nil, err
	}
	for _, err := range []error{
		graphql.Add(g, s.Orders, graphql.ReadOnly()),
		graphql.Reference[Order](g, "user", "User", map[string]string{"user_id": "user_id"}),
		graphql.Reference[Order](g, "payment", "Payment", map[string]string{"payment_id": "payment_id"}),
		graphql.Reference[Item](g, "product", "Product", map[string]string{"id": "product_id"}),
	} {
		if err != nil {
			return nil, fmt.Errorf("order: subgraph: %w", err)
		}
	}
	if err := g.Build(); err != nil {
		return nil, fmt.Errorf("order: subgraph: %w", err)
	}
	return g, nil
}
