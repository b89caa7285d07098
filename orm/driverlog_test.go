package orm_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// sentQuery is one query as the driver sent it.
type sentQuery struct {
	stmt       string
	idempotent bool // what the driver's retry and speculative execution go by
}

// sentBatch is one batch as the driver sent it.
type sentBatch struct {
	kind       gocql.BatchType
	stmts      []string
	idempotent bool
}

// driverLog records what reaches the driver: it is the QueryObserver and
// BatchObserver of a session made for one test, so it sees the driver's own
// statement objects, not the ORM's account of them.
type driverLog struct {
	mu      sync.Mutex
	queries []sentQuery
	batches []sentBatch
}

// ObserveQuery records q.
func (l *driverLog) ObserveQuery(_ context.Context, q gocql.ObservedQuery) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.queries = append(l.queries, sentQuery{stmt: q.Statement, idempotent: q.Query.IsIdempotent()})
}

// ObserveBatch records b.
func (l *driverLog) ObserveBatch(_ context.Context, b gocql.ObservedBatch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.batches = append(l.batches, sentBatch{kind: b.Batch.Type, stmts: b.Statements, idempotent: b.Batch.IsIdempotent()})
}

// take returns the queries sent on table since the last take and forgets them.
func (l *driverLog) take(table string) []sentQuery {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []sentQuery
	for _, q := range l.queries {
		if strings.Contains(q.stmt, `"`+table+`"`) {
			out = append(out, q)
		}
	}
	l.queries = nil
	return out
}

// takeBatches returns the batches sent since the last call and forgets them.
func (l *driverLog) takeBatches() []sentBatch {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.batches
	l.batches = nil
	return out
}

// observedDB returns a DB on the package's test keyspace over a session of its
// own whose driver reports every statement it sends to the returned log.
func observedDB(t testing.TB) (*orm.DB, *driverLog) {
	t.Helper()
	cfg := env.ClusterConfig(t)
	log := &driverLog{}
	cfg.QueryObserver = log
	cfg.BatchObserver = log
	s, err := cfg.CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	db, err := orm.New(s, env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return db, log
}
