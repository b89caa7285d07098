package product_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/product"
	"github.com/cassandraorm/cassandraorm-go/internal/devenv"
	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/recommend"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/testenv"
	"github.com/cassandraorm/cassandraorm-go/vector"
	"github.com/cassandraorm/cassandraorm-go/vector/minilm"
)

var env = testenv.New("product_test")

func TestMain(m *testing.M) { env.Main(m) }

var (
	modelOnce sync.Once
	model     *minilm.Model
	modelErr  error
)

// embedder returns the local MiniLM embedder, loaded once per test binary.
func embedder(t *testing.T) *minilm.Model {
	t.Helper()
	modelOnce.Do(func() {
		var e *devenv.Env
		if e, modelErr = devenv.Load(io.Discard); modelErr != nil {
			return
		}
		var dir string
		if dir, modelErr = e.MiniLMDir(context.Background()); modelErr != nil {
			return
		}
		model, modelErr = minilm.Load(dir, minilm.Config{})
	})
	if modelErr != nil {
		t.Fatal(modelErr)
	}
	return model
}

// counting counts the texts an embedder is asked for.
type counting struct {
	vector.Embedder
	mu    sync.Mutex
	texts []string
}

func (c *counting) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	c.mu.Lock()
	c.texts = append(c.texts, texts...)
	c.mu.Unlock()
	return c.Embedder.Embed(ctx, texts)
}

func (c *counting) count(text string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.texts {
		if strings.Contains(t, text) {
			n++
		}
	}
	return n
}

// fixture is the service on a tenanted DB with a change feed, its embedder
// counted.
type fixture struct {
	svc   *product.Service
	feed  *changefeed.Feed
	subs  changefeed.Subscriber
	inner *counting
}

func newFixture(t *testing.T) *fixture { return newFixtureWith(t, nil) }

// newFixtureWith is newFixture with a recommender configured by rc.
func newFixtureWith(t *testing.T, rc *recommend.Config) *fixture {
	t.Helper()
	tdb, feed, run := newFeed(t)
	leases, err := lease.New(tdb, lease.Config{Table: "leases_" + run})
	if err != nil {
		t.Fatal(err)
	}
	inner := &counting{Embedder: embedder(t)}
	svc, err := product.New(tdb, product.Config{Embedder: inner, Feed: feed, Table: "products_" + run, Recommend: rc})
	if err != nil {
		t.Fatal(err)
	}
	ctx := tenant.With(t.Context(), "sync")
	if err := tdb.Sync(ctx, feed.Models()...); err != nil {
		t.Fatal(err)
	}
	if err := leases.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := svc.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: svc, feed: feed, inner: inner, subs: changefeed.Subscriber{Feed: feed, Leases: leases, Poll: 50 * time.Millisecond}}
}

// newFeed returns a tenanted DB on the package's keyspace, a change feed
// (Lag 2s) on a table of the run, and the run's suffix for other tables.
func newFeed(t *testing.T) (*orm.DB, *changefeed.Feed, string) {
	t.Helper()
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tdb, err := db.WithTenancy(orm.Tenancy{})
	if err != nil {
		t.Fatal(err)
	}
	run := strings.ReplaceAll(orm.NewUUID().String()[:8], "-", "")
	feed, err := changefeed.NewFeed(tdb, changefeed.FeedConfig{Log: changefeed.Config{Table: "changes_" + run, Lag: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return tdb, feed, run
}

// runIndexer runs the indexer of tenant id until the test ends.
func (f *fixture) runIndexer(t *testing.T, id string) {
	ctx, cancel := context.WithCancel(tenant.With(t.Context(), id))
	done := make(chan error, 1)
	go func() { done <- f.svc.RunIndexer(ctx, f.subs, "indexer") }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("indexer of %s: %v", id, err)
		}
	})
}

// indexed waits until every product of ids has a search row with an
// embedding.
func (f *fixture) indexed(t *testing.T, ctx context.Context, ids ...string) {
	t.Helper()
	testenv.WaitFor(t, 2*time.Minute, func() error {
		for _, id := range ids {
			_, ok, err := f.svc.Indexed(ctx, id)
			if err != nil {
				return err
			}
			if !ok {
				return errors.New(id + " not indexed yet")
			}
		}
		return nil
	})
}
