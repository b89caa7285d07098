package vector_test

import (
	"cmp"
	"context"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/testenv"
	"github.com/cassandraorm/cassandraorm-go/vector"
)

// plain384 is doc384 without the vector index: the ingest benchmark's
// reference.
type plain384 struct {
	ID  int       `cql:"id" orm:"pk"`
	Vec []float32 `cql:"vec" orm:"vector=384"`
}

// bruteTop returns the ids of the k vectors of vecs nearest to q by cosine,
// best first: brute force over vectors held in memory.
func bruteTop(b *testing.B, vecs [][]float32, q []float32, k int) []int {
	type hit struct {
		id    int
		score float32
	}
	top := make([]hit, 0, k+1)
	for id, v := range vecs {
		s, err := vector.Score("cosine", q, v)
		if err != nil {
			b.Fatal(err)
		}
		if len(top) == k && s <= top[k-1].score {
			continue
		}
		i, _ := slices.BinarySearchFunc(top, s, func(h hit, s float32) int { return cmp.Compare(s, h.score) })
		top = slices.Insert(top, i, hit{id, s})
		if len(top) > k {
			top = top[:k]
		}
	}
	ids := make([]int, len(top))
	for i, h := range top {
		ids[i] = h.id
	}
	return ids
}

// BenchmarkANN measures top-10 queries over 10,000 vectors of 384 dimensions
// (the recall test's mixture of Gaussians), written once per run into a table
// of the run's keyspace with 32 writes in flight and left in the memtable:
//
//   - exact-go: brute force in Go (vector.Score over every vector, held in
//     memory), the reference;
//   - search: vector.Search, Limit 10 and the default Candidates
//     (DefaultCandidates), one at a time, with search/exact-go, the ratio of
//     their p50s, when exact-go ran before it in the same run;
//   - search-40: the same asking the index for 40 rows (4×Limit), enough at
//     this size (TestRecall) but not after large compactions;
//   - search-parallel: vector.Search with 32 queries in flight
//     (b.SetParallelism), reporting queries/s and the latencies under load;
//   - exact-orm: vector.Exact, reading the whole table through the orm.
//
// Each reports p50_µs and p99_µs, from every op's own duration.
func BenchmarkANN(b *testing.B) {
	const (
		n       = 10_000
		dim     = 384
		k       = 10
		queries = 200
	)
	ctx := b.Context()
	db := openDB(b)
	m, err := orm.NewModel[doc384](db, orm.TableName("bench_ann"))
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Sync(ctx, m); err != nil {
		b.Fatal(err)
	}
	mix := newMixture(20261204, 50, dim, 0.05)
	vecs := make([][]float32, n)
	rows := make(map[int][]float32, n)
	for id := range vecs {
		vecs[id] = mix.draw()
		rows[id] = vecs[id]
	}
	write(b, ctx, m, rows)
	qs := make([][]float32, queries)
	for i := range qs {
		qs[i] = mix.draw()
	}
	search := func(b *testing.B, q []float32, candidates int) {
		res, err := vector.Search(b.Context(), m, "vec", q, vector.SearchOptions{Limit: k, Candidates: candidates})
		if err != nil {
			b.Error(err)
			return
		}
		if len(res.Rows) != k {
			b.Errorf("search: %d rows, want %d", len(res.Rows), k)
		}
	}

	var exactP50 time.Duration
	b.Run("exact-go", func(b *testing.B) {
		var l testenv.Latencies
		i := 0
		for b.Loop() {
			start := time.Now()
			if got := bruteTop(b, vecs, qs[i%queries], k); len(got) != k {
				b.Fatalf("brute force: %d ids, want %d", len(got), k)
			}
			l.Add(time.Since(start))
			i++
		}
		l.Report(b)
		exactP50 = l.Quantile(0.5)
	})
	for _, c := range []struct {
		name       string
		candidates int
	}{{"search", 0}, {"search-40", 40}} {
		b.Run(c.name, func(b *testing.B) {
			var l testenv.Latencies
			i := 0
			for b.Loop() {
				start := time.Now()
				search(b, qs[i%queries], c.candidates)
				l.Add(time.Since(start))
				i++
			}
			l.Report(b)
			if exactP50 > 0 {
				b.ReportMetric(float64(l.Quantile(0.5))/float64(exactP50), "search/exact-go")
			}
		})
	}
	b.Run("search-parallel", func(b *testing.B) {
		var l testenv.Latencies
		var next atomic.Int64
		b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			var mine []time.Duration
			for pb.Next() {
				start := time.Now()
				search(b, qs[next.Add(1)%queries], 0)
				mine = append(mine, time.Since(start))
			}
			l.Add(mine...)
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
		l.Report(b)
	})
	b.Run("exact-orm", func(b *testing.B) {
		var l testenv.Latencies
		i := 0
		for b.Loop() {
			start := time.Now()
			res, err := vector.Exact(b.Context(), m, "vec", qs[i%queries], vector.SearchOptions{Limit: k, FullScan: true})
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Rows) != k {
				b.Fatalf("exact: %d rows, want %d", len(res.Rows), k)
			}
			l.Add(time.Since(start))
			i++
		}
		l.Report(b)
	})
}

// BenchmarkIngest measures Insert of 384-dimension vector rows into a table
// with the vector index (indexed) against the same inserts into an identical
// table without it (plain, the reference), one at a time and with 32 in
// flight (b.SetParallelism). Each reports rows/s; indexed also
// indexed/plain, the ratio of its rate to plain's at the same concurrency,
// when plain ran before it in the same run.
func BenchmarkIngest(b *testing.B) {
	const dim = 384
	ctx := b.Context()
	db := openDB(b)
	indexed, err := orm.NewModel[doc384](db, orm.TableName("bench_ingest_indexed"))
	if err != nil {
		b.Fatal(err)
	}
	plain, err := orm.NewModel[plain384](db, orm.TableName("bench_ingest_plain"))
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Sync(ctx, indexed, plain); err != nil {
		b.Fatal(err)
	}
	mix := newMixture(11, 50, dim, 0.05)
	pool := make([][]float32, 1024)
	for i := range pool {
		pool[i] = mix.draw()
	}
	// ids are unique across the sub-benchmarks' rounds: every insert is a new row.
	var ids atomic.Int64
	insert := map[string]func(context.Context) error{
		"plain": func(ctx context.Context) error {
			id := int(ids.Add(1))
			return plain.Insert(ctx, &plain384{ID: id, Vec: pool[id%len(pool)]})
		},
		"indexed": func(ctx context.Context) error {
			id := int(ids.Add(1))
			return indexed.Insert(ctx, &doc384{ID: id, Vec: pool[id%len(pool)]})
		},
	}
	for _, inflight := range []int{1, 32} {
		var plainRate float64
		for _, table := range []string{"plain", "indexed"} {
			b.Run(table+"/inflight="+strconv.Itoa(inflight), func(b *testing.B) {
				do := insert[table]
				if inflight == 1 {
					for b.Loop() {
						if err := do(b.Context()); err != nil {
							b.Fatal(err)
						}
					}
				} else {
					b.SetParallelism(max(1, inflight/runtime.GOMAXPROCS(0)))
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := do(b.Context()); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				rate := float64(b.N) / b.Elapsed().Seconds()
				b.ReportMetric(rate, "rows/s")
				if table == "plain" {
					plainRate = rate
				} else if plainRate > 0 {
					b.ReportMetric(rate/plainRate, "indexed/plain")
				}
			})
		}
	}
}
