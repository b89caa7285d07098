package registry_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/tenant/registry"
)

// TestSharedKeyspaceIsNoTenants: a keyspace tenant whose keyspace name would be the
// registry's keyspace, which holds the shared tables (every partition tenant's rows)
// and the registry itself, is refused by Provision; and Delete does not drop that
// keyspace for a tenant row that names it.
func TestSharedKeyspaceIsNoTenants(t *testing.T) {
	ctx := t.Context()
	shared := env.Keyspace()
	// KeyspacePrefix + tenant.Ident(id) is the shared keyspace's name.
	prefix, id := shared[:1], strings.ReplaceAll(shared[1:], "_", "-")
	r := newRegistry(t, openDB(t, nil), "shared_ks", registry.Config{KeyspacePrefix: prefix})
	ns := notes(t, r, "notes_shared_ks")
	schema := registry.Schema{Models: []orm.SchemaModel{ns}}
	bystander := tenant.With(ctx, "bystander")
	if _, err := r.Provision(ctx, registry.Spec{ID: "bystander"}, schema); err != nil {
		t.Fatal(err)
	}
	if err := ns.Insert(bystander, &Note{ID: 1, Slug: "s", Body: "mine"}); err != nil {
		t.Fatal(err)
	}

	_, err := r.Provision(ctx, registry.Spec{ID: id, Strategy: registry.KeyspaceStrategy}, schema)
	if !errors.Is(err, tenant.ErrInvalidID) || !strings.Contains(err.Error(), shared) {
		t.Errorf("Provision of a keyspace tenant in the shared keyspace: %v, want tenant.ErrInvalidID naming %s", err, shared)
	}
	if _, err := r.Get(ctx, id); !errors.Is(err, tenant.ErrUnknown) {
		t.Errorf("the refused tenant was recorded: %v", err)
	}

	// A tenant row that names the shared keyspace, as a registry without this check
	// recorded it.
	if err := env.Session(t).Query(`INSERT INTO "`+shared+`"."shared_ks" ("id", "strategy", "status", "keyspace") VALUES (?, ?, ?, ?)`,
		"intruder", string(registry.KeyspaceStrategy), string(registry.StatusActive), shared).ExecContext(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete(ctx, "intruder", schema); err == nil || !strings.Contains(err.Error(), shared) {
		t.Errorf("Delete of a tenant whose keyspace is the shared one: %v, want an error naming %s", err, shared)
	}
	if !keyspaceExists(t, shared) {
		t.Fatalf("Delete dropped the shared keyspace %s", shared)
	}
	if n, err := ns.Get(bystander, int64(1)); err != nil || n.Body != "mine" {
		t.Errorf("bystander's row after the refused Delete: %+v, %v", n, err)
	}
}
