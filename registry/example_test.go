package registry_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/registry"
)

// An instance registers with a health URL, is discovered and watched, then
// deregisters on shutdown.
func Example() {
	ctx := context.Background()
	db, err := orm.Open(ctx, orm.Config{Hosts: env.Hosts(), Keyspace: env.Keyspace()})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateKeyspace(ctx, env.Keyspace(), orm.SimpleStrategy(1)); err != nil {
		log.Fatal(err)
	}
	reg, err := registry.New(db, registry.Config{TTL: 15 * time.Second, Poll: 100 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	if err := reg.Sync(ctx); err != nil {
		log.Fatal(err)
	}

	// The service: its health endpoint is what the registering process checks
	// before each heartbeat.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	name := "orders-" + orm.NewUUID().String()[:8] // one of this run only

	wctx, stop := context.WithCancel(ctx)
	defer stop()
	events, err := reg.Watch(wctx, name)
	if err != nil {
		log.Fatal(err)
	}

	h, err := reg.Register(ctx, registry.Instance{
		Name: name, ID: "orders-1", URL: srv.URL, Version: "1.4.2",
		HealthURL: srv.URL + "/healthz", Metadata: map[string]string{"graphql": "true"},
	})
	if err != nil {
		log.Fatal(err)
	}
	insts, err := reg.Discover(ctx, name)
	if err != nil {
		log.Fatal(err)
	}
	for _, in := range insts {
		fmt.Println("discovered", in.ID, in.Version, "graphql:", in.Metadata["graphql"])
	}
	ev := <-events
	fmt.Println(ev.Kind, ev.Entry.ID, "healthy:", ev.Entry.Healthy)

	if err := h.Close(); err != nil { // deregisters at once
		log.Fatal(err)
	}
	ev = <-events
	fmt.Println(ev.Kind, ev.Entry.ID)
	insts, _ = reg.Discover(ctx, name)
	fmt.Println(len(insts), "instances")
	// Output:
	// discovered orders-1 1.4.2 graphql: true
	// joined orders-1 healthy: true
	// left orders-1
	// 0 instances
}
