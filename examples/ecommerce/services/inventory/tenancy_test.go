package inventory_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/inventory"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/tenant/tenanthttp"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// placer puts tenant "big" in a keyspace of its own and the others in the shared
// tables, as the tenant registry would.
type placer map[string]string

func (p placer) Keyspace(_ context.Context, id string) (string, error) { return p[id], nil }

// tenantService returns the service on a tenanted view of a keyspace of its own
// (its tables have the package's names, led by the tenant column), its tables
// synced in the shared keyspace and in tenant big's.
func tenantService(t *testing.T, cfg inventory.Config) *inventory.Service {
	t.Helper()
	ctx := t.Context()
	shared, own := env.KeyspacePrefix()+"shared", env.KeyspacePrefix()+"big"
	base, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ks := range []string{shared, own} {
		if err := base.CreateKeyspace(ctx, ks, orm.SimpleStrategy(1)); err != nil {
			t.Fatal(err)
		}
	}
	db, err := orm.Open(ctx, orm.Config{Hosts: env.Hosts(), Keyspace: shared})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	tdb, err := db.WithTenancy(orm.Tenancy{Placer: placer{"big": own}})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := inventory.New(tdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []context.Context{ctx, tenant.With(ctx, "big")} {
		if err := svc.Sync(c); err != nil {
			t.Fatal(err)
		}
	}
	return svc
}

// The same product id in three tenants (two in the shared tables, one in its own
// keyspace) is three stocks; a call without a tenant is refused.
func TestTenants(t *testing.T) {
	svc := tenantService(t, testConfig())
	ctx := t.Context()
	pid := product(t, "p")
	tenants := map[string]int{"acme": 3, "globex": 7, "big": 11}
	for id, n := range tenants {
		if _, err := svc.SetStock(tenant.With(ctx, id), pid, n); err != nil {
			t.Fatal(err)
		}
	}
	acme := tenant.With(ctx, "acme")
	if _, err := svc.Reserve(acme, "r", items(pid, 3), time.Minute); err != nil {
		t.Fatal(err)
	}
	_, err := svc.Reserve(acme, "r2", items(pid, 1), time.Minute)
	wantRefusal(t, err, inventory.ErrInsufficient, pid)
	// The same reservation id in another tenant is another reservation.
	if _, err := svc.Reserve(tenant.With(ctx, "big"), "r", items(pid, 10), time.Minute); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string][2]int{"acme": {3, 0}, "globex": {7, 7}, "big": {11, 1}} {
		l, err := svc.Get(tenant.With(ctx, id), pid)
		if err != nil {
			t.Fatal(err)
		}
		if err := invariants(l); err != nil || l.OnHand != want[0] || l.Available != want[1] {
			t.Fatalf("tenant %s: %+v (%v), want on hand %d, available %d", id, l, err, want[0], want[1])
		}
	}
	if _, err := svc.Release(tenant.With(ctx, "globex"), "r", []string{pid}); err != nil {
		t.Fatal(err)
	}
	if l, _ := svc.Get(acme, pid); l.Available != 0 {
		t.Fatalf("a release in globex changed acme: %+v", l)
	}
	for name, call := range map[string]func(context.Context) error{
		"get":     func(ctx context.Context) error { _, err := svc.Get(ctx, pid); return err },
		"reserve": func(ctx context.Context) error { _, err := svc.Reserve(ctx, "r", items(pid, 1), 0); return err },
		"release": func(ctx context.Context) error { _, err := svc.Release(ctx, "r", []string{pid}); return err },
		"commit":  func(ctx context.Context) error { _, err := svc.Commit(ctx, "r", []string{pid}); return err },
		"check":   func(ctx context.Context) error { return svc.Check(ctx, items(pid, 1)) },
		"set":     func(ctx context.Context) error { _, err := svc.SetStock(ctx, pid, 1); return err },
		"restock": func(ctx context.Context) error { _, err := svc.Restock(ctx, pid, 1); return err },
		"expiry":  svc.RunExpiry,
	} {
		if err := call(ctx); !errors.Is(err, tenant.ErrNoTenant) {
			t.Fatalf("%s without a tenant: %v", name, err)
		}
	}
}

// The sweeper runs per tenant: a new tenant's starts Lookback ago, and releases
// that tenant's holds only.
func TestTenantExpiry(t *testing.T) {
	rec := &sweeps{}
	cfg := testConfig()
	cfg.OnSweep = rec.add
	svc := tenantService(t, cfg)
	ctx := t.Context()
	fresh := "t" + orm.NewUUID().String()[:8]
	pid := product(t, "p")
	for _, id := range []string{fresh, "acme"} {
		if _, err := svc.SetStock(tenant.With(ctx, id), pid, 2); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Reserve(tenant.With(ctx, id), "r", items(pid, 2), time.Second); err != nil {
			t.Fatal(err)
		}
	}
	started := time.Now()
	sctx, cancel := context.WithCancel(tenant.With(ctx, fresh))
	done := make(chan error, 1)
	go func() { done <- svc.RunExpiry(sctx) }()
	defer func() {
		cancel()
		<-done
	}()
	testenv.WaitFor(t, 30*time.Second, func() error {
		l, err := svc.Get(tenant.With(ctx, fresh), pid)
		if err == nil && l.Available != 2 {
			err = errors.New("not released yet")
		}
		return err
	})
	first := rec.all()[0]
	lookback := started.Add(-cfg.Lookback)
	if first.From.Before(lookback.Add(-2*cfg.Bucket)) || first.From.After(lookback.Add(2*cfg.Bucket)) {
		t.Fatalf("a new tenant's sweeper started at %s, want about %s", first.From, lookback)
	}
	if l, err := svc.Get(tenant.With(ctx, "acme"), pid); err != nil || l.Held != 2 {
		t.Fatalf("acme's hold: %+v, %v", l, err)
	}
}

// The handler behind the tenant middleware: each tenant's stock through the
// header, and 400 for a request without a tenant, from the middleware and, when
// the handler is mounted without it, from the handler.
func TestHTTPTenants(t *testing.T) {
	svc := tenantService(t, testConfig())
	mw, err := tenanthttp.Middleware(tenanthttp.Config{Resolver: tenanthttp.ResolverFunc(func(context.Context, string) error { return nil })})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mw(svc.Handler()))
	defer srv.Close()
	bare := httptest.NewServer(svc.Handler())
	defer bare.Close()
	pid := product(t, "p")
	run(t, srv.URL, "acme", []check{{"acme", "PUT", "/stock/" + pid, `{"on_hand":4}`, 200, map[string]any{"on_hand": 4.0}}})
	run(t, srv.URL, "globex", []check{
		{"globex", "PUT", "/stock/" + pid, `{"on_hand":9}`, 200, map[string]any{"on_hand": 9.0}},
		{"globex reserves", "PUT", "/reservations/r", `{"items":[{"product_id":"` + pid + `","quantity":9}]}`, 200, map[string]any{"reservations/0/state": "held"}},
	})
	run(t, srv.URL, "acme", []check{{"acme untouched", "GET", "/stock/" + pid, "", 200, map[string]any{"on_hand": 4.0, "available": 4.0}}})
	run(t, srv.URL, "", []check{{"no tenant", "GET", "/stock/" + pid, "", http.StatusBadRequest, map[string]any{"error/code": "missing_tenant"}}})
	run(t, bare.URL, "", []check{
		{"no tenant, no middleware", "GET", "/stock/" + pid, "", http.StatusBadRequest, map[string]any{"code": "no_tenant"}},
		{"no tenant, no middleware, a write", "PUT", "/reservations/r", `{"items":[{"product_id":"` + pid + `","quantity":1}]}`, http.StatusBadRequest, map[string]any{"code": "no_tenant"}},
	})
}
