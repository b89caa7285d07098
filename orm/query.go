package orm

import (
	"context"
	"fmt"
	"iter"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// Order is a sort direction for OrderBy.
type Order bool

// Sort directions.
const (
	Asc  Order = false
	Desc Order = true
)

// Query is a SELECT (or range DELETE) being built on a model. It is a small value:
// each method returns a changed copy, so a Query can be shared and extended safely.
// Nothing is checked or sent until a terminal method (All, One, Page, Count, Delete,
// CQL) runs; then the columns are checked against the model and the access path is
// checked, so a query that would need ALLOW FILTERING fails with ErrFiltering unless
// AllowFiltering was called.
type Query[T any] struct {
	m         *Model[T]
	where     []Predicate
	cols      []string
	limit     int
	perPart   int
	order     []orderBy
	ann       *annOrder
	scored    bool // select the ANN similarity too (AllScored)
	filtering bool
	deleted   bool
	opts      []QueryOption
}

type orderBy struct {
	col  string
	desc Order
}

type annOrder struct {
	col string
	vec []float32
}

// Query starts a query on the model's table.
func (m *Model[T]) Query() Query[T] { return Query[T]{m: m} }

// Where adds predicates, joined with AND.
func (q Query[T]) Where(p ...Predicate) Query[T] {
	q.where = append(slices.Clip(q.where), p...)
	return q
}

// Columns reads only the named columns; the other fields of the results stay zero.
func (q Query[T]) Columns(names ...string) Query[T] {
	q.cols = append(slices.Clip(q.cols), names...)
	return q
}

// Limit returns at most n rows.
func (q Query[T]) Limit(n int) Query[T] { q.limit = n; return q }

// PerPartitionLimit returns at most n rows from each partition.
func (q Query[T]) PerPartitionLimit(n int) Query[T] { q.perPart = n; return q }

// OrderBy sorts by a clustering column. The partition key must be restricted, and the
// order must follow the table's clustering order or its exact reverse.
func (q Query[T]) OrderBy(column string, dir Order) Query[T] {
	q.order = append(slices.Clip(q.order), orderBy{column, dir})
	return q
}

// NearestTo orders rows by similarity of the vector column to vec (ANN search on its
// SAI index). It needs a Limit.
func (q Query[T]) NearestTo(column string, vec []float32) Query[T] {
	q.ann = &annOrder{column, vec}
	return q
}

// AllowFiltering accepts a query that reads more rows than it returns: a full table
// scan, or a predicate on a column that is neither a key nor indexed. Without it such a
// query fails with ErrFiltering.
func (q Query[T]) AllowFiltering() Query[T] { q.filtering = true; return q }

// IncludeDeleted makes a query on a soft-delete model return deleted rows too.
func (q Query[T]) IncludeDeleted() Query[T] { q.deleted = true; return q }

// hidesDeleted reports whether the query skips soft-deleted rows on the client. Its
// Limit then applies on the client too: the server cannot tell which rows count.
func (q Query[T]) hidesDeleted() bool { return q.m.t.SoftDelete != nil && !q.deleted }

// skip reports whether row v is soft-deleted and the query hides such rows. The
// softdelete column is always read so the check works with Columns too.
func (q Query[T]) skip(v reflect.Value) bool { return !q.deleted && q.m.deleted(v) }

// With adds statement options (consistency, page size, tracing).
func (q Query[T]) With(opts ...QueryOption) Query[T] {
	q.opts = append(slices.Clip(q.opts), opts...)
	return q
}

// selected returns the columns to read.
func (q Query[T]) selected() ([]*Column, error) {
	if len(q.cols) == 0 {
		return q.m.t.Columns, nil
	}
	cols := make([]*Column, len(q.cols), len(q.cols)+1)
	for i, n := range q.cols {
		c, err := q.m.t.column(n)
		if err != nil {
			return nil, err
		}
		cols[i] = c
	}
	if sd := q.m.t.SoftDelete; sd != nil && !q.deleted && !slices.Contains(cols, sd) {
		cols = append(cols, sd)
	}
	return cols, nil
}

// CQL returns the SELECT statement and its bound values, after the same checks the
// terminal methods make, as they would run with context ctx (on a tenant-scoped model,
// for its tenant). Each value is nil or already in its CQL encoding (a
// gocql.Marshaler), as it is sent; a value that does not fit its column fails here
// with ErrInvalidValue.
func (q Query[T]) CQL(ctx context.Context) (string, []any, error) {
	sc, err := q.m.scope(ctx, "select")
	if err != nil {
		return "", nil, err
	}
	return q.cql(sc)
}

func (q Query[T]) cql(sc scoped) (string, []any, error) {
	cols, err := q.selected()
	if err != nil {
		return "", nil, err
	}
	var b strings.Builder
	b.Grow(64 + len(q.m.cols) + len(sc.st.from) + 24*len(q.where))
	b.WriteString("SELECT ")
	if len(cols) == len(q.m.t.Columns) && len(q.cols) == 0 {
		b.WriteString(q.m.cols)
	} else {
		b.WriteString(quoteNames(cols))
	}
	var ann annBound
	if q.ann != nil {
		var err error
		if ann.col, ann.vec, err = q.annColumn(); err != nil {
			return "", nil, err
		}
	}
	if q.scored {
		if q.ann == nil {
			return "", nil, fmt.Errorf("%w: %s: AllScored needs NearestTo", ErrInvalidQuery, q.m.t.Name)
		}
		b.WriteString(", similarity_" + ann.col.Similarity + "(" + quote(ann.col.Name) + ", ?)")
	}
	b.WriteString(" FROM ")
	b.WriteString(sc.st.from)
	vals, filter, err := q.whereClause(&b, sc)
	if err != nil {
		return "", nil, err
	}
	if q.scored {
		vals = append([]any{ann.vec}, vals...)
	}
	if err := q.orderClause(&b, &vals, ann); err != nil {
		return "", nil, err
	}
	if q.perPart > 0 {
		b.WriteString(" PER PARTITION LIMIT " + strconv.Itoa(q.perPart))
	}
	switch {
	case q.ann != nil && q.limit <= 0:
		return "", nil, fmt.Errorf("%w: %s: NearestTo needs a Limit", ErrInvalidQuery, q.m.t.Name)
	case q.ann != nil && q.limit > MaxANNLimit:
		return "", nil, fmt.Errorf("%w: %s: NearestTo with Limit %d: Cassandra allows at most %d rows per ANN query", ErrInvalidQuery, q.m.t.Name, q.limit, MaxANNLimit)
	case q.ann != nil:
		// The server ranks the rows; soft-deleted ones are skipped on the client, so
		// such a query may return fewer than Limit rows.
		b.WriteString(" LIMIT " + strconv.Itoa(q.limit))
	case q.limit > 0 && !q.hidesDeleted():
		b.WriteString(" LIMIT " + strconv.Itoa(q.limit))
	}
	if filter {
		b.WriteString(" ALLOW FILTERING")
	}
	return b.String(), vals, nil
}

// whereClause checks the predicates and the access path and writes WHERE, led by the
// tenant column's restriction on a tenant-scoped model. It reports whether the
// statement needs ALLOW FILTERING: when AllowFiltering was called, or when only the
// tenant column of the partition key is restricted (Cassandra filters the rows an
// index or a scan finds down to the tenant's; checkAccess has checked that the
// query's own access path is efficient, or allowed to filter).
func (q Query[T]) whereClause(b *strings.Builder, sc scoped) ([]any, bool, error) {
	t := q.m.t
	pkDone, err := q.checkAccess()
	if err != nil {
		return nil, false, err
	}
	vals := make([]any, 0, len(q.where)+1)
	filter := q.filtering && len(q.where) > 0
	if t.Tenant != nil {
		if q.ann != nil && !pkDone {
			return nil, false, fmt.Errorf("%w: %s: NearestTo on a tenant-scoped table needs its whole partition key restricted (%s): the tenant column is part of it, and Cassandra 5.0 refuses an ANN read that restricts only part of a partition key, indexed or not",
				ErrInvalidQuery, t.Name, quoteNames(t.PartitionKey))
		}
		b.WriteString(" WHERE " + quote(t.Tenant.Name) + " = ?")
		vals = sc.lead(vals)
		filter = filter || !pkDone
	}
	for i, p := range q.where {
		if i == 0 && t.Tenant == nil {
			b.WriteString(" WHERE ")
		} else {
			b.WriteString(" AND ")
		}
		c, _ := t.column(p.col) // checked by checkAccess
		if vals, err = t.appendPredicate(b, vals, c, p); err != nil {
			return nil, false, err
		}
	}
	return vals, filter, nil
}

// checkAccess refuses predicates a column cannot take and queries with no efficient
// access path. It reports whether the partition key is restricted to one or more
// whole partitions (Eq or In on every column).
func (q Query[T]) checkAccess() (bool, error) {
	t := q.m.t
	restricted := map[string]Predicate{}
	var needs []string      // why the query would filter
	indexed := q.ann != nil // an ANN search is served by the vector index
	for _, p := range q.where {
		c, err := t.column(p.col)
		if err != nil {
			return false, err
		}
		if _, dup := restricted[c.Name]; dup && !p.isRange() {
			return false, fmt.Errorf("%w: %s: column %s restricted twice", ErrInvalidQuery, t.Name, c.Name)
		}
		restricted[c.Name] = p
		switch p.op {
		case "CONTAINS", "CONTAINS KEY":
			if n := c.cql.name; n != "list" && n != "set" && n != "map" {
				return false, fmt.Errorf("%w: %s: %s on %s, which is %s, not a collection", ErrInvalidQuery, t.Name, p.op, c.Name, c.Type)
			}
			if p.op == "CONTAINS KEY" && c.cql.name != "map" {
				return false, fmt.Errorf("%w: %s: CONTAINS KEY on %s, which is %s, not a map", ErrInvalidQuery, t.Name, c.Name, c.Type)
			}
			want := "values"
			if p.op == "CONTAINS KEY" {
				want = "keys"
			}
			if c.Index == want || (c.Index == "default" && want == "values") {
				indexed = true
			} else {
				needs = append(needs, fmt.Sprintf(`%s on %s needs orm:"index=%s"`, p.op, c.Name, want))
			}
		case "!=":
			return false, fmt.Errorf("%w: %s: != is only allowed in lightweight transaction conditions", ErrInvalidQuery, t.Name)
		default:
			if c.cql.isCollection() {
				return false, fmt.Errorf("%w: %s: %s on collection %s: use Contains or ContainsKey", ErrInvalidQuery, t.Name, p.op, c.Name)
			}
			if indexServes(c, p) {
				indexed = true
			}
		}
	}
	if q.ann != nil {
		for _, c := range t.primaryKey() {
			if p, ok := restricted[c.Name]; ok && p.op == "IN" {
				return false, fmt.Errorf("%w: %s: NearestTo with IN on key column %s: Cassandra refuses IN on the primary key in an index or ANN read; search each partition and merge", ErrInvalidQuery, t.Name, c.Name)
			}
		}
	}
	pkDone, partial := true, false
	var missing []string
	for _, c := range t.PartitionKey {
		p, ok := restricted[c.Name]
		if !ok || (p.op != "=" && p.op != "IN") {
			pkDone = false
			missing = append(missing, c.Name)
		}
		if ok && p.isRange() && c.Index == "" {
			needs = append(needs, "range on partition key column "+c.Name)
		}
		if ok && !indexServes(c, p) {
			partial = true
		}
	}
	switch {
	case pkDone:
	case !indexed && len(q.where) == 0:
		needs = append(needs, "no WHERE clause: a full table scan")
	case !indexed:
		needs = append(needs, "partition key ("+strings.Join(missing, ", ")+") not restricted and no indexed column used")
	case partial:
		// Cassandra filters the rows the index finds by the restricted part.
		needs = append(needs, "partition key partly restricted ("+strings.Join(missing, ", ")+" not) beside an index")
	}
	// Clustering columns: a prefix of equalities, then at most one range; a gap or a
	// restriction after a range means filtering (unless an index serves it).
	// Without the partition key, a clustering restriction is served only by an
	// index of its own.
	gap, ranged := false, false
	for _, c := range t.Clustering {
		p, ok := restricted[c.Name]
		served := indexServes(c, p)
		switch {
		case !ok:
			gap = true
		case !pkDone && !served:
			needs = append(needs, "clustering column "+c.Name+" restricted without the partition key")
		case (gap || ranged) && !served:
			needs = append(needs, "clustering column "+c.Name+" restricted after an unrestricted or range-restricted one")
		case p.isRange():
			ranged = true
		}
	}
	for name, p := range restricted {
		c := t.byName[name]
		if (c.Kind != Regular && c.Kind != Static) || p.op == "CONTAINS" || p.op == "CONTAINS KEY" {
			continue
		}
		switch {
		case c.Index == "":
			needs = append(needs, "column "+name+` is neither a key nor indexed (add orm:"index")`)
		case p.op == "IN":
			needs = append(needs, "IN on indexed column "+name+": its index serves = and ranges only")
		case p.isRange() && !rangeIndexable(c):
			needs = append(needs, "range on "+name+": its index ("+c.Type+") serves equality only")
		}
	}
	if len(needs) > 0 && !q.filtering {
		slices.Sort(needs)
		return false, fmt.Errorf("%w: table %s: %s; restrict the partition key (%s), query an indexed column, or call AllowFiltering()",
			ErrFiltering, t.Name, strings.Join(needs, "; "), names(t.PartitionKey))
	}
	return pkDone, nil
}

// indexServes reports whether c's SAI index answers predicate p: = always, ranges on
// the types rangeIndexable names, IN never (Cassandra 5.0 filters IN on an indexed
// column).
func indexServes(c *Column, p Predicate) bool {
	return c.Index != "" && p.op != "IN" && (!p.isRange() || rangeIndexable(c))
}

// rangeIndexable reports whether an SAI index on c answers range predicates: numeric
// and time types only (Cassandra 5.0 SAI indexes text for equality).
func rangeIndexable(c *Column) bool {
	switch c.cql.name {
	case "tinyint", "smallint", "int", "bigint", "varint", "float", "double", "decimal",
		"date", "time", "timestamp", "timeuuid", "uuid", "inet":
		return true
	}
	return false
}

func names(cols []*Column) string {
	n := make([]string, len(cols))
	for i, c := range cols {
		n[i] = c.Name
	}
	return strings.Join(n, ", ")
}

// MaxANNLimit is the largest Limit of a NearestTo query: Cassandra 5.0 refuses an
// ANN query with a greater LIMIT ("Use of ANN OF in an ORDER BY clause requires a
// LIMIT that is not greater than 1000", SelectStatement's check against
// StorageAttachedIndex's ANN limit).
const MaxANNLimit = 1000

// CheckVector reports why vec cannot be searched for in column of t: the column
// is not an indexed vector column (ErrInvalidQuery), or vec has the wrong
// dimension, a NaN or infinite element, or is a zero vector on a cosine index
// (ErrInvalidValue; the server refuses the zero vector too, with an error that
// does not name the column). NearestTo runs it before a query is sent.
func (t *Table) CheckVector(column string, vec []float32) error {
	c, err := t.column(column)
	if err != nil {
		return err
	}
	if c.cql.name != "vector" || c.Index == "" {
		return fmt.Errorf(`%w: %s: NearestTo needs a vector column with orm:"index"; %s is %s`, ErrInvalidQuery, t.Name, c.Name, c.Type)
	}
	if len(vec) != c.cql.dim {
		return fmt.Errorf("%w: %s: NearestTo on %s: vector has %d elements, want %d", ErrInvalidValue, t.Name, c.Name, len(vec), c.cql.dim)
	}
	zero := true
	for i, x := range vec {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("%w: %s: NearestTo on %s: element %d is %v", ErrInvalidValue, t.Name, c.Name, i, x)
		}
		zero = zero && x == 0
	}
	if zero && c.Similarity == "cosine" {
		return fmt.Errorf("%w: %s: NearestTo on %s: a zero vector has no cosine similarity", ErrInvalidValue, t.Name, c.Name)
	}
	return nil
}

// annColumn checks the NearestTo column and vector (Table.CheckVector) and
// returns the column and the vector's encoding.
func (q Query[T]) annColumn() (*Column, any, error) {
	t := q.m.t
	if err := t.CheckVector(q.ann.col, q.ann.vec); err != nil {
		return nil, nil, err
	}
	c, _ := t.column(q.ann.col)
	v, err := t.encode(c, c.info, q.ann.vec)
	if err != nil {
		return nil, nil, err
	}
	return c, v, nil
}

// annBound is a NearestTo query's checked column and encoded vector.
type annBound struct {
	col *Column
	vec any
}

// orderClause writes the ORDER BY clause; ann is the checked NearestTo column
// and vector of an ANN query.
func (q Query[T]) orderClause(b *strings.Builder, vals *[]any, ann annBound) error {
	t := q.m.t
	if q.ann != nil {
		if len(q.order) > 0 {
			return fmt.Errorf("%w: %s: NearestTo cannot be combined with OrderBy", ErrInvalidQuery, t.Name)
		}
		b.WriteString(" ORDER BY " + quote(ann.col.Name) + " ANN OF ?")
		*vals = append(*vals, ann.vec)
		return nil
	}
	if len(q.order) == 0 {
		return nil
	}
	if len(q.order) > len(t.Clustering) {
		return fmt.Errorf("%w: %s: ORDER BY has more columns than the clustering key (%s)", ErrInvalidQuery, t.Name, names(t.Clustering))
	}
	var reversed bool
	for i, o := range q.order {
		c := t.Clustering[i]
		if o.col != c.Name {
			return fmt.Errorf("%w: %s: ORDER BY %s: must follow the clustering key order (%s)", ErrInvalidQuery, t.Name, o.col, names(t.Clustering))
		}
		rev := bool(o.desc) != c.Descending
		if i == 0 {
			reversed = rev
		} else if rev != reversed {
			return fmt.Errorf("%w: %s: ORDER BY must be the clustering order or its exact reverse", ErrInvalidQuery, t.Name)
		}
	}
	for _, c := range t.PartitionKey {
		p, ok := findPred(q.where, c.Name)
		switch {
		case !ok || (p.op != "=" && p.op != "IN"):
			return fmt.Errorf("%w: %s: ORDER BY needs the partition key (%s) restricted with Eq", ErrInvalidQuery, t.Name, names(t.PartitionKey))
		case p.op == "IN":
			return fmt.Errorf("%w: %s: ORDER BY with IN on partition key column %s: Cassandra cannot page such a query; query each partition and merge", ErrInvalidQuery, t.Name, c.Name)
		}
	}
	for _, p := range q.where {
		if c := t.byName[p.col]; c.Kind != PartitionKey && c.Kind != ClusteringKey {
			return fmt.Errorf("%w: %s: ORDER BY with a predicate on indexed column %s: Cassandra orders index queries only by ANN", ErrInvalidQuery, t.Name, c.Name)
		}
	}
	b.WriteString(" ORDER BY ")
	for i, o := range q.order {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(o.col))
		if o.desc {
			b.WriteString(" DESC")
		} else {
			b.WriteString(" ASC")
		}
	}
	return nil
}

func findPred(ps []Predicate, col string) (Predicate, bool) {
	for _, p := range ps {
		if p.col == col {
			return p, true
		}
	}
	return Predicate{}, false
}

// All runs the query and yields its rows, fetching pages as it goes. Stop early by
// breaking out of the loop. An error is yielded once, as the last element.
func (q Query[T]) All(ctx context.Context) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) { q.run(ctx, yield) }
}

// Scored is a row of a NearestTo query and its similarity to the query vector.
type Scored[T any] struct {
	// Row is the row.
	Row T
	// Score is the similarity Cassandra computes with the index's similarity
	// function (similarity_cosine, similarity_dot_product or similarity_euclidean):
	// greater is more similar.
	Score float32
}

// AllScored runs a NearestTo query and yields its rows, most similar first, each with
// its score. The query is one ANN read of at most MaxANNLimit rows: Cassandra does not
// page ANN results, so neither does AllScored.
func (q Query[T]) AllScored(ctx context.Context) iter.Seq2[Scored[T], error] {
	return func(yield func(Scored[T], error) bool) {
		q.scored = true
		var score float32
		q.run(ctx, func(row T, err error) bool {
			return yield(Scored[T]{Row: row, Score: score}, err)
		}, &score)
	}
}

// run runs the query and hands its rows to yield, then an error if one ends the run.
// extra are scan destinations for the columns after the model's (the score).
func (q Query[T]) run(ctx context.Context, yield func(T, error) bool, extra ...any) {
	var zero T
	if err := q.m.db.live(); err != nil {
		yield(zero, fmt.Errorf("orm: select %s: %w", q.m.t.Name, err))
		return
	}
	stmt, vals, err := q.CQL(ctx)
	if err != nil {
		yield(zero, err)
		return
	}
	cols, _ := q.selected()
	o := collectOpts(q.opts)
	if err := o.check(q.m.t.Name); err != nil {
		yield(zero, err)
		return
	}
	start := time.Now()
	it := q.m.query(stmt, vals, &o, true).IterContext(ctx)
	yielded := 0
	stopped := false
	n, err := q.scan(ctx, it, cols, func(row T) bool {
		yielded++
		if !yield(row, nil) || (q.limit > 0 && yielded >= q.limit) {
			stopped = true
			return false
		}
		return true
	}, extra...)
	cerr := it.Close()
	q.m.db.observe(ctx, QueryEvent{Table: q.m.t.Name, Op: "select", Statement: stmt, Latency: time.Since(start), Rows: n, Err: cerr})
	switch {
	case err != nil:
		yield(zero, err)
	case cerr != nil && !stopped:
		yield(zero, fmt.Errorf("orm: select %s: %w", q.m.t.Name, classify(cerr)))
	}
}

// scan reads the rows of it, skipping soft-deleted rows the query hides and running
// the after-load hook, and hands each to each until each returns false. It returns
// how many rows it read from the server and the first hook error. One row value and
// one destination list serve the whole scan; the row is zeroed before each Scan so no
// slice the driver fills is shared with a row already handed over.
func (q Query[T]) scan(ctx context.Context, it *gocql.Iter, cols []*Column, each func(T) bool, extra ...any) (int, error) {
	var row, zero T
	dest := append(scanDest(make([]any, 0, len(cols)+len(extra)), reflect.ValueOf(&row).Elem(), cols), extra...)
	read := 0
	for {
		row = zero
		if !it.Scan(dest...) {
			return read, nil
		}
		read++
		if q.skip(reflect.ValueOf(&row).Elem()) {
			continue
		}
		if q.m.hooks.afterLoad != nil {
			if err := q.m.hooks.afterLoad(&row, ctx); err != nil {
				return read, fmt.Errorf("orm: %s: after load hook: %w", q.m.t.Name, err)
			}
		}
		if !each(row) {
			return read, nil
		}
	}
}

// One returns the first row, or an error matching ErrNotFound.
func (q Query[T]) One(ctx context.Context) (T, error) {
	for row, err := range q.Limit(1).All(ctx) {
		return row, err
	}
	var zero T
	return zero, fmt.Errorf("%w: %s: no row matches", ErrNotFound, q.m.t.Name)
}

// Page is one page of results and the cursor of the next.
type Page[T any] struct {
	// Items are the rows of this page.
	Items []T
	// Next is the opaque cursor for the following page, safe to put in a URL; empty
	// on the last page.
	Next string
}

// DefaultPageSize is the page size of Page when no WithPageSize option is given.
const DefaultPageSize = 100

// Page returns one page of results starting at cursor ("" for the first page). The
// page size is WithPageSize's, or DefaultPageSize. A page can hold fewer rows than the
// page size and still have a Next cursor; only an empty Next marks the end.
//
// A cursor is bound to its query (the statement and the encoding of its values) and
// authenticated with the DB's cursor key (Config.CursorKey, WithCursorKey; by default
// a random key per process, so cursors do not survive a restart). A cursor of another
// query, or one truncated or altered, is refused with an error matching
// ErrInvalidQuery.
func (q Query[T]) Page(ctx context.Context, cursor string) (Page[T], error) {
	var page Page[T]
	if q.ann != nil {
		return page, fmt.Errorf("%w: %s: Page of a NearestTo query: Cassandra does not page ANN results; use All with a Limit", ErrInvalidQuery, q.m.t.Name)
	}
	stmt, vals, err := q.CQL(ctx)
	if err != nil {
		return page, err
	}
	var state []byte
	if cursor != "" {
		if state, err = q.m.db.decodeCursor(q.m.t.Name, stmt, vals, cursor); err != nil {
			return page, err
		}
	}
	cols, _ := q.selected()
	o := collectOpts(q.opts)
	if err := o.check(q.m.t.Name); err != nil {
		return page, err
	}
	if o.pageSize <= 0 {
		o.pageSize = DefaultPageSize
	}
	start := time.Now()
	if err := q.m.db.live(); err != nil {
		return page, fmt.Errorf("orm: page of %s: %w", q.m.t.Name, err)
	}
	it := q.m.query(stmt, vals, &o, true).PageState(state).IterContext(ctx)
	next := it.PageState()
	page.Items = make([]T, 0, it.NumRows())
	n, err := q.scan(ctx, it, cols, func(row T) bool {
		page.Items = append(page.Items, row)
		return true
	})
	cerr := it.Close()
	q.m.db.observe(ctx, QueryEvent{Table: q.m.t.Name, Op: "select", Statement: stmt, Latency: time.Since(start), Rows: n, Err: cerr})
	if err == nil && cerr != nil {
		err = fmt.Errorf("orm: select page of %s: %w", q.m.t.Name, classify(cerr))
	}
	if err != nil {
		return page, err
	}
	if len(next) > 0 {
		page.Next = q.m.db.encodeCursor(stmt, vals, next)
	}
	return page, nil
}

// Count returns the number of rows the query matches (SELECT COUNT(*)). It reads every
// matching row on the server: keep it to a partition or an indexed predicate. It
// counts soft-deleted rows too: the server cannot tell them apart.
func (q Query[T]) Count(ctx context.Context) (int64, error) {
	if err := q.m.db.live(); err != nil {
		return 0, fmt.Errorf("orm: count %s: %w", q.m.t.Name, err)
	}
	if q.ann != nil {
		return 0, fmt.Errorf("%w: %s: Count of a NearestTo query: an ANN search ranks rows, it does not count them", ErrInvalidQuery, q.m.t.Name)
	}
	sc, err := q.m.scope(ctx, "count")
	if err != nil {
		return 0, err
	}
	var b strings.Builder
	b.WriteString("SELECT COUNT(*) FROM " + sc.st.from)
	vals, filter, err := q.whereClause(&b, sc)
	if err != nil {
		return 0, err
	}
	if filter {
		b.WriteString(" ALLOW FILTERING")
	}
	stmt := b.String()
	o := collectOpts(q.opts)
	if err := o.check(q.m.t.Name); err != nil {
		return 0, err
	}
	var n int64
	start := time.Now()
	err = q.m.query(stmt, vals, &o, true).ScanContext(ctx, &n)
	q.m.db.observe(ctx, QueryEvent{Table: q.m.t.Name, Op: "count", Statement: stmt, Latency: time.Since(start), Rows: 1, Err: err})
	if err != nil {
		return 0, fmt.Errorf("orm: count %s: %w", q.m.t.Name, classify(err))
	}
	return n, nil
}

// Delete removes the rows the query selects. The predicates must restrict the whole
// partition key with Eq and may add equalities on leading clustering columns and a range
// on the next one: one partition, or one slice of it. On a model with a softdelete
// column it is refused with ErrInvalidQuery, as Model.Delete refuses a key prefix:
// Cassandra cannot mark a range of rows, and removing them would ignore the soft
// delete. Use HardDelete to remove them.
//
// On a model that records its changes (RecordChanges) the delete goes in one
// logged batch with its record, an OpDelete whose RowChange.Key is the
// partition key and the clustering columns restricted with Eq, and whose
// RowChange.Range holds a range on the next one; an In on a clustering column
// records one change per value (at most 100 in all).
func (q Query[T]) Delete(ctx context.Context) error {
	sc, err := q.m.scope(ctx, "delete")
	if err != nil {
		return err
	}
	if q.m.t.SoftDelete != nil {
		return fmt.Errorf("%w: %s soft-deletes rows one at a time by full key; use HardDelete to remove a range", ErrInvalidQuery, q.m.t.Name)
	}
	return q.hardDelete(ctx, sc)
}

// HardDelete removes the rows the query selects, as Delete does on a model without
// soft deletes, whether or not this model has them.
func (q Query[T]) HardDelete(ctx context.Context) error {
	sc, err := q.m.scope(ctx, "delete")
	if err != nil {
		return err
	}
	return q.hardDelete(ctx, sc)
}

func (q Query[T]) hardDelete(ctx context.Context, sc scoped) error {
	t := q.m.t
	if len(t.Uniques) > 0 {
		return fmt.Errorf("%w: %s has unique constraints: delete rows one at a time so their claims are released", ErrInvalidQuery, t.Name)
	}
	for _, p := range q.where {
		c, err := t.column(p.col)
		if err != nil {
			return err
		}
		if c.Kind != PartitionKey && c.Kind != ClusteringKey {
			return fmt.Errorf("%w: %s: a range delete takes only key columns, not %s", ErrInvalidQuery, t.Name, c.Name)
		}
	}
	for _, c := range t.PartitionKey {
		if p, ok := findPred(q.where, c.Name); !ok || p.op != "=" {
			return fmt.Errorf("%w: %s: a range delete needs the partition key (%s) restricted with Eq", ErrInvalidQuery, t.Name, names(t.PartitionKey))
		}
	}
	var b strings.Builder
	b.WriteString("DELETE FROM " + sc.st.from)
	vals, _, err := q.whereClause(&b, sc)
	if err != nil {
		return err
	}
	o := collectOpts(q.opts)
	if err := o.check(q.m.t.Name); err != nil {
		return err
	}
	if q.m.changes == nil {
		return q.m.exec(ctx, "delete", b.String(), vals, &o, true)
	}
	// A model that records its changes: the delete and its records in one
	// logged batch, as Model.Delete does, so that the records are committed
	// exactly when the delete is.
	changes, pk, err := q.deleteChanges(sc)
	if err != nil {
		return err
	}
	w := writeStmt{op: "delete", cql: b.String(), vals: vals, keys: pk, idempotent: true, sc: sc}
	batch := q.m.db.NewBatch(LoggedBatch, BatchLimits{MaxStatements: 1, MaxPartitions: 1, MaxBytes: maxSingleWrite})
	batch.opts = queryOpts{cons: o.cons, serial: o.serial} // a Query's delete takes no TTL or timestamp
	if err := batch.add(sc, t, w, pk); err != nil {
		return err
	}
	for _, c := range changes {
		batch.changes = append(batch.changes, pendingChange{log: q.m.changes, change: c})
	}
	return batch.Exec(ctx)
}

// maxDeleteChanges bounds the changes one Query.Delete records: one per
// combination of the values its IN predicates on clustering columns give.
const maxDeleteChanges = 100

// deleteChanges returns the changes that a delete of the query's rows, on a
// model that records its changes, records: an OpDelete per key prefix it
// deletes under (the partition key and the leading clustering columns
// restricted with Eq, or with In, which gives a prefix per value), each with
// the Range of a restriction of the next clustering column to a range. It
// also returns the partition key's values. It refuses what would make a
// record say less than what was deleted: a restriction of a clustering
// column after one left free or restricted to a range.
func (q Query[T]) deleteChanges(sc scoped) ([]*RowChange, []any, error) {
	t := q.m.t
	pk := make([]any, len(t.PartitionKey))
	for i, c := range t.PartitionKey {
		p, _ := findPred(q.where, c.Name) // hardDelete checked there is one, an Eq
		pk[i] = p.vals[0]
	}
	prefixes := [][]any{pk}
	var rng *KeyRange
	done := false // a clustering column was left free or ranged: the prefix ends
	for _, c := range t.Clustering {
		var eq, bounds []Predicate
		for _, p := range q.where {
			if p.col != c.Name {
				continue
			}
			switch p.op {
			case "=", "IN":
				eq = append(eq, p)
			default:
				bounds = append(bounds, p)
			}
		}
		switch {
		case len(eq) == 0 && len(bounds) == 0:
			done = true
			continue
		case done:
			return nil, nil, fmt.Errorf("%w: %s: a range delete restricts clustering column %s after one it leaves free or restricts to a range",
				ErrInvalidQuery, t.Name, c.Name)
		case len(bounds) > 0:
			if len(eq) > 0 {
				return nil, nil, fmt.Errorf("%w: %s: clustering column %s restricted with both an equality and a range", ErrInvalidQuery, t.Name, c.Name)
			}
			var err error
			if rng, err = q.keyRange(c, bounds); err != nil {
				return nil, nil, err
			}
			done = true
			continue
		}
		p := eq[0]
		next := make([][]any, 0, len(prefixes)*len(p.vals))
		for _, pre := range prefixes {
			for _, v := range p.vals {
				next = append(next, append(slices.Clip(pre), v))
			}
		}
		if len(next) > maxDeleteChanges {
			return nil, nil, fmt.Errorf("%w: %s: a range delete whose IN restrictions give %d key prefixes, more than the %d a model that records its changes records in one batch",
				ErrInvalidQuery, t.Name, len(next), maxDeleteChanges)
		}
		prefixes = next
	}
	out := make([]*RowChange, len(prefixes))
	for i, pre := range prefixes {
		if err := q.m.keyValues(pre, len(t.PartitionKey)); err != nil {
			return nil, nil, err
		}
		c, err := q.m.changeOf(sc, OpDelete, pre, false)
		if err != nil {
			return nil, nil, err
		}
		c.Range = rng
		out[i] = c
	}
	return out, pk, nil
}

// keyRange returns the KeyRange of the range restrictions bounds of
// clustering column c: at most one lower and one upper bound.
func (q Query[T]) keyRange(c *Column, bounds []Predicate) (*KeyRange, error) {
	t := q.m.t
	r := &KeyRange{Column: c.Name}
	for _, p := range bounds {
		b, err := t.bind(nil, c, p.vals[0])
		if err != nil {
			return nil, err
		}
		e, ok := b[0].(encoded)
		if !ok || p.vals[0] == nil {
			return nil, fmt.Errorf("%w: %s: a range delete bounds clustering column %s with a null", ErrInvalidValue, t.Name, c.Name)
		}
		if e.b == nil {
			e.b = []byte{} // an empty value, not a missing bound
		}
		lower := p.op == ">" || p.op == ">="
		if (lower && r.Lower != nil) || (!lower && r.Upper != nil) {
			return nil, fmt.Errorf("%w: %s: clustering column %s given two bounds on one side (%s)", ErrInvalidQuery, t.Name, c.Name, p.op)
		}
		if lower {
			r.Lower, r.LowerInclusive = e.b, p.op == ">="
		} else {
			r.Upper, r.UpperInclusive = e.b, p.op == "<="
		}
	}
	return r, nil
}
