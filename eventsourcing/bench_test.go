package eventsourcing_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/eventsourcing"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// BenchmarkAppend measures appends to fresh streams: one event, ten events, and a
// plain single-row INSERT ... IF NOT EXISTS through the driver on the same node, the
// floor for any append guarded by a lightweight transaction.
func BenchmarkAppend(b *testing.B) {
	reg := registry(b)
	s := newStore(b, "bench", eventsourcing.StoreConfig{})
	ctx := b.Context()
	sess := env.Session(b)
	if err := sess.Query(`CREATE TABLE IF NOT EXISTS bench_lwt (id uuid PRIMARY KEY, data blob)`).Exec(); err != nil {
		b.Fatal(err)
	}
	payload := added(b, reg, 42)
	b.Run("driver-lwt-insert", func(b *testing.B) {
		for b.Loop() {
			applied, err := sess.Query(`INSERT INTO bench_lwt (id, data) VALUES (?, ?) IF NOT EXISTS`, orm.NewUUID(), payload.Data).
				WithContext(ctx).MapScanCAS(map[string]any{})
			if err != nil || !applied {
				b.Fatal(applied, err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	for _, n := range []int{1, 10} {
		evs := make([]eventsourcing.EventData, n)
		for i := range evs {
			evs[i] = payload
		}
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Append(ctx, orm.NewUUID().String(), 0, evs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
		})
	}
	// Appends that extend one stream (expected version > 0).
	b.Run("events=1/same-stream", func(b *testing.B) {
		stream := orm.NewUUID().String()
		v := int64(0)
		for b.Loop() {
			nv, err := s.Append(ctx, stream, v, []eventsourcing.EventData{payload})
			if err != nil {
				b.Fatal(err)
			}
			v = nv
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
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
