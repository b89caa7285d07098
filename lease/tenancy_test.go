package lease_test

import (
	"context"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// TestReleaseInItsTenant: on a tenanted DB, Release deletes the lease's row in the
// tenant it was acquired for, whatever tenant the context given to Release carries:
// none (a deferred Release(context.Background())), or another.
func TestReleaseInItsTenant(t *testing.T) {
	base, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := base.WithTenancy(orm.Tenancy{})
	if err != nil {
		t.Fatal(err)
	}
	newManager := func(owner string) *lease.Manager {
		m, err := lease.New(db, lease.Config{Table: "leases_tenanted", Owner: owner, TTL: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	holder, other := newManager("holder"), newManager("other")
	if err := holder.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	acme := tenant.With(t.Context(), "acme")
	for name, ctx := range map[string]context.Context{
		"no tenant":      context.Background(),
		"another tenant": tenant.With(t.Context(), "globex"),
	} {
		job := "job with " + name
		h, err := holder.Acquire(acme, job)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Release(ctx); err != nil {
			t.Errorf("Release with %s: %v", name, err)
		}
		h2, err := other.TryAcquire(acme, job)
		if err != nil {
			t.Errorf("after a Release with %s, acme's lease is still held: %v", name, err)
			continue
		}
		if err := h2.Release(acme); err != nil {
			t.Fatal(err)
		}
	}
}
