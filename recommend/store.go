package recommend

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// itemInteraction is an interaction seen from its item: one partition per
// item, for the incremental job to find the users of the items it retrains.
type itemInteraction struct {
	ItemID string    `cql:"item_id" orm:"pk"`
	UserID string    `cql:"user_id" orm:"ck"`
	At     time.Time `cql:"at" orm:"ck=desc"`
	Kind   Kind      `cql:"kind"`
}

func (itemInteraction) TableName() string { return "item_interactions" }

// logEntry is an interaction in the log the incremental job reads: one
// partition per day and shard, kept for Config.LogTTL.
type logEntry struct {
	Day    string    `cql:"day" orm:"pk"`
	Shard  int32     `cql:"shard" orm:"pk"`
	At     time.Time `cql:"at" orm:"ck"`
	UserID string    `cql:"user_id" orm:"ck"`
	ItemID string    `cql:"item_id" orm:"ck"`
}

func (logEntry) TableName() string { return "interaction_log" }

// userEntry names a user who has interactions: one partition per shard
// (Config.LogShards of them, by the user's hash), so that Train finds every
// user by reading named partitions instead of scanning the interactions
// table.
type userEntry struct {
	Shard  int32  `cql:"shard" orm:"pk"`
	UserID string `cql:"user_id" orm:"ck"`
}

func (userEntry) TableName() string { return "interaction_users" }

// purchase is an item a user bought: one partition per user, read by
// Recommend to leave those items out however old the purchase.
type purchase struct {
	UserID string    `cql:"user_id" orm:"pk"`
	ItemID string    `cql:"item_id" orm:"ck"`
	At     time.Time `cql:"at"`
}

func (purchase) TableName() string { return "user_purchases" }

// neighbour is one entry of an item's neighbour list: one partition per item,
// at most Config.Neighbors rows.
type neighbour struct {
	ItemID     string  `cql:"item_id" orm:"pk"`
	NeighborID string  `cql:"neighbor_id" orm:"ck"`
	Score      float64 `cql:"score"`
}

func (neighbour) TableName() string { return "item_neighbors" }

// itemStat is what the incremental job needs of an item it does not retrain:
// the norm of its user vector.
type itemStat struct {
	ItemID     string    `cql:"item_id" orm:"pk"`
	Norm       float64   `cql:"norm"`
	Users      int32     `cql:"users"`
	Popularity float64   `cql:"popularity"`
	AsOf       time.Time `cql:"as_of"`
}

func (itemStat) TableName() string { return "item_stats" }

// popularItem is one entry of the popularity list: one partition per bucket,
// at most Config.PopularSize rows, in rank order. Score is the decayed
// popularity as of AsOf.
type popularItem struct {
	Bucket string    `cql:"bucket" orm:"pk"`
	Rank   int32     `cql:"rank" orm:"ck"`
	ItemID string    `cql:"item_id"`
	Score  float64   `cql:"score"`
	AsOf   time.Time `cql:"as_of"`
}

func (popularItem) TableName() string { return "popular_items" }

// Recommender records interactions in Cassandra, trains the models into
// Cassandra with Train and TrainIncremental, and answers Recommend from the
// stored lists. On a tenanted DB (orm.DB.WithTenancy) every table is
// tenant-scoped: each tenant has its own interactions, lists and popularity,
// and every call needs a tenant in its context.
//
// A Recommender is safe for concurrent use; the training jobs may run
// beside Recommend and Record.
type Recommender struct {
	cfg     Config
	db      *orm.DB
	content ContentSource

	interactions *orm.Model[Interaction]
	users        *orm.Model[userEntry]
	byItem       *orm.Model[itemInteraction]
	log          *orm.Model[logEntry]
	purchases    *orm.Model[purchase]
	neighbours   *orm.Model[neighbour]
	stats        *orm.Model[itemStat]
	popular      *orm.Model[popularItem]
}

// New returns a Recommender on db. content is the content-based model (nil:
// none). Call Sync to create its tables.
func New(db *orm.DB, cfg Config, content ContentSource) (*Recommender, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Recommender{cfg: cfg, db: db, content: content}
	var err error
	if r.interactions, err = orm.NewModel[Interaction](db, orm.TableName("interactions")); err != nil {
		return nil, fmt.Errorf("recommend: %w", err)
	}
	if r.users, err = orm.NewModel[userEntry](db); err != nil {
		return nil, err
	}
	if r.byItem, err = orm.NewModel[itemInteraction](db); err != nil {
		return nil, fmt.Errorf("recommend: %w", err)
	}
	if r.log, err = orm.NewModel[logEntry](db); err != nil {
		return nil, fmt.Errorf("recommend: %w", err)
	}
	if r.purchases, err = orm.NewModel[purchase](db); err != nil {
		return nil, fmt.Errorf("recommend: %w", err)
	}
	if r.neighbours, err = orm.NewModel[neighbour](db); err != nil {
		return nil, fmt.Errorf("recommend: %w", err)
	}
	if r.stats, err = orm.NewModel[itemStat](db); err != nil {
		return nil, fmt.Errorf("recommend: %w", err)
	}
	if r.popular, err = orm.NewModel[popularItem](db); err != nil {
		return nil, fmt.Errorf("recommend: %w", err)
	}
	return r, nil
}

// Models returns the Recommender's models, for db.Sync or migrations.
func (r *Recommender) Models() []orm.SchemaModel {
	return []orm.SchemaModel{r.interactions, r.users, r.byItem, r.log, r.purchases, r.neighbours, r.stats, r.popular}
}

// Sync creates or updates the Recommender's tables (orm.DB.Sync).
func (r *Recommender) Sync(ctx context.Context) error {
	if err := r.db.Sync(ctx, r.Models()...); err != nil {
		return fmt.Errorf("recommend: sync: %w", err)
	}
	return nil
}

// Record stores an interaction: in the user's partition, the item's, the
// log the incremental job reads and, for a purchase, the user's purchases,
// in one logged batch, so that none is written without the others. A zero At
// is the Config's clock's present.
func (r *Recommender) Record(ctx context.Context, in Interaction) error {
	switch {
	case in.UserID == "" || in.ItemID == "":
		return fmt.Errorf("recommend: record: %w: an interaction needs a user and an item (user %q, item %q)", orm.ErrInvalidValue, in.UserID, in.ItemID)
	case in.Kind != View && in.Kind != Cart && in.Kind != Purchase:
		return fmt.Errorf("recommend: record: %w: kind %q: want view, cart or purchase", orm.ErrInvalidValue, in.Kind)
	}
	if in.At.IsZero() {
		in.At = r.cfg.Now()
	}
	in.At = in.At.UTC().Truncate(time.Millisecond)
	b := r.db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})
	err := errors.Join(
		r.interactions.Batch(b).Insert(ctx, &in),
		r.users.Batch(b).Insert(ctx, &userEntry{Shard: r.shard(in.UserID), UserID: in.UserID}),
		r.byItem.Batch(b).Insert(ctx, &itemInteraction{ItemID: in.ItemID, UserID: in.UserID, At: in.At, Kind: in.Kind}),
		r.log.Batch(b).Insert(ctx, &logEntry{Day: day(in.At), Shard: r.shard(in.UserID), At: in.At, UserID: in.UserID, ItemID: in.ItemID}, orm.WithTTL(r.cfg.LogTTL)),
	)
	if in.Kind == Purchase {
		err = errors.Join(err, r.purchases.Batch(b).Insert(ctx, &purchase{UserID: in.UserID, ItemID: in.ItemID, At: in.At}))
	}
	if err == nil {
		err = b.Exec(ctx)
	}
	if err != nil {
		return fmt.Errorf("recommend: record %s of item %q by user %q: %w", in.Kind, in.ItemID, in.UserID, err)
	}
	return nil
}

// day is the log partition of an instant: its UTC calendar day.
func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// shard spreads users over the log's shards.
func (r *Recommender) shard(user string) int32 {
	h := fnv.New32a()
	h.Write([]byte(user))
	return int32(h.Sum32() % uint32(r.cfg.LogShards))
}

// Recommend returns up to limit items for user, best first, from the stored
// data alone: the user's Config.History most recent interactions (one
// partition), their purchases (one partition), the neighbour lists of the
// distinct items of those interactions (one partition each, at most
// Config.Neighbors rows), the popularity list (one partition) and, with a
// content source and a content weight, one content search. Purchased items are
// left out. A user with no interactions gets the popular items. A limit of 0
// returns every candidate.
func (r *Recommender) Recommend(ctx context.Context, userID string, limit int) ([]Scored, error) {
	if limit < 0 {
		return nil, fmt.Errorf("recommend: user %q: %w: limit %d is negative", userID, orm.ErrInvalidValue, limit)
	}
	var history []Interaction
	for in, err := range r.interactions.Query().Where(orm.Eq("user_id", userID)).Limit(r.cfg.History).All(ctx) {
		if err != nil {
			return nil, fmt.Errorf("recommend: user %q: history: %w", userID, err)
		}
		history = append(history, in)
	}
	bought := map[string]bool{}
	for p, err := range r.purchases.Query().Where(orm.Eq("user_id", userID)).Columns("user_id", "item_id").All(ctx) {
		if err != nil {
			return nil, fmt.Errorf("recommend: user %q: purchases: %w", userID, err)
		}
		bought[p.ItemID] = true
	}
	seeds, _ := r.cfg.seeds(history)
	lists := make([][]Scored, len(seeds))
	err := r.each(ctx, len(seeds), func(ctx context.Context, i int) error {
		var err error
		lists[i], err = r.Neighbours(ctx, seeds[i])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("recommend: user %q: %w", userID, err)
	}
	sig := signals{history: history, neighbours: make(map[string][]Scored, len(seeds)), exclude: func(item string) bool { return bought[item] }}
	for i, s := range seeds {
		sig.neighbours[s] = lists[i]
	}
	if sig.popular, _, err = r.readPopular(ctx); err != nil {
		return nil, fmt.Errorf("recommend: user %q: %w", userID, err)
	}
	if sig.content, err = r.cfg.similar(ctx, r.content, history); err != nil {
		return nil, fmt.Errorf("recommend: user %q: %w", userID, err)
	}
	return r.cfg.Weights.Rank(r.cfg.normalise(sig), limit), nil
}

// Neighbours returns item's stored neighbour list, most similar first (empty
// for an item never trained).
func (r *Recommender) Neighbours(ctx context.Context, item string) ([]Scored, error) {
	var out []Scored
	for n, err := range r.neighbours.Query().Where(orm.Eq("item_id", item)).All(ctx) {
		if err != nil {
			return nil, fmt.Errorf("recommend: neighbours of item %q: %w", item, err)
		}
		out = append(out, Scored{Item: n.NeighborID, Score: n.Score})
	}
	return top(out, 0), nil
}

// Popular returns the stored popularity list, most popular first, with
// scores decayed to the present of the last training job.
func (r *Recommender) Popular(ctx context.Context) ([]Scored, error) {
	list, _, err := r.readPopular(ctx)
	return list, err
}

// readPopular reads the popularity partition and the time its scores are as of.
func (r *Recommender) readPopular(ctx context.Context) ([]Scored, time.Time, error) {
	var out []Scored
	var asOf time.Time
	for p, err := range r.popular.Query().Where(orm.Eq("bucket", r.cfg.Bucket)).All(ctx) {
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("recommend: popularity list %q: %w", r.cfg.Bucket, err)
		}
		out = append(out, Scored{Item: p.ItemID, Score: p.Score})
		asOf = p.AsOf
	}
	return out, asOf, nil
}

// each runs fn for 0..n-1 on up to Config.Concurrency goroutines and returns
// the first error; after one, the calls not yet started are skipped.
func (r *Recommender) each(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, r.cfg.Concurrency)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(ctx, i); err != nil {
				once.Do(func() { first = err; cancel(err) })
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return context.Cause(ctx)
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
