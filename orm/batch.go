package orm

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// BatchKind is the kind of a batch.
type BatchKind int

// Batch kinds.
const (
	// LoggedBatch is atomic: once written to the batch log, every statement is
	// eventually applied, across partitions and tables. Use it for writes that must
	// be seen together, such as a row and its change-feed entry.
	LoggedBatch BatchKind = iota
	// UnloggedBatch skips the batch log: it is atomic only within one partition, where
	// it is one write. Across partitions it only saves round trips, at the
	// coordinator's expense.
	UnloggedBatch
	// CounterBatch holds counter increments only.
	CounterBatch
)

// String returns "logged", "unlogged" or "counter", or BatchKind(n) for a value that
// is none of the kinds.
func (k BatchKind) String() string {
	switch k {
	case LoggedBatch:
		return "logged"
	case UnloggedBatch:
		return "unlogged"
	case CounterBatch:
		return "counter"
	}
	return "BatchKind(" + strconv.Itoa(int(k)) + ")"
}

// BatchLimits are a batch's guardrails. Execution fails with ErrBatchTooLarge before
// anything is sent when a batch exceeds one. Zero fields take the defaults.
type BatchLimits struct {
	// MaxStatements bounds the number of statements (default 100).
	MaxStatements int
	// MaxPartitions bounds the partitions spanned, counted over (table, partition key)
	// pairs (default 1 for unlogged batches, whose point is a single partition, and 16
	// for the others).
	MaxPartitions int
	// MaxBytes bounds the approximate size of the bound values (default 50 KiB, the
	// server's default batch_size_fail_threshold).
	MaxBytes int
}

// Batch groups writes on one or more models into one request. Add to it with
// Model.Batch(b); it is not safe for concurrent use.
type Batch struct {
	db         *DB
	kind       BatchKind
	limits     BatchLimits
	entries    []gocql.BatchEntry
	partitions map[string]struct{}
	bytes      int
	lwt        bool
	tables     []string
	opts       queryOpts
	err        error // a kind or limit NewBatch could not take

	changes []pendingChange // changes of models that record them, recorded at Exec
}

// NewBatch starts an empty batch of the given kind. Options set its consistency,
// serial consistency and timestamp; TTLs go on each statement. A kind that is none of
// the BatchKind constants, or a negative limit, makes every addition and Exec fail
// with ErrInvalidQuery.
func (db *DB) NewBatch(kind BatchKind, limits BatchLimits, opts ...QueryOption) *Batch {
	var err error
	switch {
	case kind != LoggedBatch && kind != UnloggedBatch && kind != CounterBatch:
		err = fmt.Errorf("%w: batch kind %s: want LoggedBatch, UnloggedBatch or CounterBatch", ErrInvalidQuery, kind)
	case limits.MaxStatements < 0 || limits.MaxPartitions < 0 || limits.MaxBytes < 0:
		err = fmt.Errorf("%w: batch limits %+v: negative limit", ErrInvalidQuery, limits)
	}
	if limits.MaxStatements == 0 {
		limits.MaxStatements = 100
	}
	if limits.MaxPartitions == 0 {
		limits.MaxPartitions = 16
		if kind == UnloggedBatch {
			limits.MaxPartitions = 1
		}
	}
	if limits.MaxBytes == 0 {
		limits.MaxBytes = 50 << 10
	}
	o := collectOpts(opts)
	if err == nil {
		err = o.err
	}
	return &Batch{db: db, kind: kind, limits: limits, partitions: map[string]struct{}{}, opts: o, err: err}
}

// Len returns the number of statements in the batch.
func (b *Batch) Len() int { return len(b.entries) }

// Partitions returns the number of partitions the batch spans.
func (b *Batch) Partitions() int { return len(b.partitions) }

// add adds statement w on table t in keyspace ks, whose row is in the partition with
// the given key values (as given; they are bound, with the tenant's, to tell
// partitions apart).
func (b *Batch) add(sc scoped, t *Table, w writeStmt, partitionKey []any) error {
	pk, err := sc.keys(t, partitionKey)
	if err != nil {
		return err
	}
	if w.lwt {
		b.lwt = true
	}
	b.entries = append(b.entries, gocql.BatchEntry{Stmt: w.cql, Args: w.vals, Idempotent: w.idempotent && !w.lwt})
	b.partitions[partitionID(sc.st.from, pk)] = struct{}{}
	for _, v := range w.vals {
		b.bytes += approxSize(v)
	}
	b.tables = append(b.tables, t.Name)
	return nil
}

// partitionID names the partition of table with bound key values pk. Each part is
// length-prefixed, so ("ab", "c") and ("a", "bc") are two partitions.
func partitionID(table string, pk []any) string {
	id := binary.BigEndian.AppendUint32([]byte(table), uint32(len(pk)))
	for _, v := range pk {
		e, ok := v.(encoded)
		if !ok { // a null key part: the server refuses the statement
			id = binary.BigEndian.AppendUint32(id, math.MaxUint32)
			continue
		}
		id = binary.BigEndian.AppendUint32(id, uint32(len(e.b)))
		id = append(id, e.b...)
	}
	return string(id)
}

// approxSize estimates the serialized size of a bound value.
func approxSize(v any) int {
	if e, ok := v.(encoded); ok {
		return 4 + len(e.b)
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return 4
		}
		rv = rv.Elem()
	}
	switch rv.Kind() {
	case reflect.String:
		return 4 + rv.Len()
	case reflect.Slice, reflect.Array:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return 4 + rv.Len()
		}
		n := 4
		for i := range rv.Len() {
			n += approxSize(rv.Index(i).Interface())
		}
		return n
	case reflect.Map:
		n := 4
		it := rv.MapRange()
		for it.Next() {
			n += approxSize(it.Key().Interface()) + approxSize(it.Value().Interface())
		}
		return n
	case reflect.Struct:
		n := 4
		for i := range rv.NumField() {
			if rv.Type().Field(i).IsExported() {
				n += approxSize(rv.Field(i).Interface())
			}
		}
		return n
	case reflect.Invalid:
		return 4
	}
	return 4 + int(rv.Type().Size())
}

// Exec sends the batch. A batch holding a conditional statement (InsertIfNotExists,
// PatchIf) is applied all or nothing, and when not applied Exec returns a
// *ConflictError whose Current is a map[string]any of the first row the server
// returned (column name to value); such a batch must stay within one partition. Batches are not retried
// automatically when they hold a lightweight transaction, a counter or a list append.
//
// Writes of a model that records its changes (RecordChanges) go in a LoggedBatch,
// which then also writes their records, or in a conditional batch, whose records
// are written ahead of it; the records do not count against the batch's limits.
func (b *Batch) Exec(ctx context.Context) error {
	if err := b.db.live(); err != nil {
		return err
	}
	tables := strings.Join(uniq(b.tables), ", ")
	if b.err != nil {
		return fmt.Errorf("orm: batch on %s: %w", tables, b.err)
	}
	if len(b.entries) == 0 {
		return nil
	}
	switch {
	case len(b.entries) > b.limits.MaxStatements:
		return fmt.Errorf("%w: %s: %d statements, limit %d", ErrBatchTooLarge, tables, len(b.entries), b.limits.MaxStatements)
	case len(b.partitions) > b.limits.MaxPartitions:
		return fmt.Errorf("%w: %s: %s batch spans %d partitions, limit %d", ErrBatchTooLarge, tables, b.kind, len(b.partitions), b.limits.MaxPartitions)
	case b.bytes > b.limits.MaxBytes:
		return fmt.Errorf("%w: %s: about %d bytes of values, limit %d", ErrBatchTooLarge, tables, b.bytes, b.limits.MaxBytes)
	case b.lwt && len(b.partitions) > 1:
		return fmt.Errorf("%w: %s: a conditional batch must stay in one partition; this one spans %d", ErrInvalidQuery, tables, len(b.partitions))
	case len(b.changes) > 0 && !b.lwt && b.kind != LoggedBatch:
		return fmt.Errorf("%w: %s: writes of a model that records its changes go in a LoggedBatch (or a conditional one), with their records; this one is %s",
			ErrInvalidQuery, tables, b.kind)
	}
	if len(b.changes) > 0 {
		return b.execRecorded(ctx)
	}
	return b.exec(ctx)
}

// exec sends the batch, whose limits were checked.
func (b *Batch) exec(ctx context.Context) error {
	tables := strings.Join(uniq(b.tables), ", ")
	gb := b.db.session.Batch(gocql.BatchType(b.kind))
	gb.Entries = b.entries
	if b.opts.cons != 0 {
		gb.Consistency(b.opts.cons.driver())
	}
	if b.opts.serial != 0 {
		gb.SerialConsistency(b.opts.serial.driver())
	}
	if b.opts.hasTS {
		gb.WithTimestamp(b.opts.ts)
	}
	stmt := fmt.Sprintf("BEGIN %s BATCH (%d statements on %s) APPLY BATCH", strings.ToUpper(b.kind.String()), len(b.entries), tables)
	start := time.Now()
	var err error
	applied := true
	current := map[string]any{}
	if b.lwt {
		var it *gocql.Iter
		applied, it, err = gb.MapExecCASContext(ctx, current)
		if it != nil {
			if cerr := it.Close(); err == nil {
				err = cerr
			}
		}
	} else {
		err = gb.ExecContext(ctx)
	}
	b.db.observe(ctx, QueryEvent{Table: tables, Op: "batch", Statement: stmt, Statements: b.statements(), Latency: time.Since(start), Rows: len(b.entries), Err: err})
	if err != nil {
		return fmt.Errorf("orm: %s batch of %d statements on %s: %w", b.kind, len(b.entries), tables, outcome(err))
	}
	if !applied {
		return &ConflictError{Table: tables, Op: "batch", Current: current}
	}
	return nil
}

// statements returns the CQL text of the batch's entries, for the observer:
// nil when the DB has no observer.
func (b *Batch) statements() []string {
	if b.db.observer == nil {
		return nil
	}
	out := make([]string, len(b.entries))
	for i, e := range b.entries {
		out[i] = e.Stmt
	}
	return out
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// BatchWriter adds a model's writes to a batch. Get one with Model.Batch. Each method
// runs the model's before hooks and validation and checks the statement at once,
// returning any error then; after hooks do not run for batched writes. On a
// tenant-scoped model each write is for the tenant of the context it is given.
type BatchWriter[T any] struct {
	m *Model[T]
	b *Batch
}

// Batch returns a writer that adds this model's statements to b.
func (m *Model[T]) Batch(b *Batch) BatchWriter[T] { return BatchWriter[T]{m, b} }

func (w BatchWriter[T]) check(counter bool) error {
	if w.b.err != nil {
		return fmt.Errorf("orm: batch write to %s: %w", w.m.t.Name, w.b.err)
	}
	if len(w.m.t.Uniques) > 0 {
		return fmt.Errorf("%w: %s has unique constraints, which need their own lightweight transactions: write it outside a batch", ErrInvalidQuery, w.m.t.Name)
	}
	if (w.b.kind == CounterBatch) != counter {
		return fmt.Errorf("%w: %s: counter changes go in a CounterBatch, and nothing else does", ErrInvalidQuery, w.m.t.Name)
	}
	return nil
}

// Insert adds an INSERT of v.
func (w BatchWriter[T]) Insert(ctx context.Context, v *T, opts ...QueryOption) error {
	return w.insert(ctx, v, false, opts)
}

// InsertIfNotExists adds a conditional INSERT of v; the batch is then applied only if
// none of its conditional rows exist.
func (w BatchWriter[T]) InsertIfNotExists(ctx context.Context, v *T, opts ...QueryOption) error {
	return w.insert(ctx, v, true, opts)
}

func (w BatchWriter[T]) insert(ctx context.Context, v *T, lwt bool, opts []QueryOption) error {
	sc, err := w.start(ctx, false)
	if err != nil {
		return err
	}
	o := collectOpts(opts)
	ws, _, err := w.m.buildInsert(ctx, sc, v, lwt, &o)
	if err != nil {
		return err
	}
	return w.m.addTo(w.b, ws)
}

// start resolves the write's scope and checks that it may go in the batch.
func (w BatchWriter[T]) start(ctx context.Context, counter bool) (scoped, error) {
	sc, err := w.m.scope(ctx, "batch write to")
	if err != nil {
		return scoped{}, err
	}
	return sc, w.check(counter)
}

// Update adds an UPDATE of v's non-key columns.
func (w BatchWriter[T]) Update(ctx context.Context, v *T, opts ...QueryOption) error {
	sc, err := w.start(ctx, false)
	if err != nil {
		return err
	}
	o := collectOpts(opts)
	ws, _, err := w.m.buildUpdate(ctx, sc, v, nil, false, &o)
	if err != nil {
		return err
	}
	return w.m.addTo(w.b, ws)
}

// Patch adds column changes to the row with the given key; counter increments go in
// a CounterBatch.
func (w BatchWriter[T]) Patch(ctx context.Context, keys []any, changes []Change, opts ...QueryOption) error {
	sc, err := w.start(ctx, w.m.t.Counter)
	if err != nil {
		return err
	}
	o := collectOpts(opts)
	ws, err := w.m.buildPatch(sc, keys, nil, false, changes, &o)
	if err != nil {
		return err
	}
	return w.m.addTo(w.b, ws)
}

// PatchIf adds conditional column changes: the batch is then applied only if conds
// hold (IF EXISTS when conds is empty). With changes and conditions on static columns
// only, keys is the partition key: the way to guard a whole partition with one value,
// such as a stream's head version.
func (w BatchWriter[T]) PatchIf(ctx context.Context, keys []any, conds []Predicate, changes []Change, opts ...QueryOption) error {
	sc, err := w.start(ctx, false)
	if err != nil {
		return err
	}
	o := collectOpts(opts)
	ws, err := w.m.buildPatch(sc, keys, conds, true, changes, &o)
	if err != nil {
		return err
	}
	return w.m.addTo(w.b, ws)
}

// Delete adds a DELETE of the rows under the key prefix (at least the partition key).
func (w BatchWriter[T]) Delete(ctx context.Context, keys ...any) error {
	sc, err := w.start(ctx, false)
	if err != nil {
		return err
	}
	if err := w.m.keyValues(keys, len(w.m.t.PartitionKey)); err != nil {
		return err
	}
	ws, err := w.m.buildDelete(sc, keys, nil, false, nil)
	if err != nil {
		return err
	}
	return w.m.addTo(w.b, ws)
}
