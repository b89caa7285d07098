// Command inventory serves the e-commerce platform's inventory service: the HTTP
// API of package inventory (stock, checks, reservations, commits and releases)
// behind the tenant middleware, on the tenants of the tenant registry, with the
// expiry sweeper of every active tenant running beside it.
//
// At start-up it creates the keyspace ecommerce_inventory if it is missing (with
// SimpleStrategy(1): development), the registry's tables and the service's shared
// tables, and provisions the default tenant (-tenant, "acme") if it does not exist.
// Requests name their tenant with the X-Tenant-ID header:
//
//	go run ./examples/ecommerce/cmd/inventory -listen 127.0.0.1:7403
//	curl -X PUT -H 'X-Tenant-ID: acme' -d '{"on_hand":10}' localhost:7403/stock/sku-1
//	curl -X PUT -H 'X-Tenant-ID: acme' -d '{"items":[{"product_id":"sku-1","quantity":2}]}' localhost:7403/reservations/saga-1%2Freserve_inventory
//
// CASSANDRA_HOSTS (comma separated, default 127.0.0.1:9042) names the cluster. It
// stops on SIGINT or SIGTERM: the server finishes the requests in flight (for up
// to 10 seconds), and the sweepers stop.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/inventory"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/tenant/registry"
	"github.com/cassandraorm/cassandraorm-go/tenant/tenanthttp"
)

const (
	keyspace       = "ecommerce_inventory"
	tenantKeyspace = "ecommerce_inventory_t_" // a keyspace tenant's own keyspace starts so
	// tenantScan is how often the sweepers are matched to the registry's active
	// tenants: a tenant provisioned meanwhile gets its sweeper within it.
	tenantScan      = 30 * time.Second
	shutdownTimeout = 10 * time.Second
)

func main() {
	listen := flag.String("listen", "127.0.0.1:7403", "address the HTTP API listens on")
	defTenant := flag.String("tenant", "acme", "tenant provisioned at start-up (partition strategy) if it does not exist")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *listen, *defTenant, log); err != nil {
		log.Error("inventory", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, listen, defTenant string, log *slog.Logger) error {
	hosts := strings.Split(envOr("CASSANDRA_HOSTS", "127.0.0.1:9042"), ",")
	db, err := orm.Open(ctx, orm.Config{Hosts: hosts, Keyspace: keyspace})
	if err != nil {
		return fmt.Errorf("connect to Cassandra at %s: %w", strings.Join(hosts, ","), err)
	}
	defer db.Close()
	if err := db.CreateKeyspace(ctx, keyspace, orm.SimpleStrategy(1)); err != nil {
		return err
	}
	reg, err := registry.New(db, registry.Config{KeyspacePrefix: tenantKeyspace})
	if err != nil {
		return err
	}
	if err := reg.Sync(ctx); err != nil {
		return err
	}
	svc, err := inventory.New(reg.DB(), inventory.Config{OnSweep: func(s inventory.Sweep) {
		switch {
		case s.Err != nil:
			log.Warn("expiry pass", "err", s.Err)
		case s.Released > 0:
			log.Info("expiry pass", "released", s.Released, "cursor", s.To)
		}
	}})
	if err != nil {
		return err
	}
	if err := svc.Sync(ctx); err != nil { // the shared tables, for the partition strategy
		return err
	}
	t, err := reg.Provision(ctx, registry.Spec{ID: defTenant, Name: defTenant}, registry.Schema{Models: svc.Models()})
	if err != nil {
		return err
	}
	log.Info("tenant", "id", t.ID, "status", t.Status, "strategy", t.Strategy)

	mw, err := tenanthttp.Middleware(tenanthttp.Config{Resolver: reg})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mw(svc.Handler()), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "keyspace", keyspace)

	sweepers := sweepers{svc: svc, reg: reg, log: log, running: map[string]bool{}}
	sctx, stopSweepers := context.WithCancel(ctx)
	defer func() {
		stopSweepers()
		sweepers.wg.Wait()
	}()
	sweepers.wg.Go(func() { sweepers.supervise(sctx) })

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// sweepers runs one RunExpiry per active tenant of the registry.
type sweepers struct {
	svc *inventory.Service
	reg *registry.Registry
	log *slog.Logger
	wg  sync.WaitGroup

	mu      sync.Mutex
	running map[string]bool
}

// supervise starts a sweeper for each active tenant without one, now and every
// tenantScan, until ctx ends. A sweeper that stops with an error (its tenant was
// suspended, say) is started again at a later scan if the tenant is active then.
func (s *sweepers) supervise(ctx context.Context) {
	tick := time.NewTicker(tenantScan)
	defer tick.Stop()
	for {
		s.scan(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (s *sweepers) scan(ctx context.Context) {
	tenants, err := s.reg.List(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("list tenants", "err", err)
		}
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range tenants {
		if t.Status != registry.StatusActive || s.running[t.ID] {
			continue
		}
		s.running[t.ID] = true
		s.wg.Add(1)
		go func(id string) {
			defer s.wg.Done()
			err := s.svc.RunExpiry(tenant.With(ctx, id))
			if ctx.Err() == nil {
				s.log.Warn("expiry sweeper stopped", "tenant", id, "err", err)
			}
			s.mu.Lock()
			delete(s.running, id)
			s.mu.Unlock()
		}(t.ID)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
