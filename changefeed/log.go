package changefeed

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// Head is the part of an entry the log reads and writes itself: embed it, as the
// first field, in the entry's row type. The log fills it in when it writes the
// entry.
type Head struct {
	// Bucket is the entry's time bucket: the start of its span, in Unix seconds.
	Bucket int64 `cql:"bucket" orm:"pk"`
	// Shard is the entry's shard, from its key (Log.ShardOf).
	Shard int32 `cql:"shard" orm:"pk"`
	// Seq orders the entries of a bucket and shard; its time is the entry's.
	Seq orm.UUID `cql:"seq" orm:"ck,timeuuid"`
	// Committed is set once the entry is known to be the record of a write that
	// applied: at once for an entry written with its write, by the first reader
	// that verified it for one written ahead.
	Committed bool `cql:"committed"`

	late bool // set by a look-back
}

func (h *Head) head() *Head { return h }

// Late reports whether a reader found the entry behind its position, in a
// look-back (Config.LookBack): the entry landed after the reader had passed its
// place, so it comes after entries that follow it in the log.
func (h *Head) Late() bool { return h.late }

// Position returns where the entry sits in the log.
func (h *Head) Position() Position { return Position{Bucket: h.Bucket, Seq: h.Seq} }

// Row is a log entry's row type: a struct embedding Head. P in Log[R, P] is *R.
type Row interface{ head() *Head }

// Position is a place in a log. The zero Position is its beginning.
type Position struct {
	// Bucket is the entry's time bucket, in Unix seconds.
	Bucket int64
	// Seq is the entry's timeuuid within the bucket.
	Seq orm.UUID
}

// Config configures a Log. Zero fields take the defaults documented on each.
type Config struct {
	// Table names the entries' table; Table+"_buckets" lists the buckets that
	// hold entries. Required.
	Table string
	// Bucket is the time span of one entry partition (default a minute, whole
	// seconds).
	Bucket time.Duration
	// Shards splits each bucket into this many partitions (default 1, at most
	// MaxShards). Entries of one key go to one shard, in order.
	Shards int
	// Lag is how far behind the present readers stay, so that entries written
	// with a slightly earlier time (clock skew, a slow write) are not passed
	// (default 3 s, at least MinLag).
	Lag time.Duration
	// AbandonAfter is how long a reader waits for an entry written ahead of a
	// write that has not shown up before it gives the entry up (default 10 s, at
	// least twice Lag).
	AbandonAfter time.Duration
	// MaxBatchBytes bounds the bound values of one WriteAhead (default 1 MiB).
	MaxBatchBytes int
	// LookBack is how far behind their position readers look again for entries
	// that landed after they had passed them: a logged batch that the cluster
	// applies late (a coordinator still at work after its client gave up, the
	// batch log replaying it). Zero or negative turns it off, which is right
	// only when every entry is written ahead of its write and so waited for
	// (the event store's feed). At least twice Lag and a whole number of
	// seconds when on. See Follow for what it costs.
	LookBack time.Duration
}

// Limits of Config.
const (
	MaxShards = 1024
	MinLag    = 100 * time.Millisecond
)

func (c *Config) setDefaults() {
	if c.Bucket == 0 {
		c.Bucket = time.Minute
	}
	if c.Shards == 0 {
		c.Shards = 1
	}
	if c.Lag == 0 {
		c.Lag = 3 * time.Second
	}
	if c.AbandonAfter == 0 {
		c.AbandonAfter = max(10*time.Second, 2*c.Lag)
	}
	if c.MaxBatchBytes == 0 {
		c.MaxBatchBytes = 1 << 20
	}
}

// Validate reports the first field a Log cannot work with. Zero fields are taken
// at their defaults.
func (c Config) Validate() error {
	c.setDefaults()
	switch {
	case c.Table == "":
		return errors.New("changefeed: Config.Table is empty")
	case c.Bucket < time.Second || c.Bucket%time.Second != 0:
		return fmt.Errorf("changefeed: %s: Bucket %v is not a whole number of seconds", c.Table, c.Bucket)
	case c.Shards < 1 || c.Shards > MaxShards:
		return fmt.Errorf("changefeed: %s: Shards %d is not between 1 and %d", c.Table, c.Shards, MaxShards)
	case c.Lag < MinLag:
		return fmt.Errorf("changefeed: %s: Lag %v is below the minimum %v", c.Table, c.Lag, MinLag)
	case c.AbandonAfter < 2*c.Lag:
		return fmt.Errorf("changefeed: %s: AbandonAfter %v is below twice Lag (%v)", c.Table, c.AbandonAfter, c.Lag)
	case c.MaxBatchBytes < 0:
		return fmt.Errorf("changefeed: %s: negative MaxBatchBytes %d", c.Table, c.MaxBatchBytes)
	case c.LookBack > 0 && (c.LookBack < 2*c.Lag || c.LookBack%time.Second != 0):
		return fmt.Errorf("changefeed: %s: LookBack %v is not a whole number of seconds of at least twice Lag (%v)", c.Table, c.LookBack, c.Lag)
	}
	return nil
}

// Verify decides about an entry a reader has found: deliver it (ok), wait for it
// (wait: the write it was written ahead of may still be in flight; the reader
// stops there and comes back), or skip it (neither: a write that did not apply, or
// a partial row). It sees committed entries too, which it normally delivers.
type Verify[R any] func(ctx context.Context, r *R) (ok, wait bool, err error)

// Log is a change log in time order: entries in partitions per time bucket and
// shard, a listing of the buckets that hold entries per shard, read forward from
// a Position. Writers write an entry ahead of a write whose outcome they cannot
// put in the same batch (a lightweight transaction), and readers verify such
// entries before they deliver them. It is safe for concurrent use.
type Log[R any, P interface {
	*R
	Row
}] struct {
	cfg     Config
	db      *orm.DB
	rows    *orm.Model[R]
	buckets *orm.Model[bucketRow]
	verify  Verify[R]

	// known holds the buckets listed already, so a write lists a bucket once per
	// process, not once per write.
	known sync.Map
}

// bucketRow lists, per shard, the buckets that hold entries, so readers skip empty
// time.
type bucketRow struct {
	Shard  int32 `cql:"shard" orm:"pk"`
	Bucket int64 `cql:"bucket" orm:"ck"`
}

// knownBucket keys Log.known. On a tenanted DB every tenant has its own listing.
type knownBucket struct {
	tenant string
	shard  int32
	bucket int64
}

// New returns a log of entries of type R on db, or cfg's Validate error. verify
// decides about entries readers find (see Verify). Sync its Models once.
func New[R any, P interface {
	*R
	Row
}](db *orm.DB, cfg Config, verify Verify[R]) (*Log[R, P], error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if verify == nil {
		return nil, fmt.Errorf("changefeed: %s: nil Verify", cfg.Table)
	}
	l := &Log[R, P]{cfg: cfg, db: db, verify: verify}
	var err error
	if l.rows, err = orm.NewModel[R](db, orm.TableName(cfg.Table)); err != nil {
		return nil, err
	}
	if l.buckets, err = orm.NewModel[bucketRow](db, orm.TableName(cfg.Table+"_buckets")); err != nil {
		return nil, err
	}
	return l, nil
}

// Models returns the log's tables, for DB.Sync.
func (l *Log[R, P]) Models() []orm.SchemaModel { return []orm.SchemaModel{l.rows, l.buckets} }

// Entries is the model of the entries' table.
func (l *Log[R, P]) Entries() *orm.Model[R] { return l.rows }

// Config returns the log's configuration, defaults filled in.
func (l *Log[R, P]) Config() Config { return l.cfg }

// ShardOf returns the shard of key: all entries of a key go to one shard, so a
// shard's order keeps each key's.
func (l *Log[R, P]) ShardOf(key string) int32 {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int32(h.Sum32() % uint32(l.cfg.Shards))
}

// bucketOf returns the bucket of time t.
func (l *Log[R, P]) bucketOf(t time.Time) int64 { return t.Truncate(l.cfg.Bucket).Unix() }

// WriteAhead fills in the heads of rows, entries of key, as uncommitted, and
// writes them (and any bucket listing they need) in one batch.
func (l *Log[R, P]) WriteAhead(ctx context.Context, key string, rows []R) error {
	return l.write(ctx, key, rows, false)
}

// Append fills in the heads of rows, entries of key, as committed, and writes them
// (and any bucket listing they need) in one batch: the record of a write that is
// known to have applied.
func (l *Log[R, P]) Append(ctx context.Context, key string, rows []R) error {
	return l.write(ctx, key, rows, true)
}

func (l *Log[R, P]) write(ctx context.Context, key string, rows []R, committed bool) error {
	if len(rows) == 0 {
		return nil
	}
	// One partition (the usual case: one bucket, already listed) needs no batch
	// log: an unlogged batch is atomic within a partition.
	b := l.db.NewBatch(orm.LoggedBatch, orm.BatchLimits{MaxStatements: 2 * len(rows), MaxPartitions: 4, MaxBytes: l.cfg.MaxBatchBytes})
	listed, err := l.stage(ctx, b, key, rows, committed)
	if err != nil {
		return err
	}
	if b.Partitions() == 1 {
		ub := l.db.NewBatch(orm.UnloggedBatch, orm.BatchLimits{MaxStatements: len(rows), MaxBytes: l.cfg.MaxBatchBytes})
		if _, err := l.stage(ctx, ub, key, rows, committed); err != nil {
			return err
		}
		b = ub
	}
	if err := b.Exec(ctx); err != nil {
		return fmt.Errorf("changefeed: %s: writing entries for %s: %w", l.cfg.Table, key, err)
	}
	l.remember(listed)
	return nil
}

// Stage fills in the heads of rows, entries of key, as committed, and adds them
// (and any bucket listing they need) to b, a logged batch that also makes the
// write they record: they are committed exactly when it is. Call Staged with the
// batch's outcome.
func (l *Log[R, P]) Stage(ctx context.Context, b *orm.Batch, key string, rows []R) (Staged, error) {
	listed, err := l.stage(ctx, b, key, rows, true)
	return Staged{listed: listed}, err
}

// Staged is what Stage added to a batch beside the entries.
type Staged struct{ listed []knownBucket }

// Applied tells the log that the batch of a Stage applied, so that later writes
// need not list its buckets again.
func (l *Log[R, P]) Applied(s Staged) { l.remember(s.listed) }

// stage fills in the heads of rows and adds them, and the listings of the buckets
// this process has not listed yet, to b; it returns the listings added.
func (l *Log[R, P]) stage(ctx context.Context, b *orm.Batch, key string, rows []R, committed bool) ([]knownBucket, error) {
	shard := l.ShardOf(key)
	owner, _ := tenant.From(ctx) // "" without one; a tenant-scoped write refuses the call then
	var listed []knownBucket
	seq := orm.NewTimeUUID()
	for i := range rows {
		if i > 0 {
			seq = orm.NewTimeUUID()
		}
		h := P(&rows[i]).head()
		*h = Head{Bucket: l.bucketOf(seq.Time()), Shard: shard, Seq: seq, Committed: committed}
		kb := knownBucket{owner, shard, h.Bucket}
		if _, ok := l.known.Load(kb); !ok && !slices.Contains(listed, kb) {
			listed = append(listed, kb)
		}
		if err := l.rows.Batch(b).Insert(ctx, &rows[i]); err != nil {
			return nil, err
		}
	}
	for _, kb := range listed {
		if err := l.buckets.Batch(b).Insert(ctx, &bucketRow{Shard: shard, Bucket: kb.bucket}); err != nil {
			return nil, err
		}
	}
	return listed, nil
}

// remember records bucket listings as written.
func (l *Log[R, P]) remember(listed []knownBucket) {
	for _, kb := range listed {
		l.known.Store(kb, true)
	}
}

// Abandon deletes entries written ahead of a write that was refused. Best effort,
// even when ctx has ended: readers skip such entries anyway.
func (l *Log[R, P]) Abandon(ctx context.Context, rows []R) {
	b := l.db.NewBatch(orm.UnloggedBatch, orm.BatchLimits{MaxPartitions: 4, MaxStatements: len(rows)})
	for i := range rows {
		h := P(&rows[i]).head()
		_ = l.rows.Batch(b).Delete(ctx, h.Bucket, h.Shard, h.Seq)
	}
	_ = b.Exec(context.WithoutCancel(ctx))
}

// Read returns up to limit entries (limit ≥ 1) of shard shard (0 to Shards-1)
// after position from, in log order, that Verify says to deliver, and the
// position a reader may record as done. It stops early at an entry Verify says to
// wait for, and never reads closer to the present than Lag. An entry delivered
// that was not marked committed is marked, sparing the next reader the check.
func (l *Log[R, P]) Read(ctx context.Context, shard int, from Position, limit int) ([]R, Position, error) {
	if shard < 0 || shard >= l.cfg.Shards {
		return nil, from, fmt.Errorf("changefeed: %s: shard %d: the log has shards 0 to %d", l.cfg.Table, shard, l.cfg.Shards-1)
	}
	if limit < 1 {
		return nil, from, fmt.Errorf("changefeed: %s: reading shard %d: limit %d, want at least 1", l.cfg.Table, shard, limit)
	}
	var out []R
	pos := from
	err := l.walk(ctx, shard, from, time.Now().Add(-l.cfg.Lag), func() int { return limit - len(out) }, func(r *R) (bool, error) {
		ok, wait, err := l.verify(ctx, r)
		if err != nil || wait {
			return false, err
		}
		h := P(r).head()
		pos = h.Position()
		if ok {
			l.markCommitted(ctx, h)
			out = append(out, *r)
		}
		return len(out) < limit, nil
	})
	return out, pos, err
}

// markCommitted marks an entry a reader delivers as committed, sparing the next
// reader the check. Best effort: a reader that finds it unmarked checks again.
func (l *Log[R, P]) markCommitted(ctx context.Context, h *Head) {
	if !h.Committed {
		_ = l.rows.Patch(ctx, []any{h.Bucket, h.Shard, h.Seq}, []orm.Change{orm.Set("committed", true)})
		h.Committed = true
	}
}

// walk hands fn the entries of shard after position from, in log order, whose
// times are not after upTo, until fn returns false or an error. want gives the
// size of the next query: what the caller still needs.
func (l *Log[R, P]) walk(ctx context.Context, shard int, from Position, upTo time.Time, want func() int, fn func(r *R) (bool, error)) error {
	last := l.bucketOf(upTo)
	bq := l.buckets.Query().Where(orm.Eq("shard", int32(shard)), orm.Gte("bucket", from.Bucket), orm.Lte("bucket", last))
	for br, err := range bq.All(ctx) {
		if err != nil {
			return fmt.Errorf("changefeed: %s: reading the buckets of shard %d: %w", l.cfg.Table, shard, err)
		}
		var after orm.UUID
		if br.Bucket == from.Bucket {
			after = from.Seq
		}
		// Page through the bucket: fn may pass over entries, so one query may
		// not reach the end.
		for {
			n := want()
			q := l.rows.Query().Where(orm.Eq("bucket", br.Bucket), orm.Eq("shard", int32(shard)), orm.Lte("seq", orm.MaxTimeUUID(upTo)))
			if after != (orm.UUID{}) {
				q = q.Where(orm.Gt("seq", after))
			}
			read := 0
			for r, err := range q.Limit(n).All(ctx) {
				if err != nil {
					return fmt.Errorf("changefeed: %s: reading bucket %d of shard %d: %w", l.cfg.Table, br.Bucket, shard, err)
				}
				read++
				after = P(&r).head().Seq
				more, err := fn(&r)
				if err != nil || !more {
					return err
				}
			}
			if read < n {
				break // the bucket holds nothing more that is readable now
			}
		}
	}
	return nil
}
