package registry_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/tenant/registry"
)

// TestCeiling: with a ceiling of 2, a third keyspace tenant is refused with
// ErrCeiling, saying why and what to do, and is not recorded; a partition tenant is
// still fine; deleting a keyspace tenant frees its slot.
func TestCeiling(t *testing.T) {
	ctx := t.Context()
	r := newRegistry(t, openDB(t, nil), "ceil", registry.Config{MaxKeyspaceTenants: 2})
	schema := registry.Schema{Models: []orm.SchemaModel{notes(t, r, "notes")}}
	for _, id := range []string{"ceil-a", "ceil-b"} {
		if _, err := r.Provision(ctx, registry.Spec{ID: id, Strategy: registry.KeyspaceStrategy}, schema); err != nil {
			t.Fatal(err)
		}
	}
	_, err := r.Provision(ctx, registry.Spec{ID: "ceil-c", Strategy: registry.KeyspaceStrategy}, schema)
	if !errors.Is(err, registry.ErrCeiling) {
		t.Fatalf("third keyspace tenant: %v, want ErrCeiling", err)
	}
	for _, want := range []string{"tenant ceil-c: provision: reserve a keyspace slot", "2 of 2 keyspace tenants",
		"1 MB of heap per table", "adds 2 tables", "partition strategy", "raise Config.MaxKeyspaceTenants"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the ceiling error does not say %q: %v", want, err)
		}
	}
	if _, err := r.Get(ctx, "ceil-c"); !errors.Is(err, tenant.ErrUnknown) {
		t.Errorf("the refused tenant is recorded: %v", err)
	}
	if keyspaceExists(t, env.KeyspacePrefix()+"ceil_c") {
		t.Error("the refused tenant's keyspace exists")
	}
	// Refused as a keyspace tenant, it may be a partition tenant.
	if got, err := r.Provision(ctx, registry.Spec{ID: "ceil-c"}, schema); err != nil || got.Status != registry.StatusActive {
		t.Fatalf("partition tenant past the ceiling: %+v, %v", got, err)
	}
	// A holder provisions again at no cost.
	if _, err := r.Provision(ctx, registry.Spec{ID: "ceil-a", Strategy: registry.KeyspaceStrategy}, schema); err != nil {
		t.Errorf("Provision of a holder: %v", err)
	}
	if err := r.Delete(ctx, "ceil-a", schema); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Provision(ctx, registry.Spec{ID: "ceil-d", Strategy: registry.KeyspaceStrategy}, schema); err != nil {
		t.Errorf("keyspace tenant after a Delete freed a slot: %v", err)
	}
}
