// Command notifications runs the e-commerce platform's notification service
// (package services/notification) and the real-time hub (package realtime)
// with the shop's web pages (package web), on one listener (platform.Site):
//
//   - /ws is the hub's WebSocket endpoint, on a realtime.RedisBus;
//   - /admin, /order and /static/ are the pages (the administrators'
//     dashboard, a customer's order page), which connect to /ws;
//   - every other path is the service's HTTP API behind the tenant
//     middleware.
//
// A delivery worker sends each notification by mail through the SMTP server
// at -smtp and to the hub's rooms (notification.HubRooms): a user's to
// "user:<id>", a low-stock alert to "admin". The Watcher follows the change
// feeds of the order and inventory services' keyspaces (run cmd/orders and
// cmd/inventory, which record their changes there): a user is told of each
// fulfilment status of their order (by mail too, to the address in the
// notification's data, when there is one), the administrators of each
// low-stock level, and a product whose reorder policy says so gets its
// purchase order.
//
//	export REALTIME_HMAC_KEY=$(openssl rand -hex 32)
//	go run ./examples/ecommerce/cmd/notifications -smtp 127.0.0.1:2525 -dev-links
//	curl -H 'X-Tenant-ID: acme' http://127.0.0.1:7405/users/ada/notifications
//
// The hub checks the tokens of the pages with the HMAC-SHA256 key
// REALTIME_HMAC_KEY (its bytes as they are, at least 32; required). With
// -dev-links the command logs, at start-up, the URLs of /admin for an
// administrator of -tenant and of /order for its user ada, each with a token
// signed with that key and valid for an hour (for development: anyone with
// the link is that user). Cassandra is at CASSANDRA_HOSTS (default
// 127.0.0.1:9042), Redis at REDIS_ADDR (default 127.0.0.1:6379). The tenant
// -tenant is provisioned at start-up in the service's keyspace, and watched;
// it must exist in the order and inventory keyspaces too (their commands
// provision it). It stops gracefully on SIGINT or SIGTERM.
//
// Beside its API it serves its GraphQL subgraph at /graphql (behind the tenant
// middleware; see the service package's Subgraph), the subgraph's SDL at
// /graphql/sdl, /healthz and /metrics, and it announces itself in the service
// registry (keyspace ecommerce_registry, or REGISTRY_KEYSPACE) as "notifications", so the
// gateway (cmd/gateway) finds it; it deregisters when it stops.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/platform"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/inventory"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/notification"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/order"
	"github.com/cassandraorm/cassandraorm-go/graphql"
	"github.com/cassandraorm/cassandraorm-go/realtime"
)

// keyEnv names the environment variable of the hub's HMAC key.
const keyEnv = "REALTIME_HMAC_KEY"

// minKeyLen is the shortest key the hub takes (realtime.Config.HMACKey).
const minKeyLen = 32

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log, os.Args[1:]); err != nil {
		log.Error("notifications stopped", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("notifications", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:7405", "address to serve the API, the hub (/ws) and the pages on")
	smtp := fs.String("smtp", "127.0.0.1:2525", "the SMTP server the mail goes through")
	from := fs.String("from", "shop@shop.localhost", "the mail's sender")
	keyspace := fs.String("keyspace", "ecommerce_notifications", "the service's keyspace")
	ordersKS := fs.String("orders-keyspace", "ecommerce_orders", "the order service's keyspace, whose change feed is watched")
	inventoryKS := fs.String("inventory-keyspace", "ecommerce_inventory", "the inventory service's keyspace, whose change feed is watched")
	tenantID := fs.String("tenant", "acme", "the tenant provisioned and watched")
	devLinks := fs.Bool("dev-links", false, "log links to /admin and /order with tokens of an hour (development only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	key := []byte(os.Getenv(keyEnv))
	if len(key) < minKeyLen {
		return fmt.Errorf("%s: the hub's token key is %d bytes, want at least %d (export %s=$(openssl rand -hex 32))", keyEnv, len(key), minKeyLen, keyEnv)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	st, err := platform.Open(ctx, *keyspace)
	if err != nil {
		return err
	}
	defer st.Close()
	email, err := notification.NewEmail(notification.EmailConfig{Addr: *smtp, From: *from})
	if err != nil {
		return err
	}
	rdb := redis.NewClient(&redis.Options{Addr: platform.Env("REDIS_ADDR", "127.0.0.1:6379")})
	defer rdb.Close()
	bus, err := realtime.NewRedisBus(realtime.RedisConfig{Client: rdb})
	if err != nil {
		return err
	}
	hub, err := realtime.New(realtime.Config{Bus: bus, HMACKey: key, Logger: log})
	if err != nil {
		return err
	}
	defer hub.Close()
	rooms, err := notification.NewRoomsChannel(notification.HubRooms{Hub: hub})
	if err != nil {
		return err
	}
	svc, err := notification.New(st.Tenanted, notification.Config{Channels: []notification.Channel{email, rooms}, Log: log})
	if err != nil {
		return err
	}
	if err := st.Provision(ctx, svc.Sync, *tenantID); err != nil {
		return err
	}

	// The watched tables' models, recording in their keyspaces' feeds, so that
	// the feeds deliver their changes in this process.
	ordStore, err := platform.Open(ctx, *ordersKS)
	if err != nil {
		return err
	}
	defer ordStore.Close()
	ordFeed, err := ordStore.NewFeed()
	if err != nil {
		return err
	}
	if _, err := order.OrdersModel(ordStore.Tenanted, ordFeed.Feed); err != nil {
		return err
	}
	invStore, err := platform.Open(ctx, *inventoryKS)
	if err != nil {
		return err
	}
	defer invStore.Close()
	invFeed, err := invStore.NewFeed()
	if err != nil {
		return err
	}
	inv, err := inventory.New(invStore.Tenanted, inventory.Config{Feed: invFeed.Feed})
	if err != nil {
		return err
	}
	watcher, err := notification.NewWatcher(notification.WatcherConfig{Service: svc,
		Orders: ordFeed.Subscriber(), Stock: invFeed.Subscriber(), Tenants: []string{*tenantID}, Log: log,
		Reorder: func(ctx context.Context, productID string) error {
			_, _, err := inv.Reorder(ctx, productID)
			return err
		}})
	if err != nil {
		return err
	}

	sub, err := svc.Subgraph(graphql.Config{})
	if err != nil {
		return err
	}
	api, err := st.Routes(svc.Handler(), sub, platform.NewMetrics())
	if err != nil {
		return err
	}
	var workers sync.WaitGroup
	defer workers.Wait()
	ctx, cancel := context.WithCancel(ctx) // the workers stop when Serve returns, however
	defer cancel()
	workers.Go(func() { _ = svc.Run(ctx) })
	workers.Go(func() {
		if err := watcher.Run(ctx); err != nil {
			log.Error("watcher", "err", err)
		}
	})
	log.Info("notification service", "keyspace", *keyspace, "watching", []string{*ordersKS, *inventoryKS}, "tenant", *tenantID)
	var ready func(addr string)
	if *devLinks {
		ready = func(addr string) {
			for _, l := range []struct {
				page string
				who  realtime.Claims
			}{
				{"/admin", realtime.Claims{User: "admin", Tenant: *tenantID, Roles: []string{"admin"}}},
				{"/order", realtime.Claims{User: "ada", Tenant: *tenantID}},
			} {
				tok, err := realtime.IssueToken(key, l.who, time.Hour)
				if err != nil {
					log.Error("dev link", "page", l.page, "err", err)
					continue
				}
				log.Info("dev link", "user", l.who.User, "url", "http://"+addr+l.page+"#token="+tok)
			}
		}
	}
	return platform.ServeAnnounced(ctx, *listen, platform.Site(hub.Handler(), api), log,
		platform.Announcement{Service: "notifications", GraphQL: true, Metadata: map[string]string{"ws": "/ws"}}, ready)
}
