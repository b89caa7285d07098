package registry_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/tenant/registry"
)

// TestMigrateAll: the shared keyspace first, then each active or suspended keyspace
// tenant in id order; a failing tenant does not stop the others and is named in the
// error; partition tenants, and tenants still being provisioned, get no run of
// their own. Run again, it finishes the failed one.
func TestMigrateAll(t *testing.T) {
	ctx := t.Context()
	r := newRegistry(t, openDB(t, nil), "mig_all", registry.Config{})
	v1 := migrator(t, r, fstest.MapFS{"0001_items.up.cql": itemsMigrations["0001_items.up.cql"]})
	schema := registry.Schema{Migrate: func(ctx context.Context) error { _, err := v1.Up(ctx); return err }}
	for _, spec := range []registry.Spec{
		{ID: "mig-c", Strategy: registry.KeyspaceStrategy},
		{ID: "mig-a", Strategy: registry.KeyspaceStrategy},
		{ID: "mig-b", Strategy: registry.KeyspaceStrategy},
		{ID: "mig-p"},
	} {
		if _, err := r.Provision(ctx, spec, schema); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Suspend(ctx, "mig-b"); err != nil {
		t.Fatal(err)
	}
	// Recorded, never finished: no run of its own.
	fail := errors.New("stop here")
	if _, err := r.Provision(ctx, registry.Spec{ID: "mig-d", Strategy: registry.KeyspaceStrategy},
		registry.Schema{Migrate: func(context.Context) error { return fail }}); !errors.Is(err, fail) {
		t.Fatal(err)
	}

	v2 := migrator(t, r, fstest.MapFS{
		"0001_items.up.cql": itemsMigrations["0001_items.up.cql"],
		"0002_tags.up.cql":  {Data: []byte("CREATE TABLE IF NOT EXISTS tags (id int PRIMARY KEY);")},
	})
	broken := "mig-c"
	migrateFn := func(ctx context.Context) error {
		if id, err := tenant.From(ctx); err == nil && id == broken {
			return errors.New("broken on purpose")
		}
		_, err := v2.Up(ctx)
		return err
	}
	var events []string
	progress := func(e registry.ProgressEvent) {
		t.Log(e)
		if e.Done {
			events = append(events, e.String())
		}
	}
	err := r.MigrateAll(ctx, migrateFn, progress)
	if err == nil || !strings.Contains(err.Error(), "tenant mig-c: migrate: broken on purpose") || strings.Count(err.Error(), "\n") != 0 {
		t.Fatalf("MigrateAll: %v, want only mig-c's failure", err)
	}
	want := []string{
		"[1/4] shared keyspace " + env.Keyspace() + ": done in",
		"[2/4] tenant mig-a (keyspace " + env.KeyspacePrefix() + "mig_a): done in",
		"[3/4] tenant mig-b (keyspace " + env.KeyspacePrefix() + "mig_b): done in",
		"[4/4] tenant mig-c (keyspace " + env.KeyspacePrefix() + "mig_c): failed after",
	}
	if len(events) != len(want) {
		t.Fatalf("events %q, want %d", events, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(events[i], w) {
			t.Errorf("event %d: %q, want it to start with %q", i, events[i], w)
		}
	}
	for ks, versions := range map[string][]int64{
		env.Keyspace():                 {1, 2},
		env.KeyspacePrefix() + "mig_a": {1, 2},
		env.KeyspacePrefix() + "mig_b": {1, 2},
		env.KeyspacePrefix() + "mig_c": {1},
	} {
		if got := applied(t, ks); !slices.Equal(got, versions) {
			t.Errorf("%s: applied %v, want %v", ks, got, versions)
		}
	}

	broken = ""
	events = nil
	if err := r.MigrateAll(ctx, migrateFn, progress); err != nil {
		t.Fatalf("MigrateAll again: %v", err)
	}
	if got := applied(t, env.KeyspacePrefix()+"mig_c"); !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("mig-c after the rerun: %v", got)
	}
	if len(events) != 4 {
		t.Errorf("rerun events: %q", events)
	}
	if err := r.MigrateAll(ctx, nil, nil); err == nil {
		t.Error("MigrateAll with a nil function: no error")
	}
}
