package orm

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// Inspection of the live schema, read from system_schema, so that no package but orm
// writes CQL. Each method takes the keyspace by name, checked as an identifier.

// KeyspaceExists reports whether keyspace name exists.
func (db *DB) KeyspaceExists(ctx context.Context, name string) (bool, error) {
	if err := CheckIdent("keyspace", name); err != nil {
		return false, err
	}
	n, err := db.count(ctx, "keyspace "+name,
		`SELECT COUNT(*) FROM system_schema.keyspaces WHERE keyspace_name = ?`, name)
	return n > 0, err
}

// Tables returns the names of the tables of keyspace ks, sorted; none for a keyspace
// that does not exist.
func (db *DB) Tables(ctx context.Context, ks string) ([]string, error) {
	if err := db.live(); err != nil {
		return nil, err
	}
	if err := CheckIdent("keyspace", ks); err != nil {
		return nil, err
	}
	start := time.Now()
	const stmt = `SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?`
	iter := db.session.Query(stmt, ks).IterContext(ctx)
	var (
		names []string
		name  string
	)
	for iter.Scan(&name) {
		names = append(names, name)
	}
	err := iter.Close()
	db.observe(ctx, QueryEvent{Op: "inspect", Statement: stmt, Latency: time.Since(start), Rows: len(names), Err: err})
	if err != nil {
		return nil, fmt.Errorf("orm: reading the tables of keyspace %s: %w", ks, classify(err))
	}
	slices.Sort(names)
	return names, nil
}

// TableExists reports whether table exists in keyspace ks.
func (db *DB) TableExists(ctx context.Context, ks, table string) (bool, error) {
	if err := CheckIdent("keyspace", ks); err != nil {
		return false, err
	}
	if err := CheckIdent("table", table); err != nil {
		return false, err
	}
	n, err := db.count(ctx, "table "+ks+"."+table,
		`SELECT COUNT(*) FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?`, ks, table)
	return n > 0, err
}

// IndexExists reports whether table ks.table has an index called index.
func (db *DB) IndexExists(ctx context.Context, ks, table, index string) (bool, error) {
	for kind, name := range map[string]string{"keyspace": ks, "table": table, "index": index} {
		if err := CheckIdent(kind, name); err != nil {
			return false, err
		}
	}
	n, err := db.count(ctx, "index "+ks+"."+table+"."+index,
		`SELECT COUNT(*) FROM system_schema.indexes WHERE keyspace_name = ? AND table_name = ? AND index_name = ?`, ks, table, index)
	return n > 0, err
}

// LiveColumn is a column of a table as the server has it.
type LiveColumn struct {
	// Name is the column's name.
	Name string
	// Type is its CQL type as system_schema writes it, e.g. "frozen<list<text>>".
	Type string
	// Kind is its place in the primary key.
	Kind ColumnKind
	// Descending is true for a clustering column stored in descending order.
	Descending bool
}

// Columns returns the columns of table ks.table in primary key order (partition key,
// then clustering columns), then the static and regular columns by name. A table that
// does not exist has none.
func (db *DB) Columns(ctx context.Context, ks, table string) ([]LiveColumn, error) {
	if err := CheckIdent("keyspace", ks); err != nil {
		return nil, err
	}
	if err := CheckIdent("table", table); err != nil {
		return nil, err
	}
	if err := db.live(); err != nil {
		return nil, err
	}
	live, err := db.liveColumns(ctx, ks, table)
	if err != nil {
		return nil, err
	}
	kinds := map[string]ColumnKind{"partition_key": PartitionKey, "clustering": ClusteringKey, "static": Static, "regular": Regular}
	rank := map[ColumnKind]int{PartitionKey: 0, ClusteringKey: 1, Static: 2, Regular: 3}
	out := make([]LiveColumn, 0, len(live))
	for name, c := range live {
		out = append(out, LiveColumn{Name: name, Type: c.typ, Kind: kinds[c.kind], Descending: c.order == "desc"})
	}
	slices.SortFunc(out, func(a, b LiveColumn) int {
		if c := cmp.Compare(rank[a.Kind], rank[b.Kind]); c != 0 {
			return c
		}
		if a.Kind == PartitionKey || a.Kind == ClusteringKey {
			return cmp.Compare(live[a.Name].position, live[b.Name].position)
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out, nil
}

// count runs a SELECT COUNT(*) on the schema tables about what.
func (db *DB) count(ctx context.Context, what, stmt string, values ...any) (int, error) {
	if err := db.live(); err != nil {
		return 0, err
	}
	start := time.Now()
	var n int
	err := db.session.Query(stmt, values...).ScanContext(ctx, &n)
	db.observe(ctx, QueryEvent{Op: "inspect", Statement: stmt, Latency: time.Since(start), Rows: 1, Err: err})
	if err != nil {
		return 0, fmt.Errorf("orm: reading %s: %w", what, classify(err))
	}
	return n, nil
}
