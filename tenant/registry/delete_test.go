package registry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/tenant/registry"
)

// failingPurge is a model whose PurgeTenant fails the first time it is called.
type failingPurge struct {
	*orm.Model[Note]
	calls int
}

func (f *failingPurge) PurgeTenant(ctx context.Context) (int, error) {
	if f.calls++; f.calls == 1 {
		return 0, errors.New("disk on fire")
	}
	return f.Model.PurgeTenant(ctx)
}

// TestDeletePartition: deleting a partition tenant refuses it at once, purges its
// rows (table and unique lookup table), keeps the other tenants' rows and removes
// its registry row; a Delete that failed halfway is finished by the next.
func TestDeletePartition(t *testing.T) {
	ctx := t.Context()
	r := newRegistry(t, openDB(t, nil), "del_part", registry.Config{})
	ns := notes(t, r, "notes_del")
	purge := &failingPurge{Model: ns}
	schema := registry.Schema{Models: []orm.SchemaModel{purge}}
	for _, id := range []string{"del-a", "del-b"} {
		if _, err := r.Provision(ctx, registry.Spec{ID: id}, schema); err != nil {
			t.Fatal(err)
		}
		for i := range int64(5) {
			if err := ns.Insert(tenant.With(ctx, id), &Note{ID: i, Slug: fmt.Sprint("s", i), Body: id}); err != nil {
				t.Fatal(err)
			}
		}
	}
	lookup := ns.Table().Uniques[0].LookupTable
	rows := func(table, id string) int {
		return count(t, `SELECT COUNT(*) FROM `+table+` WHERE tenant_id = ? ALLOW FILTERING`, id)
	}
	for _, id := range []string{"del-a", "del-b"} {
		if rows("notes_del", id) != 5 || rows(lookup, id) != 5 {
			t.Fatalf("%s: %d rows, %d lookup rows before Delete", id, rows("notes_del", id), rows(lookup, id))
		}
	}

	err := r.Delete(ctx, "del-a", schema)
	if err == nil || !strings.Contains(err.Error(), "tenant del-a: delete: purge notes_del: disk on fire") {
		t.Fatalf("first Delete: %v", err)
	}
	if got, err := r.Get(ctx, "del-a"); err != nil || got.Status != registry.StatusDeleting {
		t.Fatalf("after the failed Delete: %+v, %v", got, err)
	}
	if a, k := refusal(ctx, r, "del-a"); !errors.Is(a, tenant.ErrUnknown) || !errors.Is(k, tenant.ErrUnknown) {
		t.Errorf("a tenant being deleted: %v, %v; want tenant.ErrUnknown", a, k)
	}
	if _, err := r.Provision(ctx, registry.Spec{ID: "del-a"}, schema); !errors.Is(err, tenant.ErrUnknown) {
		t.Errorf("Provision of a tenant being deleted: %v", err)
	}
	if err := r.Delete(ctx, "del-a", schema); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	if n, m := rows("notes_del", "del-a"), rows(lookup, "del-a"); n != 0 || m != 0 {
		t.Errorf("the deleted tenant has %d rows and %d lookup rows left", n, m)
	}
	if n, m := rows("notes_del", "del-b"), rows(lookup, "del-b"); n != 5 || m != 5 {
		t.Errorf("the other tenant has %d rows and %d lookup rows, want 5 and 5", n, m)
	}
	if _, err := r.Get(ctx, "del-a"); !errors.Is(err, tenant.ErrUnknown) {
		t.Errorf("Get after Delete: %v", err)
	}
	if err := r.Delete(ctx, "del-a", schema); !errors.Is(err, tenant.ErrUnknown) {
		t.Errorf("Delete of a deleted tenant: %v", err)
	}
	if err := r.Active(ctx, "del-b"); err != nil {
		t.Errorf("the other tenant: %v", err)
	}
}

// TestDeleteKeyspace: deleting a keyspace tenant drops its keyspace and frees its
// slot.
func TestDeleteKeyspace(t *testing.T) {
	ctx := t.Context()
	r := newRegistry(t, openDB(t, nil), "del_ks", registry.Config{MaxKeyspaceTenants: 1})
	schema := registry.Schema{Models: []orm.SchemaModel{notes(t, r, "notes")}}
	if _, err := r.Provision(ctx, registry.Spec{ID: "del-k", Strategy: registry.KeyspaceStrategy}, schema); err != nil {
		t.Fatal(err)
	}
	ks := env.KeyspacePrefix() + "del_k"
	if !keyspaceExists(t, ks) {
		t.Fatal("no keyspace")
	}
	if err := r.Delete(ctx, "del-k", schema); err != nil {
		t.Fatal(err)
	}
	if keyspaceExists(t, ks) {
		t.Errorf("keyspace %s is still there", ks)
	}
	if a, k := refusal(ctx, r, "del-k"); !errors.Is(a, tenant.ErrUnknown) || !errors.Is(k, tenant.ErrUnknown) {
		t.Errorf("after Delete: %v, %v", a, k)
	}
	if _, err := r.Provision(ctx, registry.Spec{ID: "del-k2", Strategy: registry.KeyspaceStrategy}, schema); err != nil {
		t.Errorf("the slot was not freed: %v", err)
	}
}
