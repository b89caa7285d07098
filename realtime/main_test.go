package realtime_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/cassandraorm/cassandraorm-go/realtime"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// The tests use Redis only; env gives its address and fails a test with the
// command that starts it when it does not answer.
var env = testenv.New("realtime_test")

func TestMain(m *testing.M) { env.Main(m) }

// key signs the tests' tokens.
var key = []byte("realtime-test-key-of-at-least-32-bytes")

// wait bounds every wait on a condition.
const wait = 20 * time.Second

// prefix returns a key prefix of the test's own, and deletes its keys when
// the test ends.
func prefix(t testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	p := "realtime-test-" + hex.EncodeToString(b[:])
	rdb := env.Redis(t)
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, p+":*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return p
}

// newBus returns a RedisBus on the shared client with a prefix of the test's.
func newBus(t testing.TB, mod func(*realtime.RedisConfig)) *realtime.RedisBus {
	t.Helper()
	cfg := realtime.RedisConfig{Client: env.Redis(t), Prefix: prefix(t), HistoryTTL: 10 * time.Minute}
	if mod != nil {
		mod(&cfg)
	}
	b, err := realtime.NewRedisBus(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// server is a hub serving on a loopback port.
type server struct {
	hub *realtime.Hub
	url string // ws://127.0.0.1:port/
}

// newServer starts a hub on bus (a new one if nil), configured by mod,
// closed when the test ends.
func newServer(t testing.TB, bus realtime.Bus, mod func(*realtime.Config)) *server {
	t.Helper()
	if bus == nil {
		bus = newBus(t, nil)
	}
	cfg := realtime.Config{Bus: bus, HMACKey: key, Logger: logger(t)}
	if mod != nil {
		mod(&cfg)
	}
	h, err := realtime.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, h, nil)
}

// serve serves h on a loopback port, on the listener wrap makes of it if
// wrap is not nil, until the test ends.
func serve(t testing.TB, h *realtime.Hub, wrap func(net.Listener) net.Listener) *server {
	srv := httptest.NewUnstartedServer(h.Handler())
	if wrap != nil {
		srv.Listener = wrap(srv.Listener)
	}
	srv.Start()
	t.Cleanup(func() {
		_ = h.Close()
		srv.Close()
	})
	return &server{hub: h, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
}

// logger returns a logger to t's log, at debug level.
func logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(logWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// logWriter writes to a test's log.
type logWriter struct{ t testing.TB }

func (w logWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// token issues a token for user of tenant with roles, valid for a minute.
func token(t testing.TB, tenantID, user string, roles ...string) string {
	t.Helper()
	tok, err := realtime.IssueToken(key, realtime.Claims{User: user, Tenant: tenantID, Roles: roles}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// client is a WebSocket client whose frames a goroutine reads.
type client struct {
	t        testing.TB
	ws       *websocket.Conn
	keepData bool
	// onMessage, if set, is called for each message frame read, which is
	// then neither decoded nor kept.
	onMessage func()

	mu     sync.Mutex
	frames []realtime.Frame
	count  int   // message frames read
	err    error // why reading ended
	done   chan struct{}
}

// dial connects to s with tok as the bearer token, and reads in the
// background until the connection ends.
func dial(t testing.TB, s *server, tok string) *client {
	t.Helper()
	return dialOpts(t, s, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
}

// dialOpts is dial with opts.
func dialOpts(t testing.TB, s *server, opts *websocket.DialOptions) *client {
	t.Helper()
	ws, resp, err := websocket.Dial(t.Context(), s.url, opts)
	if err != nil {
		t.Fatalf("dial %s: %v (response %v)", s.url, err, status(resp))
	}
	c := &client{t: t, ws: ws, keepData: true, done: make(chan struct{})}
	t.Cleanup(func() { _ = ws.CloseNow() })
	go c.read()
	return c
}

func status(resp *http.Response) string {
	if resp == nil {
		return "none"
	}
	return resp.Status
}

func (c *client) read() {
	defer close(c.done)
	for {
		_, b, err := c.ws.Read(context.Background())
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
		if c.onMessage != nil && bytes.HasPrefix(b, []byte(`{"op":"message"`)) {
			c.onMessage() // counted only: the benchmark measures the hub, not JSON decoding
			continue
		}
		var f realtime.Frame
		if err := json.Unmarshal(b, &f); err != nil {
			c.mu.Lock()
			c.err = fmt.Errorf("frame %q: %w", b, err)
			c.mu.Unlock()
			return
		}
		if !c.keepData {
			f.Data = nil
		}
		c.mu.Lock()
		c.frames = append(c.frames, f)
		if f.Op == realtime.OpMessage {
			c.count++
		}
		c.mu.Unlock()
	}
}

// send writes f.
func (c *client) send(f realtime.Frame) {
	c.t.Helper()
	b, _ := json.Marshal(f)
	if err := c.ws.Write(c.t.Context(), websocket.MessageText, b); err != nil {
		c.t.Fatalf("send %s: %v", b, err)
	}
}

// join joins room (after since, if not empty) and waits for the hub's
// answer, which it returns: OpJoined, OpGap or OpError.
func (c *client) join(room, since string) realtime.Frame {
	c.t.Helper()
	n := len(c.snapshot())
	c.send(realtime.Frame{Op: realtime.OpJoin, Room: room, Since: since})
	return c.next(n, func(f realtime.Frame) bool {
		return f.Room == room && (f.Op == realtime.OpJoined || f.Op == realtime.OpGap || f.Op == realtime.OpError)
	})
}

// next waits for a frame after the first n that matches ok, and returns it.
func (c *client) next(n int, ok func(realtime.Frame) bool) realtime.Frame {
	c.t.Helper()
	var got realtime.Frame
	testenv.WaitFor(c.t, wait, func() error {
		fs := c.snapshot()
		for _, f := range fs[min(n, len(fs)):] {
			if ok(f) {
				got = f
				return nil
			}
		}
		return fmt.Errorf("no such frame among %d; read error: %v", len(fs)-n, c.readErr())
	})
	return got
}

// snapshot returns the frames read so far.
func (c *client) snapshot() []realtime.Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]realtime.Frame(nil), c.frames...)
}

// messages returns the message frames of room read so far.
func (c *client) messages(room string) []realtime.Frame {
	var out []realtime.Frame
	for _, f := range c.snapshot() {
		if f.Op == realtime.OpMessage && f.Room == room {
			out = append(out, f)
		}
	}
	return out
}

// received returns how many message frames were read.
func (c *client) received() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count
}

func (c *client) readErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// closed waits for the connection to end and returns its close status.
func (c *client) closed() websocket.StatusCode {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(wait):
		c.t.Fatalf("connection still open after %v", wait)
	}
	return websocket.CloseStatus(c.readErr())
}

// waitMessages waits until c has n messages of room, and returns them.
func (c *client) waitMessages(room string, n int) []realtime.Frame {
	c.t.Helper()
	testenv.WaitFor(c.t, wait, func() error {
		if got := len(c.messages(room)); got < n {
			return fmt.Errorf("%d messages of %s, want %d; read error: %v", got, room, n, c.readErr())
		}
		return nil
	})
	return c.messages(room)
}

// broadcast sends a message through s to room of tenantID, failing the test
// on error.
func broadcast(tb testing.TB, s *server, tenantID, room, typ string, data any) realtime.ID {
	tb.Helper()
	id, err := s.hub.Broadcast(tenant.With(tb.Context(), tenantID), room, typ, data)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// ids returns the ids of frames.
func ids(fs []realtime.Frame) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.ID
	}
	return out
}

// namedRedis returns a new Redis client to the test server whose
// connections are named name (so a test can find them in CLIENT LIST).
func namedRedis(t testing.TB, name string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: env.Redis(t).Options().Addr, ClientName: name})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}
