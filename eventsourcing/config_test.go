package eventsourcing_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/eventsourcing"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

func TestStoreConfigValidate(t *testing.T) {
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		cfg  eventsourcing.StoreConfig
		want string // "" for a valid configuration
	}{
		{"defaults", eventsourcing.StoreConfig{}, ""},
		{"smallest lag and abandon", eventsourcing.StoreConfig{FeedLag: eventsourcing.MinFeedLag, AbandonAfter: eventsourcing.MinAbandonAfter}, ""},
		{"largest", eventsourcing.StoreConfig{BucketSize: eventsourcing.MaxBucketSize, FeedShards: eventsourcing.MaxFeedShards,
			MaxAppendBytes: eventsourcing.MaxAppendBytesLimit}, ""},
		{"negative bucket size", eventsourcing.StoreConfig{BucketSize: -1}, "BucketSize -1"},
		{"huge bucket size", eventsourcing.StoreConfig{BucketSize: eventsourcing.MaxBucketSize + 1}, "BucketSize"},
		{"sub-second feed bucket", eventsourcing.StoreConfig{FeedBucket: 1500 * time.Millisecond}, "FeedBucket 1.5s"},
		{"negative feed bucket", eventsourcing.StoreConfig{FeedBucket: -time.Minute}, "FeedBucket"},
		{"too many shards", eventsourcing.StoreConfig{FeedShards: eventsourcing.MaxFeedShards + 1}, "FeedShards"},
		{"negative shards", eventsourcing.StoreConfig{FeedShards: -2}, "FeedShards -2"},
		{"lag below minimum", eventsourcing.StoreConfig{FeedLag: 50 * time.Millisecond}, "FeedLag 50ms is below the minimum"},
		{"abandon below minimum", eventsourcing.StoreConfig{FeedLag: 100 * time.Millisecond, AbandonAfter: 200 * time.Millisecond}, "AbandonAfter 200ms is below the minimum"},
		{"abandon below twice the lag", eventsourcing.StoreConfig{FeedLag: time.Second, AbandonAfter: 1500 * time.Millisecond}, "below twice FeedLag"},
		{"default abandon below twice a long lag", eventsourcing.StoreConfig{FeedLag: 20 * time.Second}, "below twice FeedLag"},
		{"append bytes over the batch limit", eventsourcing.StoreConfig{MaxAppendBytes: eventsourcing.MaxAppendBytesLimit + 1}, "MaxAppendBytes"},
		{"negative append bytes", eventsourcing.StoreConfig{MaxAppendBytes: -1}, "MaxAppendBytes -1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Prefix = "cfg"
			if verr := c.cfg.Validate(); (verr == nil) != (c.want == "") {
				t.Fatalf("Validate: %v, want ok=%v", verr, c.want == "")
			}
			_, err := eventsourcing.NewStore(db, c.cfg)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("NewStore: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "store cfg")):
				t.Fatalf("NewStore: %v, want an error naming store cfg and containing %q", err, c.want)
			}
		})
	}
}

// ReadFeed with a limit below one is refused at once, instead of querying for
// nothing until ctx ends.
func TestReadFeedRefusesLimitBelowOne(t *testing.T) {
	s := newStore(t, "limit", eventsourcing.StoreConfig{FeedLag: fastLag})
	for _, limit := range []int{0, -1} {
		// The deadline only keeps a broken ReadFeed from hanging the test.
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		_, _, err := s.ReadFeed(ctx, 0, eventsourcing.Position{}, limit)
		cancel()
		if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "limit") {
			t.Fatalf("ReadFeed with limit %d: %v, want a refusal naming the limit", limit, err)
		}
	}
}

// The lag and abandon times are fixed with the layout: a process that would read
// or write with other bounds is refused.
func TestLayoutFixesFeedTimes(t *testing.T) {
	newStore(t, "layouttimes", eventsourcing.StoreConfig{FeedLag: fastLag, AbandonAfter: time.Second})
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []eventsourcing.StoreConfig{
		{Prefix: "layouttimes", FeedLag: fastLag - 100*time.Millisecond, AbandonAfter: time.Second},
		{Prefix: "layouttimes", FeedLag: fastLag, AbandonAfter: 2 * time.Second},
	} {
		other, err := eventsourcing.NewStore(db, cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = other.Append(t.Context(), "s", 0, []eventsourcing.EventData{{Type: "Added", SchemaVersion: 1, Data: []byte(`{}`)}})
		if err == nil || !strings.Contains(err.Error(), "cannot change") {
			t.Fatalf("append with %v/%v on a store made with %v/%v: %v, want a refusal", cfg.FeedLag, cfg.AbandonAfter, fastLag, time.Second, err)
		}
	}
}
