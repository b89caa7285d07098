package orm_test

import (
	ctxpkg "context"
	"time"

	"testing"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("orm_test")

func TestMain(m *testing.M) { env.Main(m) }

// openDB returns a DB on the package's test keyspace.
func openDB(t testing.TB) *orm.DB {
	t.Helper()
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// buildKeyspace is the keyspace of buildDB's models.
const buildKeyspace = "orm_build"

// buildDB returns a DB without a session: it builds models and CQL, needs no
// server and must not run statements. Tests that only build use it, so they pass
// with Cassandra down.
func buildDB(t testing.TB) *orm.DB {
	t.Helper()
	db, err := orm.Detached(buildKeyspace)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// newModel makes a model and syncs its table.
func newModel[T any](t testing.TB, db *orm.DB, opts ...orm.ModelOption) *orm.Model[T] {
	t.Helper()
	m, err := orm.NewModel[T](db, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	return m
}

// withTimeout returns a context that ends after d or with the test.
func withTimeout(t testing.TB, d time.Duration) (ctxpkg.Context, ctxpkg.CancelFunc) {
	return ctxpkg.WithTimeout(t.Context(), d)
}
