package testenv

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// Latencies collects the durations of a benchmark's operations, from one
// goroutine or many, for percentiles the benchmark reports beside ns/op. The
// zero Latencies is ready to use.
type Latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

// Add records durations.
func (l *Latencies) Add(d ...time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d...)
	l.mu.Unlock()
}

// Quantile returns the q-quantile (0 < q ≤ 1) of the durations, by nearest
// rank; 0 when there are none.
func (l *Latencies) Quantile(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// Report reports the p50 and p99 of the durations in microseconds, as the
// metrics p50_µs and p99_µs.
func (l *Latencies) Report(b *testing.B) {
	b.ReportMetric(float64(l.Quantile(0.50).Microseconds()), "p50_µs")
	b.ReportMetric(float64(l.Quantile(0.99).Microseconds()), "p99_µs")
}
