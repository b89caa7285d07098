package eventsourcing_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/eventsourcing"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// waitFeed waits until shards 0 to shards-1 of s's feed deliver at least n
// entries in all: the feed holds each entry back until FeedLag has passed.
func waitFeed(t *testing.T, s *eventsourcing.Store, shards, n int) {
	t.Helper()
	testenv.WaitFor(t, time.Minute, func() error {
		got := 0
		for shard := range shards {
			pos := eventsourcing.Position{}
			for {
				entries, next, err := s.ReadFeed(t.Context(), shard, pos, 500)
				if err != nil {
					return err
				}
				if len(entries) == 0 {
					break
				}
				got += len(entries)
				pos = next
			}
		}
		if got < n {
			return fmt.Errorf("the feed delivers %d of %d entries", got, n)
		}
		return nil
	})
}

// waitLeaseHeld waits until someone holds the lease name in the package's
// lease table (see leases).
func waitLeaseHeld(t *testing.T, name string) {
	t.Helper()
	testenv.WaitFor(t, time.Minute, func() error {
		var n int
		if err := env.Session(t).Query(`SELECT COUNT(*) FROM leases WHERE name = ?`, name).ScanContext(t.Context(), &n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("lease %s is not held", name)
		}
		return nil
	})
}
