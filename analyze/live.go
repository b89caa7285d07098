package analyze

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// Every read of the node's schema and statistics is in this file; values go by bind
// markers.

// TableStats are a table's figures as the node reports them. A nil field is a figure
// the node did not have.
type TableStats struct {
	// Partitions is the sum of partitions_count over the node's token ranges in
	// system.size_estimates: an estimate the node refreshes periodically (every
	// size_estimates refresh, 5 minutes by default), 0 for a new table.
	Partitions int64 `json:"partitions"`
	// MeanPartitionBytes is mean_partition_size averaged over those ranges, weighted
	// by their partitions.
	MeanPartitionBytes int64 `json:"mean_partition_bytes"`
	// MaxPartitionMiB is system_views.max_partition_size: the largest partition
	// compacted so far, in mebibytes.
	MaxPartitionMiB *int64 `json:"max_partition_mib,omitempty"`
	// RowsPerReadP50 and RowsPerReadP99 are system_views.rows_per_read: rows read
	// per single-partition read since the node started (a histogram of real reads);
	// nil while the view counts no reads of the table.
	RowsPerReadP50 *float64 `json:"rows_per_read_p50,omitempty"`
	RowsPerReadP99 *float64 `json:"rows_per_read_p99,omitempty"`
	// TombstonesPerReadP99 and TombstonesPerReadMax are system_views.tombstones_per_read:
	// tombstones scanned per read since the node started; nil while it counts no reads.
	TombstonesPerReadP99 *float64 `json:"tombstones_per_read_p99,omitempty"`
	TombstonesPerReadMax *float64 `json:"tombstones_per_read_max,omitempty"`
	// DiskMiB is system_views.disk_usage: the table's live SSTables, in mebibytes.
	DiskMiB *int64 `json:"disk_mib,omitempty"`
}

// LoadSchema reads the tables, columns and indexes of keyspace ks from
// system_schema on session's node.
func LoadSchema(ctx context.Context, session *gocql.Session, ks string) (*Schema, error) {
	if session == nil {
		return nil, errors.New("analyze: LoadSchema: nil session")
	}
	s := &Schema{Keyspace: ks, Tables: map[string]*Table{}}
	iter := session.Query(`SELECT table_name, column_name, kind, position, type, clustering_order FROM system_schema.columns WHERE keyspace_name = ?`, ks).IterContext(ctx)
	var (
		table, column, kind, typ, order string
		position                        int
	)
	for iter.Scan(&table, &column, &kind, &position, &typ, &order) {
		t := s.Tables[key(ks, table)]
		if t == nil {
			t = &Table{Keyspace: ks, Name: table}
			s.Tables[key(ks, table)] = t
		}
		t.Columns = append(t.Columns, Column{Name: column, Type: typ, Kind: ColumnKind(kind), Position: position, Descending: order == "desc"})
	}
	if err := iter.Close(); err != nil {
		return nil, fmt.Errorf("analyze: reading the columns of keyspace %s: %w", ks, err)
	}
	if len(s.Tables) == 0 {
		return nil, fmt.Errorf("analyze: keyspace %s has no tables (or does not exist)", ks)
	}
	iter = session.Query(`SELECT table_name, index_name, kind, options FROM system_schema.indexes WHERE keyspace_name = ?`, ks).IterContext(ctx)
	var (
		name    string
		options map[string]string
	)
	for iter.Scan(&table, &name, &kind, &options) {
		t := s.Tables[key(ks, table)]
		if t == nil {
			continue
		}
		col, target := parseTarget(options["target"])
		class := options["class_name"]
		ix := Index{Name: name, Column: col, Target: target, Class: class,
			SAI: strings.EqualFold(class, "sai") || strings.HasSuffix(class, "StorageAttachedIndex")}
		if ix.SAI {
			ix.Similarity = options["similarity_function"]
		}
		t.Indexes = append(t.Indexes, ix)
		options = nil
	}
	if err := iter.Close(); err != nil {
		return nil, fmt.Errorf("analyze: reading the indexes of keyspace %s: %w", ks, err)
	}
	for _, t := range s.Tables {
		t.sortColumns()
	}
	return s, nil
}

// parseTarget splits an index target as system_schema.indexes writes it: col,
// "Quoted", keys(col), entries(col), full(col), values(col).
func parseTarget(target string) (col, kind string) {
	for _, k := range []string{"keys", "entries", "full", "values"} {
		if strings.HasPrefix(target, k+"(") && strings.HasSuffix(target, ")") {
			kind, target = k, target[len(k)+1:len(target)-1]
			break
		}
	}
	if kind == "values" {
		kind = ""
	}
	if len(target) >= 2 && target[0] == '"' && target[len(target)-1] == '"' {
		return strings.ReplaceAll(target[1:len(target)-1], `""`, `"`), kind
	}
	return target, kind
}

// LoadStats reads the statistics of every table of s from session's node (see
// TableStats for where each figure comes from) into s.Stats.
func LoadStats(ctx context.Context, session *gocql.Session, s *Schema) error {
	if session == nil {
		return errors.New("analyze: LoadStats: nil session")
	}
	if s.Stats == nil {
		s.Stats = map[string]*TableStats{}
	}
	for k, t := range s.Tables {
		st, err := tableStats(ctx, session, t.Keyspace, t.Name)
		if err != nil {
			return err
		}
		s.Stats[k] = st
	}
	return nil
}

func tableStats(ctx context.Context, session *gocql.Session, ks, table string) (*TableStats, error) {
	st := &TableStats{}
	iter := session.Query(`SELECT partitions_count, mean_partition_size FROM system.size_estimates WHERE keyspace_name = ? AND table_name = ?`, ks, table).IterContext(ctx)
	var count, mean int64
	var weighted float64
	for iter.Scan(&count, &mean) {
		st.Partitions += count
		weighted += float64(count) * float64(mean)
	}
	if err := iter.Close(); err != nil {
		return nil, fmt.Errorf("analyze: reading the size estimates of %s.%s: %w", ks, table, err)
	}
	if st.Partitions > 0 {
		st.MeanPartitionBytes = int64(weighted / float64(st.Partitions))
	}
	var mib int64
	if ok, err := scanOne(ctx, session, "max_partition_size", "mebibytes", ks, table, &mib); err != nil {
		return nil, err
	} else if ok {
		st.MaxPartitionMiB = &mib
	}
	var reads int64
	var p50, p99 float64
	if ok, err := scanOne(ctx, session, "rows_per_read", "count, p50th, p99th", ks, table, &reads, &p50, &p99); err != nil {
		return nil, err
	} else if ok && reads > 0 {
		st.RowsPerReadP50, st.RowsPerReadP99 = &p50, &p99
	}
	var tp99, tmax float64
	if ok, err := scanOne(ctx, session, "tombstones_per_read", "count, p99th, max", ks, table, &reads, &tp99, &tmax); err != nil {
		return nil, err
	} else if ok && reads > 0 {
		st.TombstonesPerReadP99, st.TombstonesPerReadMax = &tp99, &tmax
	}
	var disk int64
	if ok, err := scanOne(ctx, session, "disk_usage", "mebibytes", ks, table, &disk); err != nil {
		return nil, err
	} else if ok {
		st.DiskMiB = &disk
	}
	return st, nil
}

// scanOne reads one row of a system view into dest; false when the view has no row
// for the table.
func scanOne(ctx context.Context, session *gocql.Session, view, cols, ks, table string, dest ...any) (bool, error) {
	stmt := "SELECT " + cols + " FROM system_views." + view + " WHERE keyspace_name = ? AND table_name = ?"
	err := session.Query(stmt, ks, table).ScanContext(ctx, dest...)
	if errors.Is(err, gocql.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("analyze: reading system_views.%s for %s.%s: %w", view, ks, table, err)
	}
	return true, nil
}
