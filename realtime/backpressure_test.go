package realtime_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/cassandraorm/cassandraorm-go/realtime"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// fileLimit raises the open-file limit to want if it is lower, and returns
// the limit.
func fileLimit(t testing.TB, want uint64) uint64 {
	t.Helper()
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	if l.Cur >= want {
		return l.Cur
	}
	n := syscall.Rlimit{Cur: want, Max: max(want, l.Max)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &n); err != nil {
		// Not allowed above the hard limit: take that.
		n = syscall.Rlimit{Cur: l.Max, Max: l.Max}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &n); err != nil {
			return l.Cur
		}
	}
	return n.Cur
}

// smallBuffers caps the send buffer of the connections it accepts: on
// loopback the kernel would otherwise grow it to megabytes, and hold that
// much for a client that does not read before the hub's queue fills.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(8 << 10)
	}
	return c, err
}

// dialAll connects n clients to s as admins of tenant acme and joins them
// to "admin", 32 at a time; each calls onMessage, if not nil, for each
// message.
func dialAll(t testing.TB, s *server, n int, onMessage func()) []*client {
	t.Helper()
	tok := token(t, "acme", "1", "admin")
	out := make([]*client, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	errs := make(chan error, n)
	for i := range out {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ws, resp, err := websocket.Dial(context.Background(), s.url, &websocket.DialOptions{
				HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}},
			})
			if err != nil {
				errs <- fmt.Errorf("dial %d: %v (%s)", i, err, status(resp))
				return
			}
			c := &client{t: t, ws: ws, done: make(chan struct{}), onMessage: onMessage}
			go c.read()
			b := []byte(`{"op":"join","room":"admin"}`)
			if err := ws.Write(context.Background(), websocket.MessageText, b); err != nil {
				errs <- err
				return
			}
			out[i] = c
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, c := range out {
			_ = c.ws.CloseNow()
		}
	})
	testenv.WaitFor(t, wait, func() error {
		for i, c := range out {
			if fs := c.snapshot(); len(fs) == 0 || fs[0].Op != realtime.OpJoined {
				return fmt.Errorf("client %d not joined: %+v", i, fs)
			}
		}
		return nil
	})
	return out
}

// A client that does not read is closed with 1013 once its queue is full,
// while a thousand others get every message, and the broadcaster never
// waits for it.
func TestSlowConsumer(t *testing.T) {
	const (
		window = 8   // messages the broadcaster lets the fast clients fall behind
		total  = 150 // messages broadcast; the slow client has room for about 60
	)
	others := 1000
	if limit := fileLimit(t, 4*uint64(others)); limit < 2*uint64(others)+100 {
		others = int(limit-100) / 2
		t.Logf("open-file limit %d: %d fast clients instead of 1000", limit, others)
	}
	// The queue's bound is what drops the slow client here, not WriteTimeout:
	// on a loaded machine, the 32 rounds that fill its queue can take longer
	// than the default 10 s its write stays blocked, and a client dropped for
	// a write that timed out gets no close frame (its socket is full).
	h, err := realtime.New(realtime.Config{Bus: newBus(t, nil), HMACKey: key, QueueSize: 32, WriteTimeout: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	s := serve(t, h, func(l net.Listener) net.Listener { return smallBuffers{l} })

	// The slow client joins, and then reads no more.
	d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<10) })
	}}
	slow, _, err := websocket.Dial(t.Context(), s.url, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token(t, "acme", "2", "admin")}},
		HTTPClient: &http.Client{Transport: &http.Transport{DialContext: d.DialContext}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.CloseNow()
	if err := slow.Write(t.Context(), websocket.MessageText, []byte(`{"op":"join","room":"admin"}`)); err != nil {
		t.Fatal(err)
	}
	if _, b, err := slow.Read(t.Context()); err != nil || !strings.Contains(string(b), `"joined"`) {
		t.Fatalf("slow client's join: %s, %v", b, err)
	}

	fast := dialAll(t, s, others, nil)
	data := strings.Repeat("x", 1024)
	var sent []string
	slowEnd := make(chan error, 1)
	for i := range total {
		// The fast clients read as fast as they can; the broadcaster lets
		// them fall a few messages behind, not a queue's worth.
		testenv.WaitFor(t, wait, func() error {
			for j, c := range fast {
				if n := c.received(); n < i-window {
					return fmt.Errorf("before message %d: client %d has %d (hub stats %+v)", i, j, n, h.Stats())
				}
			}
			return nil
		})
		sent = append(sent, broadcast(t, s, "acme", "admin", "tick", data).String())
		if slowEnd != nil && h.Stats().SlowConsumers > 0 {
			// Dropped: now read what the hub still sends, down to its close.
			go func(ch chan error) {
				for {
					if _, _, err := slow.Read(context.Background()); err != nil {
						ch <- err
						return
					}
				}
			}(slowEnd)
			endCh := slowEnd
			slowEnd = nil
			defer func() {
				if code := websocket.CloseStatus(<-endCh); code != websocket.StatusTryAgainLater {
					t.Errorf("slow client closed with %v, want %v", code, websocket.StatusTryAgainLater)
				}
			}()
		}
	}
	if slowEnd != nil {
		t.Fatalf("the slow client was not dropped after %d messages: %+v", total, h.Stats())
	}
	testenv.WaitFor(t, wait, func() error {
		for j, c := range fast {
			if n := c.received(); n < total {
				return fmt.Errorf("client %d has %d messages of %d", j, n, total)
			}
		}
		return nil
	})
	for j, c := range fast {
		if got := ids(c.messages("admin")); !slices.Equal(got, sent) {
			t.Fatalf("client %d got %d ids, want the %d sent in order", j, len(got), len(sent))
		}
	}
	if st := h.Stats(); st.SlowConsumers != 1 {
		t.Fatalf("stats %+v: want exactly one slow consumer", st)
	}
	t.Logf("%d messages to %d clients; stats %+v", total, others, h.Stats())
}

// A client that does not answer pings is closed.
func TestPingTimeout(t *testing.T) {
	s := newServer(t, nil, func(c *realtime.Config) {
		c.PingInterval = 100 * time.Millisecond
		c.PingTimeout = 100 * time.Millisecond
	})
	ws, _, err := websocket.Dial(t.Context(), s.url, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token(t, "acme", "42")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	// It never reads, so it never sees a ping.
	testenv.WaitFor(t, wait, func() error {
		if st := s.hub.Stats(); st.Unresponsive != 1 || st.Connections != 0 {
			return fmt.Errorf("stats %+v", st)
		}
		return nil
	})
}

// A client that answers pings stays.
func TestPingAnswered(t *testing.T) {
	s := newServer(t, nil, func(c *realtime.Config) {
		c.PingInterval = 20 * time.Millisecond
		c.PingTimeout = 5 * time.Second
	})
	var pings atomic.Int64
	c := dialOpts(t, s, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token(t, "acme", "42")}},
		OnPingReceived: func(context.Context, []byte) bool {
			pings.Add(1)
			return true
		},
	})
	c.join("user:42", "")
	testenv.WaitUntil(t, wait, "ten pings", func() bool { return pings.Load() >= 10 })
	broadcast(t, s, "acme", "user:42", "still", nil)
	c.waitMessages("user:42", 1)
	if st := s.hub.Stats(); st.Unresponsive != 0 || st.Connections != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// A client sending faster than ControlRate is closed with 1008, and one
// sending a message above MaxMessageBytes with 1009.
func TestClientLimits(t *testing.T) {
	s := newServer(t, nil, func(c *realtime.Config) {
		c.ControlRate = 1
		c.ControlBurst = 5
		c.MaxMessageBytes = 256
	})
	for _, tc := range []struct {
		name string
		msgs []string
		want websocket.StatusCode
		stat func(realtime.Stats) uint64
	}{
		{"flood", slices.Repeat([]string{`{"op":"leave","room":"x"}`}, 50), websocket.StatusPolicyViolation, func(s realtime.Stats) uint64 { return s.RateLimited }},
		{"too big", []string{`{"op":"join","room":"` + strings.Repeat("x", 300) + `"}`}, websocket.StatusMessageTooBig, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, s, token(t, "acme", "42"))
			for _, m := range tc.msgs {
				if err := c.ws.Write(t.Context(), websocket.MessageText, []byte(m)); err != nil {
					break // closed by the hub meanwhile
				}
			}
			if code := c.closed(); code != tc.want {
				t.Fatalf("closed with %v, want %v", code, tc.want)
			}
			if tc.stat != nil && tc.stat(s.hub.Stats()) != 1 {
				t.Fatalf("stats %+v", s.hub.Stats())
			}
		})
	}
}
