package orm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// SchemaModel is what schema management needs of a model: its table description.
// Every *Model[T] is one.
type SchemaModel interface {
	Table() *Table
}

// SchemaChange is one difference between a live schema and the models.
type SchemaChange struct {
	// Object is what the change concerns, e.g. `table shop.users` or `type shop.address`.
	Object string
	// What describes the difference in words.
	What string
	// Statement is the CQL that applies it; empty for unsafe changes.
	Statement string
	// Safe is true when the change can be applied in place without losing data:
	// creating a missing object, adding a column, a UDT field or an index.
	Safe bool

	keyspace string // for an index creation: where to wait for the build
	index    bool
}

// Diff compares the live schema with the models and returns the changes that would
// bring the schema in line, safe and unsafe, in the order they would be applied.
//
// On a tenanted DB (see WithTenancy), tenant-scoped and per-keyspace models are
// compared in the keyspace of ctx's tenant: its own keyspace, or the shared one for a
// tenant in the shared tables and for a context without a tenant.
func (db *DB) Diff(ctx context.Context, models ...SchemaModel) ([]SchemaChange, error) {
	if err := db.live(); err != nil {
		return nil, fmt.Errorf("orm: schema diff: %w", err)
	}
	var changes []SchemaChange
	seenTypes := map[string]bool{}
	for _, m := range models {
		t := m.Table()
		ks, err := db.schemaKeyspace(ctx, t)
		if err != nil {
			return nil, err
		}
		if ks == "" {
			return nil, fmt.Errorf("orm: table %s: no keyspace: set Config.Keyspace or the model's keyspace", t.Name)
		}
		for _, u := range t.udts {
			if seenTypes[ks+"."+u.name] {
				continue
			}
			seenTypes[ks+"."+u.name] = true
			c, err := db.diffType(ctx, ks, u)
			if err != nil {
				return nil, err
			}
			changes = append(changes, c...)
		}
		c, err := db.diffTable(ctx, ks, t)
		if err != nil {
			return nil, err
		}
		changes = append(changes, c...)
		for _, u := range t.Uniques {
			c, err := db.diffTable(ctx, ks, u.lookupTable(t))
			if err != nil {
				return nil, err
			}
			changes = append(changes, c...)
		}
	}
	return changes, nil
}

// Sync creates or updates the schema of the given models: UDTs, tables, SAI indexes
// and unique lookup tables. It applies only safe changes, and if any change is unsafe
// it applies none and returns an error wrapping ErrUnsafeSchemaChange that lists each
// difference. It waits for schema agreement after each statement.
func (db *DB) Sync(ctx context.Context, models ...SchemaModel) error {
	changes, err := db.Diff(ctx, models...)
	if err != nil {
		return err
	}
	var unsafe []string
	for _, c := range changes {
		if !c.Safe {
			unsafe = append(unsafe, c.Object+": "+c.What)
		}
	}
	if len(unsafe) > 0 {
		return fmt.Errorf("%w: %s", ErrUnsafeSchemaChange, strings.Join(unsafe, "; "))
	}
	for _, c := range changes {
		if err := db.schemaExec(ctx, c.Statement); err != nil {
			return fmt.Errorf("%s: %w", c.Object, err)
		}
		if c.index {
			// A new index is built over the existing rows in the background; a
			// query before it is done fails with INDEX_NOT_AVAILABLE.
			if err := db.awaitIndexes(ctx, c.keyspace); err != nil {
				return fmt.Errorf("%s: %w", c.Object, err)
			}
		}
	}
	return nil
}

func (db *DB) keyspaceOf(t *Table) string {
	if t.Keyspace != "" {
		return t.Keyspace
	}
	return db.keyspace
}

// schemaKeyspace returns the keyspace in which schema changes of table t apply for
// ctx: the table's own keyspace, or, on a tenanted DB, the keyspace of ctx's tenant
// for a table that is not global.
func (db *DB) schemaKeyspace(ctx context.Context, t *Table) (string, error) {
	home := db.keyspaceOf(t)
	if db.tenancy == nil || t.scope == GlobalScope {
		return home, nil
	}
	id, err := tenant.From(ctx)
	if errors.Is(err, tenant.ErrNoTenant) {
		return home, nil
	}
	if err != nil {
		return "", fmt.Errorf("orm: schema of %s: %w", t.Name, err)
	}
	return db.keyspaceFor(ctx, t, home, id, "schema of")
}

// KeyspaceFor returns the keyspace that holds the tables of ctx's tenant: its own
// keyspace for a tenant the Placer puts in one, else the DB's keyspace (also for a
// context without a tenant, and on a DB without tenancy). ExecCQL runs its
// statements there.
func (db *DB) KeyspaceFor(ctx context.Context) (string, error) {
	return db.schemaKeyspace(ctx, &Table{Name: "keyspace", scope: KeyspaceScope})
}

// liveColumns reads a table's columns from system_schema: name -> (type, kind, order).
type liveColumn struct {
	typ, kind, order string
	position         int
}

func (db *DB) liveColumns(ctx context.Context, ks, table string) (map[string]liveColumn, error) {
	iter := db.session.Query(`SELECT column_name, type, kind, clustering_order, position FROM system_schema.columns
		WHERE keyspace_name = ? AND table_name = ?`, ks, table).IterContext(ctx)
	cols := map[string]liveColumn{}
	var name string
	var c liveColumn
	for iter.Scan(&name, &c.typ, &c.kind, &c.order, &c.position) {
		cols[name] = c
	}
	if err := iter.Close(); err != nil {
		return nil, fmt.Errorf("orm: reading columns of %s.%s: %w", ks, table, classify(err))
	}
	return cols, nil
}

// liveIndex is an index as system_schema shows it.
type liveIndex struct {
	target     string // e.g. "tags" or "values(tags)"
	similarity string // the similarity function of a vector index, lower case; "" if not set
}

// liveIndexes reads a table's indexes by name.
func (db *DB) liveIndexes(ctx context.Context, ks, table string) (map[string]liveIndex, error) {
	iter := db.session.Query(`SELECT index_name, options FROM system_schema.indexes WHERE keyspace_name = ? AND table_name = ?`,
		ks, table).IterContext(ctx)
	idx := map[string]liveIndex{}
	var name string
	var opts map[string]string
	for iter.Scan(&name, &opts) {
		idx[name] = liveIndex{target: strings.ReplaceAll(opts["target"], `"`, ""), similarity: strings.ToLower(opts["similarity_function"])}
		opts = nil
	}
	if err := iter.Close(); err != nil {
		return nil, fmt.Errorf("orm: reading indexes of %s.%s: %w", ks, table, classify(err))
	}
	return idx, nil
}
func (db *DB) diffTable(ctx context.Context, ks string, t *Table) ([]SchemaChange, error) {
	obj := "table " + ks + "." + t.Name
	live, err := db.liveColumns(ctx, ks, t.Name)
	if err != nil {
		return nil, err
	}
	var changes []SchemaChange
	if len(live) == 0 {
		changes = append(changes, SchemaChange{Object: obj, What: "create table", Statement: createTable(ks, t), Safe: true})
	} else {
		cols := t.Columns
		if t.Tenant != nil {
			cols = append([]*Column{t.Tenant}, cols...)
		}
		if t.ChangeMark != nil {
			cols = append(slices.Clip(cols), t.ChangeMark)
		}
		for _, c := range cols {
			lc, ok := live[c.Name]
			want := normType(c.Type)
			switch {
			case !ok && (c.Kind == Regular || c.Kind == Static):
				stmt := "ALTER TABLE " + qualified(ks, t.Name) + " ADD " + quote(c.Name) + " " + c.Type
				if c.Kind == Static {
					stmt += " STATIC"
				}
				changes = append(changes, SchemaChange{Object: obj, What: "add column " + c.Name + " " + c.Type, Statement: stmt, Safe: true})
			case !ok:
				changes = append(changes, SchemaChange{Object: obj, What: "key column " + c.Name + " is missing: the primary key cannot change"})
			case normType(lc.typ) != want:
				changes = append(changes, SchemaChange{Object: obj,
					What: fmt.Sprintf("column %s is %s in the database but %s in the model", c.Name, lc.typ, c.Type)})
			case lc.kind != c.Kind.String():
				changes = append(changes, SchemaChange{Object: obj,
					What: fmt.Sprintf("column %s is %s in the database but %s in the model", c.Name, lc.kind, c.Kind)})
			case c.Kind == ClusteringKey && (lc.order == "desc") != c.Descending:
				changes = append(changes, SchemaChange{Object: obj,
					What: fmt.Sprintf("clustering column %s is ordered %s in the database", c.Name, lc.order)})
			case (c.Kind == PartitionKey || c.Kind == ClusteringKey) && lc.position != keyPosition(t, c):
				changes = append(changes, SchemaChange{Object: obj,
					What: fmt.Sprintf("key column %s is at position %d in the database but %d in the model: the primary key cannot change",
						c.Name, lc.position, keyPosition(t, c))})
			}
		}
		opts, err := db.diffOptions(ctx, ks, t)
		if err != nil {
			return nil, err
		}
		changes = append(changes, opts...)
		for name, lc := range live {
			if (lc.kind == "partition_key" || lc.kind == "clustering") && t.byName[name] == nil && (t.Tenant == nil || name != t.Tenant.Name) {
				changes = append(changes, SchemaChange{Object: obj, What: "key column " + name + " is not in the model: the primary key cannot change"})
			}
		}
	}
	idx, err := db.liveIndexes(ctx, ks, t.Name)
	if err != nil {
		return nil, err
	}
	for _, c := range t.Columns {
		if c.Index == "" {
			continue
		}
		li, ok := idx[c.IndexName(t.Name)]
		target := li.target
		switch {
		case !ok:
			changes = append(changes, SchemaChange{Object: obj, What: "add SAI index on " + c.Name,
				Statement: createIndex(ks, t, c), Safe: true, keyspace: ks, index: true})
		case target != indexTarget(c, false) && target != indexTarget(c, true):
			changes = append(changes, SchemaChange{Object: obj,
				What: fmt.Sprintf("index %s targets %s in the database but %s in the model: drop it to have it recreated", c.IndexName(t.Name), target, indexTarget(c, false))})
		case c.Similarity != "" && c.Similarity != li.similarity && !(li.similarity == "" && c.Similarity == "cosine"):
			changes = append(changes, SchemaChange{Object: obj,
				What: fmt.Sprintf("index %s uses similarity %s in the database but %s in the model: drop it to have it recreated", c.IndexName(t.Name), li.similarity, c.Similarity)})
		}
	}
	return changes, nil
}

// keyPosition returns c's position in its part of the primary key, as system_schema
// counts it.
func keyPosition(t *Table, c *Column) int {
	keys := t.PartitionKey
	if t.Tenant != nil {
		keys = append([]*Column{t.Tenant}, keys...)
	}
	if c.Kind == ClusteringKey {
		keys = t.Clustering
	}
	for i, k := range keys {
		if k == c {
			return i
		}
	}
	return -1
}

// diffOptions compares the table properties the model sets with the live ones; a
// difference is a safe ALTER TABLE ... WITH.
func (db *DB) diffOptions(ctx context.Context, ks string, t *Table) ([]SchemaChange, error) {
	var ttl, grace int
	var comment string
	var compaction map[string]string
	err := db.session.Query(`SELECT default_time_to_live, gc_grace_seconds, comment, compaction FROM system_schema.tables
		WHERE keyspace_name = ? AND table_name = ?`, ks, t.Name).ScanContext(ctx, &ttl, &grace, &comment, &compaction)
	if errors.Is(err, errNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("orm: reading the options of %s.%s: %w", ks, t.Name, classify(err))
	}
	o := t.Options
	var what []string
	if want := int(o.DefaultTTL.Seconds()); want != ttl && (o.DefaultTTL > 0 || ttl != 0) {
		what = append(what, fmt.Sprintf("default_time_to_live %d -> %d", ttl, want))
	}
	if want := int(o.GCGrace.Seconds()); o.GCGrace > 0 && want != grace {
		what = append(what, fmt.Sprintf("gc_grace_seconds %d -> %d", grace, want))
	}
	if o.Comment != "" && o.Comment != comment {
		what = append(what, "comment")
	}
	if o.Compaction != "" && !strings.HasSuffix(compaction["class"], o.Compaction) {
		what = append(what, fmt.Sprintf("compaction %s -> %s", compaction["class"], o.Compaction))
	}
	if len(what) == 0 {
		return nil, nil
	}
	with := tableOptions(t)
	return []SchemaChange{{Object: "table " + ks + "." + t.Name, What: "change options: " + strings.Join(what, ", "),
		Statement: "ALTER TABLE " + qualified(ks, t.Name) + " WITH " + strings.Join(with, " AND "), Safe: true}}, nil
}

func (db *DB) diffType(ctx context.Context, ks string, u *udtInfo) ([]SchemaChange, error) {
	obj := "type " + ks + "." + u.name
	var names, types []string
	err := db.session.Query(`SELECT field_names, field_types FROM system_schema.types WHERE keyspace_name = ? AND type_name = ?`,
		ks, u.name).ScanContext(ctx, &names, &types)
	if errors.Is(err, errNoRows) {
		return []SchemaChange{{Object: obj, What: "create type", Statement: createType(ks, u), Safe: true}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("orm: reading type %s.%s: %w", ks, u.name, classify(err))
	}
	live := map[string]string{}
	for i, n := range names {
		live[n] = types[i]
	}
	var changes []SchemaChange
	for _, f := range u.fields {
		lt, ok := live[f.name]
		switch {
		case !ok:
			changes = append(changes, SchemaChange{Object: obj, What: "add field " + f.name,
				Statement: "ALTER TYPE " + qualified(ks, u.name) + " ADD " + quote(f.name) + " " + f.typ.String(), Safe: true})
		case normType(lt) != normType(f.typ.String()):
			changes = append(changes, SchemaChange{Object: obj,
				What: fmt.Sprintf("field %s is %s in the database but %s in the model", f.name, lt, f.typ)})
		}
	}
	return changes, nil
}

// normType makes a CQL type text comparable with what system_schema shows.
func normType(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, `"`, ""), " ", "")
}

func createType(ks string, u *udtInfo) string {
	parts := make([]string, len(u.fields))
	for i, f := range u.fields {
		parts[i] = quote(f.name) + " " + f.typ.String()
	}
	return "CREATE TYPE IF NOT EXISTS " + qualified(ks, u.name) + " (" + strings.Join(parts, ", ") + ")"
}

func createTable(ks string, t *Table) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + qualified(ks, t.Name) + " (")
	pk := quoteNames(t.PartitionKey)
	if t.Tenant != nil {
		b.WriteString(quote(t.Tenant.Name) + " " + t.Tenant.Type + ", ")
		pk = quote(t.Tenant.Name) + ", " + pk
	}
	for _, c := range t.Columns {
		b.WriteString(quote(c.Name) + " " + c.Type)
		if c.Kind == Static {
			b.WriteString(" STATIC")
		}
		b.WriteString(", ")
	}
	if c := t.ChangeMark; c != nil {
		b.WriteString(quote(c.Name) + " " + c.Type)
		if c.Kind == Static {
			b.WriteString(" STATIC")
		}
		b.WriteString(", ")
	}
	b.WriteString("PRIMARY KEY ((" + pk + ")")
	if len(t.Clustering) > 0 {
		b.WriteString(", " + quoteNames(t.Clustering))
	}
	b.WriteString("))")
	var with []string
	if len(t.Clustering) > 0 {
		order := make([]string, len(t.Clustering))
		for i, c := range t.Clustering {
			order[i] = quote(c.Name) + " ASC"
			if c.Descending {
				order[i] = quote(c.Name) + " DESC"
			}
		}
		with = append(with, "CLUSTERING ORDER BY ("+strings.Join(order, ", ")+")")
	}
	with = append(with, tableOptions(t)...)
	if len(with) > 0 {
		b.WriteString(" WITH " + strings.Join(with, " AND "))
	}
	return b.String()
}

// tableOptions returns the WITH clauses of the properties the model sets. The default
// TTL is always stated, so that removing it from the model resets it.
func tableOptions(t *Table) []string {
	o := t.Options
	with := []string{"default_time_to_live = " + strconv.FormatInt(int64(o.DefaultTTL.Seconds()), 10)}
	if o.GCGrace > 0 {
		with = append(with, "gc_grace_seconds = "+strconv.FormatInt(int64(o.GCGrace.Seconds()), 10))
	}
	if o.Comment != "" {
		with = append(with, "comment = "+literal(o.Comment))
	}
	if o.Compaction != "" {
		parts := []string{"'class': " + literal(o.Compaction)}
		for _, k := range sortedKeys(o.CompactionOptions) {
			parts = append(parts, literal(k)+": "+literal(o.CompactionOptions[k]))
		}
		with = append(with, "compaction = {"+strings.Join(parts, ", ")+"}")
	}
	return with
}

// indexTarget returns the target of c's index as system_schema shows it; Cassandra
// shows a collection's default target either bare or as values(c), so asDefault
// gives the other spelling.
func indexTarget(c *Column, asDefault bool) string {
	switch c.Index {
	case "keys", "values", "entries", "full":
		if asDefault && c.Index == "values" {
			return c.Name
		}
		return c.Index + "(" + c.Name + ")"
	}
	if asDefault && c.cql.isCollection() {
		return "values(" + c.Name + ")"
	}
	return c.Name
}

func createIndex(ks string, t *Table, c *Column) string {
	target := quote(c.Name)
	switch c.Index {
	case "keys", "values", "entries", "full":
		target = c.Index + "(" + target + ")"
	}
	stmt := "CREATE INDEX IF NOT EXISTS " + quote(c.IndexName(t.Name)) + " ON " + qualified(ks, t.Name) + " (" + target + ") USING 'sai'"
	if c.cql.name == "vector" {
		stmt += " WITH OPTIONS = {'similarity_function': " + literal(c.Similarity) + "}"
	}
	return stmt
}

func quoteNames(cols []*Column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = quote(c.Name)
	}
	return strings.Join(names, ", ")
}

// literal returns s as a CQL string literal. Used only for table options, never for
// row values, which always go through bind markers.
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
