package filter

import (
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// Matcher is a Filter bound to a table by Bind: its columns checked, its values
// converted to their columns' types. It is immutable and safe for concurrent use.
type Matcher struct {
	table string
	cols  []boundCol // in the order the filter first names them
	names []string   // the columns' names, sorted
	root  *bnode     // nil matches every row
}

// boundCol is a column a Matcher reads.
type boundCol struct {
	name       string
	text       string // CQL type, for messages
	typ        colType
	zeroIsNull bool // the zero time and UUID stand for null (outside the primary key)
	elems      bool // read a collection's elements, for $contains and $containsKey
}

// bnode is a node of a bound filter's tree; a nil bnode matches every row.
type bnode struct {
	kind   kind
	kids   []*bnode
	col    int // index in Matcher.cols
	op     op
	vals   []any // canonical values
	exists bool
}

// Bind checks f against table and returns its Matcher. It refuses a column the
// table does not have (orm.ErrUnknownColumn), an operator that does not apply to
// its column's type (ErrNotApplicable), a value that does not fit its column's
// type (orm.ErrInvalidValue), an And or Or of no filters and an $in of no values
// (ErrSyntax), and a filter past MaxDepth or MaxValues (ErrLimit); each error
// names the table and the column. The tenant column of a tenant-scoped table is
// not one of its columns (see orm.Table.Tenant).
func Bind(f Filter, table *orm.Table) (*Matcher, error) {
	if table == nil {
		return nil, errors.New("filter: Bind: nil table")
	}
	b := binder{t: table, m: &Matcher{table: table.Name}, index: map[string]int{}}
	root, err := b.bind(f.n, 0)
	if err != nil {
		return nil, err
	}
	b.m.root = root
	for _, c := range b.m.cols {
		b.m.names = append(b.m.names, c.name)
	}
	slices.Sort(b.m.names)
	return b.m, nil
}

type binder struct {
	t     *orm.Table
	m     *Matcher
	index map[string]int
}

func (b *binder) bind(n *node, depth int) (*bnode, error) {
	if n == nil {
		return nil, nil
	}
	if depth > MaxDepth {
		return nil, refuse(ErrLimit, "filter: table %s: the filter nests deeper than %d", b.t.Name, MaxDepth)
	}
	if n.kind == kCond {
		return b.cond(n)
	}
	if len(n.kids) == 0 {
		return nil, refuse(ErrSyntax, "filter: table %s: %s of no filters", b.t.Name, map[kind]string{kAnd: "$and", kOr: "$or"}[n.kind])
	}
	out := &bnode{kind: n.kind}
	for _, k := range n.kids {
		bk, err := b.bind(k, depth+1)
		if err != nil {
			return nil, err
		}
		out.kids = append(out.kids, bk)
	}
	return out, nil
}

func (b *binder) cond(n *node) (*bnode, error) {
	c := b.t.Column(n.col)
	if c == nil {
		return nil, refuse(orm.ErrUnknownColumn, "filter: table %s has no column %q", b.t.Name, n.col)
	}
	i, ok := b.index[c.Name]
	if !ok {
		i = len(b.m.cols)
		b.index[c.Name] = i
		b.m.cols = append(b.m.cols, boundCol{name: c.Name, text: c.Type, typ: parseType(c.Type),
			zeroIsNull: c.Kind == orm.Regular || c.Kind == orm.Static})
	}
	col := &b.m.cols[i]
	where := fmt.Sprintf("filter: table %s, column %s (%s): %s", b.t.Name, c.Name, c.Type, n.op)
	s, hint, ok := operand(n.op, col.typ)
	if !ok {
		return nil, refuse(ErrNotApplicable, "%s does not apply%s", where, hint)
	}
	out := &bnode{kind: kCond, col: i, op: n.op, exists: n.exists}
	if n.op == opExists {
		return out, nil
	}
	col.elems = col.elems || n.op == opContains || n.op == opContainsKey
	switch {
	case len(n.vals) == 0:
		return nil, refuse(ErrSyntax, "%s takes at least one value", where)
	case len(n.vals) > MaxValues:
		return nil, refuse(ErrLimit, "%s: %d values, more than %d", where, len(n.vals), MaxValues)
	}
	for _, v := range n.vals {
		cv, err := s.value(v, col.zeroIsNull && col.typ.shape == shScalar)
		if err != nil {
			return nil, refuse(orm.ErrInvalidValue, "%s: %v", where, err)
		}
		out.vals = append(out.vals, cv)
	}
	return out, nil
}

// operand returns the type of operator o's values on a column of type t, or, when
// o does not apply to t, a hint saying what does.
func operand(o op, t colType) (s scalar, hint string, ok bool) {
	coll := t.shape == shList || t.shape == shSet || t.shape == shMap
	switch o {
	case opExists:
		return s, "", true
	case opContains:
		if coll && t.elem != nil {
			return *t.elem, "", true
		}
		if coll {
			return s, " (to collections of elements of a scalar type only)", false
		}
		return s, " (to lists, sets and maps only)", false
	case opContainsKey:
		if t.shape == shMap && t.key != nil {
			return *t.key, "", true
		}
		return s, " (to maps with keys of a scalar type only)", false
	}
	switch {
	case t.shape == shScalar && (t.scalar.ordered() || o == opEq || o == opNe || o == opIn || o == opNin):
		return t.scalar, "", true
	case t.shape == shScalar:
		return s, " (the type has no order here)", false
	case coll:
		return s, " (on a collection use $contains, or $containsKey on a map, or $exists)", false
	}
	return s, " (on a tuple, user-defined type or vector only $exists applies)", false
}

// value converts a filter value, from the builders or from JSON, to its canonical
// value of type s, refusing null and values no row of the type holds.
func (s scalar) value(v any, zeroIsNull bool) (any, error) {
	if j, ok := v.(jsonValue); ok {
		if j.kind == jsNull {
			return nil, errNull
		}
		g, err := s.fromJSON(j)
		if err != nil {
			return nil, err
		}
		v = g
	}
	c, null, err := s.fromGo(v, zeroIsNull)
	switch {
	case err != nil:
		return nil, err
	case null:
		return nil, errNull
	}
	if err := s.check(c); err != nil {
		return nil, err
	}
	return own(c), nil
}

var errNull = errors.New("null is no value to compare with: to match a null or missing column use $exists: false")

// Columns returns the names of the columns the filter reads, sorted; key columns
// included. Match treats a column absent from its values as null, so these are
// the columns whose values Match must be given: when a change's written columns
// do not include them all, the rest must come from the row as it is after the
// change.
func (m *Matcher) Columns() []string {
	if m == nil {
		return nil
	}
	return slices.Clone(m.names)
}

// Match reports whether the row whose column values are values matches the
// filter. values maps column names to Go values of the types the ORM gives the
// columns (see docs/orm.md): int32 for int, int64 (or int) for bigint,
// time.Time for timestamp and date, orm.UUID for uuid and timeuuid, *inf.Dec for
// decimal, []int32 for list<int>, and so on, or pointers to them; any integer type
// is taken for an integer column, and a float32 or float64 for a float column.
// Columns the filter does not read are ignored.
//
// A column absent from values, or holding a null (nil, a nil pointer, slice or
// map, an empty non-frozen collection, and outside the primary key the zero
// time.Time or orm.UUID), has no value: $exists false matches it, $ne, $nin and
// Not of a comparison match it, and every other comparison does not.
//
// Match returns an error matching orm.ErrInvalidValue, and no match, for a value
// of a Go type its column does not take, naming the table and the column.
func (m *Matcher) Match(values map[string]any) (bool, error) {
	if m == nil {
		return false, errors.New("filter: Match on a nil Matcher")
	}
	cells := make([]cell, len(m.cols))
	for i := range m.cols {
		c := &m.cols[i]
		v, ok := values[c.name]
		if !ok {
			continue
		}
		var err error
		if cells[i], err = c.read(v); err != nil {
			return false, refuse(orm.ErrInvalidValue, "filter: table %s, column %s (%s): row value: %v", m.table, c.name, c.text, err)
		}
	}
	return m.root.eval(cells), nil
}

// cell is a row's value of one column, in canonical form.
type cell struct {
	present bool
	v       any   // a scalar column's value
	elems   []any // a list's or set's elements, a map's values
	keys    []any // a map's keys
}

// read turns the Go value of a row's column into its cell.
func (c *boundCol) read(v any) (cell, error) {
	t := c.typ
	if t.shape == shScalar {
		val, null, err := t.scalar.fromGo(v, c.zeroIsNull)
		return cell{present: !null && err == nil, v: val}, err
	}
	rv := deref(v)
	if !rv.IsValid() {
		return cell{}, nil
	}
	switch want := map[shape]reflect.Kind{shList: reflect.Slice, shSet: reflect.Slice, shMap: reflect.Map}[t.shape]; {
	case t.shape == shOpaque:
		switch rv.Kind() {
		case reflect.Struct:
			return cell{present: true}, nil
		case reflect.Slice, reflect.Map:
			return cell{present: rv.Len() > 0}, nil
		}
		return cell{}, fmt.Errorf("a %s value: want a struct or a slice", rv.Type())
	case rv.Kind() != want:
		return cell{}, fmt.Errorf("a %s value: want a %s", rv.Type(), want)
	case rv.IsNil() || rv.Len() == 0 && !t.frozen:
		// Cassandra keeps no empty non-frozen collection: it is null.
		return cell{}, nil
	}
	out := cell{present: true}
	if !c.elems {
		return out, nil
	}
	var err error
	if t.shape == shMap {
		for it := rv.MapRange(); it.Next() && err == nil; {
			out.keys, err = appendElem(out.keys, t.key, it.Key())
			if err == nil {
				out.elems, err = appendElem(out.elems, t.elem, it.Value())
			}
		}
		return out, err
	}
	for i := 0; i < rv.Len() && err == nil; i++ {
		out.elems, err = appendElem(out.elems, t.elem, rv.Index(i))
	}
	return out, err
}

// appendElem appends the canonical value of a collection's element, when its type
// is a scalar one (the filter reads no other).
func appendElem(to []any, s *scalar, rv reflect.Value) ([]any, error) {
	if s == nil {
		return to, nil
	}
	v, null, err := s.fromGo(rv.Interface(), false)
	if err != nil || null {
		return to, err
	}
	return append(to, v), nil
}

func (n *bnode) eval(cells []cell) bool {
	if n == nil {
		return true
	}
	switch n.kind {
	case kAnd:
		for _, k := range n.kids {
			if !k.eval(cells) {
				return false
			}
		}
		return true
	case kOr:
		return slices.ContainsFunc(n.kids, func(k *bnode) bool { return k.eval(cells) })
	case kNot:
		return !n.kids[0].eval(cells)
	}
	c := cells[n.col]
	switch n.op {
	case opExists:
		return c.present == n.exists
	case opNe:
		return !c.present || !equal(c.v, n.vals[0])
	case opNin:
		return !c.present || !anyEqual(n.vals, c.v)
	}
	if !c.present {
		return false
	}
	switch n.op {
	case opEq:
		return equal(c.v, n.vals[0])
	case opIn:
		return anyEqual(n.vals, c.v)
	case opContains:
		return anyEqual(c.elems, n.vals[0])
	case opContainsKey:
		return anyEqual(c.keys, n.vals[0])
	}
	d, ok := compare(c.v, n.vals[0])
	switch n.op {
	case opLt:
		return ok && d < 0
	case opLte:
		return ok && d <= 0
	case opGt:
		return ok && d > 0
	}
	return ok && d >= 0
}

func anyEqual(vs []any, v any) bool {
	return slices.ContainsFunc(vs, func(x any) bool { return equal(x, v) })
}
