package registry_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/cassandraorm/cassandraorm-go/migrate"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/tenant/registry"
	"github.com/cassandraorm/cassandraorm-go/tenant/tenanthttp"
)

var (
	_ orm.Placer          = (*registry.Registry)(nil)
	_ tenanthttp.Resolver = (*registry.Registry)(nil)
)

// itemsMigrations are .cql migrations that create a table in whichever keyspace
// they run in.
var itemsMigrations = fstest.MapFS{
	"0001_items.up.cql": {Data: []byte("CREATE TABLE IF NOT EXISTS items (id int PRIMARY KEY, v text);")},
}

// migrator returns a Migrator of fsys on r's tenanted DB.
func migrator(t testing.TB, r *registry.Registry, fsys fstest.MapFS) *migrate.Migrator {
	t.Helper()
	m, err := migrate.New(r.DB(), migrate.Config{LockLease: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AddFS(fsys, "."); err != nil {
		t.Fatal(err)
	}
	return m
}

// applied returns the versions recorded in keyspace ks's schema_migrations.
func applied(t testing.TB, ks string) []int64 {
	t.Helper()
	it := env.Session(t).Query(`SELECT version FROM ` + ks + `.schema_migrations`).Iter()
	var out []int64
	var v int64
	for it.Scan(&v) {
		out = append(out, v)
	}
	if err := it.Close(); err != nil {
		t.Fatalf("reading %s.schema_migrations: %v", ks, err)
	}
	slices.Sort(out)
	return out
}

// TestProvisionKeyspace: a keyspace tenant gets its keyspace, its models' tables and
// its migrations, becomes active, and its rows land in its keyspace. Provision again
// returns it without running anything; another strategy is refused.
func TestProvisionKeyspace(t *testing.T) {
	ctx := t.Context()
	r := newRegistry(t, openDB(t, nil), "prov_ks", registry.Config{})
	ns := notes(t, r, "notes")
	m := migrator(t, r, itemsMigrations)
	var runs atomic.Int32
	schema := registry.Schema{Models: []orm.SchemaModel{ns}, Migrate: func(ctx context.Context) error {
		runs.Add(1)
		_, err := m.Up(ctx)
		return err
	}}
	const id = "big-co"
	got, err := r.Provision(ctx, registry.Spec{ID: id, Name: "Big Co", Strategy: registry.KeyspaceStrategy,
		Limits: map[string]int64{"rows": 1000}}, schema)
	if err != nil {
		t.Fatal(err)
	}
	ks := env.KeyspacePrefix() + "big_co"
	if got.ID != id || got.Name != "Big Co" || got.Strategy != registry.KeyspaceStrategy || got.Status != registry.StatusActive ||
		got.Keyspace != ks || got.Limits["rows"] != 1000 || got.CreatedAt.IsZero() {
		t.Fatalf("Provision returned %+v", got)
	}
	if !keyspaceExists(t, ks) {
		t.Fatalf("keyspace %s was not created", ks)
	}
	want := []string{"items", "notes", ns.Table().Uniques[0].LookupTable, "schema_migrations"}
	for _, table := range want {
		if !slices.Contains(tables(t, ks), table) {
			t.Errorf("keyspace %s has tables %v, want %s among them", ks, tables(t, ks), table)
		}
	}
	if v := applied(t, ks); !slices.Equal(v, []int64{1}) {
		t.Errorf("applied in %s: %v, want [1]", ks, v)
	}
	if placed, err := r.Keyspace(ctx, id); err != nil || placed != ks {
		t.Errorf("Keyspace = %q, %v; want %q", placed, err, ks)
	}
	if err := r.Active(ctx, id); err != nil {
		t.Errorf("Active: %v", err)
	}
	tctx := tenant.With(ctx, id)
	if err := ns.Insert(tctx, &Note{ID: 1, Slug: "hello", Body: "in its own keyspace"}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, `SELECT COUNT(*) FROM `+ks+`.notes WHERE tenant_id = ? AND id = 1`, id); n != 1 {
		t.Errorf("%d rows of %s in %s.notes, want 1", n, id, ks)
	}

	again, err := r.Provision(ctx, registry.Spec{ID: id, Strategy: registry.KeyspaceStrategy}, schema)
	if err != nil || again.Status != registry.StatusActive || again.Name != "Big Co" || !again.CreatedAt.Equal(got.CreatedAt) {
		t.Errorf("Provision again: %+v, %v", again, err)
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("Migrate ran %d times, want once", n)
	}
	_, err = r.Provision(ctx, registry.Spec{ID: id}, schema)
	if err == nil || !strings.Contains(err.Error(), "tenant big-co: provision: the tenant exists with the keyspace strategy, and partition was asked for") {
		t.Errorf("Provision with another strategy: %v", err)
	}
}

// TestProvisionPartition: a partition tenant's tables are the shared ones, and its
// rows carry its id.
func TestProvisionPartition(t *testing.T) {
	ctx := t.Context()
	r := newRegistry(t, openDB(t, nil), "prov_part", registry.Config{})
	ns := notes(t, r, "notes_part")
	got, err := r.Provision(ctx, registry.Spec{ID: "small"}, registry.Schema{Models: []orm.SchemaModel{ns}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Strategy != registry.PartitionStrategy || got.Keyspace != "" || got.Status != registry.StatusActive {
		t.Fatalf("Provision returned %+v", got)
	}
	if ks, err := r.Keyspace(ctx, "small"); err != nil || ks != "" {
		t.Errorf("Keyspace = %q, %v; want the shared tables", ks, err)
	}
	if !slices.Contains(tables(t, env.Keyspace()), "notes_part") {
		t.Error("the shared table was not created")
	}
	if err := ns.Insert(tenant.With(ctx, "small"), &Note{ID: 7, Slug: "s", Body: "shared"}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, `SELECT COUNT(*) FROM notes_part WHERE tenant_id = ? AND id = 7`, "small"); n != 1 {
		t.Errorf("%d rows, want 1", n)
	}
}

// TestProvisionResumes: a Provision whose migrations fail leaves the tenant in
// provisioning, refused as unknown; the next Provision finishes it.
func TestProvisionResumes(t *testing.T) {
	ctx := t.Context()
	r := newRegistry(t, openDB(t, nil), "prov_resume", registry.Config{})
	ns := notes(t, r, "notes")
	m := migrator(t, r, itemsMigrations)
	fail := errors.New("the network went away")
	var runs atomic.Int32
	schema := registry.Schema{Models: []orm.SchemaModel{ns}, Migrate: func(ctx context.Context) error {
		if runs.Add(1) == 1 {
			return fail
		}
		_, err := m.Up(ctx)
		return err
	}}
	spec := registry.Spec{ID: "resumed", Strategy: registry.KeyspaceStrategy}
	_, err := r.Provision(ctx, spec, schema)
	if !errors.Is(err, fail) || !strings.Contains(err.Error(), "tenant resumed: provision: migrate: the network went away") {
		t.Fatalf("first Provision: %v", err)
	}
	if got, err := r.Get(ctx, "resumed"); err != nil || got.Status != registry.StatusProvisioning {
		t.Fatalf("after the failure: %+v, %v", got, err)
	}
	for name, err := range map[string]error{"Active": r.Active(ctx, "resumed"), "Keyspace": func() error { _, err := r.Keyspace(ctx, "resumed"); return err }()} {
		if !errors.Is(err, tenant.ErrUnknown) || !strings.Contains(err.Error(), "still being provisioned") {
			t.Errorf("%s while provisioning: %v, want tenant.ErrUnknown", name, err)
		}
	}
	got, err := r.Provision(ctx, spec, schema)
	if err != nil || got.Status != registry.StatusActive {
		t.Fatalf("second Provision: %+v, %v", got, err)
	}
	ks := env.KeyspacePrefix() + "resumed"
	if v := applied(t, ks); !slices.Equal(v, []int64{1}) {
		t.Errorf("applied: %v", v)
	}
	if err := r.Active(ctx, "resumed"); err != nil {
		t.Errorf("Active after the second Provision: %v", err)
	}
}

// TestProvisionConcurrent: two registries on two sessions provision one tenant at
// once: the schema work runs once, and both return the active tenant. The schema's
// Migrate waits until both have tried to take the tenant's lease, so the calls
// overlap for sure.
func TestProvisionConcurrent(t *testing.T) {
	ctx := t.Context()
	var tries [2]atomic.Int32 // attempts to take the tenant's lease, per registry
	watch := func(i int) orm.Observer {
		return orm.ObserverFunc(func(_ context.Context, e orm.QueryEvent) {
			if e.Table == "prov_conc_leases" && strings.Contains(e.Op, "insert") {
				tries[i].Add(1)
			}
		})
	}
	rs := []*registry.Registry{
		newRegistry(t, openDB(t, watch(0)), "prov_conc", registry.Config{}),
		newRegistry(t, otherDB(t, watch(1)), "prov_conc", registry.Config{}),
	}
	var runs atomic.Int32
	start := make(chan struct{})
	var wg sync.WaitGroup
	results := make([]registry.Tenant, len(rs))
	errs := make([]error, len(rs))
	for i, r := range rs {
		ns := notes(t, r, "notes")
		m := migrator(t, r, itemsMigrations)
		schema := registry.Schema{Models: []orm.SchemaModel{ns}, Migrate: func(ctx context.Context) error {
			runs.Add(1)
			for tries[0].Load() == 0 || tries[1].Load() == 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(5 * time.Millisecond):
				}
			}
			_, err := m.Up(ctx)
			return err
		}}
		wg.Go(func() {
			<-start
			results[i], errs[i] = r.Provision(ctx, registry.Spec{ID: "twice", Strategy: registry.KeyspaceStrategy}, schema)
		})
	}
	close(start)
	wg.Wait()
	for i := range rs {
		if errs[i] != nil || results[i].Status != registry.StatusActive || results[i].Keyspace != env.KeyspacePrefix()+"twice" {
			t.Errorf("registry %d: %+v, %v", i, results[i], errs[i])
		}
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("the schema's Migrate ran %d times, want once", n)
	}
	if v := applied(t, env.KeyspacePrefix()+"twice"); !slices.Equal(v, []int64{1}) {
		t.Errorf("applied: %v", v)
	}
	for i, r := range rs {
		if err := r.Active(ctx, "twice"); err != nil {
			t.Errorf("registry %d: Active: %v", i, err)
		}
	}
}
