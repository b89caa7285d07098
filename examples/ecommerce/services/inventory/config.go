package inventory

import (
	"errors"
	"fmt"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/retry"
)

// Limits on requests, checked before anything is sent.
const (
	// MaxIDLen is the longest product or reservation id, in bytes.
	MaxIDLen = 256
	// MaxQuantity is the most units one item, or one restock, may name.
	MaxQuantity = 1_000_000
	// MaxOnHand is the most units a product may have on hand.
	MaxOnHand = 1_000_000_000
	// MaxItems is the most products one request may name.
	MaxItems = 100
)

// Config configures a Service. A zero field takes its default; Validate says which
// values are refused.
type Config struct {
	// DefaultTTL is how long a reservation is held when Reserve is given no TTL
	// (default 15 minutes).
	DefaultTTL time.Duration
	// MaxTTL is the longest hold Reserve accepts (default 1 hour).
	MaxTTL time.Duration
	// Retention is how long a reservation's row is kept after its last change
	// (default 7 days, at least twice MaxTTL): the row is the record that makes a
	// duplicate call a no-op, so a reservation id must not be used again, nor a
	// call of the saga be repeated, after it. Rows expire by TTL and are only ever
	// read by key, so their tombstones are not scanned.
	Retention time.Duration
	// Bucket is the width of the expiry index's buckets (default 1 minute). Every
	// process that shares the tables must use the same.
	Bucket time.Duration
	// Grace is how late an index row may be written into its bucket, counted from
	// the bucket's end (default 1 minute): the clock skew between processes plus
	// the longest a Reserve takes from computing a reservation's expiry to writing
	// it. A bucket is read for the last time, and passed by the cursor, only after
	// it.
	Grace time.Duration
	// Lookback is how far back from now the sweeper starts when it has no cursor
	// yet (default 24 hours). Older holds are released by the next change to their
	// product.
	Lookback time.Duration
	// Poll is how often RunExpiry looks for holds that expired (default 1 second).
	Poll time.Duration
	// Attempts is how often a change to one product is tried while other changes
	// to the product get there first, or its outcome must be read again (default
	// 40). Many buyers of one product contend on its partition.
	Attempts int
	// Backoff spaces the attempts (default 5 ms doubling up to 250 ms, with
	// jitter, so competing writers fall out of step).
	Backoff retry.Backoff
	// OnSweep, when set, is called by RunExpiry after each pass, on its goroutine,
	// with what the pass did: for logs and metrics.
	OnSweep func(Sweep)
	// Feed, when set, is the change feed the stock model records its writes in
	// (orm.RecordChanges): every change to a product's partition is a change of
	// table inventory_stock on it, for subscribers such as the notification
	// service's Watcher. A change holds available (on_hand) in its values only
	// when it changed it. Sync does not sync the feed's own tables: sync its
	// Models. Optional.
	Feed *changefeed.Feed
}

func (c *Config) setDefaults() {
	if c.DefaultTTL == 0 {
		c.DefaultTTL = 15 * time.Minute
	}
	if c.MaxTTL == 0 {
		c.MaxTTL = time.Hour
	}
	if c.Retention == 0 {
		c.Retention = 7 * 24 * time.Hour
	}
	if c.Bucket == 0 {
		c.Bucket = time.Minute
	}
	if c.Grace == 0 {
		c.Grace = time.Minute
	}
	if c.Lookback == 0 {
		c.Lookback = 24 * time.Hour
	}
	if c.Poll == 0 {
		c.Poll = time.Second
	}
	if c.Attempts == 0 {
		c.Attempts = 40
	}
	if c.Backoff == (retry.Backoff{}) {
		c.Backoff = retry.Backoff{Initial: 5 * time.Millisecond, Max: 250 * time.Millisecond}
	}
}

// Validate reports the first field a Service cannot work with. Zero fields count as
// their defaults.
func (c Config) Validate() error {
	c.setDefaults()
	switch {
	case c.DefaultTTL < time.Second || c.MaxTTL < time.Second:
		return fmt.Errorf("inventory: Config: DefaultTTL %s and MaxTTL %s must be at least 1s", c.DefaultTTL, c.MaxTTL)
	case c.DefaultTTL > c.MaxTTL:
		return fmt.Errorf("inventory: Config: DefaultTTL %s is above MaxTTL %s", c.DefaultTTL, c.MaxTTL)
	case c.Retention < 2*c.MaxTTL:
		return fmt.Errorf("inventory: Config: Retention %s is below twice MaxTTL %s", c.Retention, c.MaxTTL)
	case c.Retention > 20*365*24*time.Hour:
		return fmt.Errorf("inventory: Config: Retention %s is above Cassandra's longest TTL (20 years)", c.Retention)
	case c.Bucket < time.Second || c.Bucket%time.Second != 0:
		return fmt.Errorf("inventory: Config: Bucket %s must be a whole number of seconds, at least 1s", c.Bucket)
	case c.Grace < 0 || c.Lookback < 0 || c.Poll < 0:
		return errors.New("inventory: Config: Grace, Lookback and Poll cannot be negative")
	case c.Attempts < 1:
		return fmt.Errorf("inventory: Config: Attempts %d: want at least 1", c.Attempts)
	}
	if err := c.Backoff.Validate(); err != nil {
		return fmt.Errorf("inventory: Config: %w", err)
	}
	return nil
}
