// Command users runs the e-commerce platform's event-sourced user service once, end
// to end on the local servers, for two tenants (shops): acme, in the shared tables
// (the partition strategy), and globex, in a keyspace of its own. Both get a user with
// the same id and email, through the service's HTTP API behind the tenant middleware;
// each sees only its own. Commands create users and change their profiles, events are
// stored in Cassandra, relayed to the Kafka topic user.events with the tenant in a
// header, and kept in the user_profiles read model. It prints what each step did.
//
//	make demo    # starts the dev servers, then runs the quickstart and this
//
// With -serve it is the service as a server instead: the HTTP API and the
// GraphQL subgraph (type User, package services/user's Subgraph) behind the
// tenant middleware on -listen (127.0.0.1:7407), /graphql/sdl, /healthz and
// /metrics outside it, the relay and the projection of every active tenant,
// on keyspace -keyspace (ecommerce_users) with the tenants -tenant (acme)
// provisioned, announced in the service registry (keyspace
// ecommerce_registry) as "users" until it stops on SIGINT or SIGTERM:
//
//	go run ./examples/ecommerce/cmd/users -serve
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cqrs"
	"github.com/cassandraorm/cassandraorm-go/cqrs/kafka"
	"github.com/cassandraorm/cassandraorm-go/eventsourcing"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/platform"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/user"
	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/tenant/registry"
	"github.com/cassandraorm/cassandraorm-go/tenant/tenanthttp"
)

const (
	keyspace       = "ecommerce_users"
	tenantKeyspace = "ecommerce_t_" // globex's keyspace is ecommerce_t_globex
)

func main() {
	serveMode := flag.Bool("serve", false, "serve the user service (API, subgraph, registry announcement) until stopped, instead of the demo")
	listen := flag.String("listen", "127.0.0.1:7407", "with -serve: the address to serve on")
	ks := flag.String("keyspace", keyspace, "with -serve: the service's keyspace")
	tenants := flag.String("tenant", "acme", "with -serve: tenants to provision at start-up, comma separated")
	flag.Parse()
	if *serveMode {
		if err := serve(*listen, *ks, *tenants); err != nil {
			log.Fatal(err)
		}
		return
	}
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	hosts := strings.Split(platform.Env("CASSANDRA_HOSTS", "127.0.0.1:9042"), ",")
	brokers := strings.Split(platform.Env("KAFKA_BROKERS", "127.0.0.1:9092"), ",")
	db, err := orm.Open(ctx, orm.Config{Hosts: hosts, Keyspace: keyspace})
	if err != nil {
		return fmt.Errorf("%w (start the servers with: make up)", err)
	}
	defer db.Close()
	// Each run starts afresh: the demo's keyspaces hold nothing worth keeping.
	for _, ks := range []string{keyspace, tenantKeyspace + "globex"} {
		if err := db.DropKeyspace(ctx, ks); err != nil {
			return err
		}
	}
	if err := db.CreateKeyspace(ctx, keyspace, orm.SimpleStrategy(1)); err != nil {
		return err
	}

	// The tenant registry, and the tenanted view of the DB the service runs on.
	reg, err := registry.New(db, registry.Config{KeyspacePrefix: tenantKeyspace, MaxStaleness: time.Second})
	if err != nil {
		return err
	}
	if err := reg.Sync(ctx); err != nil {
		return err
	}
	tdb := reg.DB()
	bus, err := kafka.New(kafka.Config{Brokers: brokers, FetchMaxWait: 100 * time.Millisecond})
	if err != nil {
		return err
	}
	defer bus.Close()
	leases, err := lease.New(tdb, lease.Config{})
	if err != nil {
		return err
	}
	// Refused commands are part of the show; keep the log for real failures.
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError + 4}))
	svc, err := user.New(tdb, bus, leases, eventsourcing.StoreConfig{FeedLag: 500 * time.Millisecond}, quiet)
	if err != nil {
		return err
	}
	// The shared tables; each keyspace tenant gets its own when it is provisioned.
	schema := registry.Schema{Migrate: func(ctx context.Context) error {
		return errors.Join(svc.Sync(ctx), leases.Sync(ctx))
	}}
	if err := schema.Migrate(ctx); err != nil {
		return err
	}
	fmt.Println("tenants:")
	for _, spec := range []registry.Spec{
		{ID: "acme", Name: "Acme Corp", Strategy: registry.PartitionStrategy},
		{ID: "globex", Name: "Globex", Strategy: registry.KeyspaceStrategy},
	} {
		start := time.Now()
		t, err := reg.Provision(ctx, spec, schema)
		if err != nil {
			return err
		}
		where := "shared tables of " + keyspace
		if t.Keyspace != "" {
			where = "own keyspace " + t.Keyspace
		}
		fmt.Printf("  %-8s %-10s %-9s %-6s %s (provisioned in %s)\n", t.ID, t.Name, t.Strategy, t.Status, where, time.Since(start).Round(time.Millisecond))
	}

	// Another service listening on user.events, in its own consumer group: the
	// tenant arrives in its handler's context, from the record's header.
	run := orm.NewUUID().String()[:8]
	var mu sync.Mutex
	var heard []string
	sub, err := bus.Subscribe(ctx, user.Topic, "notifications-"+run, func(hctx context.Context, m cqrs.Message) error {
		if strings.HasSuffix(m.Key, run) {
			id, _ := tenant.From(hctx)
			mu.Lock()
			heard = append(heard, fmt.Sprintf("%-8s %s %s v%s", id, m.Type, m.Key, m.Metadata["version"]))
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer sub.Close()

	// The service's HTTP API behind the tenant middleware, on a loopback port.
	mw, err := tenanthttp.Middleware(tenanthttp.Config{Resolver: reg, BaseDomain: platform.BaseDomain})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	api := http.Handler(svc.Handler())
	srv := &http.Server{Handler: mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.ServeHTTP(w, r.WithContext(eventsourcing.WithMetadata(r.Context(), eventsourcing.Metadata{CorrelationID: "demo-" + run, Actor: "demo"})))
	}))}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	c := client{base: "http://" + ln.Addr().String()}

	ada := "ada-" + run
	fmt.Println("requests (Host: <tenant>." + platform.BaseDomain + "):")
	for _, s := range []struct{ tenant, method, path, body string }{
		{"acme", "POST", "/users", `{"user_id":"` + ada + `","email":"ada@example.com","name":"Ada (acme)"}`},
		{"globex", "POST", "/users", `{"user_id":"` + ada + `","email":"ada@example.com","name":"Ada (globex)"}`},
		{"acme", "POST", "/users", `{"user_id":"` + ada + `","email":"x@example.com","name":"X"}`},
		{"globex", "POST", "/users", `{"user_id":"bad-` + run + `","email":"not-an-email","name":"X"}`},
		{"initech", "GET", "/users/" + ada, ""},
	} {
		if err := c.show(ctx, s.tenant, s.method, s.path, s.body); err != nil {
			return err
		}
	}
	if err := svc.Commands.Dispatch(tenant.With(ctx, "acme"), user.UpdateUserProfile{UserID: ada, Name: "Ada Lovelace", Bio: "analyst"}); err != nil {
		return err
	}
	fmt.Printf("  %-8s %-40s ok (a command on the bus, not over HTTP)\n", "acme", "update "+ada)

	time.Sleep(600 * time.Millisecond) // the feed lag
	for _, id := range []string{"acme", "globex"} {
		if err := svc.CatchUp(tenant.With(ctx, id)); err != nil {
			return err
		}
	}
	fmt.Println("read model user_profiles, per tenant, over HTTP:")
	for _, id := range []string{"acme", "globex"} {
		if err := c.show(ctx, id, "GET", "/users/"+ada, ""); err != nil {
			return err
		}
	}
	if err := reg.Suspend(ctx, "globex"); err != nil {
		return err
	}
	fmt.Println("after suspending globex:")
	if err := c.show(ctx, "globex", "GET", "/users/"+ada, ""); err != nil {
		return err
	}

	fmt.Println("heard on Kafka topic user.events (tenant from the record header):")
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(heard)
		mu.Unlock()
		if n >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(heard)
	for _, h := range heard {
		fmt.Println("  " + h)
	}
	if len(heard) < 3 {
		return fmt.Errorf("heard %d of 3 events on Kafka", len(heard))
	}
	return nil
}

// client calls the API as a browser on <tenant>.shop.localhost would.
type client struct{ base string }

func (c client) show(ctx context.Context, tenantID, method, path, body string) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	req.Host = tenantID + "." + platform.BaseDomain
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var compact bytes.Buffer
	if json.Compact(&compact, b) != nil {
		compact.Write(b)
	}
	fmt.Printf("  %-8s %-40s %d %s\n", tenantID, method+" "+path, resp.StatusCode, compact.String())
	return nil
}
