package orm_test

import (
	"errors"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// TestErrUnavailable checks, against the real server, that a statement refused for
// want of replicas matches orm.ErrUnavailable (not ErrUncertain), names its table, and
// keeps the driver's error underneath.
func TestErrUnavailable(t *testing.T) {
	db := openDB(t)
	accounts := newModel[Account](t, db, orm.TableName("account_unavailable"))
	ctx := t.Context()
	// The test keyspace has one replica: THREE cannot be met.
	three := orm.WithConsistency(orm.Three)
	tests := []struct {
		name string
		run  func() error
	}{
		{"insert", func() error { return accounts.Insert(ctx, &Account{ID: "u1"}, three) }},
		{"lwt", func() error {
			return accounts.InsertIfNotExists(ctx, &Account{ID: "u2"}, orm.WithSerialConsistency(orm.Serial), three)
		}},
		{"get", func() error { _, err := accounts.Query().Where(orm.Eq("id", "u1")).With(three).One(ctx); return err }},
		{"count", func() error { _, err := accounts.Query().Where(orm.Eq("id", "u1")).With(three).Count(ctx); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			var driver *gocql.RequestErrUnavailable
			if !errors.Is(err, orm.ErrUnavailable) || errors.Is(err, orm.ErrUncertain) || !errors.As(err, &driver) {
				t.Fatalf("got %v; want ErrUnavailable wrapping the driver's error", err)
			}
		})
	}
}
