package web_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/browser"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/web"
	"github.com/cassandraorm/cassandraorm-go/realtime"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// The tests use Redis (the hub's bus) and Chromium; env fails a test with
// the command that starts Redis when it does not answer.
var env = testenv.New("web_test")

func TestMain(m *testing.M) { env.Main(m) }

// key signs the tests' tokens.
var key = []byte("web-test-key-of-at-least-thirty-two-bytes")

// unique returns prefix followed by a random suffix: a name (a tenant, a
// key prefix) of this run only.
func unique(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// site is a hub on Redis and the web handler on one loopback server: the
// hub at /ws, the pages at /admin and /order.
type site struct {
	t   *testing.T
	hub *realtime.Hub
	srv *httptest.Server
	mux *http.ServeMux // a test may add routes
	URL string         // http://127.0.0.1:port
	ws  *gate          // the hub's endpoint, /ws
}

// newSite starts a site whose hub is configured by mod (if not nil), with
// a Redis key prefix of the test's own, closed and cleaned when the test
// ends.
func newSite(t *testing.T, mod func(*realtime.Config), busMod func(*realtime.RedisConfig)) *site {
	t.Helper()
	rdb := env.Redis(t)
	prefix := unique("web-test-")
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+":*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	bcfg := realtime.RedisConfig{Client: rdb, Prefix: prefix, HistoryTTL: 10 * time.Minute}
	if busMod != nil {
		busMod(&bcfg)
	}
	bus, err := realtime.NewRedisBus(bcfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := realtime.Config{Bus: bus, HMACKey: key, Logger: slog.New(slog.NewTextHandler(logWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if mod != nil {
		mod(&cfg)
	}
	hub, err := realtime.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{h: hub.Handler(), conns: make(map[net.Conn]struct{})}
	mux := http.NewServeMux()
	mux.Handle("/ws", g)
	mux.Handle("/", web.Handler())
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ConnState = g.connState
	srv.Start()
	t.Cleanup(func() {
		_ = hub.Close()
		srv.Close()
	})
	return &site{t: t, hub: hub, srv: srv, mux: mux, URL: srv.URL, ws: g}
}

// gate is the hub's endpoint, which a test can shut: it then refuses new
// connections with 503 and can drop the open ones.
type gate struct {
	h http.Handler

	mu    sync.Mutex
	shut  bool
	conns map[net.Conn]struct{} // the hijacked (WebSocket) connections
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	shut := g.shut
	g.mu.Unlock()
	if shut {
		http.Error(w, "shut by the test", http.StatusServiceUnavailable)
		return
	}
	g.h.ServeHTTP(w, r)
}

// connState keeps the connections the hub took over.
func (g *gate) connState(c net.Conn, s http.ConnState) {
	if s == http.StateHijacked {
		g.mu.Lock()
		g.conns[c] = struct{}{}
		g.mu.Unlock()
	}
}

// close refuses new connections and drops the open WebSocket connections
// of the server (of every path), without a close handshake (the browser sees 1006, as when a network goes away).
func (g *gate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.shut = true
	for c := range g.conns {
		_ = c.Close()
	}
	clear(g.conns)
}

// open lets connections in again.
func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.shut = false
}

// token issues a token for user of tenantID with roles, valid for ten
// minutes.
func token(t *testing.T, tenantID, user string, roles ...string) string {
	t.Helper()
	tok, err := realtime.IssueToken(key, realtime.Claims{User: user, Tenant: tenantID, Roles: roles}, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// broadcast sends a message to room of tenantID and returns its id.
func (s *site) broadcast(tenantID, room, typ string, data any) string {
	s.t.Helper()
	id, err := s.hub.Broadcast(tenant.With(s.t.Context(), tenantID), room, typ, data)
	if err != nil {
		s.t.Fatal(err)
	}
	return id.String()
}

// open opens the page path (/admin or /order) of s in a new tab of b with
// tok in the fragment (none if empty) and query (may be empty) as its
// query string.
func (s *site) open(b *browser.Browser, name, path, query, tok string) *browser.Page {
	s.t.Helper()
	p := b.NewPage()
	p.SetName(name)
	u := s.URL + path
	if query != "" {
		u += "?" + query
	}
	if tok != "" {
		u += "#token=" + tok
	}
	p.Navigate(u)
	return p
}

// noViolations fails the test if p's console reports a CSP violation or an
// uncaught exception.
func noViolations(t *testing.T, p *browser.Page) {
	t.Helper()
	for _, m := range p.Console() {
		if strings.Contains(m, "Content Security Policy") || strings.Contains(strings.ToLower(m), "uncaught") {
			t.Errorf("%s console: %s", p.Name(), m)
		}
	}
}

// logWriter writes to a test's log.
type logWriter struct{ t testing.TB }

func (w logWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}
