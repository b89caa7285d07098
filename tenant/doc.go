// Package tenant carries the current tenant in a context.Context, and only there.
//
// A request's tenant is set once, where the request enters the process (an HTTP
// middleware, a message consumer), with With, and every layer below reads it back
// with From at the moment it needs it. Nothing keeps "the current tenant" in a
// struct field or a package variable, so concurrent requests of different tenants
// cannot see each other's tenant.
//
// Tenant-scoped calls of the toolkit (models, queries, batches, unique constraints,
// the event store, projections, leases) fail with ErrNoTenant when their context has
// no tenant: there is no default tenant.
//
// The tenant registry, provisioning and the HTTP middleware build on this package:
// see tenant/registry and tenant/tenanthttp, and docs/tenancy.md for the whole story.
package tenant
