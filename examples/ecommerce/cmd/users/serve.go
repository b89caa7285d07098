package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cqrs/kafka"
	"github.com/cassandraorm/cassandraorm-go/eventsourcing"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/platform"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/user"
	"github.com/cassandraorm/cassandraorm-go/graphql"
	"github.com/cassandraorm/cassandraorm-go/lease"
)

// serve runs the user service as a server until SIGINT or SIGTERM: its HTTP
// API and its subgraph behind the tenant middleware on listen, /metrics,
// /healthz and /graphql/sdl outside it, the relay to Kafka and the profile
// projection of every active tenant, announced in the service registry as
// "users".
func serve(listen, keyspace, tenants string) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := platform.Open(ctx, keyspace)
	if err != nil {
		return err
	}
	defer st.Close()
	bus, err := kafka.New(kafka.Config{Brokers: strings.Split(platform.Env("KAFKA_BROKERS", "127.0.0.1:9092"), ","), FetchMaxWait: 100 * time.Millisecond})
	if err != nil {
		return err
	}
	defer bus.Close()
	leases, err := lease.New(st.Tenanted, lease.Config{})
	if err != nil {
		return err
	}
	svc, err := user.New(st.Tenanted, bus, leases, eventsourcing.StoreConfig{FeedLag: 500 * time.Millisecond}, log)
	if err != nil {
		return err
	}
	migrate := func(ctx context.Context) error { return errors.Join(svc.Sync(ctx), leases.Sync(ctx)) }
	if err := st.Provision(ctx, migrate, strings.Split(tenants, ",")...); err != nil {
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
	wctx, stopWorkers := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stopWorkers()
		wg.Wait()
	}()
	wg.Go(func() { platform.EachTenant(wctx, st.Registry, log, "relay and projection", svc.Run) })
	log.Info("user service", "keyspace", keyspace, "tenants", tenants)
	return platform.ServeAnnounced(ctx, listen, h, log, platform.Announcement{Service: "users", GraphQL: true}, nil)
}
