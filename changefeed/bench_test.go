package changefeed_test

// Benchmarks of the change feed against the local node, run with
//
//	go test -run '^$' -bench . -benchtime 2000x -count 3 ./changefeed/
//
// BenchmarkWrite compares each write of a model that records its changes with the
// same write of the same model without the feed, in the same run, one at a time
// and 16 in flight. BenchmarkDelivery measures how long a change takes from its
// write to a subscription's handler (p50, p99) and how many changes a second
// flow through. Figures are in docs/benchmarks.md.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// benchFeed returns a feed and a model of product on it, and the same model
// without the feed, on tables of this run.
func benchFeed(b *testing.B, cfg changefeed.FeedConfig) (*changefeed.Feed, *orm.Model[product], *orm.Model[product], *lease.Manager) {
	b.Helper()
	db, err := orm.New(env.Session(b), env.Keyspace(), nil)
	if err != nil {
		b.Fatal(err)
	}
	s := suffix()
	cfg.Log.Table = "bench_changes_" + s
	feed, err := changefeed.NewFeed(db, cfg)
	if err != nil {
		b.Fatal(err)
	}
	with, err := orm.NewModel[product](db, orm.TableName("bench_feed_"+s), orm.RecordChanges(feed))
	if err != nil {
		b.Fatal(err)
	}
	without, err := orm.NewModel[product](db, orm.TableName("bench_plain_"+s))
	if err != nil {
		b.Fatal(err)
	}
	lm, err := lease.New(db, lease.Config{Table: "bench_leases_" + s})
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Sync(b.Context(), append(feed.Models(), with, without)...); err != nil {
		b.Fatal(err)
	}
	if err := lm.Sync(b.Context()); err != nil {
		b.Fatal(err)
	}
	return feed, with, without, lm
}

// BenchmarkWrite: insert, patch and conditional patch, plain and recorded, one
// at a time and 16 in flight.
func BenchmarkWrite(b *testing.B) {
	_, with, without, _ := benchFeed(b, changefeed.FeedConfig{})
	writes := []struct {
		name string
		do   func(ctx context.Context, m *orm.Model[product], i int64) error
	}{
		{"insert", func(ctx context.Context, m *orm.Model[product], i int64) error {
			return m.Insert(ctx, &product{ID: fmt.Sprint("p", i), Name: "lamp", Quantity: int32(i), Tags: []string{"home"}})
		}},
		{"patch", func(ctx context.Context, m *orm.Model[product], i int64) error {
			return m.Patch(ctx, []any{fmt.Sprint("p", i%100)}, []orm.Change{orm.Set("quantity", int32(i))})
		}},
		{"lwt", func(ctx context.Context, m *orm.Model[product], i int64) error {
			err := m.InsertIfNotExists(ctx, &product{ID: fmt.Sprint("c", i, "-", time.Now().UnixNano()), Name: "lamp"})
			return err
		}},
	}
	for _, w := range writes {
		for _, side := range []struct {
			name string
			m    *orm.Model[product]
		}{{"plain", without}, {"feed", with}} {
			b.Run(w.name+"/"+side.name, func(b *testing.B) {
				ctx := b.Context()
				var i int64
				for b.Loop() {
					i++
					if err := w.do(ctx, side.m, i); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(w.name+"/"+side.name+"/16-in-flight", func(b *testing.B) {
				ctx := b.Context()
				var n atomic.Int64
				b.SetParallelism(8) // 8 × GOMAXPROCS (2 here) = 16 goroutines
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := w.do(ctx, side.m, n.Add(1)); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

// BenchmarkDelivery writes b.N changes, one at a time and 16 in flight, while a
// durable subscription runs, and reports the latency from each write's return to
// its handler (p50, p99, max, in ms), the changes handled per second once they
// flow, and the writes per second, for the default Lag and a short one.
func BenchmarkDelivery(b *testing.B) {
	for _, lag := range []time.Duration{200 * time.Millisecond, 3 * time.Second} {
		for _, inFlight := range []int{1, 16} {
			b.Run(fmt.Sprintf("lag=%v/in-flight=%d", lag, inFlight), func(b *testing.B) {
				feed, with, _, lm := benchFeed(b, changefeed.FeedConfig{Log: changefeed.Config{Lag: lag}})
				var mu sync.Mutex
				written := map[string]time.Time{}
				var lat []time.Duration
				var first, last time.Time
				handled := make(chan struct{}, 1)
				handle := func(_ context.Context, c changefeed.Change) error {
					now := time.Now()
					id, _ := c.Key["id"].(string)
					mu.Lock()
					defer mu.Unlock()
					if at, ok := written[id]; ok {
						lat = append(lat, now.Sub(at))
						delete(written, id)
						if first.IsZero() {
							first = now
						}
						last = now
						if len(lat) == b.N {
							handled <- struct{}{}
						}
					}
					return nil
				}
				subs := changefeed.Subscriber{Feed: feed, Leases: lm, Poll: 20 * time.Millisecond}
				ctx, cancel := context.WithCancel(b.Context())
				done := make(chan error, 1)
				go func() {
					done <- subs.Subscribe(ctx, changefeed.Subscription{Name: "bench", Table: with.Table().Name, Handle: handle})
				}()
				defer func() {
					cancel()
					if err := <-done; !errors.Is(err, context.Canceled) {
						b.Error(err)
					}
				}()
				b.ResetTimer()
				start := time.Now()
				var next atomic.Int64
				var wg sync.WaitGroup
				for range inFlight {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := next.Add(1)
							if i > int64(b.N) {
								return
							}
							id := fmt.Sprint("d", i)
							if err := with.Insert(ctx, &product{ID: id, Quantity: int32(i)}); err != nil {
								b.Error(err)
								return
							}
							mu.Lock()
							written[id] = time.Now()
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
				if b.Failed() {
					return // a write failed: its change never comes
				}
				wrote := time.Since(start)
				select {
				case <-handled:
				case <-time.After(time.Minute):
					b.Fatalf("%d of %d changes handled after a minute", len(lat), b.N)
				}
				b.StopTimer()
				mu.Lock()
				defer mu.Unlock()
				slices.Sort(lat)
				q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond) }
				b.ReportMetric(q(0.5), "p50-ms")
				b.ReportMetric(q(0.99), "p99-ms")
				b.ReportMetric(q(1), "max-ms")
				// The handler's rate, once changes flow (the first waited a lag).
				b.ReportMetric(float64(b.N-1)/last.Sub(first).Seconds(), "changes/s")
				b.ReportMetric(float64(b.N)/wrote.Seconds(), "writes/s")
			})
		}
	}
}
