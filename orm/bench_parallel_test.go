package orm_test

// Benchmarks with many operations in flight: where the serial benchmarks of
// bench_test.go are hidden by the round trip, these saturate the client and show
// what the ORM costs in throughput and client CPU. Each reports ops/s and cpu-ns/op,
// the process's user+system CPU time (every goroutine, the driver's included) per
// operation. See docs/benchmarks.md.

import (
	"context"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchInFlight is how many operations the parallel benchmarks keep in flight.
const benchInFlight = 64

// cpuTime is the user plus system CPU time the process has used so far.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runInFlight runs op b.N times from at least benchInFlight goroutines and reports
// ops/s and cpu-ns/op. op gets the operation's sequence number.
func runInFlight(b *testing.B, op func(ctx context.Context, i int64) error) {
	ctx := b.Context()
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((benchInFlight + procs - 1) / procs)
	b.ReportAllocs()
	var seq atomic.Int64
	b.ResetTimer()
	cpu0 := cpuTime(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(ctx, seq.Add(1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	cpu := cpuTime(b) - cpu0
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

func BenchmarkInFlightInsert(b *testing.B) {
	f := benchSetup(b)
	b.Run("driver", func(b *testing.B) {
		runInFlight(b, func(ctx context.Context, i int64) error {
			return driverInsert(ctx, f.session, f.insertCQL, &f.rows[i%int64(len(f.rows))])
		})
	})
	b.Run("orm", func(b *testing.B) {
		runInFlight(b, func(ctx context.Context, i int64) error {
			return f.users.Insert(ctx, &f.rows[i%int64(len(f.rows))])
		})
	})
}

func BenchmarkInFlightGet(b *testing.B) {
	f := benchSetup(b)
	b.Run("driver", func(b *testing.B) {
		runInFlight(b, func(ctx context.Context, _ int64) error {
			_, err := driverGet(ctx, f.session, f.getCQL, f.user.ID)
			return err
		})
	})
	b.Run("orm", func(b *testing.B) {
		runInFlight(b, func(ctx context.Context, _ int64) error {
			_, err := f.users.Get(ctx, f.user.ID)
			return err
		})
	})
}

func BenchmarkInFlightSelect100(b *testing.B) {
	f := benchSetup(b)
	b.Run("driver", func(b *testing.B) {
		runInFlight(b, func(ctx context.Context, _ int64) error {
			_, err := driverSelect(ctx, f.session, f.selectCQL, f.part)
			return err
		})
	})
	b.Run("orm", func(b *testing.B) {
		runInFlight(b, func(ctx context.Context, _ int64) error {
			_, err := ormSelect(ctx, f.events, f.part)
			return err
		})
	})
}
