// Package gateway is the e-commerce platform's federated GraphQL gateway:
// Apollo Gateway (@apollo/gateway 2.14, in a Node.js process this package
// installs, starts and supervises) over the Apollo Federation subgraphs that
// the services announce in the service registry (package registry).
//
// The Go side watches the registry for each subgraph service (Config.Services)
// and keeps one healthy instance of each; it serves that list on a loopback
// endpoint guarded by a per-process token. The Node side (gateway.mjs, embedded)
// reads the list every Config.Poll, fetches the SDL of each subgraph whose
// instance changed, composes them with @apollo/composition and hands the new
// supergraph to Apollo Gateway without a restart; a composition that fails
// keeps the previous supergraph, its errors (naming the subgraph) reported in
// Status. A subgraph whose instances are all gone stays in the supergraph for
// Config.Forget, its fields null with an error whose message and
// extensions.serviceName name it; one that answers slower than Config.Timeout
// gives the same. The gateway takes the caller's tenant from the host under
// platform.BaseDomain or from X-Tenant-ID, refuses a request that names none,
// and forwards it, with Authorization, to every subgraph as X-Tenant-ID.
//
//	g, err := gateway.New(gateway.Config{Registry: reg, Services: []string{"users", "products"}})
//	err = g.Run(ctx) // serves :4000 until ctx ends
//
// Besides /graphql the gateway serves the web pages (/admin, /order, /static/),
// /ws proxied to the hub (Config.Hub), /healthz, /status (Status as JSON) and
// /metrics. See docs/gateway.md for the choices, what is measured and what is
// not done.
package gateway
