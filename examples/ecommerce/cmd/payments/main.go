// Command payments runs the e-commerce platform's payment service (package
// services/payment) as a server: its HTTP API behind the tenant middleware, on the
// tenant registry of keyspace ecommerce_payments (created if missing), charging
// through the card network at -cardnet (run cmd/cardnet for the simulator):
//
//	go run ./examples/ecommerce/cmd/cardnet &
//	go run ./examples/ecommerce/cmd/payments
//	curl -H 'X-Tenant-ID: acme' -d '{"order_id":"o-1","amount_cents":1999,"currency":"EUR","card":"4242424242424242"}' \
//	     http://127.0.0.1:7402/payments/o-1%2Fprocess_payment/charge
//
// Cassandra is at CASSANDRA_HOSTS (comma separated, default 127.0.0.1:9042). The
// tenant "acme" is provisioned at start-up (in the shared tables); others are
// provisioned with `cassandraorm tenant`. The tenant of a request comes from its
// X-Tenant-ID header or its host (<tenant>.shop.localhost). It logs with log/slog
// and stops gracefully on SIGINT or SIGTERM, finishing the requests in flight (for
// up to 30 seconds).
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
	"syscall"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/payment"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant/registry"
	"github.com/cassandraorm/cassandraorm-go/tenant/tenanthttp"
)

const (
	keyspace       = "ecommerce_payments"
	tenantKeyspace = "ecommerce_payments_t_" // a keyspace tenant's keyspace is this + its id
	baseDomain     = "shop.localhost"
	defaultTenant  = "acme"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log, os.Args[1:]); err != nil {
		log.Error("payments stopped", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("payments", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:7402", "address to serve the API on")
	cardnetURL := fs.String("cardnet", "http://127.0.0.1:7401", "base URL of the card network")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	hosts := strings.Split(envOr("CASSANDRA_HOSTS", "127.0.0.1:9042"), ",")
	db, err := orm.Open(ctx, orm.Config{Hosts: hosts, Keyspace: keyspace})
	if err != nil {
		return fmt.Errorf("cassandra at %v: %w", hosts, err)
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
	svc, err := payment.New(reg.DB(), payment.Config{CardNetURL: *cardnetURL, Log: log})
	if err != nil {
		return err
	}
	// The shared tables; each keyspace tenant gets its own when it is provisioned.
	schema := registry.Schema{Migrate: svc.Sync}
	if err := schema.Migrate(ctx); err != nil {
		return err
	}
	if _, err := reg.Provision(ctx, registry.Spec{ID: defaultTenant, Name: "Acme Corp"}, schema); err != nil {
		return err
	}

	mw, err := tenanthttp.Middleware(tenanthttp.Config{Resolver: reg, BaseDomain: baseDomain})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mw(svc.Handler()), ReadHeaderTimeout: 10 * time.Second}
	log.Info("payment service listening", "addr", ln.Addr().String(), "cardnet", *cardnetURL, "keyspace", keyspace, "tenant", defaultTenant)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
