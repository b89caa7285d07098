package orm

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// CellMeta is what Cassandra keeps about one stored value besides the value itself.
type CellMeta struct {
	// WriteTime is when the value was written (the statement's timestamp).
	WriteTime time.Time
	// TTL is how long the value has left to live; zero when it does not expire.
	TTL time.Duration
}

// CellMeta reads the write time and remaining TTL of a non-key column of the row with
// the given primary key (WRITETIME and TTL). It returns ErrNotFound when the row is
// missing and a zero CellMeta when the column is null.
func (m *Model[T]) CellMeta(ctx context.Context, column string, keys ...any) (CellMeta, error) {
	var meta CellMeta
	if err := m.db.live(); err != nil {
		return meta, fmt.Errorf("orm: cell meta of %s: %w", m.t.Name, err)
	}
	c, err := m.t.column(column)
	if err != nil {
		return meta, err
	}
	if c.Kind == PartitionKey || c.Kind == ClusteringKey || c.cql.isCollection() || c.cql.name == "counter" {
		return meta, fmt.Errorf("%w: %s: no write time for column %s (%s): keys, counters and non-frozen collections have none",
			ErrInvalidQuery, m.t.Name, c.Name, c.Type)
	}
	if err := m.keyValues(keys, len(m.t.PartitionKey)+len(m.t.Clustering)); err != nil {
		return meta, err
	}
	sc, err := m.scope(ctx, "cell meta")
	if err != nil {
		return meta, err
	}
	bkeys, err := sc.keys(m.t, keys)
	if err != nil {
		return meta, err
	}
	stmt := "SELECT WRITETIME(" + quote(c.Name) + "), TTL(" + quote(c.Name) + ") FROM " + sc.st.from + " WHERE " + m.keyWhere
	var wt *int64
	var ttl *int32
	o := queryOpts{}
	start := time.Now()
	err = m.query(stmt, bkeys, &o, true).ScanContext(ctx, &wt, &ttl)
	m.db.observe(ctx, QueryEvent{Table: m.t.Name, Op: "get", Statement: stmt, Latency: time.Since(start), Rows: 1, Err: ignoreNotFound(err)})
	if errors.Is(err, errNoRows) {
		return meta, fmt.Errorf("%w: %s (%s)", ErrNotFound, m.t.Name, m.keyString(keys))
	}
	if err != nil {
		return meta, fmt.Errorf("orm: cell meta %s.%s: %w", m.t.Name, c.Name, classify(err))
	}
	if wt != nil {
		meta.WriteTime = time.UnixMicro(*wt)
	}
	if ttl != nil {
		meta.TTL = time.Duration(*ttl) * time.Second
	}
	return meta, nil
}
