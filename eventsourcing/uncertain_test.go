package eventsourcing_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/eventsourcing"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// feedIDs reads the whole feed and returns the event ids it delivers, with counts.
func feedIDs(t *testing.T, s *eventsourcing.Store, batch int) map[orm.UUID]int {
	t.Helper()
	out := map[orm.UUID]int{}
	pos := eventsourcing.Position{}
	for {
		entries, next, err := s.ReadFeed(t.Context(), 0, pos, batch)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			out[e.ID]++
		}
		if len(entries) == 0 {
			return out
		}
		pos = next
	}
}

// Appends cut short by their deadline, at every point of their course: whatever
// reached a stream is in the feed, and whatever the feed delivers is in a stream.
func TestUncertainAppendsLoseNothing(t *testing.T) {
	reg := registry(t)
	opts := eventsourcing.StoreConfig{FeedLag: 200 * time.Millisecond, AbandonAfter: time.Second}
	s := newStore(t, "uncertain", opts)
	failed := 0
	for i := range 300 {
		stream := fmt.Sprint("u-", i%5)
		v, err := s.Version(t.Context(), stream)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Duration(500+i*20)*time.Microsecond)
		if _, err := s.Append(ctx, stream, v, []eventsourcing.EventData{added(t, reg, i)}); err != nil {
			failed++
		}
		cancel()
	}
	if failed == 0 || failed == 300 {
		t.Logf("only %d of 300 appends timed out: the test shows little", failed)
	}
	stored := map[orm.UUID]bool{}
	for i := range 5 {
		for r, err := range s.Load(t.Context(), fmt.Sprint("u-", i), 1) {
			if err != nil {
				t.Fatal(err)
			}
			stored[r.ID] = true
		}
	}
	// Entries of appends cut short hold the feed back until AbandonAfter has
	// passed; wait until it delivers every stored event.
	var fed map[orm.UUID]int
	testenv.WaitFor(t, time.Minute, func() error {
		fed = feedIDs(t, s, 7)
		for id := range stored {
			if fed[id] == 0 {
				return fmt.Errorf("stored event %s is missing from the feed", id)
			}
		}
		return nil
	})
	for id := range fed {
		if !stored[id] {
			t.Errorf("the feed delivers %s, which no stream holds", id)
		}
	}
	t.Logf("%d of 300 appends failed; %d events stored, all in the feed", failed, len(stored))
}

// An orphan entry (its writer died between the feed and the stream) in a bucket with
// more entries than one read returns does not hide the entries after it.
func TestFeedSkipsOrphansWithoutLosingTheRest(t *testing.T) {
	reg := registry(t)
	opts := eventsourcing.StoreConfig{FeedLag: 200 * time.Millisecond, AbandonAfter: 500 * time.Millisecond, FeedBucket: time.Hour}
	s := newStore(t, "orphan", opts)
	seq := orm.NewTimeUUID()
	bucket := seq.Time().Truncate(time.Hour).Unix()
	sess := env.Session(t)
	if err := sess.Query(`INSERT INTO orphan_feed (bucket, shard, seq, event_id, stream, stream_bucket, version, type)
		VALUES (?, 0, ?, ?, 'ghost', 0, 1, 'Added')`, bucket, seq, orm.NewUUID()).Exec(); err != nil {
		t.Fatal(err)
	}
	if err := sess.Query(`INSERT INTO orphan_feed_buckets (shard, bucket) VALUES (0, ?)`, bucket).Exec(); err != nil {
		t.Fatal(err)
	}
	v := int64(0)
	for range 15 {
		evs := make([]eventsourcing.EventData, 10)
		for i := range evs {
			evs[i] = added(t, reg, i)
		}
		nv, err := s.Append(t.Context(), "many", v, evs)
		if err != nil {
			t.Fatal(err)
		}
		v = nv
	}
	// The orphan holds the feed back until AbandonAfter has passed.
	testenv.WaitFor(t, time.Minute, func() error {
		if got := len(feedIDs(t, s, 100)); got != 150 {
			return fmt.Errorf("the feed delivered %d of 150 events", got)
		}
		return nil
	})
}

// A save whose outcome is unknown (its deadline passed) can be repeated: the events
// keep their ids, so they are stored once.
func TestSaveRetriedAfterTimeoutStoresOnce(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "retrysave", eventsourcing.StoreConfig{})
	repo := newRepo(t, s, reg, eventsourcing.RepositoryConfig{})
	for i := range 40 {
		id := fmt.Sprint("c-", i)
		c := repo.New(id)
		eventsourcing.Raise[CounterEvent](c, Added{N: 1})
		eventsourcing.Raise[CounterEvent](c, Added{N: 2})
		ctx, cancel := context.WithTimeout(t.Context(), time.Duration(1000+i*100)*time.Microsecond)
		err := repo.Save(ctx, c)
		cancel()
		if err != nil {
			if err := repo.Save(t.Context(), c); err != nil {
				t.Fatalf("%s: retried save: %v", id, err)
			}
		}
		got, err := repo.Load(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version() != 2 || got.Total != 3 {
			t.Fatalf("%s: version %d total %d after a retried save", id, got.Version(), got.Total)
		}
	}
}
