package orm

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// Update writes the non-key columns of row v to the row with v's primary key
// (UPDATE ... SET). Nil pointers, slices and maps are left unset unless WithNulls is
// given; a non-nil collection replaces the stored one whole, and a non-nil empty one
// empties it. Hooks BeforeUpdate and
// AfterUpdate run around it, validation before it; unique values that changed are
// claimed before and the old ones released after.
func (m *Model[T]) Update(ctx context.Context, v *T, opts ...QueryOption) error {
	return m.update(ctx, v, nil, false, opts)
}

// UpdateIf is Update as a lightweight transaction, applied only if conds hold (IF
// EXISTS when conds is empty). When not applied it returns a *ConflictError whose
// Current is the row as it is.
func (m *Model[T]) UpdateIf(ctx context.Context, v *T, conds []Predicate, opts ...QueryOption) error {
	return m.update(ctx, v, conds, true, opts)
}

func (m *Model[T]) update(ctx context.Context, v *T, conds []Predicate, lwt bool, opts []QueryOption) error {
	sc, err := m.scope(ctx, "update")
	if err != nil {
		return err
	}
	o := collectOpts(opts)
	w, rv, err := m.buildUpdate(ctx, sc, v, conds, lwt, &o)
	if err != nil {
		return err
	}
	if err := m.writeClaimed(ctx, sc, rv, o.nulls, func(ctx context.Context) error { return m.run(ctx, w, &o) }); err != nil {
		return err
	}
	if m.hooks.afterUpdate != nil {
		if err := m.hooks.afterUpdate(v, ctx); err != nil {
			return fmt.Errorf("orm: %s: after update hook: %w", m.t.Name, err)
		}
	}
	return nil
}

// buildUpdate runs the before hook and validation and builds the UPDATE for v.
func (m *Model[T]) buildUpdate(ctx context.Context, sc scoped, v *T, conds []Predicate, lwt bool, o *queryOpts) (writeStmt, reflect.Value, error) {
	if m.t.Counter {
		return writeStmt{}, reflect.Value{}, fmt.Errorf("%w: %s is a counter table: change it with Patch and Increment", ErrInvalidQuery, m.t.Name)
	}
	rv, err := m.prepareWrite(ctx, v, m.hooks.beforeUpdate)
	if err != nil {
		return writeStmt{}, rv, err
	}
	var b strings.Builder
	b.WriteString("UPDATE " + sc.st.from)
	using, vals, err := o.using(m.t.Name)
	if err != nil {
		return writeStmt{}, rv, err
	}
	b.WriteString(using + " SET ")
	keys := m.keysOf(rv)
	ch, err := m.changeOf(sc, OpUpdate, keys, lwt)
	if err != nil {
		return writeStmt{}, rv, err
	}
	n := 0
	for _, c := range m.t.Columns {
		if c.Kind == PartitionKey || c.Kind == ClusteringKey {
			continue
		}
		k := len(vals)
		if vals, err = m.t.appendBind(vals, rv, c, bindMode{nulls: o.nulls, clearEmpty: true}); err != nil {
			return writeStmt{}, rv, fmt.Errorf("orm: update %s: %w", m.t.Name, err)
		}
		ch.note(c, vals[k:])
		if n > 0 {
			b.WriteString(", ")
		}
		n++
		b.WriteString(quote(c.Name) + " = " + marker(c))
	}
	if n == 0 {
		return writeStmt{}, rv, fmt.Errorf("%w: %s has only key columns: nothing to update; use Insert", ErrInvalidQuery, m.t.Name)
	}
	b.WriteString(" WHERE " + m.keyWhere)
	vals = sc.lead(vals)
	for _, c := range m.t.primaryKey() {
		if vals, err = m.t.appendBind(vals, rv, c, bindMode{}); err != nil {
			return writeStmt{}, rv, fmt.Errorf("orm: update %s: %w", m.t.Name, err)
		}
	}
	if lwt {
		if vals, err = m.writeConditions(&b, vals, conds); err != nil {
			return writeStmt{}, rv, err
		}
	}
	return writeStmt{op: "update", cql: b.String(), vals: vals, keys: keys, idempotent: !lwt, lwt: lwt, sc: sc, change: ch}, rv, nil
}

// Change is one column change for Patch: build it with Set, Add, Remove, Append,
// Prepend, Put or Increment.
type Change struct {
	col  string
	op   string
	vals []any
}

// Set replaces column's value with v (nil writes a null).
func Set(column string, v any) Change { return Change{column, "set", []any{v}} }

// Add adds elements to a set, or entries to a map (v is a slice or map of them).
func Add(column string, v any) Change { return Change{column, "add", []any{v}} }

// Remove removes elements from a set or list, or keys from a map (v is a slice of
// elements, or a slice of keys for a map).
func Remove(column string, v any) Change { return Change{column, "remove", []any{v}} }

// Append appends the elements of slice v to a list. Not idempotent: never retried.
func Append(column string, v any) Change { return Change{column, "append", []any{v}} }

// Prepend puts the elements of slice v in front of a list. Not idempotent.
func Prepend(column string, v any) Change { return Change{column, "prepend", []any{v}} }

// Put sets one entry of a map column.
func Put(column string, key, value any) Change { return Change{column, "put", []any{key, value}} }

// Increment adds n (which may be negative) to a counter column. Not idempotent.
func Increment(column string, n int64) Change { return Change{column, "incr", []any{n}} }

// Patch changes some columns of the row with the given full primary key, in place:
// single values, collection elements, counters. When every change (and condition) is
// on a static column, the partition key alone is enough. It runs no hooks and no
// struct validation, since it has no whole row. Unique columns cannot be patched: use
// Update.
func (m *Model[T]) Patch(ctx context.Context, keys []any, changes []Change, opts ...QueryOption) error {
	return m.patch(ctx, keys, nil, false, changes, opts)
}

// PatchIf is Patch as a lightweight transaction, applied only if conds hold (IF
// EXISTS when conds is empty). Counters cannot take part in a lightweight transaction.
func (m *Model[T]) PatchIf(ctx context.Context, keys []any, conds []Predicate, changes []Change, opts ...QueryOption) error {
	return m.patch(ctx, keys, conds, true, changes, opts)
}

func (m *Model[T]) patch(ctx context.Context, keys []any, conds []Predicate, lwt bool, changes []Change, opts []QueryOption) error {
	sc, err := m.scope(ctx, "patch")
	if err != nil {
		return err
	}
	o := collectOpts(opts)
	w, err := m.buildPatch(sc, keys, conds, lwt, changes, &o)
	if err != nil {
		return err
	}
	return m.run(ctx, w, &o)
}

// buildPatch checks the changes against the columns and builds their UPDATE.
func (m *Model[T]) buildPatch(sc scoped, keys []any, conds []Predicate, lwt bool, changes []Change, o *queryOpts) (writeStmt, error) {
	need := len(m.t.PartitionKey) + len(m.t.Clustering)
	if m.staticOnly(changes, conds) {
		need = len(m.t.PartitionKey)
	}
	if err := m.keyValues(keys, need); err != nil {
		return writeStmt{}, err
	}
	if len(keys) != need {
		return writeStmt{}, fmt.Errorf("%w: %s: a patch of static columns takes the partition key only", ErrInvalidQuery, m.t.Name)
	}
	if len(changes) == 0 {
		return writeStmt{}, fmt.Errorf("%w: %s: Patch with no changes", ErrInvalidQuery, m.t.Name)
	}
	var b strings.Builder
	b.WriteString("UPDATE " + sc.st.from)
	using, vals, err := o.using(m.t.Name)
	if err != nil {
		return writeStmt{}, err
	}
	b.WriteString(using + " SET ")
	rc, err := m.changeOf(sc, OpUpdate, keys, lwt)
	if err != nil {
		return writeStmt{}, err
	}
	idempotent := true
	for i, ch := range changes {
		c, err := m.t.column(ch.col)
		if err != nil {
			return writeStmt{}, err
		}
		if err := m.checkChange(c, ch); err != nil {
			return writeStmt{}, err
		}
		if i > 0 {
			b.WriteString(", ")
		}
		q := quote(c.Name)
		switch ch.op {
		case "set":
			b.WriteString(q + " = " + marker(c))
		case "add", "append", "incr":
			b.WriteString(q + " = " + q + " + ?")
		case "remove":
			b.WriteString(q + " = " + q + " - ?")
		case "prepend":
			b.WriteString(q + " = ? + " + q)
		case "put":
			b.WriteString(q + "[?] = ?")
		}
		if ch.op == "append" || ch.op == "prepend" || ch.op == "incr" {
			idempotent = false
		}
		n := len(vals)
		if vals, err = m.bindChange(vals, c, ch); err != nil {
			return writeStmt{}, err
		}
		if ch.op == "set" {
			rc.note(c, vals[n:])
		} else {
			rc.touch(c)
		}
	}
	b.WriteString(" WHERE " + m.t.keyWhereOf(len(keys)))
	bkeys, err := sc.keys(m.t, keys)
	if err != nil {
		return writeStmt{}, err
	}
	vals = append(vals, bkeys...)
	if lwt {
		if m.t.Counter {
			return writeStmt{}, fmt.Errorf("%w: %s: counters cannot be changed in a lightweight transaction", ErrInvalidQuery, m.t.Name)
		}
		if vals, err = m.writeConditions(&b, vals, conds); err != nil {
			return writeStmt{}, err
		}
	}
	return writeStmt{op: "update", cql: b.String(), vals: vals, keys: keys, idempotent: idempotent && !lwt, lwt: lwt, sc: sc, change: rc}, nil
}

// staticOnly reports whether all changes and conditions are on static columns.
func (m *Model[T]) staticOnly(changes []Change, conds []Predicate) bool {
	for _, ch := range changes {
		if c := m.t.byName[ch.col]; c == nil || c.Kind != Static {
			return false
		}
	}
	for _, p := range conds {
		if c := m.t.byName[p.col]; c == nil || c.Kind != Static {
			return false
		}
	}
	return len(m.t.Clustering) > 0
}

// checkChange checks that change ch fits column c.
func (m *Model[T]) checkChange(c *Column, ch Change) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: %s: %s on column %s (%s): %s", ErrInvalidQuery, m.t.Name, ch.op, c.Name, c.Type, why)
	}
	if c.Kind == PartitionKey || c.Kind == ClusteringKey {
		return bad("key columns cannot change")
	}
	if c.unique != "" {
		return bad("column is unique: change it with Update so its claim moves")
	}
	kind := c.cql.name
	if c.cql.frozen && ch.op != "set" {
		return bad("a frozen value can only be Set whole")
	}
	switch ch.op {
	case "set":
		if kind == "counter" {
			return bad("counters change only by Increment")
		}
	case "add":
		if kind != "set" && kind != "map" {
			return bad("Add applies to sets and maps")
		}
	case "remove":
		if kind != "set" && kind != "map" && kind != "list" {
			return bad("Remove applies to collections")
		}
	case "append", "prepend":
		if kind != "list" {
			return bad("Append and Prepend apply to lists")
		}
	case "put":
		if kind != "map" {
			return bad("Put applies to maps")
		}
	case "incr":
		if kind != "counter" {
			return bad("Increment applies to counters")
		}
	}
	if m.t.Counter && ch.op != "incr" {
		return bad("a counter table changes only by Increment")
	}
	return nil
}

// bindChange appends the bound values of change ch, checked by checkChange: a whole
// value for Set, the collection of elements (or entries) for Add, Remove, Append and
// Prepend, a key and a value for Put. A map's keys are removed as a set of keys.
func (m *Model[T]) bindChange(vals []any, c *Column, ch Change) ([]any, error) {
	info := c.info
	switch coll, _ := c.info.(gocql.CollectionType); {
	case ch.op == "set":
		return m.t.bind(vals, c, ch.vals[0])
	case ch.op == "put":
		k, err := m.t.encode(c, coll.Key, ch.vals[0])
		if err != nil {
			return vals, err
		}
		v, err := m.t.encode(c, coll.Elem, ch.vals[1])
		if err != nil {
			return vals, err
		}
		return append(vals, k, v), nil
	case ch.op == "remove" && c.cql.name == "map":
		info = setOf(coll.Key)
	}
	v, err := m.t.encode(c, info, ch.vals[0])
	if err != nil {
		return vals, err
	}
	return append(vals, v), nil
}
