package eventsourcing

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

// knownBucket keys Store.knownBuckets.
type knownBucket struct {
	shard  int32
	bucket int64
}

// writeAhead writes the feed entries of rows before the append. The usual append
// (its entries in one feed partition that is listed already) joins its shard's
// group: the entries of concurrent appends to one partition are written together,
// in one unlogged batch (atomic within a partition), which spares the node a
// request per append. It returns once its own entries are written.
func (s *Store) writeAhead(ctx context.Context, rows []eventRow) ([]feedRow, error) {
	feed := make([]feedRow, len(rows))
	shard := s.shardOf(rows[0].Stream)
	var buckets, listed []int64
	size := 0
	for i, r := range rows {
		seq := orm.NewTimeUUID()
		feed[i] = feedRow{Bucket: s.feedBucketOf(seq.Time()), Shard: shard, Seq: seq, EventID: r.EventID, Stream: r.Stream,
			StreamBucket: r.Bucket, Version: r.Version, Type: r.Type, SchemaVersion: r.SchemaVersion,
			Data: r.Data, Metadata: r.Metadata, RecordedAt: r.RecordedAt}
		size += len(r.Data)
		if !slices.Contains(buckets, feed[i].Bucket) {
			buckets = append(buckets, feed[i].Bucket)
			if _, ok := s.knownBuckets.Load(knownBucket{shard, feed[i].Bucket}); !ok {
				listed = append(listed, feed[i].Bucket)
			}
		}
	}
	if len(buckets) == 1 && len(listed) == 0 {
		return feed, s.groups[shard].write(ctx, s, feed, size)
	}
	// Several partitions: a logged batch, so that they are written all or none.
	b := s.db.NewBatch(orm.LoggedBatch, orm.BatchLimits{MaxStatements: len(rows) + len(listed), MaxPartitions: 4,
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
		s.knownBuckets.Store(knownBucket{shard, bucket}, true)
	}
	return feed, nil
}

// feedGroup gathers the write-ahead entries of concurrent appends to one feed shard.
// While one group write is in flight, the appends that arrive wait, and the next
// write takes them all: no timer, so a lone append waits for nobody.
type feedGroup struct {
	mu      sync.Mutex
	pending []*feedWrite
	busy    bool
}

// feedWrite is one append's entries, all in one feed partition, waiting in a group.
type feedWrite struct {
	feed []feedRow
	size int
	done chan error
}

// maxGroupRows bounds the entries of one group write, so its batch stays far below
// Cassandra's batch size limits whatever the entries' keys and metadata.
const maxGroupRows = 100

// write writes feed through the group and waits for the outcome. If ctx ends first,
// the entries may still be written: the error then matches orm.ErrUncertain.
func (g *feedGroup) write(ctx context.Context, s *Store, feed []feedRow, size int) error {
	w := &feedWrite{feed: feed, size: size, done: make(chan error, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, w)
	start := !g.busy
	g.busy = true
	g.mu.Unlock()
	if start {
		go g.flush(s)
	}
	select {
	case err := <-w.done:
		if err != nil {
			return fmt.Errorf("eventsourcing: writing feed entries for %s: %w", feed[0].Stream, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("eventsourcing: writing feed entries for %s: %w: %w", feed[0].Stream, orm.ErrUncertain, ctx.Err())
	}
}

// flush writes the group's pending entries until none are left.
func (g *feedGroup) flush(s *Store) {
	for {
		g.mu.Lock()
		n, rows, size := 0, 0, 0
		for _, w := range g.pending {
			if n > 0 && (rows+len(w.feed) > maxGroupRows || size+w.size > s.opts.MaxAppendBytes) {
				break
			}
			n, rows, size = n+1, rows+len(w.feed), size+w.size
		}
		take := g.pending[:n:n]
		g.pending = g.pending[n:]
		if n == 0 {
			g.busy, g.pending = false, nil // let the done writes go
		}
		g.mu.Unlock()
		if n == 0 {
			return
		}
		s.writeGroup(take)
	}
}

// writeGroup writes the entries of ws, one unlogged batch per feed partition, and
// tells each its outcome. A write is bounded by the time after which its oldest
// entry would be refused as late anyway.
func (s *Store) writeGroup(ws []*feedWrite) {
	for len(ws) > 0 {
		bucket := ws[0].feed[0].Bucket
		var same, rest []*feedWrite
		for _, w := range ws {
			if w.feed[0].Bucket == bucket {
				same = append(same, w)
			} else {
				rest = append(rest, w)
			}
		}
		ws = rest
		oldest := same[0].feed[0].Seq.Time()
		ctx, cancel := context.WithDeadline(context.Background(), oldest.Add(s.opts.FeedLag/2))
		rows := 0
		for _, w := range same {
			rows += len(w.feed)
		}
		b := s.db.NewBatch(orm.UnloggedBatch, orm.BatchLimits{MaxStatements: rows, MaxBytes: s.opts.MaxAppendBytes + batchOverhead})
		var err error
		for _, w := range same {
			for i := range w.feed {
				if err == nil {
					err = s.feed.Batch(b).Insert(ctx, &w.feed[i])
				}
			}
		}
		if err == nil {
			err = b.Exec(ctx)
		}
		cancel()
		for _, w := range same {
			w.done <- err
		}
	}
}

// abandon deletes the feed entries of a refused append. Best effort: readers skip
// entries whose events are not in their stream.
func (s *Store) abandon(ctx context.Context, feed []feedRow) {
	b := s.db.NewBatch(orm.UnloggedBatch, orm.BatchLimits{MaxPartitions: 4, MaxStatements: len(feed)})
	for _, f := range feed {
		_ = s.feed.Batch(b).Delete(f.Bucket, f.Shard, f.Seq)
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
