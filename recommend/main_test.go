package recommend_test

import (
	"context"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/recommend"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("recommend_test")

func TestMain(m *testing.M) { env.Main(m) }

// openDB returns a tenanted DB on the package's test keyspace: each test
// works in a tenant of its own, so the tests share the tables and none sees
// another's rows.
func openDB(t testing.TB) *orm.DB {
	t.Helper()
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tdb, err := db.WithTenancy(orm.Tenancy{})
	if err != nil {
		t.Fatal(err)
	}
	return tdb
}

// newRecommender returns a Recommender with its tables synced.
func newRecommender(t testing.TB, cfg recommend.Config, content recommend.ContentSource) *recommend.Recommender {
	t.Helper()
	r, err := recommend.New(openDB(t), cfg, content)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}
