package registry_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/registry"
)

// statements records the consistency of each statement a session sends on the
// registry's table, through the driver's query and batch observers.
type statements struct {
	mu   sync.Mutex
	seen map[string][]gocql.Consistency // first word of the statement (INSERT, SELECT, DELETE): levels
}

func (s *statements) add(stmt string, c gocql.Consistency) {
	if !strings.Contains(stmt, "service_instances") {
		return
	}
	op, _, _ := strings.Cut(strings.TrimSpace(stmt), " ")
	s.mu.Lock()
	s.seen[strings.ToUpper(op)] = append(s.seen[strings.ToUpper(op)], c)
	s.mu.Unlock()
}

func (s *statements) ObserveQuery(_ context.Context, q gocql.ObservedQuery) {
	s.add(q.Statement, q.Query.GetConsistency())
}

func (s *statements) ObserveBatch(_ context.Context, b gocql.ObservedBatch) {
	for _, st := range b.Statements {
		s.add(st, b.Batch.GetConsistency())
	}
}

// Every read and write of the registry is at LOCAL_QUORUM, even on a session whose
// default is ONE.
func TestLocalQuorum(t *testing.T) {
	obs := &statements{seen: map[string][]gocql.Consistency{}}
	cfg := env.ClusterConfig(t)
	cfg.Consistency = gocql.One
	cfg.QueryObserver, cfg.BatchObserver = obs, obs
	s, err := cfg.CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db, err := orm.New(s, env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := newRegistry(t, db, fast)
	name := service()
	ctx := t.Context()
	inst := registry.Instance{Name: name, ID: "q1", URL: "http://10.4.0.1:80"}
	h, err := reg.Register(ctx, inst)
	if err != nil {
		t.Fatal(err)
	}
	inst.Version = "2"
	if err := h.Update(ctx, inst); err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	events, err := reg.Watch(wctx, name)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, events, registry.Joined, "q1")
	stop()
	drain(t, events)
	if _, err := reg.Discover(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	for _, op := range []string{"INSERT", "SELECT", "DELETE"} {
		levels := obs.seen[op]
		if len(levels) == 0 {
			t.Errorf("no %s on the registry's table observed", op)
		}
		for _, c := range levels {
			if c != gocql.LocalQuorum {
				t.Errorf("%s at %v, want LOCAL_QUORUM", op, c)
			}
		}
	}
	t.Logf("statements observed: %d inserts, %d selects, %d deletes", len(obs.seen["INSERT"]), len(obs.seen["SELECT"]), len(obs.seen["DELETE"]))
}
