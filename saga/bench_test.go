package saga_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/saga"
)

type benchRow struct {
	ID string `cql:"id" orm:"pk"`
	V  int64  `cql:"v"`
}

// BenchmarkSaga measures sagas of six no-op steps, one at a time and many in
// flight, against the plain reference of one lightweight transaction (an INSERT IF
// NOT EXISTS through the ORM) in the same run. A step costs one conditional batch
// (its outcome and the start of the next step's attempt), and its timer one plain
// insert. Run with:
//
//	go test -run '^$' -bench BenchmarkSaga -benchtime 200x ./saga
func BenchmarkSaga(b *testing.B) {
	ctx := context.Background()
	db, err := orm.New(env.Session(b), env.Keyspace(), nil)
	if err != nil {
		b.Fatal(err)
	}
	rows := orm.MustModel[benchRow](db, orm.TableName("bench_lwt"))
	if err := db.Sync(ctx, rows); err != nil {
		b.Fatal(err)
	}
	o, err := saga.New(db, saga.Config{Table: "bench", Shards: 8, Poll: 50 * time.Millisecond, LeaseTTL: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	if err := o.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	var steps []saga.Step[trip]
	for i := range 6 {
		steps = append(steps, saga.Step[trip]{Name: fmt.Sprintf("s%d", i), Timeout: 30 * time.Second,
			Action: func(context.Context, *trip) error { return nil }})
	}
	f, err := saga.Register(o, &saga.Definition[trip]{Name: "bench", Steps: steps})
	if err != nil {
		b.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = o.Run(wctx) }()
	defer func() { stop(); <-done }()
	// The worker holds every shard before timing starts, so Start hands each saga
	// to it directly.
	for len(o.HeldShards()) < 8 {
		if _, err := f.Execute(ctx, trip{}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("plain_lwt", func(b *testing.B) {
		for b.Loop() {
			if err := rows.InsertIfNotExists(ctx, &benchRow{ID: orm.NewUUID().String(), V: 1}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("six_noop_steps", func(b *testing.B) {
		for b.Loop() {
			if _, err := f.Execute(ctx, trip{}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sagas/s")
	})
	b.Run("plain_lwt_parallel", func(b *testing.B) {
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := rows.InsertIfNotExists(ctx, &benchRow{ID: orm.NewUUID().String(), V: 1}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("six_noop_steps_parallel", func(b *testing.B) {
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := f.Execute(ctx, trip{}); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sagas/s")
	})
}
