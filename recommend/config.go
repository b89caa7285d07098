package recommend

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/retry"
)

// Kind is what a user did with an item.
type Kind string

// The kinds of interaction, weakest to strongest.
const (
	View     Kind = "view"
	Cart     Kind = "cart"
	Purchase Kind = "purchase"
)

// Config shapes the models. Zero fields take the defaults documented on each;
// Validate reports a Config that cannot be used.
type Config struct {
	// ViewWeight, CartWeight and PurchaseWeight are what one interaction of each
	// kind adds to a user's affinity for an item (the user vector the item-item
	// model compares) and to an item's popularity. Defaults 1, 3 and 5.
	ViewWeight, CartWeight, PurchaseWeight float64

	// Neighbors is k, the length of each item's stored neighbour list. Default
	// 50, at most MaxNeighbors.
	Neighbors int
	// Shrinkage damps similarities resting on few common users: a cosine over n
	// common users is multiplied by n/(n+Shrinkage). Zero (the default) turns it
	// off.
	Shrinkage float64
	// ScaleNeighbors divides each seed item's neighbour list by its best
	// similarity when the user's item-kNN scores are summed, so that every
	// seed counts by the user's affinity for it alone, not also by how
	// similar its nearest items happen to be. It changes scoring only: the
	// stored lists are the same. Default false: raw similarities.
	ScaleNeighbors bool

	// HalfLife is how long it takes an interaction's weight in the popularity
	// model to halve. Default 14 days.
	HalfLife time.Duration
	// PopularSize is how many items the popularity list keeps. Default 200,
	// at most MaxPopularSize.
	PopularSize int
	// Bucket names the popularity list's partition. Default "all". On a
	// tenanted DB every tenant has its own list under the same name.
	Bucket string

	// History is how many of a user's most recent interactions Recommend reads
	// (one partition, newest first); their distinct items are the seeds whose
	// neighbour lists are read. Default 100.
	History int
	// ContentSeeds is how many of the user's most recent distinct items the
	// content model averages the embeddings of. Default 10.
	ContentSeeds int
	// ContentCandidates is how many items the content model asks the vector
	// index for. Default 100, at most orm.MaxANNLimit.
	ContentCandidates int

	// Weights blend the three models' scores. The zero Weights means
	// DefaultWeights().
	Weights Weights

	// LogShards spreads each day of the interaction log, and the list of
	// users Train reads, over that many partitions, so that one day's writes
	// do not all land on one. Default 8. Every process that records and
	// trains on the same tables must use the same LogShards.
	LogShards int
	// LogTTL is how long the log keeps an interaction for TrainIncremental.
	// Default 30 days; a TrainIncremental since longer ago than that misses
	// interactions.
	LogTTL time.Duration

	// Concurrency bounds the parallel reads of Recommend and the parallel
	// reads and writes of a training job. Default 8.
	Concurrency int
	// Retry retries the training job's writes, which are idempotent (each
	// carries the job's write time). Default: up to 3 attempts on
	// orm.ErrUnavailable, orm.ErrUncertain and orm.ErrTimeout.
	Retry retry.Policy
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Weights are the shares of each model in the hybrid. Each model's scores
// for a user are first normalised (see Config), then summed with these
// weights; a zero weight turns a model off.
type Weights struct {
	// KNN weighs the item-item collaborative filter.
	KNN float64
	// Content weighs the embedding similarity to the user's recent items.
	Content float64
	// Popularity weighs the time-decayed popularity list.
	Popularity float64
}

// DefaultWeights returns the weights of a Config that sets none.
func DefaultWeights() Weights { return Weights{KNN: 1, Content: 0.5, Popularity: 0.05} }

// Bounds of Config: each list is written in one batch (see Validate).
const (
	MaxNeighbors   = 200
	MaxPopularSize = 250
)

// Defaults of Config.
const (
	DefaultNeighbors         = 50
	DefaultHalfLife          = 14 * 24 * time.Hour
	DefaultPopularSize       = 200
	DefaultBucket            = "all"
	DefaultHistory           = 100
	DefaultContentSeeds      = 10
	DefaultContentCandidates = 100
	DefaultLogShards         = 8
	DefaultLogTTL            = 30 * 24 * time.Hour
	DefaultConcurrency       = 8
)

func (c *Config) setDefaults() {
	if c.ViewWeight == 0 && c.CartWeight == 0 && c.PurchaseWeight == 0 {
		c.ViewWeight, c.CartWeight, c.PurchaseWeight = 1, 3, 5
	}
	if c.Neighbors == 0 {
		c.Neighbors = DefaultNeighbors
	}
	if c.HalfLife == 0 {
		c.HalfLife = DefaultHalfLife
	}
	if c.PopularSize == 0 {
		c.PopularSize = DefaultPopularSize
	}
	if c.Bucket == "" {
		c.Bucket = DefaultBucket
	}
	if c.History == 0 {
		c.History = DefaultHistory
	}
	if c.ContentSeeds == 0 {
		c.ContentSeeds = DefaultContentSeeds
	}
	if c.ContentCandidates == 0 {
		c.ContentCandidates = DefaultContentCandidates
	}
	if c.Weights == (Weights{}) {
		c.Weights = DefaultWeights()
	}
	if c.LogShards == 0 {
		c.LogShards = DefaultLogShards
	}
	if c.LogTTL == 0 {
		c.LogTTL = DefaultLogTTL
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Retry.If == nil {
		c.Retry.If = retry.On(orm.ErrUnavailable, orm.ErrUncertain, orm.ErrTimeout)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports a Config that cannot be used. Zero fields are taken at their
// defaults.
func (c Config) Validate() error {
	c.setDefaults()
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("recommend: Config."+format, args...))
	}
	for _, w := range []struct {
		name string
		v    float64
	}{
		{"ViewWeight", c.ViewWeight}, {"CartWeight", c.CartWeight}, {"PurchaseWeight", c.PurchaseWeight},
		{"Shrinkage", c.Shrinkage},
		{"Weights.KNN", c.Weights.KNN}, {"Weights.Content", c.Weights.Content}, {"Weights.Popularity", c.Weights.Popularity},
	} {
		if w.v < 0 || math.IsNaN(w.v) || math.IsInf(w.v, 0) {
			bad("%s %v: want a finite number, 0 or more", w.name, w.v)
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{
		{"Neighbors", c.Neighbors}, {"PopularSize", c.PopularSize}, {"History", c.History},
		{"ContentSeeds", c.ContentSeeds}, {"ContentCandidates", c.ContentCandidates},
		{"LogShards", c.LogShards}, {"Concurrency", c.Concurrency},
	} {
		if n.v < 0 {
			bad("%s %d is negative", n.name, n.v)
		}
	}
	// Each list is written in one batch, which Cassandra refuses above 50 KiB
	// (batch_size_fail_threshold): these bounds keep ids of up to 80 bytes
	// under it.
	if c.Neighbors > MaxNeighbors {
		bad("Neighbors %d: an item's list is written in one batch and read whole; at most %d", c.Neighbors, MaxNeighbors)
	}
	if c.PopularSize > MaxPopularSize {
		bad("PopularSize %d: the list is written in one batch and read whole; at most %d", c.PopularSize, MaxPopularSize)
	}
	if c.ContentCandidates > orm.MaxANNLimit {
		bad("ContentCandidates %d: Cassandra allows at most %d rows per ANN query", c.ContentCandidates, orm.MaxANNLimit)
	}
	if c.HalfLife < 0 {
		bad("HalfLife %s is negative", c.HalfLife)
	}
	if c.LogTTL < 0 || c.LogTTL > orm.MaxTTL {
		bad("LogTTL %s: want up to %s", c.LogTTL, orm.MaxTTL)
	}
	if err := c.Retry.Validate(); err != nil {
		bad("Retry: %v", err)
	}
	return errors.Join(errs...)
}

// weight is the weight of one interaction of kind k; an unknown kind weighs 0.
func (c *Config) weight(k Kind) float64 {
	switch k {
	case View:
		return c.ViewWeight
	case Cart:
		return c.CartWeight
	case Purchase:
		return c.PurchaseWeight
	}
	return 0
}

// decay is the factor an interaction of age d keeps in the popularity model.
func (c *Config) decay(d time.Duration) float64 {
	return math.Exp2(-float64(d) / float64(c.HalfLife))
}
