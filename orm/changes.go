package orm

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// Change capture. A model made with RecordChanges hands every write it makes to a
// ChangeLog (package changefeed implements one), as a RowChange:
//
//   - a plain write goes in one logged batch with its record, which the log adds
//     with Stage: the record is committed if and only if the data is;
//   - a conditional write (a lightweight transaction, whose batch may span one
//     partition only) has its record written first, with WriteAhead, and then
//     runs as a conditional batch that also adds the record's id to the row's
//     mark column (ChangeMarkColumn, a set<timeuuid> whose elements expire after
//     the log's MarkTTL): a reader that finds the record before its writer knew
//     the outcome reads the mark, at SERIAL consistency, to learn whether the
//     write applied.

// ChangeOp is the kind of write a RowChange records.
type ChangeOp string

// The operations a RowChange records. A soft delete (Delete on a model with a
// softdelete column) is an OpDelete whose Values hold the softdelete column; a
// Restore is an OpUpdate.
const (
	OpInsert ChangeOp = "insert"
	OpUpdate ChangeOp = "update"
	OpDelete ChangeOp = "delete"
)

// ChangeMarkColumn is the hidden set<timeuuid> column a model made with
// RecordChanges gets (static when the table has clustering columns, since a
// lightweight transaction is a partition's): a conditional write adds its
// record's id to it, so that a reader can tell whether the write applied. Like the tenant column it is in no
// struct field; reads do not select it.
const ChangeMarkColumn = "orm_change_marks"

// RowChange is one write of a model made with RecordChanges, as its ChangeLog
// receives it. Values are in their CQL encoding; Table.Decode turns them back into
// the Go values of their fields.
type RowChange struct {
	// Table is the model's table.
	Table *Table
	// Op is the kind of write.
	Op ChangeOp
	// Tenant is the tenant of the write's context ("" without one).
	Tenant string
	// Key holds the encodings of the primary key values the write was given, in
	// key order: the whole key, or a prefix of it (at least the partition key)
	// for a delete of every row under that prefix (Model.Delete given a prefix,
	// Query.Delete) or a write of static columns.
	Key [][]byte
	// Range, on a delete of a slice of a partition (Query.Delete with a range
	// on the clustering column after Key's last), bounds that column: the
	// change deleted the rows under Key whose value of it lies in Range, and
	// no others. Nil otherwise: a delete with a short Key and no Range deleted
	// every row under Key.
	Range *KeyRange
	// Values holds, by column name, the encodings of the new values of the
	// non-key columns the write sets to a value it knows; nil stands for a null.
	Values map[string][]byte
	// Changed names, sorted, every non-key column the write changes: those in
	// Values and those whose new value only the row holds (elements added to or
	// removed from a collection, list appends, map puts, tuples). A delete of
	// whole rows changes none.
	Changed []string
	// Conditional is true for a lightweight transaction.
	Conditional bool
}

// KeyRange bounds a clustering column in a RowChange of a delete of a slice of
// a partition. A bound is the CQL encoding of its value, nil when there is no
// bound on that side; the bounds compare in the column's type (and its
// clustering order says only how rows are stored, not what the bounds mean).
type KeyRange struct {
	// Column is the clustering column, the one after the last in the change's
	// Key.
	Column string
	// Lower is the lower bound: the rows deleted have Column > Lower, or >=
	// when LowerInclusive.
	Lower []byte
	// LowerInclusive makes Lower part of the range (>=).
	LowerInclusive bool
	// Upper is the upper bound: the rows deleted have Column < Upper, or <=
	// when UpperInclusive.
	Upper []byte
	// UpperInclusive makes Upper part of the range (<=).
	UpperInclusive bool
}

// PartitionKey returns the part of Key that is the partition key.
func (c *RowChange) PartitionKey() [][]byte {
	n := min(len(c.Table.PartitionKey), len(c.Key))
	return c.Key[:n]
}

// ChangeLog records the writes of the models made with RecordChanges. It must be
// safe for concurrent use.
type ChangeLog interface {
	// Attach is called by NewModel for each model made with RecordChanges, with
	// what reads that model's rows for the log's readers.
	Attach(t *Table, r ChangeReader) error
	// Stage adds the record of change c to batch b, which applies it with the
	// write itself; the record's Done is called with the batch's outcome.
	Stage(ctx context.Context, b *Batch, c *RowChange) (ChangeRecord, error)
	// WriteAhead writes the record of change c before the conditional write that
	// makes it; the record's Done is called with the write's outcome.
	WriteAhead(ctx context.Context, c *RowChange) (ChangeRecord, error)
	// MarkTTL is how long the mark of a conditional write stays on its row: at
	// least as long as a record may wait for a reader to settle it.
	MarkTTL() time.Duration
}

// ChangeRecord is the record of one change, staged in a batch or written ahead.
type ChangeRecord interface {
	// ID is the change's id: a conditional write adds it to the row's mark
	// column.
	ID() UUID
	// Deadline is when the write must have been sent by: later, readers may
	// already have given a record written ahead up.
	Deadline() time.Time
	// Done reports the write's outcome: nil (applied), an error matching
	// ErrUncertain (it may have applied), or another error (it did not apply).
	// It is best effort and runs even when ctx has ended.
	Done(ctx context.Context, err error)
}

// ChangeReader reads the rows of a model that records its changes, for the
// readers of its change log, in the tenant of the context. Keys are encodings, as
// in RowChange.Key.
type ChangeReader interface {
	// Applied reads whether the conditional write whose record has id id
	// applied to the row with primary key key. With serial it reads at SERIAL
	// consistency, which completes a lightweight transaction left half done and
	// makes any older unfinished one fail, so that its answer is final.
	Applied(ctx context.Context, key [][]byte, id UUID, serial bool) (bool, error)
	// Row reads the row with primary key key as it is now: its columns' Go
	// values by name (soft-deleted or not), or nil when there is none. For a
	// prefix of the key (a write of static columns, a delete of a range) it
	// reads the first row under it, which holds the partition's static columns.
	Row(ctx context.Context, key [][]byte) (map[string]any, error)
}

// changeReader is a model's ChangeReader.
type changeReader[T any] struct{ m *Model[T] }

// RecordChanges makes the model hand its writes to log, which records each one
// atomically with the write (see ChangeLog). A model that records its changes
// cannot be a counter table, have a tuple in its primary key, or be global on a
// tenanted DB; on a table without clustering columns a conditional delete
// (DeleteIf) is refused, since it would delete the mark that tells whether it
// applied. Unique lookup rows are not recorded.
func RecordChanges(log ChangeLog) ModelOption {
	return func(c *modelConfig) { c.changes = log }
}

// attachChanges gives the model its change log, checking that it can have one.
func (m *Model[T]) attachChanges(log ChangeLog) error {
	t := m.t
	switch {
	case t.Counter:
		return fmt.Errorf("%w: %s: a counter table cannot record its changes (its writes cannot join a logged batch)", ErrInvalidModel, t.Name)
	case m.db.tenancy != nil && t.scope == GlobalScope:
		return fmt.Errorf("%w: %s: a global model on a tenanted DB cannot record its changes: the change log is per tenant", ErrInvalidModel, t.Name)
	case t.byName[ChangeMarkColumn] != nil:
		return fmt.Errorf("%w: %s: field column %s is the change mark column's name: rename the field", ErrInvalidModel, t.Name, ChangeMarkColumn)
	}
	for _, c := range t.pk {
		if c.cql.name == "tuple" {
			return fmt.Errorf("%w: %s: key column %s is a tuple: a model that records its changes needs keys of one value each (frozen<tuple<...>> is fine)",
				ErrInvalidModel, t.Name, c.Name)
		}
	}
	// A lightweight transaction applies to one partition: the mark is the
	// partition's (static) when it has rows, so that a write of static columns
	// alone, or a conditional delete of a row, marks it too.
	kind := Regular
	if len(t.Clustering) > 0 {
		kind = Static
	}
	mark := &Column{Name: ChangeMarkColumn, Type: "set<timeuuid>", Kind: kind,
		cql: &cqlType{name: "set", elems: []*cqlType{{name: "timeuuid"}}}, goType: reflect.TypeFor[[]UUID]()}
	mark.info = driverType(mark.cql)
	t.ChangeMark = mark
	m.changes = log
	return log.Attach(t, changeReader[T]{m})
}

// boundKey returns the bound values of key (encodings of the primary key or of a
// prefix of it holding at least the partition key), the tenant's first, the WHERE
// clause that selects them, and where the call runs.
func (m *Model[T]) boundKey(ctx context.Context, key [][]byte, what string) (scoped, []any, string, error) {
	if len(key) < len(m.t.PartitionKey) || len(key) > len(m.t.pk) {
		return scoped{}, nil, "", fmt.Errorf("orm: %s %s: %d key values, want %d to %d", what, m.t.Name, len(key), len(m.t.PartitionKey), len(m.t.pk))
	}
	sc, err := m.scope(ctx, what)
	if err != nil {
		return sc, nil, "", err
	}
	vals := sc.lead(make([]any, 0, len(key)+1))
	for i, b := range key {
		c := m.t.pk[i]
		vals = append(vals, encoded{b: b, info: c.info, table: m.t, col: c})
	}
	return sc, vals, m.t.keyWhereOf(len(key)), nil
}

// Applied implements ChangeReader.
func (r changeReader[T]) Applied(ctx context.Context, key [][]byte, id UUID, serial bool) (bool, error) {
	m := r.m
	if m.t.ChangeMark.Kind == Static && len(key) > len(m.t.PartitionKey) {
		key = key[:len(m.t.PartitionKey)]
	}
	sc, vals, where, err := m.boundKey(ctx, key, "probe change of")
	if err != nil {
		return false, err
	}
	stmt := "SELECT " + quote(ChangeMarkColumn) + " FROM " + sc.st.from + " WHERE " + where + " LIMIT 1"
	o := queryOpts{}
	if serial {
		o.cons = Serial
	}
	var marks []UUID
	start := time.Now()
	err = m.query(stmt, vals, &o, true).ScanContext(ctx, &marks)
	m.db.observe(ctx, QueryEvent{Table: m.t.Name, Op: "probe change", Statement: stmt, Latency: time.Since(start), Err: ignoreNotFound(err)})
	if errors.Is(err, errNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("orm: %s: probing change %s: %w", m.t.Name, id, classify(err))
	}
	return slices.Contains(marks, id), nil
}

// Row implements ChangeReader.
func (r changeReader[T]) Row(ctx context.Context, key [][]byte) (map[string]any, error) {
	m := r.m
	sc, vals, where, err := m.boundKey(ctx, key, "read changed row of")
	if err != nil {
		return nil, err
	}
	stmt := sc.st.get
	if len(key) < len(m.t.pk) {
		stmt = "SELECT " + m.cols + " FROM " + sc.st.from + " WHERE " + where + " LIMIT 1"
	}
	var row T
	rv := reflect.ValueOf(&row).Elem()
	start := time.Now()
	err = m.query(stmt, vals, &queryOpts{}, true).ScanContext(ctx, scanDest(make([]any, 0, m.nvals), rv, m.t.Columns)...)
	m.db.observe(ctx, QueryEvent{Table: m.t.Name, Op: "get", Statement: stmt, Latency: time.Since(start), Err: ignoreNotFound(err)})
	if errors.Is(err, errNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("orm: reading changed row of %s: %w", m.t.Name, classify(err))
	}
	out := make(map[string]any, len(m.t.Columns))
	for _, c := range m.t.Columns {
		out[c.Name] = fieldValue(rv, c).Interface()
	}
	return out, nil
}

// Decode returns the Go value of column's field type that b, a CQL encoding as in
// RowChange, holds; nil for nil b (a null). It fails for a column the table does
// not have, naming it, and for bytes that are no value of its type.
func (t *Table) Decode(column string, b []byte) (any, error) {
	c := t.byName[column]
	if c == nil {
		return nil, fmt.Errorf("%w: %s: %s", ErrUnknownColumn, t.Name, column)
	}
	if b == nil {
		return nil, nil
	}
	p := reflect.New(c.goType)
	var err error
	if c.goType == typeBytes {
		err = blobDest{p.Interface().(*[]byte)}.UnmarshalCQL(c.info, b)
	} else {
		err = gocql.Unmarshal(c.info, b, p.Interface())
	}
	if err != nil {
		return nil, fmt.Errorf("%w: table %s: column %s (%s): decoding %d bytes: %v", ErrInvalidValue, t.Name, c.Name, c.Type, len(b), err)
	}
	return p.Elem().Interface(), nil
}

// changeOf starts the RowChange of a write on the model of the rows with key
// values keys (as given), or returns nil when the model records no changes.
func (m *Model[T]) changeOf(sc scoped, op ChangeOp, keys []any, lwt bool) (*RowChange, error) {
	if m.changes == nil {
		return nil, nil
	}
	c := &RowChange{Table: m.t, Op: op, Tenant: sc.id, Conditional: lwt, Values: map[string][]byte{}}
	for i, k := range keys {
		b, err := m.t.bind(nil, m.t.pk[i], k)
		if err != nil {
			return nil, err
		}
		e, _ := b[0].(encoded) // never null: keyValues refused that
		c.Key = append(c.Key, e.b)
	}
	return c, nil
}

// note records that the write sets column col to the values bound for it, bound
// (one value; a tuple's elements, whose whole value the row holds).
func (c *RowChange) note(col *Column, bound []any) {
	if c == nil || len(bound) == 0 {
		return
	}
	if bound[0] == gocql.UnsetValue {
		return // not written
	}
	if len(bound) == 1 {
		switch v := bound[0].(type) {
		case encoded:
			c.Values[col.Name] = v.b
		case nil:
			c.Values[col.Name] = nil
		}
	}
	c.touch(col)
}

// touch records that the write changes column col, to a value only the row holds
// unless note recorded it.
func (c *RowChange) touch(col *Column) {
	if c == nil {
		return
	}
	if !slices.Contains(c.Changed, col.Name) {
		c.Changed = append(c.Changed, col.Name)
		slices.Sort(c.Changed)
	}
}

// markStmt builds the statement that adds record id to the mark column of the
// row w writes, or of its partition when the mark is static.
func (m *Model[T]) markStmt(sc scoped, keys []any, id UUID, ttl time.Duration) (writeStmt, error) {
	if m.t.ChangeMark.Kind == Static {
		keys = keys[:len(m.t.PartitionKey)]
	}
	bkeys, err := sc.keys(m.t, keys)
	if err != nil {
		return writeStmt{}, err
	}
	set, err := m.t.encode(m.t.ChangeMark, m.t.ChangeMark.info, []UUID{id})
	if err != nil {
		return writeStmt{}, err
	}
	cql := "UPDATE " + sc.st.from + " USING TTL ? SET " + quote(ChangeMarkColumn) + " = " + quote(ChangeMarkColumn) + " + ? WHERE " + m.t.keyWhereOf(len(keys))
	vals := append([]any{int(max(ttl/time.Second, 1)), set}, bkeys...)
	return writeStmt{op: "mark", cql: cql, vals: vals, keys: keys, idempotent: true}, nil
}

// runRecorded runs write w of a model that records its changes: in a logged batch
// with its record, or, for a lightweight transaction, as a conditional batch with
// its mark after its record was written ahead.
func (m *Model[T]) runRecorded(ctx context.Context, w writeStmt, o *queryOpts) error {
	kind := LoggedBatch
	if w.lwt {
		kind = UnloggedBatch
	}
	b := m.db.NewBatch(kind, BatchLimits{MaxStatements: 1, MaxPartitions: 1, MaxBytes: maxSingleWrite})
	b.opts = *o // its consistencies; TTL and timestamp are in the statement
	if err := m.addTo(b, w); err != nil {
		return err
	}
	err := b.Exec(ctx)
	var ce *ConflictError
	if !errors.As(err, &ce) {
		return err
	}
	// The conditional batch returns the row as untyped columns: read it back, at
	// SERIAL so that it is the row the condition was checked against or a later
	// one.
	out := &ConflictError{Table: m.t.Name, Op: w.op, Key: m.keyString(w.keys)}
	cur, gerr := m.getSerial(ctx, w.sc, w.keys)
	switch {
	case gerr == nil:
		out.Current = &cur
	case !errors.Is(gerr, ErrNotFound):
		return fmt.Errorf("orm: %s %s (%s): not applied, and the current row could not be read: %w", w.op, m.t.Name, m.keyString(w.keys), gerr)
	}
	return out
}

// maxSingleWrite bounds the values of one recorded write: the server's own limits
// apply to a single statement.
const maxSingleWrite = 1 << 30

// addTo adds write w of the model, and its change if it has one, to b.
func (m *Model[T]) addTo(b *Batch, w writeStmt) error {
	if err := b.add(w.sc, m.t, w, w.keys[:len(m.t.PartitionKey)]); err != nil {
		return err
	}
	if w.change == nil {
		return nil
	}
	b.changes = append(b.changes, pendingChange{log: m.changes, change: w.change, mark: func(id UUID, ttl time.Duration) (writeStmt, error) {
		return m.markStmt(w.sc, w.keys, id, ttl)
	}})
	return nil
}

// getSerial reads the row with key keys at SERIAL consistency: for a prefix of the
// key (a write of static columns), the first row under it.
func (m *Model[T]) getSerial(ctx context.Context, sc scoped, keys []any) (T, error) {
	var row T
	bkeys, err := sc.keys(m.t, keys)
	if err != nil {
		return row, err
	}
	stmt := sc.st.get
	if len(keys) < len(m.t.pk) {
		stmt = "SELECT " + m.cols + " FROM " + sc.st.from + " WHERE " + m.t.keyWhereOf(len(keys)) + " LIMIT 1"
	}
	o := queryOpts{cons: Serial}
	rv := reflect.ValueOf(&row).Elem()
	err = m.query(stmt, bkeys, &o, true).ScanContext(ctx, scanDest(make([]any, 0, m.nvals), rv, m.t.Columns)...)
	if errors.Is(err, errNoRows) {
		return row, fmt.Errorf("%w: %s (%s)", ErrNotFound, m.t.Name, m.keyString(keys))
	}
	if err != nil {
		return row, fmt.Errorf("orm: get %s (%s): %w", m.t.Name, m.keyString(keys), classify(err))
	}
	return row, nil
}

// pendingChange is a change of a write added to a batch, recorded when the batch
// runs: staged with it, or written ahead of it and marked on its row when the
// batch is conditional.
type pendingChange struct {
	log    ChangeLog
	change *RowChange
	mark   func(id UUID, ttl time.Duration) (writeStmt, error)
}

// execRecorded runs batch b, whose writes include changes to record: it records
// them (staged in the batch, or written ahead of a conditional batch and marked on
// their rows), runs the batch, and tells each record the outcome.
func (b *Batch) execRecorded(ctx context.Context) error {
	run := *b // the records go in a copy, so that b can run again
	run.entries = slices.Clone(b.entries)
	run.tables = slices.Clone(b.tables)
	run.partitions = make(map[string]struct{}, len(b.partitions))
	for k := range b.partitions {
		run.partitions[k] = struct{}{}
	}
	run.changes = nil
	recs := make([]ChangeRecord, 0, len(b.changes))
	settle := func(err error) {
		for _, r := range recs {
			r.Done(context.WithoutCancel(ctx), err)
		}
	}
	deadline := time.Time{}
	for _, pc := range b.changes {
		var rec ChangeRecord
		var err error
		if b.lwt {
			if rec, err = pc.log.WriteAhead(ctx, pc.change); err == nil {
				var w writeStmt
				if w, err = pc.mark(rec.ID(), pc.log.MarkTTL()); err == nil {
					run.entries = append(run.entries, gocql.BatchEntry{Stmt: w.cql, Args: w.vals})
				}
				recs = append(recs, rec)
			}
		} else if rec, err = pc.log.Stage(ctx, &run, pc.change); err == nil {
			recs = append(recs, rec)
		}
		if err != nil {
			settle(errNotSent)
			return fmt.Errorf("orm: recording the change of %s: %w", pc.change.Table.Name, err)
		}
		if d := rec.Deadline(); deadline.IsZero() || d.Before(deadline) {
			deadline = d
		}
	}
	wctx := ctx
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		wctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	err := run.exec(wctx)
	settle(err)
	return err
}

// errNotSent is the outcome given to records of a batch that was never sent.
var errNotSent = errors.New("orm: the batch was not sent")
