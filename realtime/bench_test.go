package realtime_test

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/realtime"
)

// tally counts the messages all clients read, and says when a count is
// reached.
type tally struct {
	n, want atomic.Int64
	reached chan struct{}
}

func (t *tally) add() {
	if t.n.Add(1) == t.want.Load() {
		select {
		case t.reached <- struct{}{}:
		default: // await has not taken the last one: it sees the count
		}
	}
}

// await waits until n messages in all have been read.
func (t *tally) await(b *testing.B, n int64) {
	t.want.Store(n)
	if t.n.Load() >= n {
		select { // add may have signalled too
		case <-t.reached:
		default:
		}
		return
	}
	select {
	case <-t.reached:
	case <-time.After(time.Minute):
		b.Fatalf("%d of %d messages read after a minute", t.n.Load(), n)
	}
}

// BenchmarkFanout measures the messages per second one hub delivers to the
// members of one room, N loopback WebSocket connections, broadcasting in
// bursts of 64 and waiting after each burst until every client has read
// it. The clients run in the same process, on the same cores: they cost
// about what the hub does, so msgs/s/core understates the hub. (An anchor:
// Go WebSocket servers are said to reach some 100,000 messages per second
// per core.)
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		// Each connection takes two descriptors, the client's and the hub's.
		if limit := fileLimit(b, 2*uint64(n)+500); limit < 2*uint64(n)+500 {
			b.Logf("open-file limit %d (the hard limit cannot be raised here): %d connections instead of %d", limit, (limit-500)/2, n)
			n = int(limit-500) / 2
		}
		b.Run("conns="+strconv.Itoa(n), func(b *testing.B) {
			const burst = 64
			h, err := realtime.New(realtime.Config{Bus: newBus(b, nil), HMACKey: key, QueueSize: 4 * burst})
			if err != nil {
				b.Fatal(err)
			}
			s := serve(b, h, nil)
			t := &tally{reached: make(chan struct{}, 1)}
			dialAll(b, s, n, t.add)
			data := map[string]string{"status": "shipped", "order": "o-12345"}

			sent := 0
			start := time.Now()
			for b.Loop() {
				broadcast(b, s, "acme", "admin", "order_status_update", data)
				if sent++; sent%burst == 0 {
					t.await(b, int64(sent*n))
				}
			}
			t.await(b, int64(sent*n))
			elapsed := time.Since(start)
			rate := float64(sent*n) / elapsed.Seconds()
			b.ReportMetric(rate, "msgs/s")
			b.ReportMetric(rate/float64(runtime.GOMAXPROCS(0)), "msgs/s/core")
			if st := h.Stats(); st.SlowConsumers != 0 {
				b.Fatalf("stats %+v: clients dropped", st)
			}
			b.Logf("%d messages to %d connections in %v", sent, n, elapsed.Round(time.Millisecond))
		})
	}
}
