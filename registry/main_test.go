package registry_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/registry"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("registry_test")

func TestMain(m *testing.M) { env.Main(m) }

// fast is the configuration of most tests: short enough that expiry is quick,
// long enough that a heartbeat on a busy two-core machine is not late.
var fast = registry.Config{TTL: 3 * time.Second, Heartbeat: time.Second, Poll: 200 * time.Millisecond}

// openDB returns a DB on the package's shared session.
func openDB(t testing.TB) *orm.DB {
	t.Helper()
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// ownDB returns a DB on a session of its own, closed at the end of the test (or
// earlier, by the test).
func ownDB(t testing.TB) *orm.DB {
	t.Helper()
	env.Session(t) // creates the keyspace
	db, err := orm.Open(context.Background(), orm.Config{Hosts: env.Hosts(), Keyspace: env.Keyspace()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// syncMu serialises the tests' table creation: one CREATE TABLE at a time.
var syncMu sync.Mutex

// newRegistry returns a Registry on db with cfg, its table synced.
func newRegistry(t testing.TB, db *orm.DB, cfg registry.Config) *registry.Registry {
	t.Helper()
	reg, err := registry.New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	syncMu.Lock()
	defer syncMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := reg.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	return reg
}

// service returns a service name of this run only.
func service() string {
	return fmt.Sprintf("svc-%s", orm.NewUUID().String()[:8])
}

// ids returns the ids of insts.
func ids(insts []registry.Instance) []string {
	var out []string
	for _, i := range insts {
		out = append(out, i.ID)
	}
	return out
}
