package realtime_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
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
	hub     *realtime.Hub // its Stats go in a failure's message
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
		b.Fatalf("%d of %d messages read after a minute; hub stats %+v", t.n.Load(), n, t.hub.Stats())
	}
}

// BenchmarkFanout measures the messages per second one hub delivers to the
// members of one room, N loopback WebSocket connections, broadcasting in
// bursts of 64 and waiting after each burst until every client has read
// it. With clients=same the clients run in the same process, on the same
// cores: they cost about what the hub does, so msgs/s/core understates the
// hub. With clients=process they run in a second process (this test binary,
// as TestFanoutClients), still on the same cores, which also keeps each
// process under the open-file limit at 10,000 connections. (An anchor: Go
// WebSocket servers are said to reach some 100,000 messages per second per
// core.)
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		for _, where := range []string{"same", "process"} {
			conns := n
			// Each connection takes a descriptor on each side.
			need := uint64(n) + 500
			if where == "same" {
				need += uint64(n)
			}
			if limit := fileLimit(b, need); limit < need {
				conns = n - int(need-limit)
				if where == "same" {
					conns = n - int(need-limit+1)/2
				}
				b.Logf("open-file limit %d (the hard limit cannot be raised here): %d connections instead of %d", limit, conns, n)
			}
			b.Run("conns="+strconv.Itoa(conns)+"/clients="+where, func(b *testing.B) {
				fanout(b, conns, where == "process")
			})
		}
	}
}

// fanout is one run of BenchmarkFanout: n connections, in a second process
// when apart.
func fanout(b *testing.B, n int, apart bool) {
	const burst = 64
	h, err := realtime.New(realtime.Config{Bus: newBus(b, nil), HMACKey: key, QueueSize: 4 * burst})
	if err != nil {
		b.Fatal(err)
	}
	s := serve(b, h, nil)
	t := &tally{reached: make(chan struct{}, 1), hub: h}
	if apart {
		clients(b, s, n, t)
	} else {
		dialAll(b, s, n, t.add)
	}
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
}

// The environment of the client process of BenchmarkFanout.
const (
	fanoutURLEnv = "REALTIME_FANOUT_URL"
	fanoutNEnv   = "REALTIME_FANOUT_CONNS"
)

// clients starts the test binary as a process of n clients of s (see
// TestFanoutClients), waits until they have joined, and feeds t the count of
// messages they read.
func clients(b *testing.B, s *server, n int, t *tally) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFanoutClients$", "-test.count=1", "-test.timeout=0")
	cmd.Env = append(os.Environ(), fanoutURLEnv+"="+s.url, fanoutNEnv+"="+strconv.Itoa(n))
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = stdin.Close() // the process stops when its input ends
		_ = cmd.Wait()
	})
	joined := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if line == "joined" {
				close(joined)
				continue
			}
			if v, ok := strings.CutPrefix(line, "count "); ok {
				if c, err := strconv.ParseInt(v, 10, 64); err == nil {
					t.set(c)
				}
			}
		}
	}()
	select {
	case <-joined:
	case <-time.After(2 * time.Minute):
		b.Fatalf("the client process did not join %d connections in two minutes", n)
	}
}

// set records that c messages in all have been read.
func (t *tally) set(c int64) {
	if old := t.n.Swap(c); old < t.want.Load() && c >= t.want.Load() {
		select {
		case t.reached <- struct{}{}:
		default:
		}
	}
}

// TestFanoutClients is not a test: BenchmarkFanout runs the test binary as a
// process of clients, and this is it. It connects the clients, prints "joined",
// and then prints "count <n>" each time every client has read one message
// more, until its standard input ends.
func TestFanoutClients(t *testing.T) {
	url := os.Getenv(fanoutURLEnv)
	if url == "" {
		return
	}
	n, err := strconv.Atoi(os.Getenv(fanoutNEnv))
	if err != nil {
		t.Fatal(err)
	}
	fileLimit(t, uint64(n)+500)
	var count atomic.Int64
	report := make(chan int64, 1)
	dialAll(t, &server{url: url}, n, func() {
		if c := count.Add(1); c%int64(n) == 0 {
			select {
			case report <- c:
			default: // a report is pending: the next one carries a later count
			}
		}
	})
	fmt.Println("joined")
	stop := make(chan struct{})
	go func() {
		_, _ = bufio.NewReader(os.Stdin).ReadString(0)
		close(stop)
	}()
	for {
		select {
		case <-report:
			fmt.Println("count", count.Load())
		case <-stop:
			return
		}
	}
}
