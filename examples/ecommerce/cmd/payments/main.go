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
// up to 10 seconds).
//
// Beside its API it serves its GraphQL subgraph at /graphql (behind the tenant
// middleware; see the service package's Subgraph), the subgraph's SDL at
// /graphql/sdl, /healthz and /metrics, and it announces itself in the service
// registry (keyspace ecommerce_registry, or REGISTRY_KEYSPACE) as "payments", so the
// gateway (cmd/gateway) finds it; it deregisters when it stops.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/platform"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/payment"
	"github.com/cassandraorm/cassandraorm-go/graphql"
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
	keyspace := fs.String("keyspace", "ecommerce_payments", "the service's keyspace")
	tenants := fs.String("tenant", "acme", "tenants to provision at start-up, comma separated")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	st, err := platform.Open(ctx, *keyspace)
	if err != nil {
		return err
	}
	defer st.Close()
	svc, err := payment.New(st.Tenanted, payment.Config{CardNetURL: *cardnetURL, Log: log})
	if err != nil {
		return err
	}
	// The shared tables; each keyspace tenant gets its own when it is provisioned.
	if err := st.Provision(ctx, svc.Sync, strings.Split(*tenants, ",")...); err != nil {
		return err
	}
	sub, err := svc.Subgraph(graphql.Config{})
	if err != nil {
		return err
	}
	h, err := st.Routes(svc.Handler(), sub, platform.NewMetrics())
	if err != nil {
		return err
	}
	log.Info("payment service", "cardnet", *cardnetURL, "keyspace", *keyspace, "tenants", *tenants)
	return platform.ServeAnnounced(ctx, *listen, h, log, platform.Announcement{Service: "payments", GraphQL: true}, nil)
}
