package user_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cqrs"
	"github.com/cassandraorm/cassandraorm-go/eventsourcing"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/user"
	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/tenant/registry"
	"github.com/cassandraorm/cassandraorm-go/tenant/tenanthttp"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// The user service for two tenants, one in the shared tables and one in its own
// keyspace, through its HTTP API behind the tenant middleware and the real registry:
// the same user id and email in both, each tenant seeing only its own, and the
// tenant carried to the bus's subscribers.
func TestUserServiceTenants(t *testing.T) {
	ctx := t.Context()
	// The service's tables have fixed names: the tenanted ones go in a keyspace of
	// their own, apart from the other tests' tables without tenancy.
	shared := env.KeyspacePrefix() + "shared"
	base, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := base.CreateKeyspace(ctx, shared, orm.SimpleStrategy(1)); err != nil {
		t.Fatal(err)
	}
	db, err := orm.Open(ctx, orm.Config{Hosts: env.Hosts(), Keyspace: shared})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reg, err := registry.New(db, registry.Config{Table: "svc_tenants", KeyspacePrefix: env.KeyspacePrefix(), MaxStaleness: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	tdb := reg.DB()
	bus, err := cqrs.NewMemoryBus(cqrs.MemoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	leases, err := lease.New(tdb, lease.Config{Table: "svc_leases", TTL: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc, err := user.New(tdb, bus, leases, eventsourcing.StoreConfig{Prefix: "svc", FeedLag: 500 * time.Millisecond}, log)
	if err != nil {
		t.Fatal(err)
	}
	schema := registry.Schema{Migrate: func(ctx context.Context) error { return errors.Join(svc.Sync(ctx), leases.Sync(ctx)) }}
	if err := schema.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, spec := range []registry.Spec{{ID: "acme"}, {ID: "globex", Strategy: registry.KeyspaceStrategy}} {
		if _, err := reg.Provision(ctx, spec, schema); err != nil {
			t.Fatal(err)
		}
	}

	var mu sync.Mutex
	heard := map[string][]string{} // tenant of the handler's context -> names in the events
	sub, err := bus.Subscribe(ctx, user.Topic, "svc-tenants", func(hctx context.Context, m cqrs.Message) error {
		id, _ := tenant.From(hctx)
		var e user.UserCreated
		_ = json.Unmarshal(m.Payload, &e)
		mu.Lock()
		heard[id] = append(heard[id], e.Name)
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	mw, err := tenanthttp.Middleware(tenanthttp.Config{Resolver: reg})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mw(svc.Handler()))
	defer srv.Close()
	call := func(tenantID, method, path, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Tenant-ID", tenantID)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}

	// The same id and email in both tenants, at once; each only once.
	var wg sync.WaitGroup
	for _, id := range []string{"acme", "globex"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"user_id":"ada","email":"ada@example.com","name":"Ada of %s"}`, id)
			if code, out := call(id, "POST", "/users", body); code != http.StatusCreated {
				t.Errorf("%s: create: %d %v", id, code, out)
			}
			if code, _ := call(id, "POST", "/users", body); code != http.StatusConflict {
				t.Errorf("%s: create again: %d, want 409", id, code)
			}
		}()
	}
	wg.Wait()
	for _, id := range []string{"acme", "globex"} {
		testenv.WaitFor(t, time.Minute, func() error {
			if err := svc.CatchUp(tenant.With(ctx, id)); err != nil {
				t.Fatal(err)
			}
			code, out := call(id, "GET", "/users/ada", "")
			if code != http.StatusOK {
				return fmt.Errorf("%s: get: %d %v", id, code, out)
			}
			if out["name"] != "Ada of "+id {
				t.Fatalf("%s read %v", id, out)
			}
			return nil
		})
	}
	// The relay's catch-up may have run before an event passed the feed lag while
	// the projection's ran after it: catch up again until the subscribers heard both.
	testenv.WaitFor(t, time.Minute, func() error {
		mu.Lock()
		n := len(heard["acme"]) + len(heard["globex"])
		mu.Unlock()
		if n == 2 {
			return nil
		}
		for _, id := range []string{"acme", "globex"} {
			if err := svc.CatchUp(tenant.With(ctx, id)); err != nil {
				t.Fatal(err)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		return fmt.Errorf("heard %v", heard)
	})
	if code, _ := call("initech", "GET", "/users/ada", ""); code != http.StatusNotFound {
		t.Errorf("unknown tenant: %d, want 404", code)
	}
	if code, _ := call("", "GET", "/users/ada", ""); code != http.StatusBadRequest {
		t.Errorf("no tenant: %d, want 400", code)
	}
	if err := reg.Suspend(ctx, "globex"); err != nil {
		t.Fatal(err)
	}
	if code, _ := call("globex", "GET", "/users/ada", ""); code != http.StatusForbidden {
		t.Errorf("suspended tenant: %d, want 403", code)
	}
	// The ORM refuses the suspended tenant too, without the middleware.
	if _, err := svc.Profiles.Get(tenant.With(ctx, "globex"), "ada"); !errors.Is(err, tenant.ErrSuspended) {
		t.Errorf("suspended tenant's read: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if heard["acme"][0] != "Ada of acme" || heard["globex"][0] != "Ada of globex" || len(heard) != 2 {
		t.Errorf("subscribers heard %v", heard)
	}
}
