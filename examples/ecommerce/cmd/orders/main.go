// Command orders runs the e-commerce platform's order service: its HTTP API
// (POST /orders, GET /orders/{id}, tenant in X-Tenant-ID) and a worker of the
// order_processing saga, which calls the inventory and payment services; POST
// /orders/{id}/status advances a confirmed order to processing, shipped,
// delivered. Run several: they share the sagas, and one that dies has its sagas
// resumed by the others within the lease time.
//
//	go run ./examples/ecommerce/cmd/orders -inventory http://127.0.0.1:7403 -payments http://127.0.0.1:7402
//
// Beside its API it serves its GraphQL subgraph at /graphql (behind the tenant
// middleware; see the service package's Subgraph), the subgraph's SDL at
// /graphql/sdl, /healthz and /metrics, and it announces itself in the service
// registry (keyspace ecommerce_registry, or REGISTRY_KEYSPACE) as "orders", so the
// gateway (cmd/gateway) finds it; it deregisters when it stops.
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/platform"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/order"
	"github.com/cassandraorm/cassandraorm-go/graphql"
	"github.com/cassandraorm/cassandraorm-go/saga"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:7404", "address of the HTTP API")
	inventory := flag.String("inventory", "http://127.0.0.1:7403", "base URL of the inventory service")
	payments := flag.String("payments", "http://127.0.0.1:7402", "base URL of the payment service")
	keyspace := flag.String("keyspace", "ecommerce_orders", "the service's keyspace")
	tenantID := flag.String("tenant", "acme", "tenants to provision at start-up, comma separated")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, *listen, *inventory, *payments, *keyspace, *tenantID); err != nil {
		log.Error("orders", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, listen, inventory, payments, keyspace, tenantID string) error {
	st, err := platform.Open(ctx, keyspace)
	if err != nil {
		return err
	}
	defer st.Close()
	// The orders record their changes in the keyspace's change feed, for the
	// notification service's Watcher (run in a process that makes the orders
	// model with the same feed, as command shop does).
	feed, err := st.NewFeed()
	if err != nil {
		return err
	}
	svc, err := order.New(st.Tenanted, order.Config{InventoryURL: inventory, PaymentURL: payments, Saga: saga.Config{Log: log}, Feed: feed.Feed})
	if err != nil {
		return err
	}
	if err := st.Provision(ctx, feed.SyncWith(svc.Sync), strings.Split(tenantID, ",")...); err != nil {
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
	go func() {
		if err := svc.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("saga worker", "err", err)
		}
	}()
	return platform.ServeAnnounced(ctx, listen, h, log, platform.Announcement{Service: "orders", GraphQL: true}, nil)
}
