package vector

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// DefaultLimit is the number of rows a search returns when SearchOptions.Limit is 0
// and no Threshold is set.
const DefaultLimit = 10

// DefaultCandidates is the least number of rows a search asks the index for when
// SearchOptions.Candidates is 0. An SAI vector index searches each segment's graph
// with a beam about as wide as the rows asked for, scoring by compressed vectors
// (product quantization, on every segment of 1,024 vectors or more) and re-scoring
// only what the beam found: the larger a segment, the wider the beam must be. A
// major compaction of 100,000 vectors of 384 dimensions into one segment took
// recall@10 at 40 candidates to 0.65–0.70, at 300 to 0.997 (docs/vectors.md).
const DefaultCandidates = 300

// SearchOptions shape a similarity search.
type SearchOptions struct {
	// Limit is the number of rows to return, at most orm.MaxANNLimit. Zero means
	// DefaultLimit, or orm.MaxANNLimit when Threshold is set (every row that passes
	// it, as far as one ANN read reaches).
	Limit int
	// Candidates is how many rows the ANN read asks for, at least Limit and at most
	// orm.MaxANNLimit; the best Limit of them are returned. Asking for more than
	// Limit widens the index's graph search and so raises recall, at the price of
	// more rows read and a wider graph search on the server. Zero means the larger
	// of 4×Limit and DefaultCandidates, capped at orm.MaxANNLimit.
	Candidates int
	// Threshold, when not zero, drops the rows whose score is below it. Cassandra
	// has no threshold in CQL, so the cut is made on the client.
	Threshold float32
	// Where restricts the rows searched: predicates on the partition key or on
	// SAI-indexed columns, served by the server inside the ANN read (an ANN query
	// refuses any other restriction). On a tenant-scoped model the tenant comes from
	// the context, as for every orm query.
	Where []orm.Predicate
	// Options are statement options (consistency, tracing, page size) for the read.
	// Cassandra runs an ANN read at consistency ONE whatever is asked.
	Options []orm.QueryOption
	// FullScan lets Exact read a whole table, or filter on unindexed columns
	// (orm's AllowFiltering). Search refuses it: an ANN read cannot filter on a
	// column that is not indexed.
	FullScan bool
}

func (o SearchOptions) withDefaults() SearchOptions {
	if o.Limit == 0 {
		o.Limit = DefaultLimit
		if o.Threshold != 0 {
			o.Limit = orm.MaxANNLimit
		}
	}
	if o.Candidates == 0 {
		o.Candidates = min(max(4*o.Limit, DefaultCandidates), orm.MaxANNLimit)
	}
	return o
}

// Validate checks the options.
func (o SearchOptions) Validate() error {
	switch {
	case o.Limit < 0:
		return fmt.Errorf("vector: search: Limit %d is negative", o.Limit)
	case o.Limit > orm.MaxANNLimit:
		return fmt.Errorf("vector: search: Limit %d: Cassandra allows at most %d rows per ANN query", o.Limit, orm.MaxANNLimit)
	case o.Candidates < o.Limit || o.Candidates > orm.MaxANNLimit:
		return fmt.Errorf("vector: search: Candidates %d: want from Limit (%d) to %d", o.Candidates, o.Limit, orm.MaxANNLimit)
	case o.FullScan:
		return fmt.Errorf("vector: search: FullScan applies to Exact only; an ANN read restricts only the partition key and indexed columns")
	case math.IsNaN(float64(o.Threshold)) || math.IsInf(float64(o.Threshold), 0):
		return fmt.Errorf("vector: search: Threshold is %v", o.Threshold)
	}
	return nil
}

// Result is the outcome of a search.
type Result[T any] struct {
	// Rows are the rows found, most similar first, each with its score.
	Rows []orm.Scored[T]
	// MayHaveMore reports that more rows may pass the Threshold than were
	// returned: Limit rows were returned, or the ANN read came back full
	// (Candidates rows, at most 1000) and its last row passed the Threshold.
	MayHaveMore bool
}

// Search returns the rows of m whose vector column is most similar to vec, by the
// similarity function of the column's SAI index, with their scores, best first. It is
// one ANN read (Cassandra does not page ANN results) of at most orm.MaxANNLimit rows.
//
// Scores are Cassandra's: cosine (1+cos)/2, dot_product (1+a·b)/2, euclidean
// 1/(1+d²), all in [0, 1] for unit vectors, greater is more similar. The search is
// approximate; Exact computes the same scores over every row. An error names the
// table and column; a NaN or infinite element, a wrong dimension or a zero vector on
// a cosine index is refused before anything is sent.
func Search[T any](ctx context.Context, m *orm.Model[T], column string, vec []float32, opts SearchOptions) (Result[T], error) {
	var res Result[T]
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return res, fmt.Errorf("%w (table %s, column %s)", err, m.Table().Name, column)
	}
	q := m.Query().Where(opts.Where...).NearestTo(column, vec).Limit(opts.Candidates).With(opts.Options...)
	fetched := 0
	var last float32
	for s, err := range q.AllScored(ctx) {
		if err != nil {
			return Result[T]{}, fmt.Errorf("vector: search %s.%s: %w", m.Table().Name, column, err)
		}
		fetched++
		last = s.Score
		if (opts.Threshold != 0 && s.Score < opts.Threshold) || len(res.Rows) == opts.Limit {
			continue
		}
		res.Rows = append(res.Rows, s)
	}
	// Limit rows passed, or the read came back full and its last row passed: more
	// rows may pass than were returned.
	full := fetched == opts.Candidates && (opts.Threshold == 0 || last >= opts.Threshold)
	res.MayHaveMore = len(res.Rows) == opts.Limit || full
	return res, nil
}

// Score computes the similarity of a and b as Cassandra's similarity function fn
// ("cosine", "dot_product" or "euclidean") does. a and b have the same length; a
// cosine with a zero vector is 0 (Cassandra refuses it).
func Score(fn string, a, b []float32) (float32, error) {
	if len(a) != len(b) {
		return 0, fmt.Errorf("vector: score: lengths %d and %d differ", len(a), len(b))
	}
	var dot, na, nb, d2 float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
		d2 += (x - y) * (x - y)
	}
	switch fn {
	case "cosine":
		if na == 0 || nb == 0 {
			return 0, nil
		}
		return float32((1 + dot/math.Sqrt(na*nb)) / 2), nil
	case "dot_product":
		return float32((1 + dot) / 2), nil
	case "euclidean":
		return float32(1 / (1 + d2)), nil
	}
	return 0, fmt.Errorf("vector: score: unknown similarity function %q", fn)
}

// Exact returns what Search would if the index were exact: it reads every row
// m.Query().Where(opts.Where...) selects, paging through them with the orm, scores
// each with Score and the column's similarity function, and keeps the best. It is
// the ground truth for Search and a fallback for small sets (a partition, a
// tenant). Its Where needs no index, only an access path the orm accepts, or
// FullScan. It refuses the vectors Search refuses (orm.Table.CheckVector).
//
// Limit is not capped by orm.MaxANNLimit; zero means DefaultLimit, or every row
// that passes Threshold. MayHaveMore is true when rows that passed were cut by Limit.
func Exact[T any](ctx context.Context, m *orm.Model[T], column string, vec []float32, opts SearchOptions) (Result[T], error) {
	var res Result[T]
	t := m.Table()
	if err := t.CheckVector(column, vec); err != nil {
		return res, fmt.Errorf("vector: exact %s.%s: %w", t.Name, column, err)
	}
	c := t.Column(column)
	limit := opts.Limit
	if limit == 0 && opts.Threshold == 0 {
		limit = DefaultLimit
	}
	if limit < 0 {
		return res, fmt.Errorf("vector: exact %s.%s: Limit %d is negative", t.Name, column, limit)
	}
	q := m.Query().Where(opts.Where...).With(opts.Options...)
	if opts.FullScan {
		q = q.AllowFiltering()
	}
	for row, err := range q.All(ctx) {
		if err != nil {
			return Result[T]{}, fmt.Errorf("vector: exact %s.%s: %w", t.Name, column, err)
		}
		v, _ := reflect.ValueOf(row).FieldByName(c.Field).Interface().([]float32)
		if len(v) == 0 {
			continue // a row without a vector is not found by the index either
		}
		s, err := Score(c.Similarity, v, vec)
		if err != nil {
			return Result[T]{}, fmt.Errorf("vector: exact %s.%s: %w", t.Name, column, err)
		}
		if opts.Threshold != 0 && s < opts.Threshold {
			continue
		}
		res.Rows = append(res.Rows, orm.Scored[T]{Row: row, Score: s})
	}
	slices.SortStableFunc(res.Rows, func(a, b orm.Scored[T]) int { return cmp.Compare(b.Score, a.Score) })
	if limit > 0 && len(res.Rows) > limit {
		res.Rows = res.Rows[:limit]
		res.MayHaveMore = true
	}
	return res, nil
}
