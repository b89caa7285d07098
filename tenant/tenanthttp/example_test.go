package tenanthttp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/tenant/tenanthttp"
)

func Example() {
	// In production the tenant registry is the Resolver.
	registry := tenanthttp.ResolverFunc(func(ctx context.Context, id string) error {
		switch id {
		case "acme", "globex":
			return nil
		case "initech":
			return fmt.Errorf("registry: %w", tenant.ErrSuspended)
		}
		return fmt.Errorf("registry: %w", tenant.ErrUnknown)
	})
	mw, err := tenanthttp.Middleware(tenanthttp.Config{
		Resolver:   registry,
		BaseDomain: "shop.example.com",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := tenant.From(r.Context())
		fmt.Fprintf(w, "orders of %s\n", id)
	})
	h := mw(orders)

	for _, req := range []struct{ host, header string }{
		{"acme.shop.example.com:8443", ""},
		{"shop.example.com", "globex"},
		{"acme.shop.example.com", "globex"},
		{"initech.shop.example.com", ""},
		{"umbrella.shop.example.com", ""},
	} {
		r := httptest.NewRequest(http.MethodGet, "/orders", nil)
		r.Host = req.host
		if req.header != "" {
			r.Header.Set("X-Tenant-ID", req.header)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Print(w.Code, " ", w.Body)
	}
	// Output:
	// 200 orders of acme
	// 200 orders of globex
	// 400 {"error":{"status":400,"code":"ambiguous_tenant","message":"ambiguous tenant: the host and the X-Tenant-ID header name different tenants"}}
	// 403 {"error":{"status":403,"code":"suspended_tenant","message":"tenant suspended","tenant":"initech"}}
	// 404 {"error":{"status":404,"code":"unknown_tenant","message":"unknown tenant","tenant":"umbrella"}}
}
