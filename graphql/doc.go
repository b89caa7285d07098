// Package graphql serves a GraphQL API built at run time from ORM models.
//
// Add registers an orm.Model; Build generates the SDL: an object and an input type
// per model, custom scalars for the CQL types GraphQL lacks (Long for bigint, UUID,
// Timestamp, Date, Time, Duration, Decimal, Varint, Inet, Blob as base64), UDTs as
// object and input types, maps as lists of {key, value}, and queries only along the
// access paths Cassandra serves without ALLOW FILTERING: by primary key, by
// partition (a Relay connection paged with the ORM's opaque cursors), by an
// SAI-indexed column, and nearest-neighbour on an indexed vector. Mutations write
// (create, update, patch, delete and their lightweight-transaction forms), and
// Relate adds fields resolved through a per-request batched loader.
//
// Each schema is an Apollo Federation v2 subgraph: _service serves the SDL with its
// @link to the federation spec, _entities reads representations in batches, and
// ReadOnly, EntityKey, Reference (fields holding another subgraph's entities),
// AddQuery (custom root queries) and AddField (computed fields resolved once per
// level for all parents) shape it for a platform's services.
//
// Documents are parsed and validated by github.com/vektah/gqlparser/v2 and run by
// the package's own small executor. Size, bracket nesting and token count are
// checked before parsing; depth, complexity, aliases and directives after
// validation: all before any resolver runs. The tenant comes from the request's
// context (see package tenant), never from a global.
//
//	s, err := graphql.New(graphql.Config{})
//	err = graphql.Add(s, users)                              // *orm.Model[User]
//	err = graphql.Add(s, orders)                             // *orm.Model[Order]
//	err = graphql.Relate[Order](s, "user", users, "user_id") // Order.user, batched
//	err = graphql.Reference[Item](s, "product", "Product", map[string]string{"id": "product_id"})
//	err = s.Build()
//	http.Handle("/graphql", tenantMiddleware(s)) // *Schema is an http.Handler
//
// See docs/graphql.md for the type mapping, the limits and what is not done yet.
package graphql
