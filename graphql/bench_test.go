package graphql_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/graphql"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// BenchmarkGetVsORM compares a single-entity GraphQL query (parse, validate,
// limits, resolve, shape) with the direct ORM Get of the same row, serially and
// with 32 in flight; ratio is GraphQL time over ORM time.
func BenchmarkGetVsORM(b *testing.B) {
	f := newFixture(b, graphql.Config{})
	ctx := tenant.With(b.Context(), "acme")
	const id = "eeeeeeee-2222-3333-4444-555555555555"
	uid, err := orm.ParseUUID(id)
	if err != nil {
		b.Fatal(err)
	}
	if err := f.users.Insert(ctx, &User{ID: uid, Email: "bench@example.com", Name: "Bench"}); err != nil {
		b.Fatal(err)
	}
	req := graphql.Request{Query: `query($id: UUID!) { user(id: $id) { id email name } }`, Variables: map[string]any{"id": id}}
	gql := func(b *testing.B) {
		if r := f.schema.Execute(ctx, req); len(r.Errors) > 0 {
			b.Fatal(r.Errors[0].Message)
		}
	}
	get := func(b *testing.B) {
		if _, err := f.users.Get(ctx, uid); err != nil {
			b.Fatal(err)
		}
	}
	get(b) // warm both paths (prepared statements, pools) before timing
	gql(b)
	b.Run("serial", func(b *testing.B) {
		// Interleaved, so that the node's load drifts equally on both.
		var ormNs, gqlNs time.Duration
		for range b.N {
			start := time.Now()
			get(b)
			mid := time.Now()
			gql(b)
			ormNs += mid.Sub(start)
			gqlNs += time.Since(mid)
		}
		b.ReportMetric(float64(ormNs.Nanoseconds())/float64(b.N), "orm-ns/op")
		b.ReportMetric(float64(gqlNs.Nanoseconds())/float64(b.N), "graphql-ns/op")
		b.ReportMetric(float64(gqlNs)/float64(ormNs), "ratio")
	})
	b.Run("inflight32", func(b *testing.B) {
		b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				get(b)
			}
		})
		ormNs := time.Since(start)
		start = time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				gql(b)
			}
		})
		gqlNs := time.Since(start)
		b.ReportMetric(float64(ormNs.Nanoseconds())/float64(b.N), "orm-ns/op")
		b.ReportMetric(float64(gqlNs.Nanoseconds())/float64(b.N), "graphql-ns/op")
		b.ReportMetric(float64(gqlNs)/float64(ormNs), "ratio")
	})
}
