package eventsourcing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// feedRow is one entry of the global feed (a changefeed.Log): every event of every
// stream, in time order, bucketed by time. Entries are written before their events
// (write-ahead), so a committed event is never missing from the feed. Each attempt
// of an append writes its own entries, and the stored event names the one entry of
// the attempt that stored it (eventRow.FeedSeq): readers deliver that entry and
// skip every other, so an entry whose append lost its race, whose writer died, or
// whose attempt was a retry of events already stored is recognised by reading the
// stream. The first reader to confirm an entry marks it committed, so later readers
// skip the check; appends do not pay for the mark.
type feedRow struct {
	changefeed.Head
	EventID       orm.UUID          `cql:"event_id"`
	Stream        string            `cql:"stream"`
	StreamBucket  int64             `cql:"stream_bucket"`
	Version       int64             `cql:"version"`
	Type          string            `cql:"type"`
	SchemaVersion int32             `cql:"schema_version"`
	Data          []byte            `cql:"data"`
	Metadata      map[string]string `cql:"metadata"`
	RecordedAt    time.Time         `cql:"recorded_at"`
}

// Position is a place in the global feed. The zero Position is its beginning.
type Position = changefeed.Position

// Entry is a feed entry handed to readers: the event and where it sits in the feed.
type Entry struct {
	Record
	// Position is the entry's place in the feed; a reader that has handled the
	// entry records it as its checkpoint.
	Position Position
}

// writeAhead writes the feed entries of rows before the append.
func (s *Store) writeAhead(ctx context.Context, rows []eventRow) ([]feedRow, error) {
	feed := make([]feedRow, len(rows))
	for i, r := range rows {
		feed[i] = feedRow{EventID: r.EventID, Stream: r.Stream, StreamBucket: r.Bucket, Version: r.Version, Type: r.Type,
			SchemaVersion: r.SchemaVersion, Data: r.Data, Metadata: r.Metadata, RecordedAt: r.RecordedAt}
	}
	if err := s.feed.WriteAhead(ctx, rows[0].Stream, feed); err != nil {
		return nil, fmt.Errorf("eventsourcing: %w", err)
	}
	return feed, nil
}

// ReadFeed returns up to limit entries (limit ≥ 1) of feed shard shard (0 to
// FeedShards-1) after position from, in feed order, and the position readers may
// record as done. It stops early at an entry whose append is still in flight, and
// never reads closer to the present than FeedLag.
func (s *Store) ReadFeed(ctx context.Context, shard int, from Position, limit int) ([]Entry, Position, error) {
	rows, pos, err := s.feed.Read(ctx, shard, from, limit)
	out := make([]Entry, len(rows))
	for i := range rows {
		out[i] = entryOf(&rows[i])
	}
	if err != nil {
		return out, pos, fmt.Errorf("eventsourcing: %w", err)
	}
	return out, pos, nil
}

// entryOf returns the Entry of feed row f.
func entryOf(f *feedRow) Entry {
	return Entry{Record: Record{ID: f.EventID, Stream: f.Stream, Version: f.Version, Type: f.Type,
		SchemaVersion: int(f.SchemaVersion), Data: f.Data, Metadata: metadataFrom(f.Metadata), RecordedAt: f.RecordedAt},
		Position: f.Position()}
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
	return ev.EventID == f.EventID && ev.FeedSeq == f.Seq, false, nil
}
