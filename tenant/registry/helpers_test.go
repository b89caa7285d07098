package registry_test

import (
	"context"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant/registry"
)

var env = registry.Env

// Note is a small tenant-scoped model with a unique column (so it has a lookup
// table too).
type Note struct {
	ID   int64  `cql:"id" orm:"pk"`
	Slug string `cql:"slug" orm:"unique"`
	Body string `cql:"body"`
}

// openDB returns a DB on the package's shared session and keyspace.
func openDB(t testing.TB, obs orm.Observer) *orm.DB {
	t.Helper()
	db, err := orm.New(env.Session(t), env.Keyspace(), obs)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// otherDB returns a DB on a session of its own, as another process would have;
// it is closed when the test ends.
func otherDB(t testing.TB, obs orm.Observer) *orm.DB {
	t.Helper()
	s, err := env.ClusterConfig(t).CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	db, err := orm.New(s, env.Keyspace(), obs)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// newRegistry returns a synced Registry on db whose tables are named after table
// (each test has its own registry) and whose tenant keyspaces Main drops. Its
// leases last 5s unless cfg says otherwise: short enough for a test to wait out a
// dead holder, long enough that renewals survive a loaded 2-core machine.
func newRegistry(t testing.TB, db *orm.DB, table string, cfg registry.Config) *registry.Registry {
	t.Helper()
	cfg.Table = table
	if cfg.KeyspacePrefix == "" {
		cfg.KeyspacePrefix = env.KeyspacePrefix()
	}
	if cfg.LeaseTTL == 0 {
		cfg.LeaseTTL = 5 * time.Second
	}
	r, err := registry.New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	return r
}

// notes returns the Note model on r's tenanted DB, in table name.
func notes(t testing.TB, r *registry.Registry, name string) *orm.Model[Note] {
	t.Helper()
	m, err := orm.NewModel[Note](r.DB(), orm.TableName(name))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// count runs a SELECT COUNT(*) written by hand on the test session.
func count(t testing.TB, stmt string, vals ...any) int {
	t.Helper()
	var n int
	if err := env.Session(t).Query(stmt, vals...).ScanContext(context.Background(), &n); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
	return n
}

// keyspaceExists reports whether keyspace ks exists.
func keyspaceExists(t testing.TB, ks string) bool {
	t.Helper()
	ok, err := openDB(t, nil).KeyspaceExists(t.Context(), ks)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// tables returns the tables of keyspace ks.
func tables(t testing.TB, ks string) []string {
	t.Helper()
	names, err := openDB(t, nil).Tables(t.Context(), ks)
	if err != nil {
		t.Fatal(err)
	}
	return names
}
