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
// prefixed with prefix, so that each test has its own.
func newMigrator(t testing.TB, prefix string, opts migrate.Options) *migrate.Migrator {
	t.Helper()
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	opts.Table, opts.LockTable = prefix+"_migrations", prefix+"_lock"
	m, err := migrate.New(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// buildMigrator returns a Migrator on a DB without a session: it checks
// migrations and options without a server, and must not run them.
func buildMigrator(t testing.TB) *migrate.Migrator {
	t.Helper()
	db, err := orm.New(nil, "migrate_build", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := migrate.New(db, migrate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// exec runs a statement on the package keyspace.
func execCQL(t testing.TB, stmt string, vals ...any) {
	t.Helper()
	if err := env.Session(t).Query(stmt, vals...).Exec(); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// tableExists reports whether the package keyspace has the table.
func tableExists(t testing.TB, table string) bool {
	t.Helper()
	var n int
	err := env.Session(t).Query(`SELECT COUNT(*) FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?`,
		env.Keyspace(), table).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// indexExists reports whether the package keyspace has the index on table.
func indexExists(t testing.TB, table, index string) bool {
	t.Helper()
	var n int
	err := env.Session(t).Query(`SELECT COUNT(*) FROM system_schema.indexes WHERE keyspace_name = ? AND table_name = ? AND index_name = ?`,
		env.Keyspace(), table, index).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
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
	s := env.Session(t)
	for _, table := range tables {
		if err := s.Query(`DROP TABLE IF EXISTS ` + table).Exec(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AwaitSchemaAgreement(t.Context()); err != nil {
		t.Fatal(err)
	}
}
