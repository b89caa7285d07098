// Package tenanthttp is net/http middleware that finds the tenant a request is for,
// asks a Resolver whether that tenant may be served, and hands the request on with
// the tenant in its context (tenant.With), where every layer below reads it with
// tenant.From.
//
// The tenant comes from the request's host, as the single label left of
// Config.BaseDomain ("acme.shop.example.com" is tenant "acme"), or from a header
// (Config.Header, default X-Tenant-ID). A request that names no tenant, an invalid
// one, two different ones, or one the Resolver refuses gets an error response with a
// JSON body and never reaches the next handler:
//
//	400 missing_tenant, invalid_tenant, ambiguous_tenant
//	404 unknown_tenant
//	403 suspended_tenant
//	503 tenant_unavailable (with Retry-After: 1)
//
// The middleware says which tenant a request is for, not that its caller may act
// for that tenant: any client can send any header or host, so authorization must
// still check the caller against the tenant.
//
//	mw, err := tenanthttp.Middleware(tenanthttp.Config{
//		Resolver:   reg,                // the tenant registry (tenant/registry)
//		BaseDomain: "shop.example.com", // optional
//	})
//	if err != nil {
//		return err
//	}
//	http.ListenAndServe(":8080", mw(mux))
//
// See docs/tenancy.md for the whole story.
package tenanthttp
