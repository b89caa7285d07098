package vector_test

import (
	"cmp"
	"context"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/internal/devenv"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/retry"
	"github.com/cassandraorm/cassandraorm-go/vector"
)

// doc384 is the recall test's model: 384 dimensions, as all-MiniLM-L6-v2's.
type doc384 struct {
	ID  int       `cql:"id" orm:"pk"`
	Vec []float32 `cql:"vec" orm:"vector=384,index"`
}

// mixture draws unit vectors from a mixture of Gaussians around k random
// centres (σ per coordinate), as embeddings of texts on k topics cluster.
type mixture struct {
	rng     *rand.Rand
	centres [][]float32
	sigma   float64
}

func newMixture(seed uint64, k, dim int, sigma float64) *mixture {
	m := &mixture{rng: rand.New(rand.NewPCG(seed, 1)), sigma: sigma}
	for range k {
		c := make([]float32, dim)
		for i := range c {
			c[i] = float32(m.rng.NormFloat64())
		}
		m.centres = append(m.centres, normalized(c))
	}
	return m
}

func (m *mixture) draw() []float32 {
	c := m.centres[m.rng.IntN(len(m.centres))]
	v := make([]float32, len(c))
	for i := range v {
		v[i] = c[i] + float32(m.sigma*m.rng.NormFloat64())
	}
	return normalized(v)
}

// normalized scales v to unit length, in place.
func normalized(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	n := float32(math.Sqrt(s))
	for i := range v {
		v[i] /= n
	}
	return v
}

// exactTop returns the ids of the k rows of live nearest to q by cosine, best
// first: the ground truth, from the vectors the test wrote.
func exactTop(t *testing.T, live map[int][]float32, q []float32, k int) []int {
	t.Helper()
	type hit struct {
		id    int
		score float32
	}
	hits := make([]hit, 0, len(live))
	for id, v := range live {
		s, err := vector.Score("cosine", q, v)
		if err != nil {
			t.Fatal(err)
		}
		hits = append(hits, hit{id, s})
	}
	slices.SortFunc(hits, func(a, b hit) int { return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(a.id, b.id)) })
	ids := make([]int, 0, k)
	for _, h := range hits[:min(k, len(hits))] {
		ids = append(ids, h.id)
	}
	return ids
}

// TestRecall measures recall@10 of Search (its default Candidates:
// DefaultCandidates for 10) against exact search over 10,000 vectors of 384
// dimensions (VECTOR_RECALL_N sets another count), with the index in the
// memtable, after a flush, after updates and deletes in between, and after a
// flush and a major compaction: at least 0.95 at each stage. It logs beside it
// the recall asking the index for 40 rows and for only Limit. It also checks
// that Exact, reading the table, agrees with the truth computed from the
// written vectors.
func TestRecall(t *testing.T) {
	n := 10_000
	if v, err := strconv.Atoi(os.Getenv("VECTOR_RECALL_N")); err == nil && v > 0 {
		n = v
	}
	const (
		dim     = 384
		queries = 50
		k       = 10
		changes = 200 // updates, and as many deletes
	)
	ctx := t.Context()
	db := openDB(t)
	table := "recall_" + strconv.Itoa(n)
	m, err := orm.NewModel[doc384](db, orm.TableName(table))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(ctx, m); err != nil {
		t.Fatal(err)
	}
	dev, err := devenv.Load(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	nodetool := func(args ...string) {
		t.Helper()
		if _, err := dev.Nodetool(ctx, append(args, env.Keyspace(), table)...); err != nil {
			t.Fatal(err)
		}
	}
	mix := newMixture(20261204, 50, dim, 0.05)
	live := make(map[int][]float32, n)
	for id := range n {
		live[id] = mix.draw()
	}
	write(t, ctx, m, live)
	qs := make([][]float32, queries)
	for i := range qs {
		qs[i] = mix.draw()
	}
	recall := func(stage string) {
		t.Helper()
		found, forty, bare, want := 0, 0, 0, 0
		for _, q := range qs {
			truth := exactTop(t, live, q, k)
			for _, c := range []struct {
				candidates int
				n          *int
			}{{0, &found}, {40, &forty}, {k, &bare}} {
				res, err := vector.Search(ctx, m, "vec", q, vector.SearchOptions{Limit: k, Candidates: c.candidates})
				if err != nil {
					t.Fatalf("%s: %v", stage, err)
				}
				for _, r := range res.Rows {
					if slices.Contains(truth, r.Row.ID) {
						*c.n++
					}
				}
			}
			want += len(truth)
		}
		r := float64(found) / float64(want)
		t.Logf("recall@%d over %d vectors, %s: %.3f (%.3f asking the index for 40, %.3f for only %d)",
			k, len(live), stage, r, float64(forty)/float64(want), float64(bare)/float64(want), k)
		if r < 0.95 {
			t.Errorf("recall@%d %s: %.3f, want at least 0.95", k, stage, r)
		}
	}
	recall("in the memtable")
	nodetool("flush")
	recall("after a flush")

	rng := rand.New(rand.NewPCG(7, 7))
	updated := map[int][]float32{}
	for len(updated) < changes {
		updated[rng.IntN(n)] = mix.draw()
	}
	write(t, ctx, m, updated)
	for id, v := range updated {
		live[id] = v
	}
	deleted := 0
	for deleted < changes {
		id := rng.IntN(n)
		if _, ok := live[id]; !ok {
			continue
		}
		if err := m.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
		delete(live, id)
		deleted++
	}
	recall("after 200 updates and 200 deletes")
	nodetool("flush")
	nodetool("compact")
	recall("after a flush and a major compaction")

	// Exact reads the table itself: its answer is the truth computed here.
	for _, q := range qs[:2] {
		res, err := vector.Exact(ctx, m, "vec", q, vector.SearchOptions{Limit: k, FullScan: true})
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, r := range res.Rows {
			got = append(got, r.Row.ID)
		}
		if want := exactTop(t, live, q, k); !slices.Equal(got, want) {
			t.Errorf("Exact: %v, want %v", got, want)
		}
	}
}

// insertRetry is write's policy: whole-row inserts, sent again on an unknown
// outcome or an unavailable node.
var insertRetry = retry.Policy{If: retry.On(orm.ErrUncertain, orm.ErrUnavailable), MaxAttempts: 5}

// write inserts rows with several writes in flight. An insert of a whole row is
// idempotent, so one that timed out (the node shares two cores with everything
// else under test) is sent again.
func write(t testing.TB, ctx context.Context, m *orm.Model[doc384], rows map[int][]float32) {
	t.Helper()
	ids := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range 32 {
		wg.Go(func() {
			for id := range ids {
				err := retry.Do(ctx, insertRetry, func(ctx context.Context, _ int) error {
					return m.Insert(ctx, &doc384{ID: id, Vec: rows[id]})
				})
				if err != nil {
					once.Do(func() { first = err })
				}
			}
		})
	}
	for id := range rows {
		ids <- id
	}
	close(ids)
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}
