package registry_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/migrate"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/tenant/registry"
)

// The helper process of TestProvisionKilled reads these.
const (
	helperEnv       = "REGISTRY_TEST_HELPER"   // set: run as a helper
	helperKSEnv     = "REGISTRY_TEST_KEYSPACE" // the shared keyspace
	helperPrefixEnv = "REGISTRY_TEST_PREFIX"   // Config.KeyspacePrefix
)

// killPoint is what the helper prints once it is in the middle of provisioning:
// its tenant is recorded, its keyspace made, its models synced, its first
// migration applied, and its second running, holding both the tenant's lease and
// the tenant keyspace's migration lock.
const killPoint = "KILL ME NOW"

const killedTenant = "killed"

// killedSchema is the schema of the tenant of TestProvisionKilled: the Note model,
// and migrations whose second is step2.
func killedSchema(t testing.TB, r *registry.Registry, step2 func(ctx context.Context, db *orm.DB) error) registry.Schema {
	t.Helper()
	m := migrator(t, r, itemsMigrations)
	if err := m.Add(migrate.Migration{Version: 2, Name: "tags", Up: step2}); err != nil {
		t.Fatal(err)
	}
	return registry.Schema{Models: []orm.SchemaModel{notes(t, r, "notes")},
		Migrate: func(ctx context.Context) error { _, err := m.Up(ctx); return err }}
}

// TestHelperProcess is not a test: TestProvisionKilled runs the test binary with
// -test.run=TestHelperProcess and helperEnv set, and this provisions a tenant until
// it is killed in its second migration. Without helperEnv it does nothing.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		return
	}
	ctx := t.Context()
	// Not env.Session: that would create (and on exit drop) the keyspace.
	db, err := orm.Open(ctx, orm.Config{Hosts: env.Hosts(), Keyspace: os.Getenv(helperKSEnv)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := registry.New(db, registry.Config{Table: "prov_killed", KeyspacePrefix: os.Getenv(helperPrefixEnv), LeaseTTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	schema := killedSchema(t, r, func(ctx context.Context, _ *orm.DB) error {
		fmt.Println(killPoint)
		<-ctx.Done() // until killed
		return ctx.Err()
	})
	_, err = r.Provision(ctx, registry.Spec{ID: killedTenant, Strategy: registry.KeyspaceStrategy}, schema)
	t.Fatalf("Provision returned (%v) instead of being killed", err)
}

// lineLog collects a process's output and closes seen once a line holding want
// has been written.
type lineLog struct {
	want string
	seen chan struct{}

	mu  sync.Mutex
	buf strings.Builder
	hit bool
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if !l.hit && strings.Contains(l.buf.String(), l.want+"\n") {
		l.hit = true
		close(l.seen)
	}
	return len(p), nil
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestProvisionKilled: a process provisioning a keyspace tenant is killed with
// SIGKILL halfway through its migrations, holding the tenant's lease and the
// migration lock. Provision run again in this process waits for both to expire,
// goes on, and ends with a complete active tenant: keyspace, tables, both
// migrations recorded.
func TestProvisionKilled(t *testing.T) {
	ctx := t.Context()
	r := newRegistry(t, openDB(t, nil), "prov_killed", registry.Config{})

	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcess$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"=1", helperKSEnv+"="+env.Keyspace(), helperPrefixEnv+"="+env.KeyspacePrefix())
	out := &lineLog{want: killPoint, seen: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-out.seen:
	case err := <-exited:
		t.Fatalf("the helper ended before the kill point: %v\n%s", err, out.String())
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("the helper did not reach the kill point:\n%s", out.String())
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred call, no cleanup
		t.Fatal(err)
	}
	<-exited
	t.Logf("helper, killed:\n%s", out.String())

	ks := env.KeyspacePrefix() + killedTenant
	if got, err := r.Get(ctx, killedTenant); err != nil || got.Status != registry.StatusProvisioning {
		t.Fatalf("after the kill: %+v, %v", got, err)
	}
	if err := r.Active(ctx, killedTenant); !errors.Is(err, tenant.ErrUnknown) {
		t.Errorf("Active after the kill: %v, want tenant.ErrUnknown", err)
	}
	if v := applied(t, ks); !slices.Equal(v, []int64{1}) {
		t.Fatalf("applied before the rerun: %v, want [1] (the kill came in migration 2)", v)
	}

	ran := 0
	schema := killedSchema(t, r, func(ctx context.Context, db *orm.DB) error {
		ran++
		return db.ExecCQL(ctx, `CREATE TABLE IF NOT EXISTS tags (id int PRIMARY KEY)`)
	})
	start := time.Now()
	got, err := r.Provision(ctx, registry.Spec{ID: killedTenant, Strategy: registry.KeyspaceStrategy}, schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the rerun took %v (waiting for the dead holder's lease and migration lock)", time.Since(start))
	if got.Status != registry.StatusActive || got.Keyspace != ks {
		t.Errorf("rerun returned %+v", got)
	}
	if ran != 1 {
		t.Errorf("migration 2 ran %d times in the rerun, want once", ran)
	}
	for _, table := range []string{"items", "notes", "schema_migrations", "tags"} {
		if !slices.Contains(tables(t, ks), table) {
			t.Errorf("keyspace %s has tables %v, want %s among them", ks, tables(t, ks), table)
		}
	}
	if v := applied(t, ks); !slices.Equal(v, []int64{1, 2}) {
		t.Errorf("applied after the rerun: %v, want [1 2]", v)
	}
	if err := r.Active(ctx, killedTenant); err != nil {
		t.Errorf("Active after the rerun: %v", err)
	}
}
