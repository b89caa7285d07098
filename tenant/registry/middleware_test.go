package registry_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/tenant/registry"
	"github.com/cassandraorm/cassandraorm-go/tenant/tenanthttp"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// TestMiddlewareWithRegistry runs the HTTP middleware on the real registry: each
// status code from what the registry says (and cannot say), and concurrent requests
// of several tenants, each reaching its handler with its own tenant.
func TestMiddlewareWithRegistry(t *testing.T) {
	ctx := t.Context()
	s, err := env.ClusterConfig(t).CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db, err := orm.New(s, env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := newRegistry(t, db, "mw", registry.Config{MaxStaleness: 200 * time.Millisecond})
	ids := []string{"mw-a", "mw-b", "mw-c", "mw-d", "mw-e", "mw-f", "mw-g", "mw-h"}
	for _, id := range append(ids, "mw-off") {
		if _, err := r.Provision(ctx, registry.Spec{ID: id}, registry.Schema{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Suspend(ctx, "mw-off"); err != nil {
		t.Fatal(err)
	}
	mw, err := tenanthttp.Middleware(tenanthttp.Config{Resolver: r, BaseDomain: "shop.test"})
	if err != nil {
		t.Fatal(err)
	}
	var mismatches, served atomic.Int64
	srv := httptest.NewServer(mw(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		id, err := tenant.From(req.Context())
		if err != nil || id != req.URL.Query().Get("for") {
			mismatches.Add(1)
		}
		served.Add(1)
		_, _ = fmt.Fprint(w, id)
	})))
	defer srv.Close()
	get := func(host, header, forID string) (int, string) {
		req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+"/?for="+forID, nil)
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		if host != "" {
			req.Host = host
		}
		if header != "" {
			req.Header.Set("X-Tenant-ID", header)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		defer resp.Body.Close()
		var body struct {
			Error struct{ Code string }
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Error.Code
	}
	for _, tc := range []struct {
		name, host, header string
		status             int
		code               string
	}{
		{"active, by subdomain", "mw-a.shop.test", "", 200, ""},
		{"active, by header", "", "mw-b", 200, ""},
		{"missing", "shop.test", "", 400, tenanthttp.CodeMissing},
		{"invalid", "", "MW_A", 400, tenanthttp.CodeInvalid},
		{"unknown", "nobody.shop.test", "", 404, tenanthttp.CodeUnknown},
		{"suspended", "", "mw-off", 403, tenanthttp.CodeSuspended},
	} {
		forID := tc.header
		if forID == "" && tc.status == 200 {
			forID = "mw-a"
		}
		if status, code := get(tc.host, tc.header, forID); status != tc.status || code != tc.code {
			t.Errorf("%s: %d %q, want %d %q", tc.name, status, code, tc.status, tc.code)
		}
	}

	// Concurrent requests of 8 tenants through one middleware.
	var wg sync.WaitGroup
	for _, id := range ids {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					if status, code := get(id+".shop.test", "", id); status != 200 {
						t.Errorf("%s: %d %s", id, status, code)
					}
				}
			}()
		}
	}
	wg.Wait()
	if mismatches.Load() != 0 || served.Load() != int64(len(ids)*40+2) {
		t.Errorf("%d handlers saw another tenant; %d served, want %d", mismatches.Load(), served.Load(), len(ids)*40+2)
	}

	// A registry it cannot read: 503, never 404, once the cached answer is too old.
	s.Close()
	testenv.WaitFor(t, 10*time.Second, func() error {
		status, code := get("mw-a.shop.test", "", "mw-a")
		switch {
		case status == 503 && code == tenanthttp.CodeUnavailable:
			return nil
		case status == 200: // the cached answer, within MaxStaleness
			return fmt.Errorf("still served from the cache")
		}
		t.Fatalf("registry unreachable: %d %q, want 503 %q", status, code, tenanthttp.CodeUnavailable)
		return nil
	})
}
