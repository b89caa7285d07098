package eventsourcing_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/eventsourcing"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// roundTrips is an orm.Observer that adds up the latency of an append's two round
// trips: the write-ahead feed batch and the conditional batch in the stream.
type roundTrips struct {
	feed, stream atomic.Int64 // nanoseconds
}

func (r *roundTrips) ObserveQuery(_ context.Context, e orm.QueryEvent) {
	switch {
	case e.Op != "batch":
	case strings.Contains(e.Statement, "_feed"):
		r.feed.Add(int64(e.Latency))
	case strings.Contains(e.Statement, "_events"):
		r.stream.Add(int64(e.Latency))
	}
}

// report adds the mean latency of each round trip per operation to b's results.
func (r *roundTrips) report(b *testing.B) {
	b.ReportMetric(float64(r.feed.Swap(0))/float64(b.N)/1e6, "feed-ms/op")
	b.ReportMetric(float64(r.stream.Swap(0))/float64(b.N)/1e6, "stream-ms/op")
}

// BenchmarkAppend measures appends of one and of ten events against a plain
// single-row INSERT ... IF NOT EXISTS through the driver on the same node (the floor
// for any write guarded by a lightweight transaction), one at a time (serial) and
// with many in flight (concurrent: 100 goroutines, each appending to its own
// stream, so 100 streams at once). Serial appends also report the time spent in
// each of their two round trips.
func BenchmarkAppend(b *testing.B) {
	reg := registry(b)
	rt := &roundTrips{}
	s := newObservedStore(b, "bench", eventsourcing.StoreConfig{}, rt)
	ctx := b.Context()
	sess := env.Session(b)
	if err := sess.Query(`CREATE TABLE IF NOT EXISTS bench_lwt (id uuid PRIMARY KEY, data blob)`).Exec(); err != nil {
		b.Fatal(err)
	}
	payload := added(b, reg, 42)
	events := func(n int) []eventsourcing.EventData {
		evs := make([]eventsourcing.EventData, n)
		for i := range evs {
			evs[i] = payload
		}
		return evs
	}
	lwt := func() error {
		applied, err := sess.Query(`INSERT INTO bench_lwt (id, data) VALUES (?, ?) IF NOT EXISTS`, orm.NewUUID(), payload.Data).
			MapScanCASContext(ctx, map[string]any{})
		if err == nil && !applied {
			err = errors.New("not applied")
		}
		return err
	}
	const inFlight = 100
	b.Run("serial/driver-lwt", func(b *testing.B) {
		for b.Loop() {
			if err := lwt(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	for _, n := range []int{1, 10} {
		evs := events(n)
		b.Run(fmt.Sprintf("serial/events=%d", n), func(b *testing.B) {
			rt.feed.Store(0)
			rt.stream.Store(0)
			for b.Loop() {
				if _, err := s.Append(ctx, orm.NewUUID().String(), 0, evs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
			rt.report(b)
		})
	}
	// Appends that extend one stream (expected version > 0).
	b.Run("serial/events=1/same-stream", func(b *testing.B) {
		rt.feed.Store(0)
		rt.stream.Store(0)
		stream := orm.NewUUID().String()
		v := int64(0)
		for b.Loop() {
			nv, err := s.Append(ctx, stream, v, events(1))
			if err != nil {
				b.Fatal(err)
			}
			v = nv
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		rt.report(b)
	})
	b.Run("concurrent/driver-lwt", func(b *testing.B) {
		b.SetParallelism(max(1, inFlight/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := lwt(); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	for _, n := range []int{1, 10} {
		evs := events(n)
		b.Run(fmt.Sprintf("concurrent/events=%d", n), func(b *testing.B) {
			b.SetParallelism(max(1, inFlight/runtime.GOMAXPROCS(0)))
			b.RunParallel(func(pb *testing.PB) {
				stream := orm.NewUUID().String()
				v := int64(0)
				for pb.Next() {
					nv, err := s.Append(ctx, stream, v, evs)
					if err != nil {
						b.Error(err)
						return
					}
					v = nv
				}
			})
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkLoad measures loading an aggregate of 10, 1,000 and 10,000 events by full
// replay and from a snapshot taken 10 events before the end.
func BenchmarkLoad(b *testing.B) {
	reg := registry(b)
	s := newStore(b, "bload", eventsourcing.StoreConfig{})
	ctx := b.Context()
	plain := newRepo(b, s, reg, eventsourcing.RepositoryConfig{})
	policy := &eventsourcing.SnapshotPolicy{Every: 1 << 62, SchemaVersion: 1}
	snapped := newRepo(b, s, reg, eventsourcing.RepositoryConfig{Snapshots: policy})
	for _, n := range []int{10, 1000, 10000} {
		stream := fmt.Sprintf("load-%d-%d", n, time.Now().UnixNano())
		v := int64(0)
		for v < int64(n) {
			k := min(100, int64(n)-v)
			evs := make([]eventsourcing.EventData, k)
			for i := range evs {
				evs[i] = added(b, reg, 1)
			}
			nv, err := s.Append(ctx, stream, v, evs)
			if err != nil {
				b.Fatal(err)
			}
			v = nv
		}
		// A snapshot 10 events before the end: take one through a repository whose
		// policy fires on the next save, then add 10 more events.
		c, err := plain.Load(ctx, stream)
		if err != nil {
			b.Fatal(err)
		}
		snapAt := newRepo(b, s, reg, eventsourcing.RepositoryConfig{Snapshots: &eventsourcing.SnapshotPolicy{Every: 1, SchemaVersion: 1}})
		eventsourcing.Raise[CounterEvent](c, Added{N: 1})
		if err := snapAt.Save(ctx, c); err != nil {
			b.Fatal(err)
		}
		for range 10 {
			eventsourcing.Raise[CounterEvent](c, Added{N: 1})
		}
		if err := plain.Save(ctx, c); err != nil {
			b.Fatal(err)
		}
		total := n + 11
		b.Run(fmt.Sprintf("events=%d/replay", n), func(b *testing.B) {
			for b.Loop() {
				c, err := plain.Load(ctx, stream)
				if err != nil || c.Total != total {
					b.Fatal(c.Total, err)
				}
			}
		})
		b.Run(fmt.Sprintf("events=%d/snapshot", n), func(b *testing.B) {
			for b.Loop() {
				c, err := snapped.Load(ctx, stream)
				if err != nil || c.Total != total {
					b.Fatal(c.Total, err)
				}
			}
		})
	}
}
