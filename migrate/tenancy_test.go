package migrate_test

import (
	"context"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/migrate"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

type ownKeyspace map[string]string

func (p ownKeyspace) Keyspace(_ context.Context, id string) (string, error) { return p[id], nil }

// TestTenantKeyspaces: on a tenanted DB a migrator migrates the keyspace of the
// context's tenant: the shared one without a tenant (and for a tenant in the shared
// tables), a keyspace tenant's own with it, each with its own bookkeeping.
func TestTenantKeyspaces(t *testing.T) {
	ctx := t.Context()
	own := ownKeyspace{"big": env.KeyspacePrefix() + "big"}
	db, err := testDB(t).WithTenancy(orm.Tenancy{Placer: own})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateKeyspace(ctx, own["big"], orm.SimpleStrategy(1)); err != nil {
		t.Fatal(err)
	}
	m, err := migrate.New(db, migrate.Config{Table: "tk_migrations", LockTable: "tk_lock", DirtyTable: "tk_dirty"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Add(migrate.Migration{Version: 1, Name: "notes", Up: func(ctx context.Context, db *orm.DB) error {
		return db.ExecCQL(ctx, "CREATE TABLE IF NOT EXISTS tk_notes (id text PRIMARY KEY)")
	}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		ks   string
		want int
	}{
		{"shared", ctx, env.Keyspace(), 1},
		{"partition tenant", tenant.With(ctx, "small"), env.Keyspace(), 0},
		{"keyspace tenant", tenant.With(ctx, "big"), own["big"], 1},
		{"keyspace tenant again", tenant.With(ctx, "big"), own["big"], 0},
	} {
		rs, err := m.Up(tc.ctx)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(rs) != tc.want {
			t.Errorf("%s: applied %d migrations, want %d", tc.name, len(rs), tc.want)
		}
		exists, err := db.TableExists(ctx, tc.ks, "tk_notes")
		if err != nil || !exists {
			t.Errorf("%s: table tk_notes in %s: %v, %v", tc.name, tc.ks, exists, err)
		}
		if exists, _ := db.TableExists(ctx, tc.ks, "tk_migrations"); !exists {
			t.Errorf("%s: no bookkeeping table in %s", tc.name, tc.ks)
		}
	}
}
