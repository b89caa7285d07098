package eventsourcing

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// eventRow is one stored event. A stream is split into buckets of about BucketSize
// events so no partition grows without bound; the static head column holds the
// stream's version as of the bucket and guards appends. FeedSeq is the feed entry
// written ahead by the attempt that stored the event: every attempt of an append
// writes entries of its own, and readers deliver only this one.
type eventRow struct {
	Stream        string            `cql:"stream" orm:"pk"`
	Bucket        int64             `cql:"bucket" orm:"pk"`
	Version       int64             `cql:"version" orm:"ck"`
	Head          *int64            `cql:"head" orm:"static"`
	EventID       orm.UUID          `cql:"event_id"`
	Type          string            `cql:"type"`
	SchemaVersion int32             `cql:"schema_version"`
	Data          []byte            `cql:"data"`
	Metadata      map[string]string `cql:"metadata"`
	RecordedAt    time.Time         `cql:"recorded_at"`
	FeedSeq       orm.UUID          `cql:"feed_seq" orm:"timeuuid"`
}

// StoreConfig configures a Store. Zero fields take the defaults documented on each;
// NewStore refuses a configuration that Validate rejects.
//
// BucketSize, FeedBucket, FeedShards, FeedLag and AbandonAfter are recorded in the
// store's layout table on first use and fixed for the life of the data: writers and
// readers must agree on them (a writer bounds its writes by FeedLag and AbandonAfter,
// and a reader relies on those bounds), so a process opened with other values is
// refused before it writes.
type StoreConfig struct {
	// Prefix starts every table name (default "es": es_events, es_feed, ...).
	Prefix string
	// BucketSize is the number of events per stream partition (default 1,000; 1 to
	// 100,000). It also bounds the events of one append.
	BucketSize int64
	// FeedBucket is the time span of one feed partition (default one minute, which
	// bounds a partition at about 60,000 entries at 1,000 events a second; a whole
	// number of seconds, at least one). Every append of that span writes to that
	// one partition (per shard); readers skip spans with no events.
	FeedBucket time.Duration
	// FeedShards splits each feed bucket into this many partitions (default 1; at
	// most 1,024), spreading appends over more replicas. A stream's events all go
	// to one shard, so each shard keeps each stream's order, but only with one
	// shard is the feed in one global order. Projectors run one reader per shard,
	// each under its own lease, so shards can be spread over processes.
	FeedShards int
	// FeedLag is how far behind the present feed readers stay, so that entries
	// written with a slightly slow clock or a slow write are not passed over
	// (default 3s, at least MinFeedLag). It must exceed the clock skew between
	// writers; an append whose feed write takes longer than half of it is refused
	// before it touches the stream.
	FeedLag time.Duration
	// AbandonAfter is how long a feed entry whose event never reached its stream
	// (the append lost its race, or its writer died) holds readers back before
	// they settle it with a serial read and skip it (default 30s, at least
	// MinAbandonAfter and at least twice FeedLag). An append bounds its stream
	// write to half of it from its feed entry.
	AbandonAfter time.Duration
	// MaxAppendBytes bounds the payload of one append (default 48 KiB, at most
	// MaxAppendBytesLimit, so that the append's batches stay under Cassandra's
	// default batch_size_fail_threshold of 640 KiB).
	MaxAppendBytes int
}

// Bounds of StoreConfig.
const (
	// MaxBucketSize is the largest StoreConfig.BucketSize: a bucket is one
	// partition, and an append of up to BucketSize events is one batch.
	MaxBucketSize = 100_000
	// MaxFeedShards is the largest StoreConfig.FeedShards: a projector runs a
	// reader and holds a lease per shard.
	MaxFeedShards = 1024
	// MinFeedLag is the smallest StoreConfig.FeedLag. Below it, ordinary write
	// latency on a loaded node (tens of milliseconds) would refuse many appends
	// whose feed write took more than half the lag.
	MinFeedLag = 100 * time.Millisecond
	// MinAbandonAfter is the smallest StoreConfig.AbandonAfter. An append's
	// conditional batch (a Paxos round) must finish within half of it.
	MinAbandonAfter = 500 * time.Millisecond
	// MaxAppendBytesLimit is the largest StoreConfig.MaxAppendBytes: an append's
	// batch carries the payload plus up to 64 KiB of keys and metadata, and must
	// stay under Cassandra's default batch_size_fail_threshold (640 KiB).
	MaxAppendBytesLimit = 640<<10 - batchOverhead
)

// batchOverhead is the room an append's batches leave beside the payload.
const batchOverhead = 64 << 10

// setDefaults fills in the zero fields.
func (c *StoreConfig) setDefaults() {
	if c.Prefix == "" {
		c.Prefix = "es"
	}
	if c.BucketSize == 0 {
		c.BucketSize = 1000
	}
	if c.FeedBucket == 0 {
		c.FeedBucket = time.Minute
	}
	if c.FeedShards == 0 {
		c.FeedShards = 1
	}
	if c.FeedLag == 0 {
		c.FeedLag = 3 * time.Second
	}
	if c.AbandonAfter == 0 {
		c.AbandonAfter = 30 * time.Second
	}
	if c.MaxAppendBytes == 0 {
		c.MaxAppendBytes = 48 << 10
	}
}

// Validate reports a configuration the store cannot run with, its zero fields taken
// at their defaults (as NewStore takes them).
func (c StoreConfig) Validate() error {
	c.setDefaults()
	switch {
	case c.BucketSize < 1 || c.BucketSize > MaxBucketSize:
		return fmt.Errorf("eventsourcing: store %s: BucketSize %d is not between 1 and %d", c.Prefix, c.BucketSize, MaxBucketSize)
	case c.FeedBucket < time.Second || c.FeedBucket%time.Second != 0:
		return fmt.Errorf("eventsourcing: store %s: FeedBucket %v is not a whole number of seconds", c.Prefix, c.FeedBucket)
	case c.FeedShards < 1 || c.FeedShards > MaxFeedShards:
		return fmt.Errorf("eventsourcing: store %s: FeedShards %d is not between 1 and %d", c.Prefix, c.FeedShards, MaxFeedShards)
	case c.FeedLag < MinFeedLag:
		return fmt.Errorf("eventsourcing: store %s: FeedLag %v is below the minimum %v", c.Prefix, c.FeedLag, MinFeedLag)
	case c.AbandonAfter < MinAbandonAfter:
		return fmt.Errorf("eventsourcing: store %s: AbandonAfter %v is below the minimum %v", c.Prefix, c.AbandonAfter, MinAbandonAfter)
	case c.AbandonAfter < 2*c.FeedLag:
		return fmt.Errorf("eventsourcing: store %s: AbandonAfter %v is below twice FeedLag (%v): an append's stream write would have no time after its feed write",
			c.Prefix, c.AbandonAfter, c.FeedLag)
	case c.MaxAppendBytes < 1 || c.MaxAppendBytes > MaxAppendBytesLimit:
		return fmt.Errorf("eventsourcing: store %s: MaxAppendBytes %d is not between 1 and %d", c.Prefix, c.MaxAppendBytes, MaxAppendBytesLimit)
	}
	return nil
}

// Store is an event store on Cassandra: streams with optimistic concurrency by
// lightweight transaction, and a global feed in time order for projections. It is safe
// for concurrent use.
type Store struct {
	db     *orm.DB
	opts   StoreConfig
	events *orm.Model[eventRow]
	feed   *changefeed.Log[feedRow, *feedRow]
	snaps  *orm.Model[snapshotRow]
	checks *changefeed.Checkpoints
	// positions serves Projector.InStreamOrder.
	positions *orm.Model[streamPosRow]

	meta     *orm.Model[layoutRow]
	layoutMu sync.Mutex
	layoutOK map[string]bool // by keyspace: the layout is recorded per keyspace
}

// layoutRow records the configuration that must stay fixed for the life of the data, so a
// process opened with other values is refused instead of writing where others do not
// read.
type layoutRow struct {
	Name         string `cql:"name" orm:"pk"`
	BucketSize   int64  `cql:"bucket_size"`
	FeedBucket   int64  `cql:"feed_bucket_seconds"`
	FeedShards   int32  `cql:"feed_shards"`
	FeedLag      int64  `cql:"feed_lag_ms"`
	AbandonAfter int64  `cql:"abandon_after_ms"`
}

func (l *layoutRow) String() string {
	return fmt.Sprintf("BucketSize %d, FeedBucket %ds, FeedShards %d, FeedLag %dms, AbandonAfter %dms",
		l.BucketSize, l.FeedBucket, l.FeedShards, l.FeedLag, l.AbandonAfter)
}

// checkLayout records the store's fixed options on first use, or checks them against
// those recorded. It runs once per Store.
func (s *Store) checkLayout(ctx context.Context) error {
	ks, err := s.db.KeyspaceFor(ctx)
	if err != nil {
		return err
	}
	s.layoutMu.Lock()
	defer s.layoutMu.Unlock()
	if s.layoutOK[ks] {
		return nil
	}
	want := layoutRow{Name: "layout", BucketSize: s.opts.BucketSize, FeedBucket: int64(s.opts.FeedBucket / time.Second),
		FeedShards: int32(s.opts.FeedShards), FeedLag: s.opts.FeedLag.Milliseconds(), AbandonAfter: s.opts.AbandonAfter.Milliseconds()}
	err = s.meta.InsertIfNotExists(ctx, &want)
	var ce *orm.ConflictError
	if errors.As(err, &ce) {
		cur, _ := ce.Current.(*layoutRow)
		if cur == nil {
			return fmt.Errorf("eventsourcing: store %s has a recorded layout that the server did not return: %w", s.opts.Prefix, err)
		}
		if *cur != want {
			return fmt.Errorf("eventsourcing: store %s was created with %s; this process has %s: these cannot change",
				s.opts.Prefix, cur, &want)
		}
	} else if err != nil {
		return fmt.Errorf("eventsourcing: recording the layout of store %s: %w", s.opts.Prefix, err)
	}
	s.layoutOK[ks] = true
	return nil
}

// NewStore returns a store on db's keyspace, configured by cfg with its defaults
// filled in. It returns cfg's Validate error for a configuration the store cannot
// run with. Call Sync once to create its tables.
func NewStore(db *orm.DB, cfg StoreConfig) (*Store, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Store{db: db, opts: cfg, layoutOK: map[string]bool{}}
	var err error
	if s.events, err = orm.NewModel[eventRow](db, orm.TableName(cfg.Prefix+"_events")); err != nil {
		return nil, err
	}
	s.feed, err = changefeed.New[feedRow](db, changefeed.Config{Table: cfg.Prefix + "_feed", Bucket: cfg.FeedBucket, Shards: cfg.FeedShards,
		Lag: cfg.FeedLag, AbandonAfter: cfg.AbandonAfter, MaxBatchBytes: cfg.MaxAppendBytes + batchOverhead}, s.verify)
	if err != nil {
		return nil, err
	}
	if s.snaps, err = orm.NewModel[snapshotRow](db, orm.TableName(cfg.Prefix+"_snapshots")); err != nil {
		return nil, err
	}
	if s.checks, err = changefeed.NewCheckpoints(db, cfg.Prefix+"_checkpoints"); err != nil {
		return nil, err
	}
	if s.positions, err = orm.NewModel[streamPosRow](db, orm.TableName(cfg.Prefix+"_stream_positions")); err != nil {
		return nil, err
	}
	if s.meta, err = orm.NewModel[layoutRow](db, orm.TableName(cfg.Prefix+"_layout"), orm.WithScope(orm.KeyspaceScope)); err != nil {
		return nil, err
	}
	return s, nil
}

// Sync creates the store's tables and records (or checks) its fixed configuration:
// BucketSize, FeedBucket, FeedShards, FeedLag and AbandonAfter.
func (s *Store) Sync(ctx context.Context) error {
	if err := s.db.Sync(ctx, append(s.feed.Models(), s.events, s.snaps, s.checks.Model(), s.positions, s.meta)...); err != nil {
		return err
	}
	return s.checkLayout(ctx)
}

// Config returns the store's configuration with defaults filled in.
func (s *Store) Config() StoreConfig { return s.opts }

// Append adds events to stream if its current version is expected (0 for a new
// stream), all or none, and returns the new version. Exactly one of any number of
// concurrent appends at one version wins. Its error says what became of the events:
//   - a *ConcurrencyError (ErrConcurrency): refused, certainly; another writer moved
//     the stream first, and the events are not stored;
//   - an error matching orm.ErrUncertain (an *UncertainError, or a feed write whose
//     outcome is unknown): the events may be stored, now or later. Appending the
//     same events (by ID) at the same expected version again settles it: it
//     succeeds without storing them twice if they are stored;
//   - any other error: this call stored nothing.
//
// Each event's Metadata.Tenant is set to the tenant of ctx (tenant.From), when there
// is one; Append refuses, storing nothing, a ctx whose tenant is invalid
// (tenant.ErrInvalidID) and an event whose Metadata.Tenant names another tenant
// (tenant.ErrMismatch). Under a ctx without tenant the metadata is stored as given.
func (s *Store) Append(ctx context.Context, stream string, expected int64, events []EventData) (int64, error) {
	n := int64(len(events))
	switch {
	case stream == "":
		return 0, fmt.Errorf("eventsourcing: append: empty stream name")
	case expected < 0:
		return 0, fmt.Errorf("eventsourcing: append to %s: expected version %d", stream, expected)
	case n == 0:
		return expected, nil
	case n > s.opts.BucketSize:
		return 0, fmt.Errorf("eventsourcing: append to %s: %d events, at most %d per append", stream, n, s.opts.BucketSize)
	}
	if err := s.checkLayout(ctx); err != nil {
		return 0, err
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	size := 0
	rows := make([]eventRow, n)
	bucket := expected / s.opts.BucketSize
	for i, e := range events {
		md, err := withTenant(ctx, stream, e.Metadata)
		if err != nil {
			return 0, err
		}
		if e.ID == (orm.UUID{}) {
			e.ID = orm.NewUUID()
		}
		size += len(e.Data)
		rows[i] = eventRow{Stream: stream, Bucket: bucket, Version: expected + int64(i) + 1, EventID: e.ID,
			Type: e.Type, SchemaVersion: int32(e.SchemaVersion), Data: e.Data, Metadata: md.toMap(), RecordedAt: now}
	}
	if size > s.opts.MaxAppendBytes {
		return 0, fmt.Errorf("eventsourcing: append to %s: %d bytes of payload, at most %d per append", stream, size, s.opts.MaxAppendBytes)
	}
	// Write ahead to the feed, so no committed event can be missing from it.
	feed, err := s.writeAhead(ctx, rows)
	if err != nil {
		return 0, err
	}
	for i := range rows {
		rows[i].FeedSeq = feed[i].Seq
	}
	if late := time.Since(feed[0].Seq.Time()); late > s.opts.FeedLag/2 {
		// Readers may already be past these entries' place in the feed: writing
		// the events now could hide them from projections. Nothing is written
		// to the stream; the caller may retry.
		s.feed.Abandon(ctx, feed)
		return 0, fmt.Errorf("eventsourcing: append to %s: the feed write took %v, more than half the feed lag (%v); nothing was appended",
			stream, late.Round(time.Millisecond), s.opts.FeedLag)
	}
	// Readers give up an unresolved entry once it is AbandonAfter old (after a
	// SERIAL read, which settles a Paxos round left half done): bound the stream
	// write well within that.
	wctx, cancel := context.WithDeadline(ctx, feed[0].Seq.Time().Add(s.opts.AbandonAfter/2))
	defer cancel()
	err = s.appendRows(wctx, rows, expected, false)
	var ce *orm.ConflictError
	if errors.As(err, &ce) && headOf(ce) == nil && expected > 0 {
		// The bucket has no head yet: the stream moves to a new bucket if the
		// previous one ends at the expected version.
		err = s.rollover(wctx, stream, bucket, expected, rows)
	}
	if errors.As(err, &ce) {
		err = s.conflict(ctx, stream, bucket, expected, rows, ce)
		if err == nil {
			// An earlier attempt stored these events, with its own feed entries:
			// this attempt's are duplicates.
			s.feed.Abandon(ctx, feed)
		}
	}
	var conc *ConcurrencyError
	var na notAppendedError
	var ue *UncertainError
	switch {
	case err == nil:
		return expected + n, nil
	case errors.As(err, &conc), errors.As(err, &na):
		// A definite refusal: these events are not in the stream and this
		// attempt can no longer store them, so its feed entries can go.
		s.feed.Abandon(ctx, feed)
	case errors.Is(err, orm.ErrUncertain) && !errors.As(err, &ue):
		// The events may be stored: their feed entries stay, and readers
		// check them against the stream.
		err = &UncertainError{Stream: stream, Expected: expected, Err: err}
	}
	return 0, err
}

// notAppendedError is an append that failed before its events could be stored: its
// conditional batch was refused, and what to do next could not be read.
type notAppendedError struct{ err error }

func (e notAppendedError) Error() string { return e.err.Error() }
func (e notAppendedError) Unwrap() error { return e.err }

// appendRows writes rows in one conditional batch guarded by the bucket's head: the
// head must be expected, or absent for a new stream or a bucket being opened.
func (s *Store) appendRows(ctx context.Context, rows []eventRow, expected int64, openBucket bool) error {
	first := rows[0]
	head := expected + int64(len(rows))
	b := s.db.NewBatch(orm.LoggedBatch, orm.BatchLimits{MaxStatements: int(s.opts.BucketSize) + 1, MaxBytes: s.opts.MaxAppendBytes + batchOverhead})
	var cond any = expected
	if expected == 0 || openBucket {
		cond = nil
	}
	err := s.events.Batch(b).PatchIf(ctx, []any{first.Stream, first.Bucket}, []orm.Predicate{orm.Eq("head", cond)},
		[]orm.Change{orm.Set("head", head)})
	if err != nil {
		return err
	}
	for i := range rows {
		if err := s.events.Batch(b).Insert(ctx, &rows[i]); err != nil {
			return err
		}
	}
	if err := b.Exec(ctx); err != nil {
		return fmt.Errorf("eventsourcing: append to %s at version %d: %w", first.Stream, expected, err)
	}
	return nil
}

// rollover opens bucket for rows when the previous bucket's head is expected. It is
// called after the append was refused in bucket because bucket has no head: then
// bucket holds no events, and these events are not stored.
func (s *Store) rollover(ctx context.Context, stream string, bucket, expected int64, rows []eventRow) error {
	prev, err := s.head(ctx, stream, bucket-1)
	if err != nil {
		return notAppendedError{fmt.Errorf("eventsourcing: append to %s at version %d: bucket %d has no head, and the previous bucket could not be read; nothing was appended: %w",
			stream, expected, bucket, err)}
	}
	if prev == nil || *prev != expected {
		return s.refused(ctx, stream, expected)
	}
	return s.appendRows(ctx, rows, expected, true)
}

// head reads a bucket's head with serial consistency, so it sees every applied
// lightweight transaction.
func (s *Store) head(ctx context.Context, stream string, bucket int64) (*int64, error) {
	if bucket < 0 {
		return nil, nil
	}
	row, err := s.events.Query().Where(orm.Eq("stream", stream), orm.Eq("bucket", bucket)).Columns("head").
		With(orm.WithConsistency(orm.Serial)).One(ctx)
	if errors.Is(err, orm.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("eventsourcing: reading the head of %s bucket %d: %w", stream, bucket, err)
	}
	return row.Head, nil
}

// headOf returns the head a refused conditional batch saw in its bucket, or nil.
func headOf(ce *orm.ConflictError) *int64 {
	cur, _ := ce.Current.(map[string]any)
	if h, ok := cur["head"].(int64); ok {
		return &h
	}
	return nil
}

// conflict settles an append refused in bucket: nil if the stream already holds
// these very events (an earlier attempt applied and its reply was lost), a
// *ConcurrencyError if it certainly does not, and an *UncertainError if that could
// not be read.
func (s *Store) conflict(ctx context.Context, stream string, bucket, expected int64, rows []eventRow, ce *orm.ConflictError) error {
	last := expected + int64(len(rows))
	h := headOf(ce)
	if h == nil || *h >= last {
		// The bucket reaches these versions: they may hold these events. An
		// attempt of this append writes them nowhere but this bucket at these
		// versions.
		stored, err := s.holds(ctx, rows)
		if err != nil {
			return &UncertainError{Stream: stream, Expected: expected,
				Err: fmt.Errorf("refused, and whether an earlier attempt stored these events could not be read: %w", err)}
		}
		if stored {
			return nil
		}
	}
	if h != nil && *h/s.opts.BucketSize <= bucket {
		// The next append after this head goes to this bucket, so no later
		// bucket exists: the head is the stream's version.
		return &ConcurrencyError{Stream: stream, Expected: expected, Current: *h}
	}
	return s.refused(ctx, stream, expected)
}

// holds reports whether the stream holds rows, by event id at their versions. It
// reads with serial consistency, so an earlier attempt's Paxos round left half done
// is settled first.
func (s *Store) holds(ctx context.Context, rows []eventRow) (bool, error) {
	first := rows[0]
	q := s.events.Query().Where(orm.Eq("stream", first.Stream), orm.Eq("bucket", first.Bucket),
		orm.Gte("version", first.Version), orm.Lte("version", rows[len(rows)-1].Version)).Columns("version", "event_id").
		With(orm.WithConsistency(orm.Serial))
	i := 0
	for r, err := range q.All(ctx) {
		if err != nil {
			return false, fmt.Errorf("eventsourcing: reading %s bucket %d from version %d: %w", first.Stream, first.Bucket, first.Version, err)
		}
		if i >= len(rows) || r.Version != rows[i].Version || r.EventID != rows[i].EventID {
			return false, nil
		}
		i++
	}
	return i == len(rows), nil
}

// refused returns the *ConcurrencyError of a certain refusal, with the stream's
// version read now, or CurrentUnknown if that read fails.
func (s *Store) refused(ctx context.Context, stream string, expected int64) error {
	cur, err := s.Version(ctx, stream)
	if err != nil {
		cur = CurrentUnknown
	}
	return &ConcurrencyError{Stream: stream, Expected: expected, Current: cur}
}

// Version returns the stream's current version (0 for a stream with no events).
func (s *Store) Version(ctx context.Context, stream string) (int64, error) {
	var v int64
	for b := int64(0); ; b++ {
		h, err := s.head(ctx, stream, b)
		if err != nil {
			return 0, err
		}
		if h == nil {
			return v, nil
		}
		v = *h
	}
}

// Load yields the events of stream from version from (1 for all), in order.
func (s *Store) Load(ctx context.Context, stream string, from int64) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		if from < 1 {
			from = 1
		}
		// An event lives in the bucket of the append that wrote it, which began at
		// most BucketSize versions earlier.
		first := (from - 1) / s.opts.BucketSize
		for b := max(0, first-1); ; b++ {
			found := false
			var head *int64
			q := s.events.Query().Where(orm.Eq("stream", stream), orm.Eq("bucket", b), orm.Gte("version", from))
			for r, err := range q.All(ctx) {
				if err != nil {
					yield(Record{}, fmt.Errorf("eventsourcing: loading %s: %w", stream, err))
					return
				}
				found, head = true, r.Head
				if !yield(r.record(), nil) {
					return
				}
				from = r.Version + 1
			}
			switch {
			case !found && b >= first:
				return
			case head != nil && *head/s.opts.BucketSize <= b:
				// The next append after this head goes to this bucket: there is
				// no later one to read.
				return
			}
		}
	}
}

func (r *eventRow) record() Record {
	return Record{ID: r.EventID, Stream: r.Stream, Version: r.Version, Type: r.Type, SchemaVersion: int(r.SchemaVersion),
		Data: r.Data, Metadata: metadataFrom(r.Metadata), RecordedAt: r.RecordedAt}
}
