package vector_test

import (
	"reflect"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("vector_test")

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

// reflectID returns the ID field of a test model's row.
func reflectID(row any) int64 { return reflect.ValueOf(row).FieldByName("ID").Int() }
