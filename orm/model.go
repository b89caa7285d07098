package orm

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

var errNoRows = gocql.ErrNotFound

// Model is the typed handle on one table, made from struct type T. It is safe for
// concurrent use; make one per table at start-up and share it.
type Model[T any] struct {
	db    *DB
	t     *Table
	cols  string // quoted column list in Columns order
	hooks hookSet

	changes ChangeLog // nil unless made with RecordChanges

	nvals int // values in a whole row, a tuple counting one per element

	keyWhere string   // "pk1" = ? AND ... over the whole primary key (tenant column first)
	home     *stmts   // statements in the model's own keyspace
	others   sync.Map // keyspace -> *stmts, for tenants with a keyspace of their own
}

// ModelOption configures a model when it is made.
type ModelOption func(*modelConfig)

type modelConfig struct {
	table, keyspace string
	options         TableOptions
	scope           Scope
	changes         ChangeLog
}

// TableName overrides the table name (default: TableNamer, else the struct name in
// snake_case).
func TableName(name string) ModelOption { return func(c *modelConfig) { c.table = name } }

// InKeyspace puts the table in keyspace ks instead of the DB's keyspace.
func InKeyspace(ks string) ModelOption { return func(c *modelConfig) { c.keyspace = ks } }

// WithTableOptions sets table properties such as the default TTL and compaction.
func WithTableOptions(o TableOptions) ModelOption { return func(c *modelConfig) { c.options = o } }

// NewModel reads T's struct tags and returns its model. It fails with ErrInvalidModel
// when a field has no faithful CQL type or the keys are malformed, naming the field.
// It does not touch the database; call DB.Sync to create the table.
func NewModel[T any](db *DB, opts ...ModelOption) (*Model[T], error) {
	var cfg modelConfig
	for _, o := range opts {
		o(&cfg)
	}
	t, err := parseTable(reflect.TypeFor[T](), cfg.table)
	if err != nil {
		return nil, err
	}
	if cfg.keyspace != "" {
		if err := CheckIdent("keyspace", cfg.keyspace); err != nil {
			return nil, err
		}
		t.Keyspace = cfg.keyspace
	}
	t.Options = cfg.options
	if cfg.scope < TenantScope || cfg.scope > KeyspaceScope {
		return nil, fmt.Errorf("%w: %s: %s is not a scope", ErrInvalidModel, t.Name, cfg.scope)
	}
	if db.tenancy != nil {
		t.scope = cfg.scope
		if t.scope == TenantScope {
			if err := t.addTenantColumn(db.tenancy.cfg.Column); err != nil {
				return nil, err
			}
		}
	}
	m := &Model[T]{db: db, t: t, hooks: hooksOf(reflect.TypeFor[*T]())}
	for _, c := range t.Columns {
		m.nvals++
		if c.cql.name == "tuple" {
			m.nvals += len(c.cql.elems) - 1
		}
	}
	m.cols = quoteNames(t.Columns)
	m.keyWhere = t.keyWhereOf(len(t.primaryKey()))
	m.home = m.buildStmts(db.keyspaceOf(t))
	if cfg.changes != nil {
		if err := m.attachChanges(cfg.changes); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// buildStmts builds the model's fixed statements in keyspace ks.
func (m *Model[T]) buildStmts(ks string) *stmts {
	t := m.t
	st := &stmts{ks: ks, from: qualified(ks, t.Name), uniqueStmts: map[string]uniqueStmts{}}
	for _, u := range t.Uniques {
		st.uniqueStmts[u.Name] = lookupStmts(ks, t, u)
	}
	ms := make([]string, 0, len(t.Columns)+1)
	cols := m.cols
	if t.Tenant != nil {
		ms = append(ms, "?")
		cols = quote(t.Tenant.Name) + ", " + cols
	}
	for _, c := range t.Columns {
		ms = append(ms, marker(c))
	}
	st.insert = "INSERT INTO " + st.from + " (" + cols + ") VALUES (" + strings.Join(ms, ", ") + ")"
	st.get = "SELECT " + m.cols + " FROM " + st.from + " WHERE " + m.keyWhere
	return st
}

// MustModel is NewModel that panics on error, for package-level model variables whose
// tags are fixed at compile time.
func MustModel[T any](db *DB, opts ...ModelOption) *Model[T] {
	m, err := NewModel[T](db, opts...)
	if err != nil {
		panic(err)
	}
	return m
}

// Table describes the model's table.
func (m *Model[T]) Table() *Table { return m.t }

// DB returns the handle the model runs on.
func (m *Model[T]) DB() *DB { return m.db }

func markers(n int) string {
	if n == 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// fieldPtr returns a pointer to column c's field in struct value v (addressable).
func fieldPtr(v reflect.Value, c *Column) any {
	if len(c.index) == 1 {
		return v.Field(c.index[0]).Addr().Interface()
	}
	return v.FieldByIndex(c.index).Addr().Interface()
}

// marker returns the bind marker text of column c. A top-level tuple is bound as a
// tuple literal of one marker per element: the driver (v2.1.2) cannot bind a whole
// tuple to a single marker of a prepared statement.
func marker(c *Column) string {
	if c.cql.name == "tuple" {
		return "(" + markers(len(c.cql.elems)) + ")"
	}
	return "?"
}

// scanDest appends the scan destinations of cols in row v. The driver reads a
// top-level tuple column into one destination per element, so a tuple's fields are
// appended one by one.
func scanDest(dest []any, v reflect.Value, cols []*Column) []any {
	for _, c := range cols {
		if c.cql.name == "tuple" {
			tv := fieldValue(v, c)
			for i := range tv.NumField() {
				dest = append(dest, tv.Field(i).Addr().Interface())
			}
			continue
		}
		if c.goType == typeBytes {
			dest = append(dest, blobDest{fieldValue(v, c).Addr().Interface().(*[]byte)})
			continue
		}
		dest = append(dest, fieldPtr(v, c))
	}
	return dest
}

// blobDest reads a blob column into a []byte field, keeping an empty blob apart
// from a null one: the driver (v2.1.2) reads both as nil.
type blobDest struct{ p *[]byte }

// UnmarshalCQL implements gocql.Unmarshaler.
func (d blobDest) UnmarshalCQL(_ gocql.TypeInfo, data []byte) error {
	if data == nil {
		*d.p = nil
		return nil
	}
	*d.p = append(make([]byte, 0, len(data)), data...)
	return nil
}

func fieldValue(v reflect.Value, c *Column) reflect.Value {
	if len(c.index) == 1 {
		return v.Field(c.index[0])
	}
	return v.FieldByIndex(c.index)
}

// bindMode says how appendBind treats fields that hold nothing.
type bindMode struct {
	// nulls writes nil pointers, slices and maps as nulls instead of leaving
	// them unset.
	nulls bool
	// clearEmpty writes a non-nil empty collection as null, emptying the stored
	// one (Update replaces collections whole); otherwise it is left unset, as an
	// INSERT of an empty collection would only write a tombstone.
	clearEmpty bool
}

// appendBind appends what to bind for column c of row v: the field's value, or
// UnsetValue for a nil pointer, slice or map (and an empty non-frozen collection,
// which Cassandra stores as null) unless the mode says otherwise.
func (t *Table) appendBind(vals []any, v reflect.Value, c *Column, mode bindMode) ([]any, error) {
	fv := fieldValue(v, c)
	if c.nilable {
		isNil := fv.IsNil()
		if isNil || (c.cql.isCollection() && fv.Len() == 0) {
			if c.Kind == PartitionKey || c.Kind == ClusteringKey {
				return nil, fmt.Errorf("%w: table %s: key column %s is nil", ErrInvalidValue, t.Name, c.Name)
			}
			if mode.nulls || (!isNil && mode.clearEmpty) {
				return append(vals, nil), nil
			}
			return append(vals, gocql.UnsetValue), nil
		}
	}
	if (c.goType == typeUUID || c.goType == typeTime) && c.Kind != PartitionKey && c.Kind != ClusteringKey && fv.IsZero() {
		// The zero UUID is no valid timeuuid and the zero time no valid date; in
		// either column kind the zero value means "none".
		if mode.nulls {
			return append(vals, nil), nil
		}
		return append(vals, gocql.UnsetValue), nil
	}
	return t.bind(vals, c, fv.Interface())
}

// keyValues checks keys against the first len(keys) primary key columns.
func (m *Model[T]) keyValues(keys []any, min int) error {
	pk := m.t.primaryKey()
	if len(keys) < min || len(keys) > len(pk) {
		names := make([]string, len(pk))
		for i, c := range pk {
			names[i] = c.Name
		}
		return fmt.Errorf("%w: table %s: got %d key values, want %d to %d (%s)", ErrInvalidQuery, m.t.Name, len(keys), min, len(pk), strings.Join(names, ", "))
	}
	for i, k := range keys {
		if k == nil {
			return fmt.Errorf("%w: table %s: key column %s is nil", ErrInvalidValue, m.t.Name, pk[i].Name)
		}
	}
	return nil
}

// keyString renders the key values for error messages.
func (m *Model[T]) keyString(keys []any) string {
	pk := m.t.primaryKey()
	parts := make([]string, 0, len(keys))
	for i, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", pk[i].Name, k))
	}
	return strings.Join(parts, ", ")
}

// keysOf returns the primary key values of row v.
func (m *Model[T]) keysOf(v reflect.Value) []any {
	pk := m.t.primaryKey()
	keys := make([]any, len(pk))
	for i, c := range pk {
		keys[i] = fieldValue(v, c).Interface()
	}
	return keys
}

// query makes a driver query with the options applied; run it with a Context method.
func (m *Model[T]) query(stmt string, vals []any, o *queryOpts, idempotent bool) *gocql.Query {
	q := m.db.session.Query(stmt, vals...).Idempotent(idempotent)
	o.apply(q)
	return q
}

func (m *Model[T]) exec(ctx context.Context, op, stmt string, vals []any, o *queryOpts, idempotent bool) error {
	if err := m.db.live(); err != nil {
		return fmt.Errorf("orm: %s %s: %w", op, m.t.Name, err)
	}
	start := time.Now()
	err := m.query(stmt, vals, o, idempotent).ExecContext(ctx)
	m.db.observe(ctx, QueryEvent{Table: m.t.Name, Op: op, Statement: stmt, Latency: time.Since(start), Err: err})
	if err != nil {
		return fmt.Errorf("orm: %s %s: %w", op, m.t.Name, outcome(err))
	}
	return nil
}

// prepareWrite runs the before hook and validation for a write of *v.
func (m *Model[T]) prepareWrite(ctx context.Context, v *T, before func(any, context.Context) error) (reflect.Value, error) {
	if v == nil {
		return reflect.Value{}, fmt.Errorf("%w: %s: nil row", ErrInvalidValue, m.t.Name)
	}
	if before != nil {
		if err := before(v, ctx); err != nil {
			return reflect.Value{}, fmt.Errorf("orm: %s: before hook: %w", m.t.Name, err)
		}
	}
	rv := reflect.ValueOf(v).Elem()
	if err := m.t.validate(rv, v); err != nil {
		return reflect.Value{}, err
	}
	return rv, nil
}

// Insert writes row v (INSERT, which in Cassandra creates or overwrites). Nil pointers,
// slices and maps are left unset, writing no tombstone, unless WithNulls is given.
// Hooks BeforeInsert and AfterInsert run around it, validation before it. On a model
// with unique constraints, Insert first claims the row's unique values (see Unique).
func (m *Model[T]) Insert(ctx context.Context, v *T, opts ...QueryOption) error {
	return m.insert(ctx, v, false, opts)
}

// InsertIfNotExists writes row v only if no row has its primary key, as a lightweight
// transaction. If one does, it returns a *ConflictError (errors.Is ErrConflict) whose
// Current is the existing row as a *T.
func (m *Model[T]) InsertIfNotExists(ctx context.Context, v *T, opts ...QueryOption) error {
	return m.insert(ctx, v, true, opts)
}

// writeStmt is one built write statement, ready to run alone or in a batch.
type writeStmt struct {
	op         string
	cql        string
	vals       []any
	keys       []any // as given: the whole primary key, or a prefix of it
	idempotent bool
	lwt        bool
	sc         scoped
	change     *RowChange // nil unless the model records its changes
}

// run executes w, as a lightweight transaction when it is one, with its change
// record when it has one.
func (m *Model[T]) run(ctx context.Context, w writeStmt, o *queryOpts) error {
	if w.change != nil {
		return m.runRecorded(ctx, w, o)
	}
	if w.lwt {
		return m.cas(ctx, w.op, w.cql, w.vals, o, w.keys)
	}
	return m.exec(ctx, w.op, w.cql, w.vals, o, w.idempotent)
}

func (m *Model[T]) insert(ctx context.Context, v *T, ifNotExists bool, opts []QueryOption) error {
	sc, err := m.scope(ctx, "insert")
	if err != nil {
		return err
	}
	o := collectOpts(opts)
	w, rv, err := m.buildInsert(ctx, sc, v, ifNotExists, &o)
	if err != nil {
		return err
	}
	if err := m.writeClaimed(ctx, sc, rv, o.nulls, func(ctx context.Context) error { return m.run(ctx, w, &o) }); err != nil {
		return err
	}
	if m.hooks.afterInsert != nil {
		if err := m.hooks.afterInsert(v, ctx); err != nil {
			return fmt.Errorf("orm: %s: after insert hook: %w", m.t.Name, err)
		}
	}
	return nil
}

// buildInsert runs the before hook and validation and builds the INSERT for v.
func (m *Model[T]) buildInsert(ctx context.Context, sc scoped, v *T, ifNotExists bool, o *queryOpts) (writeStmt, reflect.Value, error) {
	if m.t.Counter {
		return writeStmt{}, reflect.Value{}, fmt.Errorf("%w: %s is a counter table: change it with Patch and Increment", ErrInvalidQuery, m.t.Name)
	}
	rv, err := m.prepareWrite(ctx, v, m.hooks.beforeInsert)
	if err != nil {
		return writeStmt{}, rv, err
	}
	keys := m.keysOf(rv)
	ch, err := m.changeOf(sc, OpInsert, keys, ifNotExists)
	if err != nil {
		return writeStmt{}, rv, err
	}
	vals := sc.lead(make([]any, 0, m.nvals+3))
	for _, c := range m.t.Columns {
		n := len(vals)
		if vals, err = m.t.appendBind(vals, rv, c, bindMode{nulls: o.nulls}); err != nil {
			return writeStmt{}, rv, fmt.Errorf("orm: insert %s: %w", m.t.Name, err)
		}
		if c.Kind != PartitionKey && c.Kind != ClusteringKey {
			ch.note(c, vals[n:])
		}
	}
	w := writeStmt{op: "insert", cql: sc.st.insert, keys: keys, idempotent: !ifNotExists, lwt: ifNotExists, sc: sc, change: ch}
	if ifNotExists {
		w.cql += " IF NOT EXISTS"
	}
	u, uv, err := o.using(m.t.Name)
	if err != nil {
		return writeStmt{}, rv, err
	}
	w.cql += u
	vals = append(vals, uv...)
	w.vals = vals
	return w, rv, nil
}

// Get reads the row with the given primary key values (partition key columns, then
// clustering columns, in key order). It returns an error matching ErrNotFound when
// there is none.
func (m *Model[T]) Get(ctx context.Context, keys ...any) (T, error) {
	var row T
	if err := m.keyValues(keys, len(m.t.PartitionKey)+len(m.t.Clustering)); err != nil {
		return row, err
	}
	sc, err := m.scope(ctx, "get")
	if err != nil {
		return row, err
	}
	return m.get(ctx, sc, keys, false)
}

// get reads a row by its full key; with includeDeleted it returns soft-deleted rows
// too, as unique-constraint bookkeeping must.
func (m *Model[T]) get(ctx context.Context, sc scoped, keys []any, includeDeleted bool) (T, error) {
	var row T
	if err := m.db.live(); err != nil {
		return row, fmt.Errorf("orm: get %s: %w", m.t.Name, err)
	}
	bkeys, err := sc.keys(m.t, keys)
	if err != nil {
		return row, err
	}
	o := queryOpts{}
	rv := reflect.ValueOf(&row).Elem()
	dest := scanDest(make([]any, 0, m.nvals), rv, m.t.Columns)
	start := time.Now()
	err = m.query(sc.st.get, bkeys, &o, true).ScanContext(ctx, dest...)
	rows := 1
	if err != nil {
		rows = 0
	}
	m.db.observe(ctx, QueryEvent{Table: m.t.Name, Op: "get", Statement: sc.st.get, Latency: time.Since(start), Rows: rows, Err: ignoreNotFound(err)})
	if errors.Is(err, errNoRows) {
		return row, fmt.Errorf("%w: %s (%s)", ErrNotFound, m.t.Name, m.keyString(keys))
	}
	if err != nil {
		return row, fmt.Errorf("orm: get %s (%s): %w", m.t.Name, m.keyString(keys), classify(err))
	}
	if !includeDeleted && m.deleted(rv) {
		return row, fmt.Errorf("%w: %s (%s): deleted", ErrNotFound, m.t.Name, m.keyString(keys))
	}
	if m.hooks.afterLoad != nil {
		if err := m.hooks.afterLoad(&row, ctx); err != nil {
			return row, fmt.Errorf("orm: %s: after load hook: %w", m.t.Name, err)
		}
	}
	return row, nil
}

func ignoreNotFound(err error) error {
	if errors.Is(err, errNoRows) {
		return nil
	}
	return err
}

// Delete removes the row with the given key. Given only a prefix of the primary key
// (at least the whole partition key), it removes every row under that prefix. Hooks
// BeforeDelete and AfterDelete run on a *T holding the key values.
//
// On a model with a softdelete column, Delete takes the full key and sets that column
// to the current time instead; reads then skip the row, and Restore brings it back.
// Its unique values stay claimed until HardDelete.
func (m *Model[T]) Delete(ctx context.Context, keys ...any) error {
	return m.delete(ctx, keys, nil, false, nil)
}

// HardDelete removes rows like Delete does on a model without soft deletes, whether
// or not this model has them.
func (m *Model[T]) HardDelete(ctx context.Context, keys ...any) error {
	return m.delete(ctx, keys, nil, false, []string{})
}

// Restore clears the softdelete column of the row with the given key.
func (m *Model[T]) Restore(ctx context.Context, keys ...any) error {
	sc, err := m.scope(ctx, "restore")
	if err != nil {
		return err
	}
	if m.t.SoftDelete == nil {
		return fmt.Errorf("%w: %s has no softdelete column", ErrInvalidQuery, m.t.Name)
	}
	o := queryOpts{}
	w, err := m.buildPatch(sc, keys, nil, false, []Change{Set(m.t.SoftDelete.Name, nil)}, &o)
	if err != nil {
		return err
	}
	return m.run(ctx, w, &o)
}

// deleted reports whether row v is soft-deleted.
func (m *Model[T]) deleted(v reflect.Value) bool {
	if m.t.SoftDelete == nil {
		return false
	}
	return !fieldValue(v, m.t.SoftDelete).IsZero()
}

// convertKey converts a key value to the field's type when that loses nothing: the
// same type, or an integer that fits (an untyped constant like 5 arrives as int).
func convertKey(v reflect.Value, to reflect.Type) (reflect.Value, bool) {
	if v.Type().AssignableTo(to) {
		return v, true
	}
	if !v.Type().ConvertibleTo(to) {
		return v, false
	}
	isInt := func(k reflect.Kind) bool { return k >= reflect.Int && k <= reflect.Int64 }
	if !isInt(v.Kind()) || !isInt(to.Kind()) {
		return v, false
	}
	cv := v.Convert(to)
	return cv, cv.Int() == v.Int()
}

// buildDelete builds a DELETE of the rows under the key prefix keys (of the given
// columns only, when columns is not nil).
func (m *Model[T]) buildDelete(sc scoped, keys []any, conds []Predicate, lwt bool, columns []string) (writeStmt, error) {
	var b strings.Builder
	b.WriteString("DELETE ")
	for i, name := range columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(name))
	}
	if columns != nil {
		b.WriteString(" ")
	}
	b.WriteString("FROM " + sc.st.from + " WHERE " + m.t.keyWhereOf(len(keys)))
	bkeys, err := sc.keys(m.t, keys)
	if err != nil {
		return writeStmt{}, err
	}
	w := writeStmt{op: "delete", vals: bkeys, keys: keys, idempotent: !lwt, lwt: lwt, sc: sc}
	op := OpDelete
	if columns != nil {
		op = OpUpdate
	}
	if w.change, err = m.changeOf(sc, op, keys, lwt); err != nil {
		return w, err
	}
	for _, name := range columns {
		w.change.note(m.t.byName[name], []any{nil})
	}
	if lwt {
		if w.vals, err = m.writeConditions(&b, w.vals, conds); err != nil {
			return w, err
		}
	}
	w.cql = b.String()
	return w, nil
}

// DeleteIf removes the row with the given full primary key only if conds hold (IF
// EXISTS when conds is empty), as a lightweight transaction. When not applied it returns
// a *ConflictError whose Current is the row as it is (nil when there is none).
func (m *Model[T]) DeleteIf(ctx context.Context, keys []any, conds ...Predicate) error {
	if m.changes != nil && len(m.t.Clustering) == 0 {
		return fmt.Errorf("%w: %s records its changes and has no clustering columns: a conditional delete removes the row its mark would be read from; soft-delete it (a softdelete column and PatchIf), or use Delete",
			ErrInvalidQuery, m.t.Name)
	}
	if err := m.keyValues(keys, len(m.t.PartitionKey)+len(m.t.Clustering)); err != nil {
		return err
	}
	return m.delete(ctx, keys, conds, true, nil)
}

// DeleteColumns sets the given columns of the row with the given key to null.
func (m *Model[T]) DeleteColumns(ctx context.Context, keys []any, columns ...string) error {
	if len(columns) == 0 {
		return fmt.Errorf("%w: %s: DeleteColumns needs at least one column", ErrInvalidQuery, m.t.Name)
	}
	if err := m.keyValues(keys, len(m.t.PartitionKey)+len(m.t.Clustering)); err != nil {
		return err
	}
	for _, name := range columns {
		c, err := m.t.column(name)
		if err != nil {
			return err
		}
		if c.Kind == PartitionKey || c.Kind == ClusteringKey {
			return fmt.Errorf("%w: %s: cannot delete key column %s", ErrInvalidQuery, m.t.Name, name)
		}
		if c.unique != "" {
			return fmt.Errorf("%w: %s: column %s is unique: change it with Update so its claim moves", ErrInvalidQuery, m.t.Name, name)
		}
	}
	return m.delete(ctx, keys, nil, false, columns)
}

func (m *Model[T]) delete(ctx context.Context, keys []any, conds []Predicate, lwt bool, columns []string) error {
	if err := m.keyValues(keys, len(m.t.PartitionKey)); err != nil {
		return err
	}
	sc, err := m.scope(ctx, "delete")
	if err != nil {
		return err
	}
	var row T
	rv := reflect.ValueOf(&row).Elem()
	pk := m.t.primaryKey()
	for i, k := range keys {
		kv := reflect.ValueOf(k)
		f := fieldValue(rv, pk[i])
		cv, ok := convertKey(kv, f.Type())
		if !ok {
			return fmt.Errorf("%w: %s: key %s is %v (%s), which does not fit %s", ErrInvalidValue, m.t.Name, pk[i].Name, k, kv.Type(), f.Type())
		}
		f.Set(cv)
	}
	if m.hooks.beforeDelete != nil {
		if err := m.hooks.beforeDelete(&row, ctx); err != nil {
			return fmt.Errorf("orm: %s: before delete hook: %w", m.t.Name, err)
		}
	}
	fullKey := len(keys) == len(pk)
	if m.t.SoftDelete != nil && columns == nil {
		if !fullKey || lwt {
			return fmt.Errorf("%w: %s soft-deletes rows one at a time by full key; use HardDelete to remove a range", ErrInvalidQuery, m.t.Name)
		}
		o := queryOpts{}
		w, err := m.buildPatch(sc, keys, nil, false, []Change{Set(m.t.SoftDelete.Name, time.Now())}, &o)
		if err != nil {
			return err
		}
		if w.change != nil {
			w.change.Op = OpDelete
		}
		if err := m.run(ctx, w, &o); err != nil {
			return err
		}
		if m.hooks.afterDelete != nil {
			if err := m.hooks.afterDelete(&row, ctx); err != nil {
				return fmt.Errorf("orm: %s: after delete hook: %w", m.t.Name, err)
			}
		}
		return nil
	}
	if len(columns) == 0 {
		columns = nil // HardDelete: the whole row
	}
	var old T
	haveOld := false
	if len(m.t.Uniques) > 0 && columns == nil {
		if !fullKey {
			return fmt.Errorf("%w: %s has unique constraints: delete rows one at a time so their claims are released", ErrInvalidQuery, m.t.Name)
		}
		old, err = m.get(ctx, sc, keys, true)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return err
		default:
			haveOld = true
		}
	}
	w, err := m.buildDelete(sc, keys, conds, lwt, columns)
	if err != nil {
		return err
	}
	o := queryOpts{}
	if err := m.run(ctx, w, &o); err != nil {
		return err
	}
	if haveOld {
		m.releaseUniques(ctx, sc, reflect.ValueOf(&old).Elem(), reflect.Value{}, false)
	}
	if m.hooks.afterDelete != nil {
		if err := m.hooks.afterDelete(&row, ctx); err != nil {
			return fmt.Errorf("orm: %s: after delete hook: %w", m.t.Name, err)
		}
	}
	return nil
}
