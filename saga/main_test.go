package saga_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/saga"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("saga_test")

func TestMain(m *testing.M) { env.Main(m) }

// fast is a configuration for tests: short leases and polls.
func fast(table string) saga.Config {
	return saga.Config{Table: table, Shards: 4, LeaseTTL: 2 * time.Second, Poll: 50 * time.Millisecond, Lag: 500 * time.Millisecond}
}

// newOrch makes an orchestrator on the test keyspace with tables named table, synced.
func newOrch(t *testing.T, table string, mod func(*saga.Config)) *saga.Orchestrator {
	t.Helper()
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := fast(table)
	if mod != nil {
		mod(&cfg)
	}
	o, err := saga.New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	return o
}

// run runs o's worker until the test ends, and waits for it to stop.
func run(t *testing.T, o *saga.Orchestrator) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = o.Run(ctx)
	}()
	stop := func() { cancel(); wg.Wait() }
	t.Cleanup(stop)
	return stop
}

// recorder records observer events.
type recorder struct {
	mu     sync.Mutex
	events []saga.Event
}

func (r *recorder) observe(_ context.Context, e saga.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) count(kind string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}
