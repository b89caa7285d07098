package eventsourcing

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// feedRow is one entry of the global feed: every event of every stream, in time
// order, bucketed by time. Entries are written before their events (write-ahead), so a
// committed event is never missing from the feed. Each attempt of an append writes
// its own entries, and the stored event names the one entry of the attempt that
// stored it (eventRow.FeedSeq): readers deliver that entry and skip every other, so
// an entry whose append lost its race, whose writer died, or whose attempt was a
// retry of events already stored is recognised by reading the stream. The first
// reader to confirm an entry marks it committed, so later readers skip the check;
// appends do not pay for the mark.
type feedRow struct {
	Bucket        int64             `cql:"bucket" orm:"pk"`
	Shard         int32             `cql:"shard" orm:"pk"`
	Seq           orm.UUID          `cql:"seq" orm:"ck,timeuuid"`
	EventID       orm.UUID          `cql:"event_id"`
	Stream        string            `cql:"stream"`
	StreamBucket  int64             `cql:"stream_bucket"`
	Version       int64             `cql:"version"`
	Type          string            `cql:"type"`
	SchemaVersion int32             `cql:"schema_version"`
	Data          []byte            `cql:"data"`
	Metadata      map[string]string `cql:"metadata"`
	RecordedAt    time.Time         `cql:"recorded_at"`
	Committed     bool              `cql:"committed"`
}

// feedBucketRow lists, per shard, the feed buckets that hold entries, so readers skip
// empty time.
type feedBucketRow struct {
	Shard  int32 `cql:"shard" orm:"pk"`
	Bucket int64 `cql:"bucket" orm:"ck"`
}

// Position is a place in the global feed. The zero Position is its beginning.
type Position struct {
	// Bucket is the feed partition: the start of its time span, in Unix seconds.
	Bucket int64
	// Seq is the entry's timeuuid within the bucket.
	Seq orm.UUID
}

// Entry is a feed entry handed to readers: the event and where it sits in the feed.
type Entry struct {
	Record
	// Position is the entry's place in the feed; a reader that has handled the
	// entry records it as its checkpoint.
	Position Position
}

func (s *Store) feedBucketOf(t time.Time) int64 {
	return t.Truncate(s.opts.FeedBucket).Unix()
}

// shardOf returns the feed shard of a stream: all its events go to one shard, so a
// shard's order keeps each stream's order.
func (s *Store) shardOf(stream string) int32 {
	h := fnv.New32a()
	h.Write([]byte(stream))
	return int32(h.Sum32() % uint32(s.opts.FeedShards))
}

// knownBucket keys Store.knownBuckets. On a tenanted DB every tenant has its own
// bucket list, so the tenant is part of the key.
type knownBucket struct {
	tenant string
	shard  int32
	bucket int64
}

// writeAhead writes the feed entries of rows before the append.
func (s *Store) writeAhead(ctx context.Context, rows []eventRow) ([]feedRow, error) {
	feed := make([]feedRow, len(rows))
	shard := s.shardOf(rows[0].Stream)
	owner, _ := tenant.From(ctx) // "" without one; the writes below refuse a tenant-scoped call then
	var buckets, listed []int64
	for i, r := range rows {
		seq := orm.NewTimeUUID()
		feed[i] = feedRow{Bucket: s.feedBucketOf(seq.Time()), Shard: shard, Seq: seq, EventID: r.EventID, Stream: r.Stream,
			StreamBucket: r.Bucket, Version: r.Version, Type: r.Type, SchemaVersion: r.SchemaVersion,
			Data: r.Data, Metadata: r.Metadata, RecordedAt: r.RecordedAt}
		if !slices.Contains(buckets, feed[i].Bucket) {
			buckets = append(buckets, feed[i].Bucket)
			if _, ok := s.knownBuckets.Load(knownBucket{owner, shard, feed[i].Bucket}); !ok {
				listed = append(listed, feed[i].Bucket)
			}
		}
	}
	// One partition (the usual case: one feed bucket, already listed) needs no
	// batch log: an unlogged batch is atomic within a partition.
	kind := orm.UnloggedBatch
	if len(buckets)+len(listed) > 1 {
		kind = orm.LoggedBatch
	}
	b := s.db.NewBatch(kind, orm.BatchLimits{MaxStatements: len(rows) + len(listed), MaxPartitions: 4,
		MaxBytes: s.opts.MaxAppendBytes + batchOverhead})
	for i := range feed {
		if err := s.feed.Batch(b).Insert(ctx, &feed[i]); err != nil {
			return nil, err
		}
	}
	for _, bucket := range listed {
		if err := s.buckets.Batch(b).Insert(ctx, &feedBucketRow{Shard: shard, Bucket: bucket}); err != nil {
			return nil, err
		}
	}
	if err := b.Exec(ctx); err != nil {
		return nil, fmt.Errorf("eventsourcing: writing feed entries for %s: %w", rows[0].Stream, err)
	}
	for _, bucket := range listed {
		s.knownBuckets.Store(knownBucket{owner, shard, bucket}, true)
	}
	return feed, nil
}

// abandon deletes the feed entries of a refused append. Best effort: readers skip
// entries whose events are not in their stream.
func (s *Store) abandon(ctx context.Context, feed []feedRow) {
	b := s.db.NewBatch(orm.UnloggedBatch, orm.BatchLimits{MaxPartitions: 4, MaxStatements: len(feed)})
	for _, f := range feed {
		_ = s.feed.Batch(b).Delete(ctx, f.Bucket, f.Shard, f.Seq)
	}
	_ = b.Exec(context.WithoutCancel(ctx))
}

// ReadFeed returns up to limit entries (limit ≥ 1) of feed shard shard (0 to
// FeedShards-1) after position from, in feed order, and the position readers may
// record as done. It stops early at an entry whose append is still in flight, and
// never reads closer to the present than FeedLag.
func (s *Store) ReadFeed(ctx context.Context, shard int, from Position, limit int) ([]Entry, Position, error) {
	if shard < 0 || shard >= s.opts.FeedShards {
		return nil, from, fmt.Errorf("eventsourcing: feed shard %d: the store has shards 0 to %d", shard, s.opts.FeedShards-1)
	}
	if limit < 1 {
		return nil, from, fmt.Errorf("eventsourcing: reading feed shard %d: limit %d, want at least 1", shard, limit)
	}
	upTo := time.Now().Add(-s.opts.FeedLag)
	last := s.feedBucketOf(upTo)
	var out []Entry
	pos := from
	bq := s.buckets.Query().Where(orm.Eq("shard", int32(shard)), orm.Gte("bucket", from.Bucket), orm.Lte("bucket", last))
	for br, err := range bq.All(ctx) {
		if err != nil {
			return out, pos, fmt.Errorf("eventsourcing: reading feed buckets: %w", err)
		}
		var after orm.UUID
		if br.Bucket == from.Bucket {
			after = from.Seq
		}
		// Page through the bucket: skipped entries count against a query's limit
		// but not against the caller's, so one query may not reach the end.
		for {
			want := limit - len(out)
			q := s.feed.Query().Where(orm.Eq("bucket", br.Bucket), orm.Eq("shard", int32(shard)), orm.Lte("seq", orm.MaxTimeUUID(upTo)))
			if after != (orm.UUID{}) {
				q = q.Where(orm.Gt("seq", after))
			}
			read := 0
			for f, err := range q.Limit(want).All(ctx) {
				if err != nil {
					return out, pos, fmt.Errorf("eventsourcing: reading feed bucket %d: %w", br.Bucket, err)
				}
				read++
				ok, wait, err := s.verify(ctx, &f)
				if err != nil {
					return out, pos, err
				}
				if wait {
					return out, pos, nil
				}
				pos, after = Position{Bucket: f.Bucket, Seq: f.Seq}, f.Seq
				if ok {
					out = append(out, Entry{Record: Record{ID: f.EventID, Stream: f.Stream, Version: f.Version, Type: f.Type,
						SchemaVersion: int(f.SchemaVersion), Data: f.Data, Metadata: metadataFrom(f.Metadata), RecordedAt: f.RecordedAt},
						Position: pos})
				}
				if len(out) >= limit {
					return out, pos, nil
				}
			}
			if read < want {
				break // the bucket holds nothing more that is readable now
			}
		}
	}
	return out, pos, nil
}

// verify says whether feed entry f is the entry of a stored event (ok), or must be
// waited for (its append may still be in flight), or else skipped: its event is not
// stored, or was stored by another attempt, whose entry is delivered instead.
func (s *Store) verify(ctx context.Context, f *feedRow) (ok, wait bool, err error) {
	if f.Stream == "" {
		// A partial row: a commit mark that landed after the entry was deleted.
		return false, false, nil
	}
	if f.Committed {
		return true, false, nil
	}
	ev, err := s.events.Get(ctx, f.Stream, f.StreamBucket, f.Version)
	if errors.Is(err, orm.ErrNotFound) {
		if time.Since(f.Seq.Time()) < s.opts.AbandonAfter {
			return false, true, nil
		}
		// Before giving the entry up, read at SERIAL: that finishes a Paxos round
		// whose commit was lost (its events would otherwise appear later, behind
		// this reader) and makes any older unfinished proposal fail.
		ev, err = s.events.Query().Where(orm.Eq("stream", f.Stream), orm.Eq("bucket", f.StreamBucket), orm.Eq("version", f.Version)).
			With(orm.WithConsistency(orm.Serial)).One(ctx)
		if errors.Is(err, orm.ErrNotFound) {
			return false, false, nil
		}
	}
	if err != nil {
		return false, false, fmt.Errorf("eventsourcing: checking feed entry of %s version %d: %w", f.Stream, f.Version, err)
	}
	if ev.EventID != f.EventID || ev.FeedSeq != f.Seq {
		return false, false, nil
	}
	// Mark it, sparing the next reader this check. Best effort: a reader that
	// finds it unmarked checks again.
	_ = s.feed.Patch(ctx, []any{f.Bucket, f.Shard, f.Seq}, []orm.Change{orm.Set("committed", true)})
	return true, false, nil
}
