package vector_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/vector"
)

type cosItem struct {
	ID  int       `cql:"id" orm:"pk"`
	Vec []float32 `cql:"vec" orm:"vector=8,index"`
}

type dotItem struct {
	ID  int       `cql:"id" orm:"pk"`
	Vec []float32 `cql:"vec" orm:"vector=8,index,similarity=dot_product"`
}

type eucItem struct {
	ID  int       `cql:"id" orm:"pk"`
	Vec []float32 `cql:"vec" orm:"vector=8,index,similarity=euclidean"`
}

// unit returns a random unit vector of n elements: dot_product is meant for unit
// vectors (Cassandra does not check; its score (1+a·b)/2 leaves [0, 1] otherwise).
func unit(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	var s float64
	for i := range v {
		x := r.NormFloat64()
		v[i] = float32(x)
		s += x * x
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(s))
	}
	return v
}

// TestScores: for each similarity function, the scores Search returns are Cassandra's
// similarity_<fn>, equal (to float32 rounding) to Score's Go formula, best first, and
// Exact over the same rows returns the same rows in the same order (50 rows: the
// index is exact at this size).
func TestScores(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	vecs := make([][]float32, 50)
	for i := range vecs {
		vecs[i] = unit(r, 8)
	}
	q := unit(r, 8)
	t.Run("cosine", func(t *testing.T) {
		checkScores(t, "cosine", vecs, q, func(i int, v []float32) cosItem { return cosItem{i, v} })
	})
	t.Run("dot_product", func(t *testing.T) {
		checkScores(t, "dot_product", vecs, q, func(i int, v []float32) dotItem { return dotItem{i, v} })
	})
	t.Run("euclidean", func(t *testing.T) {
		checkScores(t, "euclidean", vecs, q, func(i int, v []float32) eucItem { return eucItem{i, v} })
	})
}

func checkScores[T any](t *testing.T, fn string, vecs [][]float32, q []float32, mk func(int, []float32) T) {
	ctx := t.Context()
	db := openDB(t)
	m, err := orm.NewModel[T](db, orm.TableName("scores_"+fn))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Table().Column("vec").Similarity; got != fn {
		t.Fatalf("column similarity %q, want %q", got, fn)
	}
	if err := db.Sync(ctx, m); err != nil {
		t.Fatal(err)
	}
	for i, v := range vecs {
		row := mk(i, v)
		if err := m.Insert(ctx, &row); err != nil {
			t.Fatal(err)
		}
	}
	ann, err := vector.Search(ctx, m, "vec", q, vector.SearchOptions{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	exact, err := vector.Exact(ctx, m, "vec", q, vector.SearchOptions{Limit: 10, FullScan: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(ann.Rows) != 10 || len(exact.Rows) != 10 || !ann.MayHaveMore || !exact.MayHaveMore {
		t.Fatalf("got %d ANN rows (more %v), %d exact (more %v), want 10 each and more", len(ann.Rows), ann.MayHaveMore, len(exact.Rows), exact.MayHaveMore)
	}
	for i, s := range ann.Rows {
		id := int(reflectID(s.Row))
		want, err := vector.Score(fn, vecs[id], q)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(float64(s.Score-want)) > 1e-5 {
			t.Errorf("row %d: Cassandra's score %v, Go's %v", id, s.Score, want)
		}
		if i > 0 && s.Score > ann.Rows[i-1].Score {
			t.Errorf("rank %d: score %v above the previous %v", i, s.Score, ann.Rows[i-1].Score)
		}
		if eid := int(reflectID(exact.Rows[i].Row)); eid != id {
			t.Errorf("rank %d: ANN row %d, exact row %d", i, id, eid)
		}
	}
	// A threshold between the 3rd and 4th scores keeps 3 rows, all known.
	cut := (ann.Rows[2].Score + ann.Rows[3].Score) / 2
	th, err := vector.Search(ctx, m, "vec", q, vector.SearchOptions{Limit: 10, Threshold: cut})
	if err != nil {
		t.Fatal(err)
	}
	if len(th.Rows) != 3 || th.MayHaveMore {
		t.Errorf("threshold %v: %d rows (more %v), want 3 and no more", cut, len(th.Rows), th.MayHaveMore)
	}
	all, err := vector.Search(ctx, m, "vec", q, vector.SearchOptions{Threshold: cut})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Rows) != 3 || all.MayHaveMore {
		t.Errorf("threshold %v without a limit: %d rows (more %v), want 3", cut, len(all.Rows), all.MayHaveMore)
	}
}
