package recommend_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/recommend"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// BenchmarkRecommend measures Recommend from stored lists (300 users with 20
// interactions each over 500 items, trained once), one at a time and with 32
// in flight, against the plain reference of one single-row read (Get of one
// of the user's interactions rows' partition, the first read Recommend makes):
// the ratio says what the neighbour-list and popularity reads and the blend
// add.
//
//	go test -run '^$' -bench Recommend -benchtime 3s ./recommend/
func BenchmarkRecommend(b *testing.B) {
	ctx := tenant.With(b.Context(), fmt.Sprintf("bench%d", time.Now().UnixNano()%1e9))
	db := openDB(b)
	r, err := recommend.New(db, recommend.Config{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := r.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	kinds := []recommend.Kind{recommend.View, recommend.View, recommend.Cart, recommend.Purchase}
	now := time.Now().Add(-time.Hour)
	const users = 300
	for u := range users {
		for i := range 20 {
			in := recommend.Interaction{UserID: fmt.Sprint("u", u), ItemID: fmt.Sprint("i", int(rng.ExpFloat64()*80)%500),
				Kind: kinds[rng.IntN(len(kinds))], At: now.Add(time.Duration(u*20+i) * time.Millisecond)}
			if err := r.Record(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := r.Train(ctx); err != nil {
		b.Fatal(err)
	}
	plain, err := orm.NewModel[recommend.Interaction](db, orm.TableName("interactions"))
	if err != nil {
		b.Fatal(err)
	}
	var refP50 time.Duration
	b.Run("get-one-row", func(b *testing.B) {
		var l testenv.Latencies
		for i := 0; b.Loop(); i++ {
			start := time.Now()
			if _, err := plain.Query().Where(orm.Eq("user_id", fmt.Sprint("u", i%users))).Limit(1).One(ctx); err != nil {
				b.Fatal(err)
			}
			l.Add(time.Since(start))
		}
		l.Report(b)
		refP50 = l.Quantile(0.5)
	})
	b.Run("recommend", func(b *testing.B) {
		var l testenv.Latencies
		for i := 0; b.Loop(); i++ {
			start := time.Now()
			if _, err := r.Recommend(ctx, fmt.Sprint("u", i%users), 10); err != nil {
				b.Fatal(err)
			}
			l.Add(time.Since(start))
		}
		l.Report(b)
		if refP50 > 0 {
			b.ReportMetric(float64(l.Quantile(0.5))/float64(refP50), "p50/get-one-row")
		}
	})
	b.Run("recommend-parallel", func(b *testing.B) {
		var l testenv.Latencies
		b.SetParallelism(16) // 32 in flight on 2 cores
		b.RunParallel(func(pb *testing.PB) {
			rng := rand.New(rand.NewPCG(rand.Uint64(), 1))
			for pb.Next() {
				start := time.Now()
				if _, err := r.Recommend(ctx, fmt.Sprint("u", rng.IntN(users)), 10); err != nil {
					b.Error(err)
					return
				}
				l.Add(time.Since(start))
			}
		})
		l.Report(b)
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "recommendations/s")
	})
}
