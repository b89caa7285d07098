package ormcache_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cache"
	"github.com/cassandraorm/cassandraorm-go/cache/ormcache"
	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("ormcache_test")

func TestMain(m *testing.M) { env.Main(m) }

// item is the tests' model: a row per id, its Seq the number of its write,
// its Owner the tenant it was written for.
type item struct {
	ID    string `cql:"id" orm:"pk"`
	Seq   int64  `cql:"seq"`
	Owner string `cql:"owner"`
}

// line is a model with a clustering column, for range deletes.
type line struct {
	Order string `cql:"order_id" orm:"pk"`
	N     int32  `cql:"n" orm:"ck"`
	SKU   string `cql:"sku"`
}

// feedLag is the tests' feed lag: short, so they wait little.
const feedLag = time.Second

// suffix returns a random name suffix.
func suffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// fixture is a tenanted DB with a feed and the two models recording into it.
type fixture struct {
	db    *orm.DB
	feed  *changefeed.Feed
	items *orm.Model[item]
	lines *orm.Model[line]
}

// newFixture makes the tables named after s in keyspace ks (env's when
// empty), syncing them.
func newFixture(t testing.TB, ks, s string) *fixture {
	t.Helper()
	session := env.Session(t)
	if ks == "" {
		ks = env.Keyspace()
	} else if ks != env.Keyspace() {
		// Another process's keyspace: a session of its own.
		cfg := env.ClusterConfig(t)
		cfg.Keyspace = ks
		var err error
		if session, err = cfg.CreateSession(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(session.Close)
	}
	base, err := orm.New(session, ks, nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := base.WithTenancy(orm.Tenancy{})
	if err != nil {
		t.Fatal(err)
	}
	feed, err := changefeed.NewFeed(db, changefeed.FeedConfig{Log: changefeed.Config{Table: "changes_" + s, Lag: feedLag}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, feed: feed}
	if f.items, err = orm.NewModel[item](db, orm.TableName("items_"+s), orm.RecordChanges(feed)); err != nil {
		t.Fatal(err)
	}
	if f.lines, err = orm.NewModel[line](db, orm.TableName("lines_"+s), orm.RecordChanges(feed)); err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(t.Context(), append(feed.Models(), f.items, f.lines)...); err != nil {
		t.Fatal(err)
	}
	return f
}

// stack returns a memory tier over the test Redis under prefix.
func stack(t testing.TB, prefix string, obs cache.Observer) *cache.Tiered {
	t.Helper()
	mem, err := cache.NewMemory(cache.MemoryConfig{Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	r, err := cache.NewRedis(cache.RedisConfig{Client: env.Redis(t), Prefix: prefix, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	s, err := cache.NewTiered(mem, r)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// redisPrefix returns a fresh Redis key prefix whose keys are deleted when t
// ends.
func redisPrefix(t testing.TB) string {
	p := "ormcache_test:" + suffix() + ":"
	rdb := env.Redis(t)
	t.Cleanup(func() {
		ctx := context.Background()
		var keys []string
		it := rdb.Scan(ctx, 0, p+"*", 1000).Iterator()
		for it.Next(ctx) {
			keys = append(keys, it.Val())
		}
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
	})
	return p
}

// run starts inv until t ends and waits for it to be ready.
func run(t testing.TB, inv *ormcache.Invalidator) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- inv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			t.Errorf("Invalidator.Run: %v", err)
		}
	})
	select {
	case <-inv.Ready():
	case err := <-done:
		t.Fatalf("Invalidator.Run ended before it was ready: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the Invalidator was not ready after a minute")
	}
}
