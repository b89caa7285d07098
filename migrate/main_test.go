package migrate_test

import (
	"context"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/migrate"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("migrate_test")

func TestMain(m *testing.M) { env.Main(m) }

// newMigrator returns a Migrator on the package keyspace whose bookkeeping tables are
// prefixed with prefix (_migrations, _lock, _dirty), so that each test has its own.
func newMigrator(t testing.TB, prefix string, opts migrate.Config) *migrate.Migrator {
	t.Helper()
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	opts.Table, opts.LockTable = prefix+"_migrations", prefix+"_lock"
	if opts.DirtyTable == "" {
		opts.DirtyTable = prefix + "_dirty"
	}
	m, err := migrate.New(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// testDB returns a DB on the package keyspace.
func testDB(t testing.TB) *orm.DB {
	t.Helper()
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// buildMigrator returns a Migrator on a DB without a session: it checks
// migrations and options without a server, and must not run them.
func buildMigrator(t testing.TB) *migrate.Migrator {
	t.Helper()
	db, err := orm.Detached("migrate_build")
	if err != nil {
		t.Fatal(err)
	}
	m, err := migrate.New(db, migrate.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// execCQL runs a statement on the package keyspace.
func execCQL(t testing.TB, stmt string, vals ...any) {
	t.Helper()
	if err := testDB(t).ExecCQL(t.Context(), stmt, vals...); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// tableExists reports whether the package keyspace has the table.
func tableExists(t testing.TB, table string) bool {
	t.Helper()
	ok, err := testDB(t).TableExists(t.Context(), env.Keyspace(), table)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// indexExists reports whether the package keyspace has the index on table.
func indexExists(t testing.TB, table, index string) bool {
	t.Helper()
	ok, err := testDB(t).IndexExists(t.Context(), env.Keyspace(), table, index)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// states returns "version:state" for each status line.
func states(t testing.TB, ctx context.Context, m *migrate.Migrator) []string {
	t.Helper()
	st, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(st))
	for i, s := range st {
		out[i] = s.Label() + ":" + s.State.String()
	}
	return out
}

// versions returns the versions of results.
func versions(rs []migrate.Result) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.Version
	}
	return out
}

// dropTables drops tables left by an earlier run of a test in this process (go test
// -count=2), so that each run starts from an empty schema.
func dropTables(t testing.TB, tables ...string) {
	t.Helper()
	for _, table := range tables {
		execCQL(t, `DROP TABLE IF EXISTS `+table)
	}
}
