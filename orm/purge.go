package orm

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// PurgeTenant removes every row of ctx's tenant from the model's table and from its
// unique lookup tables, partition by partition, and returns how many partitions it
// removed. It is how a tenant of the partition strategy is deleted (a keyspace
// tenant's keyspace is dropped instead). It reads the whole table to find the
// tenant's partitions (the tenant column is only the first part of the partition key),
// so it is an administrative operation, not a request-path one. Run again after a
// failure, it goes on where the first run stopped; rows the tenant writes meanwhile
// may survive, so suspend the tenant first.
//
// It fails with ErrInvalidQuery on a model that is not tenant-scoped.
func (m *Model[T]) PurgeTenant(ctx context.Context) (int, error) {
	if m.t.Tenant == nil {
		return 0, fmt.Errorf("%w: %s is not tenant-scoped: nothing to purge per tenant", ErrInvalidQuery, m.t.Name)
	}
	sc, err := m.scope(ctx, "purge")
	if err != nil {
		return 0, err
	}
	n, err := m.db.purge(ctx, sc, m.t, sc.st.from, m.t.PartitionKey)
	if err != nil {
		return n, err
	}
	for _, u := range m.t.Uniques {
		lt := u.lookupTable(m.t)
		if _, err := m.db.purge(ctx, sc, lt, qualified(sc.st.ks, lt.Name), lt.PartitionKey); err != nil {
			return n, err
		}
	}
	return n, nil
}

// purge deletes the partitions of table t (qualified name from) whose tenant column
// holds sc's tenant; keys are the partition key columns after the tenant column.
func (db *DB) purge(ctx context.Context, sc scoped, t *Table, from string, keys []*Column) (int, error) {
	if err := db.live(); err != nil {
		return 0, fmt.Errorf("orm: purge %s: %w", t.Name, err)
	}
	tcol := quote(t.Tenant.Name)
	sel := "SELECT " + quoteNames(keys) + " FROM " + from + " WHERE " + tcol + " = ? ALLOW FILTERING"
	where := tcol + " = ?"
	width := 0 // values of a partition key: the driver reads and binds a tuple's elements one by one
	for _, c := range keys {
		where += " AND " + quote(c.Name) + " = " + marker(c)
		width++
		if c.cql.name == "tuple" {
			width += len(c.cql.elems) - 1
		}
	}
	del := "DELETE FROM " + from + " WHERE " + where
	seen := map[string]bool{}
	n := 0
	var state []byte
	for {
		start := time.Now()
		it := db.session.Query(sel, sc.tenant).PageState(state).PageSize(500).Idempotent(true).IterContext(ctx)
		state = it.PageState()
		var parts [][]any
		for {
			row := make([]any, width)
			dest := make([]any, width)
			for i := range width {
				dest[i] = &rawValue{}
				row[i] = dest[i]
			}
			if !it.Scan(dest...) {
				break
			}
			id := rawKey(row)
			if !seen[id] {
				seen[id] = true
				parts = append(parts, row)
			}
		}
		err := it.Close()
		db.observe(ctx, QueryEvent{Table: t.Name, Op: "select", Statement: sel, Latency: time.Since(start), Rows: len(parts), Err: err})
		if err != nil {
			return n, fmt.Errorf("orm: purge %s: tenant %s: %w", t.Name, sc.id, classify(err))
		}
		for _, p := range parts {
			if err := db.exec(ctx, "delete", del, "", append([]any{sc.tenant}, p...), false, true); err != nil {
				return n, fmt.Errorf("orm: purge %s: tenant %s: %w", t.Name, sc.id, err)
			}
			n++
		}
		if len(state) == 0 {
			return n, nil
		}
	}
}

// rawValue holds a column's value as the server encoded it, and binds it back so.
type rawValue struct{ b []byte }

// UnmarshalCQL implements gocql.Unmarshaler.
func (r *rawValue) UnmarshalCQL(_ gocql.TypeInfo, data []byte) error {
	r.b = append([]byte(nil), data...)
	return nil
}

// MarshalCQL implements gocql.Marshaler.
func (r *rawValue) MarshalCQL(gocql.TypeInfo) ([]byte, error) { return r.b, nil }

// rawKey returns the encoded parts of a partition key read into rawValues, each
// length-prefixed so that two keys never share it.
func rawKey(row []any) string {
	var k []byte
	for _, v := range row {
		b := v.(*rawValue).b
		k = binary.BigEndian.AppendUint32(k, uint32(len(b)))
		k = append(k, b...)
	}
	return string(k)
}
