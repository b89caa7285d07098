package eventsourcing_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/eventsourcing"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("eventsourcing_test")

// childEnv, when set, makes the test binary run as a helper process of a test
// (a process that test kills) instead of running tests.
const childEnv = "ES_TEST_CHILD"

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		if err := runChild(role); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	env.Main(m)
}

// childStore opens, in a helper process, the store of the test that started it (its
// keyspace comes in CHILD_KEYSPACE).
func childStore(ctx context.Context, opts eventsourcing.StoreConfig) (*orm.DB, *eventsourcing.Registry, *eventsourcing.Store, error) {
	db, err := orm.Open(ctx, orm.Config{Hosts: env.Hosts(), Keyspace: os.Getenv("CHILD_KEYSPACE")})
	if err != nil {
		return nil, nil, nil, err
	}
	reg := eventsourcing.NewRegistry(nil)
	if err := eventsourcing.Register[Added](reg, 1); err != nil {
		return nil, nil, nil, err
	}
	s, err := eventsourcing.NewStore(db, opts)
	return db, reg, s, err
}

func runChild(role string) error {
	switch role {
	case "projection":
		return projectionChild()
	case "writer":
		return writerChild()
	}
	return fmt.Errorf("unknown child role %q", role)
}

// Counter events: a tiny aggregate for tests.
type CounterEvent interface {
	eventsourcing.Event
	isCounterEvent()
}

type Added struct {
	N int `json:"n"`
}

type Reset struct{}

func (Added) EventType() string { return "Added" }
func (Reset) EventType() string { return "Reset" }
func (Added) isCounterEvent()   {}
func (Reset) isCounterEvent()   {}

type Counter struct {
	eventsourcing.Root[CounterEvent]
	Total int
	Adds  int
}

func (c *Counter) Apply(e CounterEvent) {
	switch e := e.(type) {
	case Added:
		c.Total += e.N
		c.Adds++
	case Reset:
		c.Total = 0
	}
}

func (c *Counter) MarshalSnapshot() ([]byte, error) {
	return json.Marshal([2]int{c.Total, c.Adds})
}

func (c *Counter) UnmarshalSnapshot(data []byte) error {
	var s [2]int
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	c.Total, c.Adds = s[0], s[1]
	return nil
}

func registry(t testing.TB) *eventsourcing.Registry {
	t.Helper()
	reg := eventsourcing.NewRegistry(nil)
	if err := eventsourcing.Register[Added](reg, 1); err != nil {
		t.Fatal(err)
	}
	if err := eventsourcing.Register[Reset](reg, 1); err != nil {
		t.Fatal(err)
	}
	return reg
}

// newStore returns a store with its own table prefix, synced.
func newStore(t testing.TB, prefix string, opts eventsourcing.StoreConfig) *eventsourcing.Store {
	t.Helper()
	return newObservedStore(t, prefix, opts, nil)
}

// newObservedStore is newStore whose statements obs sees.
func newObservedStore(t testing.TB, prefix string, opts eventsourcing.StoreConfig, obs orm.Observer) *eventsourcing.Store {
	t.Helper()
	db, err := orm.New(env.Session(t), env.Keyspace(), obs)
	if err != nil {
		t.Fatal(err)
	}
	opts.Prefix = prefix
	s, err := eventsourcing.NewStore(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

// newRepo returns a repository of Counters on s.
func newRepo(t testing.TB, s *eventsourcing.Store, reg *eventsourcing.Registry, cfg eventsourcing.RepositoryConfig) *eventsourcing.Repository[*Counter, CounterEvent] {
	t.Helper()
	r, err := eventsourcing.NewRepository[*Counter, CounterEvent](s, reg, func() *Counter { return &Counter{} }, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func added(t testing.TB, reg *eventsourcing.Registry, n int) eventsourcing.EventData {
	t.Helper()
	d, err := reg.Encode(Added{N: n})
	if err != nil {
		t.Fatal(err)
	}
	return d
}
