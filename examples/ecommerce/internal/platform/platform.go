// Package platform holds what every service program of the e-commerce example
// does the same way: connect to Cassandra, keep its tenant registry, serve its
// HTTP API behind the tenant middleware, and stop on a signal.
package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/web"
	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant/registry"
	"github.com/cassandraorm/cassandraorm-go/tenant/tenanthttp"
)

// Store is a service's database: its keyspace, its tenant registry, and the
// tenanted view the service runs on.
type Store struct {
	// DB is the plain handle on the service's keyspace.
	DB *orm.DB
	// Registry is the service's tenant registry, in that keyspace.
	Registry *registry.Registry
	// Tenanted is the view every tenant-scoped call goes through.
	Tenanted *orm.DB
}

// OpenOption configures Open.
type OpenOption func(*orm.Config)

// WithObserver makes obs see every statement the store runs, through DB and
// Tenanted alike (an analyze.SlowLog, say).
func WithObserver(obs orm.Observer) OpenOption {
	return func(c *orm.Config) { c.Observer = obs }
}

// Open connects to the Cassandra of CASSANDRA_HOSTS (default 127.0.0.1:9042),
// creates keyspace if it is missing (SimpleStrategy 1: a development setting), and
// syncs the tenant registry, whose keyspace tenants get keyspaces named
// keyspace+"_t_"+id.
func Open(ctx context.Context, keyspace string, opts ...OpenOption) (*Store, error) {
	hosts := strings.Split(Env("CASSANDRA_HOSTS", "127.0.0.1:9042"), ",")
	cfg := orm.Config{Hosts: hosts, Keyspace: keyspace}
	for _, o := range opts {
		o(&cfg)
	}
	db, err := orm.Open(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w (start the servers with: make up)", err)
	}
	if err := db.CreateKeyspace(ctx, keyspace, orm.SimpleStrategy(1)); err != nil {
		db.Close()
		return nil, err
	}
	reg, err := registry.New(db, registry.Config{KeyspacePrefix: keyspace + "_t_", MaxStaleness: time.Second})
	if err == nil {
		err = reg.Sync(ctx)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Store{DB: db, Registry: reg, Tenanted: reg.DB()}, nil
}

// Provision creates (or resumes creating) each tenant, in the shared tables, with
// migrate run for it.
func (s *Store) Provision(ctx context.Context, migrate func(ctx context.Context) error, tenants ...string) error {
	schema := registry.Schema{Migrate: migrate}
	if err := migrate(ctx); err != nil {
		return err
	}
	for _, id := range tenants {
		if _, err := s.Registry.Provision(ctx, registry.Spec{ID: id, Name: id, Strategy: registry.PartitionStrategy}, schema); err != nil {
			return err
		}
	}
	return nil
}

// Feed is a service's change feed (package changefeed), on its store's tenanted
// DB, with the leases of its durable subscriptions.
type Feed struct {
	// Feed is the change log (tables orm_changes and orm_changes_checkpoints).
	Feed *changefeed.Feed
	// Leases holds the durable subscriptions' leases (table feed_leases), one
	// set per tenant.
	Leases *lease.Manager

	db *orm.DB
}

// NewFeed returns the change feed on the store's tenanted DB. Give Feed to the
// service's Config before its models are made, and provision with SyncWith.
func (s *Store) NewFeed() (*Feed, error) {
	f, err := changefeed.NewFeed(s.Tenanted, changefeed.FeedConfig{})
	if err != nil {
		return nil, err
	}
	l, err := lease.New(s.Tenanted, lease.Config{Table: "feed_leases"})
	if err != nil {
		return nil, err
	}
	return &Feed{Feed: f, Leases: l, db: s.Tenanted}, nil
}

// Subscriber returns a subscriber of the feed, with its leases.
func (f *Feed) Subscriber() *changefeed.Subscriber {
	return &changefeed.Subscriber{Feed: f.Feed, Leases: f.Leases}
}

// SyncWith returns a Sync, for Provision, that creates the feed's tables and
// then runs sync (the service's).
func (f *Feed) SyncWith(sync func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := f.Leases.Sync(ctx); err != nil {
			return err
		}
		if err := f.db.Sync(ctx, f.Feed.Models()...); err != nil {
			return err
		}
		return sync(ctx)
	}
}

// Close closes the connection.
func (s *Store) Close() { s.DB.Close() }

// BaseDomain is the domain under which a request's host names its tenant
// (acme.shop.localhost is tenant acme).
const BaseDomain = "shop.localhost"

// Handler wraps h in the tenant middleware: the tenant comes from the host under
// BaseDomain or from X-Tenant-ID, and must be active in the registry.
func (s *Store) Handler(h http.Handler) (http.Handler, error) {
	mw, err := tenanthttp.Middleware(tenanthttp.Config{Resolver: s.Registry, BaseDomain: BaseDomain})
	if err != nil {
		return nil, err
	}
	return mw(h), nil
}

// Site is the handler of a process that runs the real-time hub: hub (its
// Handler) at /ws, the web pages (web.Handler) at /admin, /order and
// /static/, and api at every other path. The pages reach the hub at /ws on
// their own origin.
func Site(hub, api http.Handler) http.Handler {
	pages := web.Handler()
	mux := http.NewServeMux()
	mux.Handle("/ws", hub)
	for _, p := range []string{"/admin", "/order", "/static/"} {
		mux.Handle(p, pages)
	}
	mux.Handle("/", api)
	return mux
}

// Serve serves h on addr until ctx ends, then shuts down gracefully, finishing the
// requests in flight for up to 10 seconds. ready, if set, gets the address it
// listens on.
func Serve(ctx context.Context, addr string, h http.Handler, log *slog.Logger, ready func(addr string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if ready != nil {
		ready(ln.Addr().String())
	}
	log.Info("listening", "addr", ln.Addr().String())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "addr", ln.Addr().String())
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err = srv.Shutdown(sctx); err != nil {
		err = fmt.Errorf("shutdown: %w", err)
	}
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// Env returns the environment variable name, or def when it is unset or empty.
func Env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Reset drops keyspaces and everything in them: a demo's way to start afresh.
func Reset(ctx context.Context, keyspaces ...string) error {
	hosts := strings.Split(Env("CASSANDRA_HOSTS", "127.0.0.1:9042"), ",")
	db, err := orm.Open(ctx, orm.Config{Hosts: hosts})
	if err != nil {
		return fmt.Errorf("%w (start the servers with: make up)", err)
	}
	defer db.Close()
	for _, ks := range keyspaces {
		if err := db.DropKeyspace(ctx, ks); err != nil {
			return err
		}
	}
	return nil
}
