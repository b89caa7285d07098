package orm

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// cas runs a lightweight transaction and turns "not applied" into a *ConflictError
// carrying the row the server returned. LWTs are never retried automatically.
func (m *Model[T]) cas(ctx context.Context, op, stmt string, vals []any, o *queryOpts, keys []any) error {
	if err := m.db.live(); err != nil {
		return fmt.Errorf("orm: %s %s: %w", op, m.t.Name, err)
	}
	var cur T
	rv := reflect.ValueOf(&cur).Elem()
	hasRow := false
	applied, scanned, err := m.scanCAS(ctx, "lwt "+op, stmt, m.query(stmt, vals, o, false), func(name string, dest []any) ([]any, bool) {
		col := m.t.byName[name]
		if col == nil {
			return dest, false
		}
		hasRow = true
		return scanDest(dest, rv, []*Column{col}), true
	})
	if err != nil {
		return fmt.Errorf("orm: %s %s (%s): %w", op, m.t.Name, m.keyString(keys), err)
	}
	if !scanned {
		return fmt.Errorf("orm: %s %s (%s): lightweight transaction returned no result: %w", op, m.t.Name, m.keyString(keys), ErrUncertain)
	}
	if applied {
		return nil
	}
	ce := &ConflictError{Table: m.t.Name, Op: op, Key: m.keyString(keys)}
	if hasRow {
		ce.Current = &cur
	}
	return ce
}

// scanCAS runs lightweight transaction q and scans its result row: [applied] into
// the flag it returns, and every other column into what into appends for its name
// (into reports false for a column to drop). LWTs are never retried automatically.
func (m *Model[T]) scanCAS(ctx context.Context, op, stmt string, q *gocql.Query,
	into func(name string, dest []any) ([]any, bool)) (applied, scanned bool, err error) {
	start := time.Now()
	it := q.Idempotent(false).NoSkipMetadata().IterContext(ctx)
	cols := it.Columns()
	dest := make([]any, 0, len(cols))
	for _, c := range cols {
		if c.Name == "[applied]" {
			dest = append(dest, &applied)
			continue
		}
		var ok bool
		if dest, ok = into(c.Name, dest); !ok {
			dest = appendDiscard(dest, c)
		}
	}
	scanned = it.Scan(dest...)
	err = it.Close()
	m.db.observe(ctx, QueryEvent{Table: m.t.Name, Op: op, Statement: stmt, Latency: time.Since(start), Rows: 1, Err: err})
	return applied, scanned, outcome(err)
}

// appendDiscard appends destinations that drop column c (one per element for a
// tuple). A column of another type gets a destination of its Go type: the driver
// cannot decode a collection (such as a change mark column, which a model that
// does not record its changes does not know) into an interface.
func appendDiscard(dest []any, c gocql.ColumnInfo) []any {
	if tt, ok := c.TypeInfo.(gocql.TupleTypeInfo); ok {
		for range tt.Elems {
			dest = append(dest, new(any))
		}
		return dest
	}
	if z := c.TypeInfo.Zero(); z != nil {
		return append(dest, reflect.New(reflect.TypeOf(z)).Interface())
	}
	return append(dest, new(any))
}

// writeConditions writes the IF clause of a lightweight transaction and appends its
// bound values to vals: IF EXISTS for no conditions, else the conditions, which must
// be on non-key columns.
func (m *Model[T]) writeConditions(b *strings.Builder, vals []any, conds []Predicate) ([]any, error) {
	if len(conds) == 0 {
		b.WriteString(" IF EXISTS")
		return vals, nil
	}
	for i, p := range conds {
		c, err := m.t.column(p.col)
		if err != nil {
			return nil, err
		}
		if c.Kind == PartitionKey || c.Kind == ClusteringKey {
			return nil, fmt.Errorf("%w: %s: a condition cannot be on key column %s", ErrInvalidQuery, m.t.Name, c.Name)
		}
		if p.op == "CONTAINS" || p.op == "CONTAINS KEY" {
			return nil, fmt.Errorf("%w: %s: %s is not allowed in a condition", ErrInvalidQuery, m.t.Name, p.op)
		}
		if i == 0 {
			b.WriteString(" IF ")
		} else {
			b.WriteString(" AND ")
		}
		if vals, err = m.t.appendPredicate(b, vals, c, p); err != nil {
			return nil, err
		}
	}
	return vals, nil
}
