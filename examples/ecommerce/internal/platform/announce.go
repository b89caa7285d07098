package platform

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cassandraorm/cassandraorm-go/graphql"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/registry"
)

// The paths every service program serves beside its API, and the metadata it
// announces them under in the service registry (the gateway reads "graphql"
// and "sdl"; see package gateway).
const (
	GraphQLPath = "/graphql"
	SDLPath     = "/graphql/sdl"
	HealthPath  = "/healthz"
)

// RegistryKeyspace is the default keyspace of the platform's service
// registry (REGISTRY_KEYSPACE overrides it).
const RegistryKeyspace = "ecommerce_registry"

// Routes is the handler of a service program: api (the service's HTTP API) and
// sub (its GraphQL subgraph, at GraphQLPath) behind the tenant middleware, and
// outside it, with no tenant, GET SDLPath (the subgraph's SDL, the same for
// every tenant, which the gateway composes), GET HealthPath and GET /metrics
// (metrics' collectors). sub may be nil for a service without a subgraph.
func (s *Store) Routes(api http.Handler, sub *graphql.Schema, metrics *prometheus.Registry) (http.Handler, error) {
	tenanted := api
	if sub != nil {
		mux := http.NewServeMux()
		mux.Handle(GraphQLPath, sub)
		mux.Handle("/", api)
		tenanted = mux
	}
	h, err := s.Handler(tenanted)
	if err != nil {
		return nil, err
	}
	outer := http.NewServeMux()
	if sub != nil {
		sdl := sub.SDL()
		outer.HandleFunc("GET "+SDLPath, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte(sdl))
		})
	}
	outer.HandleFunc("GET "+HealthPath, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	outer.Handle("/", h)
	return WithMetrics(outer, metrics), nil
}

// Announcement is how a service program announces itself in the service
// registry (package registry) once it listens.
type Announcement struct {
	// Service is the registry service name ("users", "products", ...).
	// Required.
	Service string
	// GraphQL says the program serves a subgraph at GraphQLPath and its SDL at
	// SDLPath (metadata "graphql" and "sdl").
	GraphQL bool
	// Metadata are further routing facts (the hub's "ws" path, say).
	Metadata map[string]string
	// Keyspace is the registry's keyspace (default REGISTRY_KEYSPACE, else
	// RegistryKeyspace), created if it is missing.
	Keyspace string
	// TTL is the registration's TTL (default registry.DefaultTTL): a program
	// that dies leaves the registry within it.
	TTL time.Duration
}

// ServeAnnounced serves h on addr as Serve does and, once it listens,
// registers the program in the service registry under a.Service: its URL
// (http:// and the address it listens on, 127.0.0.1 for an unspecified host),
// its health check (HealthPath, which Routes serves), the version it was
// built from (the module version or VCS revision, when the binary records
// one) and a.Metadata. A lapse
// of the registration (heartbeats not written for a TTL) is logged; the
// heartbeats go on and list it again once one is written. When ctx
// ends it deregisters first, so the gateway stops sending requests, then
// shuts the server down. ready, if set, gets the address it listens on once
// the registration is written.
func ServeAnnounced(ctx context.Context, addr string, h http.Handler, log *slog.Logger, a Announcement, ready func(addr string)) error {
	if a.Service == "" {
		return fmt.Errorf("platform: ServeAnnounced: Announcement.Service is empty")
	}
	if a.Keyspace == "" {
		a.Keyspace = Env("REGISTRY_KEYSPACE", RegistryKeyspace)
	}
	hosts := strings.Split(Env("CASSANDRA_HOSTS", "127.0.0.1:9042"), ",")
	db, err := orm.Open(ctx, orm.Config{Hosts: hosts, Keyspace: a.Keyspace})
	if err != nil {
		return fmt.Errorf("service registry %s: %w (start the servers with: make up)", a.Keyspace, err)
	}
	defer db.Close()
	if err := db.CreateKeyspace(ctx, a.Keyspace, orm.SimpleStrategy(1)); err != nil {
		return fmt.Errorf("service registry %s: %w", a.Keyspace, err)
	}
	reg, err := registry.New(db, registry.Config{TTL: a.TTL})
	if err != nil {
		return err
	}
	if err := reg.Sync(ctx); err != nil {
		return fmt.Errorf("service registry %s: %w", a.Keyspace, err)
	}
	sctx, stopServer := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServer()
	// Serve calls listening before it serves: the registration, whose first
	// health check asks this server, is written from another goroutine.
	type outcome struct {
		r   *registry.Registration
		err error
	}
	registered := make(chan outcome, 1)
	started := make(chan struct{})
	listening := func(bound string) {
		close(started)
		go func() {
			url := "http://" + reachable(bound)
			md := map[string]string{}
			for k, v := range a.Metadata {
				md[k] = v
			}
			if a.GraphQL {
				md["graphql"], md["sdl"] = GraphQLPath, SDLPath
			}
			host, _ := os.Hostname()
			r, err := reg.Register(ctx, registry.Instance{Name: a.Service, ID: instanceID(a.Service, host, bound),
				URL: url, HealthURL: url + HealthPath, Version: buildVersion(), Metadata: md})
			if err != nil {
				registered <- outcome{err: fmt.Errorf("register %s in the service registry %s: %w", a.Service, a.Keyspace, err)}
				return
			}
			log.Info("registered", "service", a.Service, "url", url, "registry", a.Keyspace)
			if ready != nil {
				ready(bound)
			}
			registered <- outcome{r: r}
		}()
	}
	served := make(chan error, 1)
	go func() { served <- Serve(sctx, addr, h, log, listening) }()
	var o outcome
	select {
	case err := <-served: // it could not listen, or the server failed
		select {
		case <-started: // give back the registration being written
			if o := <-registered; o.r != nil {
				_ = o.r.Close()
			}
		default:
		}
		return err
	case o = <-registered:
	}
	if o.err != nil {
		stopServer()
		<-served
		return o.err
	}
	for ctx.Err() == nil {
		select {
		case err := <-served:
			_ = o.r.Close()
			return err
		case lapse := <-o.r.Lapses():
			// Heartbeats go on: the next one that is written lists the
			// instance again.
			log.Warn("registration lapsed: the gateway no longer finds this instance", "service", a.Service, "err", lapse)
		case <-ctx.Done():
		}
	}
	if err := o.r.Close(); err != nil {
		log.Warn("deregister", "service", a.Service, "err", err)
	}
	stopServer()
	return <-served
}

// reachable turns a listener's address into one a client can dial: an
// unspecified host (":7406", "0.0.0.0:7406", "[::]:7406") becomes 127.0.0.1.
func reachable(bound string) string {
	host, port, err := net.SplitHostPort(bound)
	if err != nil {
		return bound
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// instanceID names the instance by service, host and port, in the registry's
// alphabet (letters, digits, '.', '_', '-').
func instanceID(service, host, bound string) string {
	_, port, _ := net.SplitHostPort(bound)
	id := service + "-" + host + "-" + port
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '-'
	}, id)
}

// buildVersion is the version the program was built from, for the registry:
// the main module's version, or its VCS revision (with "+dirty" for a
// modified tree), or "" when the binary does not say.
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, st := range info.Settings {
		switch st.Key {
		case "vcs.revision":
			rev = st.Value
		case "vcs.modified":
			if st.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return ""
	}
	return rev + dirty
}
