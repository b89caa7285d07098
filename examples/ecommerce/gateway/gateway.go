package gateway

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/platform"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/web"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/tenant/tenanthttp"
)

// Status is the gateway's view of its supergraph.
type Status struct {
	// Ready is whether the Node process serves a supergraph now.
	Ready bool `json:"ready"`
	// Version counts the supergraphs composed by the running Node process (1 for
	// the first; it starts again at a restart).
	Version int `json:"version"`
	// Subgraphs are the names of the subgraphs in the current supergraph.
	Subgraphs []string `json:"subgraphs"`
	// Errors are the last composition attempt's errors (none when it succeeded,
	// or nothing changed): the supergraph in use is then the previous one.
	Errors []CompositionError `json:"errors"`
	// Routes are the subgraphs as the gateway routes them, in Config.Services
	// order: those never seen in the registry, or forgotten, are absent.
	Routes []Subgraph `json:"routes"`
	// Restarts counts the Node process's restarts; NodePID is the running one's
	// process id (0 when none runs).
	Restarts int `json:"restarts"`
	NodePID  int `json:"node_pid"`
	// At is when the Node process last reported.
	At time.Time `json:"at"`
}

// CompositionError is one error of a composition attempt.
type CompositionError struct {
	// Subgraph is the subgraph it concerns ("" when it concerns none in
	// particular or Apollo's message names none).
	Subgraph string `json:"subgraph"`
	// Code is Apollo's code of a composition error (e.g.
	// INVALID_FIELD_SHARING); empty for the errors of fetching or parsing an SDL.
	Code string `json:"code,omitempty"`
	// Message is the composition library's, or the SDL fetch's, message.
	Message string `json:"message"`
}

// Gateway is a federated GraphQL gateway over the subgraphs the service
// registry lists. Make it with New and run it with Run or Serve; its methods are
// safe for concurrent use.
type Gateway struct {
	cfg     Config
	subs    *subgraphs
	token   string
	handler http.Handler

	node   atomic.Pointer[url.URL] // the Node process's GraphQL URL; nil when none serves
	mu     sync.Mutex
	status Status

	compositions prometheus.Counter
	restarts     prometheus.Counter
	inSuper      prometheus.Gauge
}

// New returns a Gateway, or the error of cfg.Validate. It makes no network call.
func New(cfg Config) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	g := &Gateway{
		cfg: cfg, token: hex.EncodeToString(b),
		compositions: prometheus.NewCounter(prometheus.CounterOpts{Name: "gateway_compositions_total",
			Help: "Supergraphs the gateway's Node process composed and put in use."}),
		restarts: prometheus.NewCounter(prometheus.CounterOpts{Name: "gateway_node_restarts_total",
			Help: "Restarts of the gateway's Node process."}),
		inSuper: prometheus.NewGauge(prometheus.GaugeOpts{Name: "gateway_subgraphs",
			Help: "Subgraphs in the supergraph in use."}),
	}
	for _, c := range []prometheus.Collector{g.compositions, g.restarts, g.inSuper} {
		if err := cfg.Metrics.Register(c); err != nil {
			return nil, fmt.Errorf("gateway: metrics: %w", err)
		}
	}
	g.subs = newSubgraphs(g.subsNames(), cfg.Forget)
	mw, err := tenanthttp.Middleware(cfg.tenantConfig())
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	g.handler = g.routes(mw)
	return g, nil
}

// Status returns the gateway's current status.
func (g *Gateway) Status() Status {
	g.mu.Lock()
	st := g.status
	st.Subgraphs = slices.Clone(st.Subgraphs)
	st.Errors = slices.Clone(st.Errors)
	g.mu.Unlock()
	st.Ready = g.node.Load() != nil
	st.Routes = g.subs.list(g.cfg.Services)
	return st
}

// Run listens on Config.Addr and calls Serve.
func (g *Gateway) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", g.cfg.Addr)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	return g.Serve(ctx, ln)
}

// Serve serves the gateway on ln until ctx ends: it watches the registry, starts
// and supervises the Node process, and serves /graphql (the supergraph; the
// caller's tenant from the host under platform.BaseDomain or X-Tenant-ID,
// forwarded to the subgraphs as X-Tenant-ID), /ws (proxied to the hub), the web
// pages (/admin, /order, /static/), /healthz, /status and /metrics. It returns
// after the Node process has stopped, with the error that stopped it (nil when
// ctx ended).
func (g *Gateway) Serve(ctx context.Context, ln net.Listener) error {
	defer ln.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	script, modules, err := g.install(ctx)
	if err != nil {
		return err
	}
	ctl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("gateway: control endpoint: %w", err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	ctlSrv := &http.Server{Handler: g.control(), ReadHeaderTimeout: 5 * time.Second}
	srv := &http.Server{Handler: g.Handler(), ReadHeaderTimeout: 10 * time.Second}
	serveErrs := make(chan error, 2)
	for _, s := range []struct {
		srv *http.Server
		ln  net.Listener
	}{{ctlSrv, ctl}, {srv, ln}} {
		wg.Go(func() {
			if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
				serveErrs <- fmt.Errorf("gateway: serving %s: %w", s.ln.Addr(), err)
				cancel()
			}
		})
	}
	for _, name := range g.subsNames() {
		wg.Go(func() {
			g.subs.watch(ctx, g.cfg.Registry, name, func(err error) { g.cfg.Log.Warn("gateway: registry", "err", err) })
		})
	}
	wg.Go(func() { g.forget(ctx) })
	g.cfg.Log.Info("gateway: listening", "addr", ln.Addr().String(), "subgraphs", g.cfg.Services)
	g.supervise(ctx, script, modules, "http://"+ctl.Addr().String())
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	err = errors.Join(srv.Shutdown(sctx), ctlSrv.Shutdown(sctx))
	for {
		select {
		case serr := <-serveErrs:
			err = errors.Join(serr, err)
		default:
			return err
		}
	}
}

// subsNames are the services watched: the subgraphs and the hub.
func (g *Gateway) subsNames() []string {
	names := slices.Clone(g.cfg.Services)
	if !slices.Contains(names, g.cfg.Hub) {
		names = append(names, g.cfg.Hub)
	}
	return names
}

// forget drops, every Poll, the subgraphs without a healthy instance for Forget.
func (g *Gateway) forget(ctx context.Context) {
	t := time.NewTicker(g.cfg.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, name := range g.subs.expire(now) {
				g.cfg.Log.Warn("gateway: subgraph forgotten: no healthy instance for Config.Forget", "subgraph", name, "forget", g.cfg.Forget)
			}
		}
	}
}

// Handler returns the gateway's public handler, the one Serve serves. Its
// /graphql answers 503 until Serve has a Node process serving a supergraph.
func (g *Gateway) Handler() http.Handler { return g.handler }

// routes builds the public handler, mw the tenant middleware.
func (g *Gateway) routes(mw func(http.Handler) http.Handler) http.Handler {
	pages := web.Handler()
	mux := http.NewServeMux()
	mux.Handle("/graphql", mw(http.HandlerFunc(g.graphql)))
	mux.HandleFunc("/ws", g.ws)
	for _, p := range []string{"/admin", "/order", "/static/"} {
		mux.Handle(p, pages)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if g.node.Load() == nil {
			http.Error(w, "no supergraph served yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, g.Status()) })
	return platform.WithMetrics(mux, g.cfg.Metrics)
}

// graphql proxies a request, its tenant in its context, to the Node process.
func (g *Gateway) graphql(w http.ResponseWriter, r *http.Request) {
	target := g.node.Load()
	if target == nil {
		st := g.Status()
		msg := "gateway: no supergraph yet"
		if len(st.Errors) > 0 {
			msg += ": " + st.Errors[0].Message
		}
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, gqlErrors(msg, "GATEWAY_NOT_READY"))
		return
	}
	id, err := tenant.From(r.Context())
	if err != nil { // the middleware put it there
		writeJSON(w, http.StatusBadRequest, gqlErrors(err.Error(), tenanthttp.CodeMissing))
		return
	}
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.Path = target.Path
			pr.Out.Header.Set("X-Tenant-ID", id)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			writeJSON(w, http.StatusBadGateway, gqlErrors("gateway: the Node process did not answer: "+err.Error(), "GATEWAY_UNAVAILABLE"))
		},
	}
	p.ServeHTTP(w, r)
}

// ws proxies a WebSocket upgrade to the hub's instance.
func (g *Gateway) ws(w http.ResponseWriter, r *http.Request) {
	u, ok := g.subs.url(g.cfg.Hub, "ws", "/ws")
	if !ok {
		http.Error(w, fmt.Sprintf("gateway: service %s (the real-time hub) has no healthy instance in the registry", g.cfg.Hub), http.StatusServiceUnavailable)
		return
	}
	target, err := url.Parse(u)
	if err != nil {
		http.Error(w, "gateway: hub URL: "+err.Error(), http.StatusBadGateway)
		return
	}
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.Path, pr.Out.URL.RawPath = target.Path, target.RawPath
			pr.Out.Host = r.Host // the hub checks the origin against the host the page was served from
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, fmt.Sprintf("gateway: service %s at %s: %v", g.cfg.Hub, u, err), http.StatusBadGateway)
		},
	}
	p.ServeHTTP(w, r)
}

// control is the loopback endpoint of the Node process: GET /subgraphs, POST
// /status and POST /ready, each with the token of this Gateway.
func (g *Gateway) control() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /subgraphs", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"subgraphs": g.subs.list(g.cfg.Services)})
	})
	mux.HandleFunc("POST /status", func(w http.ResponseWriter, r *http.Request) {
		var rep struct {
			Version   int                `json:"version"`
			Subgraphs []string           `json:"subgraphs"`
			Errors    []CompositionError `json:"errors"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&rep); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		g.mu.Lock()
		if rep.Version > g.status.Version {
			g.compositions.Add(float64(rep.Version - g.status.Version))
			g.cfg.Log.Info("gateway: supergraph composed", "version", rep.Version, "subgraphs", rep.Subgraphs)
		}
		if !slices.Equal(rep.Errors, g.status.Errors) { // a failure repeats at every poll: log it once
			for _, e := range rep.Errors {
				g.cfg.Log.Warn("gateway: composition", "subgraph", e.Subgraph, "code", e.Code, "err", e.Message)
			}
		}
		g.status.Version, g.status.Subgraphs, g.status.Errors, g.status.At = rep.Version, rep.Subgraphs, rep.Errors, time.Now()
		g.inSuper.Set(float64(len(rep.Subgraphs)))
		g.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /ready", func(w http.ResponseWriter, r *http.Request) {
		var rep struct {
			URL string `json:"url"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&rep); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		u, err := url.Parse(rep.URL)
		if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" {
			http.Error(w, fmt.Sprintf("ready: %q is not a loopback http URL", rep.URL), http.StatusBadRequest)
			return
		}
		g.node.Store(u)
		g.cfg.Log.Info("gateway: Node process serving", "url", u.String())
		w.WriteHeader(http.StatusNoContent)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-Gateway-Token")), []byte(g.token)) != 1 {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// gqlErrors is a GraphQL response body of one error.
func gqlErrors(msg, code string) map[string]any {
	return map[string]any{"errors": []map[string]any{{"message": msg, "extensions": map[string]any{"code": code}}}}
}

// writeTenantError answers a request the tenant middleware refused, as GraphQL
// errors with the middleware's code.
func writeTenantError(w http.ResponseWriter, _ *http.Request, status int, err error) {
	msg, code := http.StatusText(status), ""
	if e, ok := errors.AsType[*tenanthttp.Error](err); ok {
		msg, code = "gateway: "+e.Message, e.Code
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, gqlErrors(msg, code))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
