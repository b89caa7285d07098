package user

import (
	"fmt"

	"github.com/cassandraorm/cassandraorm-go/graphql"
)

// Subgraph returns the user service's GraphQL API, an Apollo Federation v2
// subgraph (package graphql) built with cfg's limits: the read model as
// type User @key(fields: "user_id"), read only (users change through the
// command bus), with the query user(user_id: String!): User. Other subgraphs
// reference a user by user_id.
func (s *Service) Subgraph(cfg graphql.Config) (*graphql.Schema, error) {
	g, err := graphql.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := graphql.Add(g, s.Profiles, graphql.TypeName("User"), graphql.ReadOnly()); err != nil {
		return nil, fmt.Errorf("user: subgraph: %w", err)
	}
	if err := g.Build(); err != nil {
		return nil, fmt.Errorf("user: subgraph: %w", err)
	}
	return g, nil
}
