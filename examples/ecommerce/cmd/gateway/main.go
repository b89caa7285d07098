// Command gateway serves the e-commerce platform's federated GraphQL API: Apollo
// Gateway, run and supervised by package gateway, over the subgraphs of the
// services the service registry lists, with the web pages, /ws to the
// notification service's hub, /healthz, /status and /metrics.
//
//	go run ./examples/ecommerce/cmd/gateway [flags]
//
//	-listen :4000                  the address to serve on
//	-registry ecommerce_registry   the service registry's keyspace (created if missing)
//	-services users,products,orders,payments,notifications
//	                               the subgraph services to follow
//	-hub notifications             the service whose /ws the gateway proxies
//	-timeout 5s                    the bound of each subgraph request
//	-node node                     the Node.js 20+ binary
//
// Cassandra is at CASSANDRA_HOSTS (default 127.0.0.1:9042). Run it from inside
// the checkout: the npm packages the gateway pins are installed into the
// development cache on first use. Ask it, as a tenant, with
//
//	curl -s localhost:4000/graphql -H 'X-Tenant-ID: acme' -H 'Content-Type: application/json' \
//	  -d '{"query":"{ __schema { queryType { fields { name } } } }"}'
//
// or with the host acme.shop.localhost:4000. It stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/gateway"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/platform"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/registry"
)

func main() {
	listen := flag.String("listen", gateway.DefaultAddr, "the address to serve on")
	keyspace := flag.String("registry", "ecommerce_registry", "the service registry's keyspace")
	services := flag.String("services", "users,products,orders,payments,notifications", "the subgraph services to follow, comma separated")
	hub := flag.String("hub", gateway.DefaultHub, "the registry service whose /ws the gateway proxies")
	timeout := flag.Duration("timeout", gateway.DefaultTimeout, "the bound of each subgraph request")
	node := flag.String("node", "node", "the Node.js binary")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *listen, *keyspace, strings.Split(*services, ","), *hub, *timeout, *node); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, listen, keyspace string, services []string, hub string, timeout time.Duration, node string) error {
	hosts := strings.Split(platform.Env("CASSANDRA_HOSTS", "127.0.0.1:9042"), ",")
	octx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	db, err := orm.Open(octx, orm.Config{Hosts: hosts, Keyspace: keyspace})
	if err != nil {
		return fmt.Errorf("%w (start the servers with: make up)", err)
	}
	defer db.Close()
	if err := db.CreateKeyspace(octx, keyspace, orm.SimpleStrategy(1)); err != nil {
		return err
	}
	reg, err := registry.New(db, registry.Config{})
	if err != nil {
		return err
	}
	if err := reg.Sync(octx); err != nil {
		return err
	}
	g, err := gateway.New(gateway.Config{Registry: reg, Services: services, Hub: hub, Timeout: timeout,
		Addr: listen, Node: node, Log: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		return err
	}
	return g.Run(ctx)
}
