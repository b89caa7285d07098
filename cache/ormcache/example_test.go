package ormcache_test

import (
	"context"
	"fmt"
	"log"
	"sync/atomic"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cache"
	"github.com/cassandraorm/cassandraorm-go/cache/ormcache"
	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// Product is the example's model.
type Product struct {
	ID    string `cql:"id" orm:"pk"`
	Price int32  `cql:"price"`
}

// Cached Gets of a model over a memory tier and Redis, kept right by the
// change feed: a write through the orm.Model reaches the cache once the
// Invalidator has handled its change. (It uses the local Cassandra node and
// the Redis server at 127.0.0.1:6379, under names of its own.)
func ExampleOf() {
	ctx := context.Background()
	db, err := orm.Open(ctx, orm.Config{Hosts: env.Hosts(), Keyspace: "ormcache_examples"})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateKeyspace(ctx, "ormcache_examples", orm.SimpleStrategy(1)); err != nil {
		log.Fatal(err)
	}
	run := suffix()
	feed, err := changefeed.NewFeed(db, changefeed.FeedConfig{Log: changefeed.Config{Table: "example_changes_" + run, Lag: time.Second}})
	if err != nil {
		log.Fatal(err)
	}
	products, err := orm.NewModel[Product](db, orm.TableName("example_products_"+run), orm.RecordChanges(feed))
	if err != nil {
		log.Fatal(err)
	}
	if err := db.Sync(ctx, append(feed.Models(), products)...); err != nil {
		log.Fatal(err)
	}
	stack, err := cache.New(cache.Config{Stores: []cache.StoreConfig{
		{Name: "memory", Type: "memory", MaxSize: 1000},
		{Name: "redis", Type: "redis", Addr: "127.0.0.1:6379", Prefix: "example:" + run + ":"},
	}})
	if err != nil {
		log.Fatal(err)
	}
	defer stack.Close()

	changes := make(chan changefeed.Change, 16)
	inv, err := ormcache.NewInvalidator(ormcache.InvalidatorConfig{
		Subscriber: changefeed.Subscriber{Feed: feed},
		OnChange:   func(c changefeed.Change) { changes <- c },
	})
	if err != nil {
		log.Fatal(err)
	}
	cached, err := ormcache.Of(products, stack, inv, ormcache.Options{Get: cache.Options{TTL: time.Minute}})
	if err != nil {
		log.Fatal(err)
	}
	defer cached.Close()
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = inv.Run(rctx) }()
	<-inv.Ready()

	if err := products.Insert(ctx, &Product{ID: "p-1", Price: 25}); err != nil {
		log.Fatal(err)
	}
	<-changes // the insert's change, handled
	p, err := cached.Get(ctx, "p-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("cached:", p.Price)
	if err := products.Update(ctx, &Product{ID: "p-1", Price: 30}); err != nil {
		log.Fatal(err)
	}
	<-changes // the update's change: the entry is invalidated in every tier
	p, err = cached.Get(ctx, "p-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("after the update:", p.Price)
	// Output:
	// cached: 25
	// after the update: 30
}

// bypasses counts the reads the cache sent to the database.
type bypasses struct {
	cache.NopObserver
	n atomic.Int64
}

func (b *bypasses) Bypass() { b.n.Add(1) }

// On a tenanted DB the cache serves only the tenants its Invalidator
// watches: a tenant provisioned while it runs is read from the database until
// Watch (or InvalidatorConfig.TenantSource) has made its invalidation ready.
func ExampleInvalidator_Watch() {
	ctx := context.Background()
	base, err := orm.Open(ctx, orm.Config{Hosts: env.Hosts(), Keyspace: "ormcache_examples"})
	if err != nil {
		log.Fatal(err)
	}
	defer base.Close()
	if err := base.CreateKeyspace(ctx, "ormcache_examples", orm.SimpleStrategy(1)); err != nil {
		log.Fatal(err)
	}
	db, err := base.WithTenancy(orm.Tenancy{})
	if err != nil {
		log.Fatal(err)
	}
	run := suffix()
	feed, err := changefeed.NewFeed(db, changefeed.FeedConfig{Log: changefeed.Config{Table: "example_changes_" + run, Lag: time.Second}})
	if err != nil {
		log.Fatal(err)
	}
	products, err := orm.NewModel[Product](db, orm.TableName("example_tenant_products_"+run), orm.RecordChanges(feed))
	if err != nil {
		log.Fatal(err)
	}
	if err := db.Sync(ctx, append(feed.Models(), products)...); err != nil {
		log.Fatal(err)
	}
	stack, err := cache.New(cache.Config{Stores: []cache.StoreConfig{{Name: "memory", Type: "memory", MaxSize: 1000}}})
	if err != nil {
		log.Fatal(err)
	}
	defer stack.Close()
	inv, err := ormcache.NewInvalidator(ormcache.InvalidatorConfig{Subscriber: changefeed.Subscriber{Feed: feed}, Tenants: []string{"acme"}})
	if err != nil {
		log.Fatal(err)
	}
	obs := &bypasses{}
	cached, err := ormcache.Of(products, stack, inv, ormcache.Options{Get: cache.Options{TTL: time.Minute, Observer: obs}})
	if err != nil {
		log.Fatal(err)
	}
	defer cached.Close()
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = inv.Run(rctx) }()
	<-inv.Ready()

	globex := tenant.With(ctx, "globex")
	if err := products.Insert(globex, &Product{ID: "p-1", Price: 40}); err != nil {
		log.Fatal(err)
	}
	p, err := cached.Get(globex, "p-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("globex, not watched:", p.Price, "bypasses:", obs.n.Load())
	ready, err := inv.Watch("globex")
	if err != nil {
		log.Fatal(err)
	}
	<-ready
	if p, err = cached.Get(globex, "p-1"); err != nil {
		log.Fatal(err)
	}
	fmt.Println("globex, watched:", p.Price, "bypasses:", obs.n.Load())
	// Output:
	// globex, not watched: 40 bypasses: 1
	// globex, watched: 40 bypasses: 1
}
