// Command notifications runs the e-commerce platform's notification service
// (package services/notification): its HTTP API behind the tenant middleware, a
// delivery worker mailing through the SMTP server at -smtp, and the Watcher,
// which follows the change feeds of the order and inventory services'
// keyspaces (run cmd/orders and cmd/inventory, which record their changes
// there): a user is mailed each fulfilment status of their order (to the
// address in the notification's data, when there is one), the administrators
// are told of each low-stock level (on no channel of this command: it runs no
// real-time hub), and a product whose reorder policy says so gets its purchase
// order.
//
//	go run ./examples/ecommerce/cmd/notifications -smtp 127.0.0.1:2525
//	curl -H 'X-Tenant-ID: acme' http://127.0.0.1:7405/users/ada/notifications
//
// Cassandra is at CASSANDRA_HOSTS (default 127.0.0.1:9042). The tenant -tenant is
// provisioned at start-up in the service's keyspace, and watched; it must exist
// in the order and inventory keyspaces too (their commands provision it). It
// stops gracefully on SIGINT or SIGTERM.
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

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/platform"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/inventory"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/notification"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/order"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log, os.Args[1:]); err != nil {
		log.Error("notifications stopped", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("notifications", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:7405", "address to serve the API on")
	smtp := fs.String("smtp", "127.0.0.1:2525", "the SMTP server the mail goes through")
	from := fs.String("from", "shop@shop.localhost", "the mail's sender")
	keyspace := fs.String("keyspace", "ecommerce_notifications", "the service's keyspace")
	ordersKS := fs.String("orders-keyspace", "ecommerce_orders", "the order service's keyspace, whose change feed is watched")
	inventoryKS := fs.String("inventory-keyspace", "ecommerce_inventory", "the inventory service's keyspace, whose change feed is watched")
	tenantID := fs.String("tenant", "acme", "the tenant provisioned and watched")
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
	email, err := notification.NewEmail(notification.EmailConfig{Addr: *smtp, From: *from})
	if err != nil {
		return err
	}
	svc, err := notification.New(st.Tenanted, notification.Config{Channels: []notification.Channel{email}, Log: log})
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

	h, err := st.Handler(svc.Handler())
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
	return platform.Serve(ctx, *listen, h, log, nil)
}
