package payment

import (
	"fmt"

	"github.com/cassandraorm/cassandraorm-go/graphql"
)

// Subgraph returns the payment service's GraphQL API, an Apollo Federation v2
// subgraph (package graphql) built with cfg's limits: type Payment
// @key(fields: "payment_id"), read only (payments move through Charge and
// Refund), with the query payment(payment_id: String!) and Payment.order, the
// order it pays (Order by order_id, which the order service resolves). The
// ledger is not in it.
func (s *Service) Subgraph(cfg graphql.Config) (*graphql.Schema, error) {
	g, err := graphql.New(cfg)
	if err != nil {
		return nil, err
	}
	for _, err := range []error{
		graphql.Add(g, s.payments, graphql.ReadOnly()),
		graphql.Reference[Payment](g, "order", "Order", map[string]string{"order_id": "order_id"}),
	} {
		if err != nil {
			return nil, fmt.Errorf("payment: subgraph: %w", err)
		}
	}
	if err := g.Build(); err != nil {
		return nil, fmt.Errorf("payment: subgraph: %w", err)
	}
	return g, nil
}
