package product

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
	"unicode/utf8"

	"github.com/cassandraorm/cassandraorm-go/cache/ormcache"
	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/recommend"
)

// Errors of the service, matched with errors.Is.
var (
	// ErrInvalid is a request the service refuses before sending anything; the
	// error names the field.
	ErrInvalid = errors.New("product: invalid")
	// ErrNotFound is a product that does not exist.
	ErrNotFound = errors.New("product: not found")
	// ErrNotEmbedded is a product whose embedding is not computed yet.
	ErrNotEmbedded = errors.New("product: not embedded yet")
)

// Service is the catalogue. It is safe for concurrent use. On a tenanted DB
// every call runs for the tenant of its context.
type Service struct {
	cfg      Config
	db       *orm.DB
	products *orm.Model[Product]
	search   *orm.Model[searchRow]
	rec      *recommend.Recommender // nil without Config.Recommend
	// cached and inv are the cached reads of products and their
	// invalidator; nil without Config.Cache. On a tenanted DB the reads of a
	// tenant inv does not watch (yet) go to Cassandra (ormcache bypasses them).
	cached *ormcache.Model[Product]
	inv    *ormcache.Invalidator
}

// New returns the service on db (call Sync once), or the error of
// cfg.Validate.
func New(db *orm.DB, cfg Config) (*Service, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if db == nil {
		return nil, errors.New("product: New: nil DB")
	}
	opts := []orm.ModelOption{orm.TableName(cfg.Table)}
	if cfg.Feed != nil {
		opts = append(opts, orm.RecordChanges(cfg.Feed))
	}
	m, err := orm.NewModel[Product](db, opts...)
	if err != nil {
		return nil, err
	}
	sr, err := orm.NewModel[searchRow](db, orm.TableName(cfg.Table+"_search"))
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, db: db, products: m, search: sr}
	if cc := cfg.Cache; cc != nil {
		ic := cc.Invalidator
		ic.Subscriber.Feed = cfg.Feed
		if s.inv, err = ormcache.NewInvalidator(ic); err != nil {
			return nil, fmt.Errorf("product: cache: %w", err)
		}
		if s.cached, err = ormcache.Of(m, cc.Store, s.inv, cc.Options); err != nil {
			return nil, fmt.Errorf("product: cache: %w", err)
		}
	}
	if cfg.Recommend != nil {
		if s.rec, err = recommend.New(db, *cfg.Recommend, content{s}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Sync creates or updates the products table, the search table, their
// indexes and the recommender's tables.
func (s *Service) Sync(ctx context.Context) error {
	if err := s.db.Sync(ctx, s.products, s.search); err != nil {
		return err
	}
	if s.rec != nil {
		return s.rec.Sync(ctx)
	}
	return nil
}

// Model is the products model (for a subscription to its changes, say).
func (s *Service) Model() *orm.Model[Product] { return s.products }

// shelf returns the partition of product id.
func (s *Service) shelf(id string) int32 {
	return int32(crc32.ChecksumIEEE([]byte(id)) % uint32(s.cfg.Shelves))
}

func checkID(id string) error {
	if id == "" || len(id) > MaxIDLen || !utf8.ValidString(id) {
		return fmt.Errorf("%w: id %q: want 1 to %d bytes of UTF-8", ErrInvalid, id, MaxIDLen)
	}
	return nil
}

func (p *Product) check() error {
	if err := checkID(p.ID); err != nil {
		return err
	}
	for field, v := range map[string]string{"name": p.Name, "description": p.Description, "category": p.Category, "brand": p.Brand} {
		if len(v) > MaxTextLen || !utf8.ValidString(v) {
			return fmt.Errorf("%w: product %s: %s: want at most %d bytes of UTF-8", ErrInvalid, p.ID, field, MaxTextLen)
		}
	}
	switch {
	case p.Name == "":
		return fmt.Errorf("%w: product %s: name is empty", ErrInvalid, p.ID)
	case p.PriceCents < 0:
		return fmt.Errorf("%w: product %s: price_cents %d is negative", ErrInvalid, p.ID, p.PriceCents)
	case p.Stock < 0 || p.ReorderThreshold < 0 || p.ReorderQuantity < 0:
		return fmt.Errorf("%w: product %s: stock and reorder settings must not be negative", ErrInvalid, p.ID)
	}
	return nil
}

// Put writes the product (creating or replacing it). The search table follows
// from the change feed (RunIndexer); without a Feed, Put indexes the product
// itself before returning.
func (s *Service) Put(ctx context.Context, p Product) error {
	if err := p.check(); err != nil {
		return err
	}
	p.Shelf = s.shelf(p.ID)
	p.UpdatedAt = time.Now().UTC().Truncate(time.Millisecond)
	if err := s.products.Insert(ctx, &p); err != nil {
		return fmt.Errorf("product: put %s: %w", p.ID, err)
	}
	if s.cfg.Feed == nil {
		_, err := s.Index(ctx, p.ID)
		return err
	}
	return nil
}

// RunCache runs the invalidator of Config.Cache until ctx ends (when it
// returns ctx's error) or one of its subscriptions fails, when it returns that
// error: the cached entries are no longer kept right then, and the process
// must stop serving (or make a new Service). On a tenanted DB it watches the
// tenants of CacheConfig.Invalidator.Tenants and those its TenantSource lists
// (see ormcache.InvalidatorConfig); only their reads go through the cache,
// once each is ready. It needs Config.Cache and may be called once.
func (s *Service) RunCache(ctx context.Context) error {
	if s.inv == nil {
		return errors.New("product: RunCache needs Config.Cache")
	}
	if err := s.inv.Run(ctx); err != nil {
		return fmt.Errorf("product: cache invalidator: %w", err)
	}
	return nil
}

// CacheReady is closed once RunCache's subscriptions have run long enough
// (one feed Lag) that the cache serves reads; until then they go to
// Cassandra. Nil without Config.Cache.
func (s *Service) CacheReady() <-chan struct{} {
	if s.inv == nil {
		return nil
	}
	return s.inv.Ready()
}

// Get returns the product, or an error matching ErrNotFound. With
// Config.Cache, it may return the product as it was before a write for up to
// the feed's delivery delay (see package ormcache).
func (s *Service) Get(ctx context.Context, id string) (Product, error) {
	if err := checkID(id); err != nil {
		return Product{}, err
	}
	return s.get(ctx, id, true)
}

// get returns product id, through the cache if cached and there is one (which
// reads Cassandra for a tenant it does not watch), with the errors of Get.
func (s *Service) get(ctx context.Context, id string, cached bool) (Product, error) {
	read := s.products.Get
	if cached && s.cached != nil {
		read = s.cached.Get
	}
	p, err := read(ctx, s.shelf(id), id)
	if errors.Is(err, orm.ErrNotFound) {
		return Product{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return Product{}, fmt.Errorf("product: get %s: %w", id, err)
	}
	return p, nil
}

// Delete removes the product; deleting one that does not exist is not an
// error. Its search row goes with it (at once without a Feed, else through
// RunIndexer).
func (s *Service) Delete(ctx context.Context, id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	if err := s.products.Delete(ctx, s.shelf(id), id); err != nil {
		return fmt.Errorf("product: delete %s: %w", id, err)
	}
	if s.cfg.Feed == nil {
		_, err := s.Index(ctx, id)
		return err
	}
	return nil
}

// textHash identifies the text an embedding was computed from, and the model.
func (s *Service) textHash(p *Product) string {
	h := sha256.Sum256([]byte(s.cfg.Embedder.Model() + "\x00" + p.text()))
	return hex.EncodeToString(h[:16])
}

// Index brings product id's search row up to date with its catalogue row: it
// writes the filters and tokens, embeds the text only when it changed since the
// last embedding, and deletes the row of a product that is gone. It reports
// whether it embedded. It reads the catalogue row from Cassandra, never from
// the cache: it runs on a change the cache may not have heard of yet.
func (s *Service) Index(ctx context.Context, id string) (bool, error) {
	if err := checkID(id); err != nil {
		return false, err
	}
	p, err := s.get(ctx, id, false)
	if errors.Is(err, ErrNotFound) {
		if err := s.search.Delete(ctx, s.shelf(id), id); err != nil {
			return false, fmt.Errorf("product: unindexing %s: %w", id, err)
		}
		return false, nil
	}
	if err != nil {
		return false, err
	}
	row := searchRow{Shelf: p.Shelf, ID: p.ID, Category: p.Category, Brand: p.Brand, PriceCents: p.PriceCents,
		Tokens: Tokens(p.text()), TextHash: s.textHash(&p)}
	old, err := s.search.Get(ctx, p.Shelf, p.ID)
	if err != nil && !errors.Is(err, orm.ErrNotFound) {
		return false, fmt.Errorf("product: reading the search row of %s: %w", id, err)
	}
	embedded := false
	if err == nil && old.TextHash == row.TextHash && len(old.Embedding) == Dimension {
		row.Embedding = old.Embedding
	} else {
		vecs, err := s.cfg.Embedder.Embed(ctx, []string{p.text()})
		if err != nil {
			return false, fmt.Errorf("product: embedding %s: %w", id, err)
		}
		row.Embedding, embedded = vecs[0], true
	}
	if err := s.search.Insert(ctx, &row); err != nil {
		return false, fmt.Errorf("product: indexing %s: %w", id, err)
	}
	return embedded, nil
}

// RunIndexer keeps the search table current until ctx ends: a durable
// subscription (named name, one reader at a time across processes, under
// subs' leases) to the products table's changes, indexing each product that
// changed (Index: it embeds only text that changed), and deleting the search
// rows of a delete of a shelf or of a range of it. It needs Config.Feed. Run
// it for each tenant, with the tenant in ctx. A change delivered twice indexes
// twice, harmlessly.
func (s *Service) RunIndexer(ctx context.Context, subs changefeed.Subscriber, name string) error {
	if s.cfg.Feed == nil {
		return errors.New("product: RunIndexer needs Config.Feed")
	}
	return subs.Subscribe(ctx, changefeed.Subscription{
		Name: name, Table: s.products.Table().Name,
		Handle: func(ctx context.Context, c changefeed.Change) error {
			if id, ok := c.Key["id"].(string); ok {
				_, err := s.Index(ctx, id)
				return err
			}
			return s.unindexRange(ctx, c)
		},
	})
}

// unindexRange applies change c, whose key is a shelf only, to the search
// table: a delete of the shelf's products, or of those whose ids lie in the
// change's Range (orm.Query.Delete), deletes the same search rows, which
// have the same key. A change of a shelf that deletes nothing has nothing to
// index.
func (s *Service) unindexRange(ctx context.Context, c changefeed.Change) error {
	if c.Op != orm.OpDelete {
		return nil
	}
	shelf, ok := c.Key["shelf"].(int32)
	if !ok {
		return fmt.Errorf("product: indexer: change %s of %s: key %v has no shelf", c.ID, c.Table, c.Key)
	}
	q := s.search.Query().Where(orm.Eq("shelf", shelf))
	if r := c.Range; r != nil {
		if r.Column != "id" {
			return fmt.Errorf("product: indexer: change %s of %s: a range of column %s, not id", c.ID, c.Table, r.Column)
		}
		switch {
		case r.Lower != nil && r.LowerInclusive:
			q = q.Where(orm.Gte("id", r.Lower))
		case r.Lower != nil:
			q = q.Where(orm.Gt("id", r.Lower))
		}
		switch {
		case r.Upper != nil && r.UpperInclusive:
			q = q.Where(orm.Lte("id", r.Upper))
		case r.Upper != nil:
			q = q.Where(orm.Lt("id", r.Upper))
		}
	}
	if err := q.Delete(ctx); err != nil {
		return fmt.Errorf("product: unindexing shelf %d (change %s): %w", shelf, c.ID, err)
	}
	return nil
}
