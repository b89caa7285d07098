package saga_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/saga"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

type placer map[string]string

func (p placer) Keyspace(_ context.Context, id string) (string, error) { return p[id], nil }

type order struct {
	Tenant string `json:"tenant"`
	Item   string `json:"item"`
}

// Sagas run in their tenant's context: the same saga id in three tenants (two in
// the shared tables, one in a keyspace of its own) are three sagas, each action
// sees its own tenant, and a call without a tenant is refused.
func TestTenants(t *testing.T) {
	ctx := t.Context()
	base, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	own := placer{"big": env.KeyspacePrefix() + "big"}
	db, err := base.WithTenancy(orm.Tenancy{Placer: own})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateKeyspace(ctx, own["big"], orm.SimpleStrategy(1)); err != nil {
		t.Fatal(err)
	}
	o, err := saga.New(db, fast("tenanted"))
	if err != nil {
		t.Fatal(err)
	}
	tenants := []string{"acme", "globex", "big"}
	for _, id := range tenants {
		if err := o.Sync(tenant.With(ctx, id)); err != nil {
			t.Fatalf("sync for %s: %v", id, err)
		}
	}
	var mu sync.Mutex
	seen := map[string]string{} // the tenant each action saw, by the tenant the saga was started for
	f, err := saga.Register(o, &saga.Definition[order]{Name: "tenanted", Steps: []saga.Step[order]{{
		Name: "charge", Timeout: 5 * time.Second,
		Action: func(ctx context.Context, s *order) error {
			id, err := tenant.From(ctx)
			mu.Lock()
			seen[s.Tenant] = id
			mu.Unlock()
			return err
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Start(ctx, order{}); !errors.Is(err, tenant.ErrNoTenant) {
		t.Fatalf("Start without a tenant: %v, want ErrNoTenant", err)
	}
	run(t, o)
	for _, id := range tenants {
		tctx := tenant.With(ctx, id)
		res, err := f.Execute(tctx, order{Tenant: id, Item: "item of " + id}, saga.WithID("order-1"))
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if res.Tenant != id || res.State.Item != "item of "+id {
			t.Fatalf("%s: got %+v", id, res)
		}
	}
	for _, id := range tenants {
		if seen[id] != id {
			t.Fatalf("the action of %s's saga ran for tenant %q", id, seen[id])
		}
		res, err := f.Status(tenant.With(ctx, id), "order-1")
		if err != nil || res.State.Tenant != id {
			t.Fatalf("%s reads %+v, %v", id, res.State, err)
		}
	}
	for _, id := range tenants {
		l, err := o.List(tenant.With(ctx, id), saga.ListFilter{})
		if err != nil || len(l) != 1 || l[0].Tenant != id || l[0].Status != saga.Completed {
			t.Fatalf("%s lists %+v, %v", id, l, err)
		}
	}
	if _, err := o.Status(ctx, "order-1"); !errors.Is(err, tenant.ErrNoTenant) {
		t.Fatalf("Status without a tenant: %v, want ErrNoTenant", err)
	}
	if _, err := o.Status(tenant.With(ctx, "initech"), "order-1"); !errors.Is(err, saga.ErrNotFound) {
		t.Fatalf("another tenant's Status: %v, want ErrNotFound", err)
	}
}
