// Command inventory serves the e-commerce platform's inventory service: the HTTP
// API of package inventory (stock, checks, reservations, commits and releases)
// behind the tenant middleware, on the tenants of the tenant registry, with the
// expiry sweeper of every active tenant running beside it.
//
// At start-up it creates its keyspace (-keyspace, "ecommerce_inventory") if it is
// missing (with SimpleStrategy(1): development), the registry's tables and the
// service's shared tables, and provisions the default tenant (-tenant, "acme") if it
// does not exist. Requests name their tenant with the X-Tenant-ID header:
//
//	go run ./examples/ecommerce/cmd/inventory -listen 127.0.0.1:7403
//	curl -X PUT -H 'X-Tenant-ID: acme' -d '{"on_hand":10}' localhost:7403/stock/sku-1
//	curl -X PUT -H 'X-Tenant-ID: acme' -d '{"items":[{"product_id":"sku-1","quantity":2}]}' localhost:7403/reservations/saga-1%2Freserve_inventory
//
// CASSANDRA_HOSTS (comma separated, default 127.0.0.1:9042) names the cluster. A
// request may also name its tenant by its host (<tenant>.shop.localhost). It logs
// with log/slog and stops on SIGINT or SIGTERM: the server finishes the requests in
// flight (for up to 10 seconds), and the sweepers stop.
//
// Beside its API it serves /healthz and /metrics, and it announces itself in
// the service registry (keyspace ecommerce_registry, or REGISTRY_KEYSPACE) as
// "inventory" (it has no GraphQL subgraph); it deregisters when it stops.
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/platform"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/inventory"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:7403", "address the HTTP API listens on")
	keyspace := flag.String("keyspace", "ecommerce_inventory", "the service's keyspace")
	defTenant := flag.String("tenant", "acme", "tenants provisioned at start-up (partition strategy) if they do not exist, comma separated")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *listen, *keyspace, *defTenant, log); err != nil {
		log.Error("inventory", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, listen, keyspace, defTenant string, log *slog.Logger) error {
	st, err := platform.Open(ctx, keyspace)
	if err != nil {
		return err
	}
	defer st.Close()
	// The stock records its changes in the keyspace's change feed, for the
	// notification service's Watcher (run in a process that makes the stock
	// model with the same feed, as command shop does).
	feed, err := st.NewFeed()
	if err != nil {
		return err
	}
	svc, err := inventory.New(st.Tenanted, inventory.Config{Feed: feed.Feed, OnSweep: func(s inventory.Sweep) {
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
	// The shared tables; each keyspace tenant gets its own when it is provisioned.
	if err := st.Provision(ctx, feed.SyncWith(svc.Sync), strings.Split(defTenant, ",")...); err != nil {
		return err
	}
	h, err := st.Routes(svc.Handler(), nil, platform.NewMetrics())
	if err != nil {
		return err
	}

	sctx, stopSweepers := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stopSweepers()
		wg.Wait()
	}()
	wg.Go(func() { platform.EachTenant(sctx, st.Registry, log, "expiry sweeper", svc.RunExpiry) })

	log.Info("inventory service", "keyspace", keyspace, "tenants", defTenant)
	return platform.ServeAnnounced(ctx, listen, h, log, platform.Announcement{Service: "inventory"}, nil)
}
