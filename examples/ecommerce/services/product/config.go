package product

import (
	"errors"
	"fmt"

	"github.com/cassandraorm/cassandraorm-go/cache"
	"github.com/cassandraorm/cassandraorm-go/cache/ormcache"
	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/recommend"
	"github.com/cassandraorm/cassandraorm-go/vector"
)

// Limits on requests, checked before anything is sent.
const (
	// MaxIDLen is the longest product id, in bytes.
	MaxIDLen = 256
	// MaxTextLen is the longest name or description, in bytes.
	MaxTextLen = 16 << 10
	// MaxLimit is the most hits one search returns.
	MaxLimit = 100
	// MaxShelves is the most partitions a tenant's catalogue may span.
	MaxShelves = 64
)

// Config configures a Service. A zero field takes its default; Validate says
// which values are refused.
type Config struct {
	// Embedder embeds product texts and queries; its Dimension must be
	// Dimension. Wrap it in vector.NewCached so that unchanged text is never
	// embedded twice. Required.
	Embedder vector.Embedder
	// Feed, when set, records the product table's changes: RunEmbedder follows
	// them to keep embeddings current. Without it, Put embeds at once.
	Feed *changefeed.Feed
	// Shelves is how many partitions each tenant's catalogue spans (default 1,
	// at most MaxShelves). Every process sharing the table must use the same.
	Shelves int
	// Table names the products table (default "products"; the search table is
	// Table+"_search").
	Table string
	// Recommend, when set, configures the recommender (package recommend)
	// that Record, Train and Recommend use, with the catalogue's embeddings
	// as its content-based model.
	Recommend *recommend.Config
	// Cache, when set, serves the catalogue's reads by id (Get, and the
	// products of every search hit) from a tiered cache kept right by the
	// change feed; it needs Feed. Nil reads Cassandra every time.
	Cache *CacheConfig
}

// CacheConfig puts the catalogue's reads by id behind a cache (package
// ormcache): entries in Store, invalidated by an Invalidator that follows the
// products table's changes in Config.Feed. Run it with Service.RunCache.
type CacheConfig struct {
	// Store holds the entries: cache.New of a memory tier over Redis, so that
	// every process sharing the Redis server shares its entries. Required.
	Store cache.Store
	// Invalidator configures the invalidator: the tenants it watches
	// (Tenants, and TenantSource for tenants provisioned later), MaxSkew,
	// and Subscriber.Poll.
	// Its Subscriber.Feed is Config.Feed: leave it nil (or set the same).
	Invalidator ormcache.InvalidatorConfig
	// Options configure the cached reads: TTL, NegativeTTL, the Observer of
	// loads (ormcache.Options.Get).
	Options ormcache.Options
}

func (c *Config) setDefaults() {
	if c.Shelves == 0 {
		c.Shelves = 1
	}
	if c.Table == "" {
		c.Table = "products"
	}
}

// Validate reports the first field a Service cannot work with.
func (c Config) Validate() error {
	c.setDefaults()
	switch {
	case c.Embedder == nil:
		return errors.New("product: Config.Embedder is nil")
	case c.Embedder.Dimension() != Dimension:
		return fmt.Errorf("product: embedder %s has dimension %d; the products table holds %d", c.Embedder.Model(), c.Embedder.Dimension(), Dimension)
	case c.Shelves < 1 || c.Shelves > MaxShelves:
		return fmt.Errorf("product: Shelves %d is not between 1 and %d", c.Shelves, MaxShelves)
	case c.Cache == nil:
		return nil
	case c.Feed == nil:
		return errors.New("product: Config.Cache needs Config.Feed (the cache is invalidated from the change feed)")
	case c.Cache.Store == nil:
		return errors.New("product: Config.Cache.Store is nil")
	case c.Cache.Invalidator.Subscriber.Feed != nil && c.Cache.Invalidator.Subscriber.Feed != c.Feed:
		return errors.New("product: Config.Cache.Invalidator.Subscriber.Feed is not Config.Feed")
	}
	if err := c.Cache.Options.Validate(); err != nil {
		return fmt.Errorf("product: Config.Cache: %w", err)
	}
	inv := c.Cache.Invalidator
	inv.Subscriber.Feed = c.Feed
	if err := inv.Validate(); err != nil {
		return fmt.Errorf("product: Config.Cache: %w", err)
	}
	return nil
}
