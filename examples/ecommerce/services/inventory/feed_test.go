package inventory_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/inventory"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// With a Feed, the stock's changes are on it, and a change holds available
// only when it changed available.
func TestFeed(t *testing.T) {
	ctx := t.Context()
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	run := strings.ReplaceAll(orm.NewUUID().String()[:8], "-", "")
	feed, err := changefeed.NewFeed(db, changefeed.FeedConfig{Log: changefeed.Config{Table: "changes_" + run, Lag: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Feed = feed
	svc, err := inventory.New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(ctx, feed.Models()...); err != nil {
		t.Fatal(err)
	}
	if err := svc.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		got []changefeed.Change
	)
	pid := stocked(t, svc, "p", 10)
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- changefeed.Subscriber{Feed: feed, Poll: 50 * time.Millisecond}.Subscribe(sctx, changefeed.Subscription{
			Table: "inventory_stock", Ops: []orm.ChangeOp{orm.OpUpdate},
			Handle: func(_ context.Context, c changefeed.Change) error {
				if c.Key["product_id"] == pid {
					mu.Lock()
					got = append(got, c)
					mu.Unlock()
				}
				return nil
			}})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("subscription: %v", err)
		}
	})
	// The ephemeral subscription starts from now: wait until it sees a change.
	testenv.WaitUntil(t, 30*time.Second, "the subscription to see a restock", func() bool {
		if _, err := svc.Restock(ctx, pid, 1); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		return len(got) > 0
	})
	if _, err := svc.SetReorder(ctx, pid, inventory.ReorderPolicy{AutoReorder: true, Threshold: 5, Quantity: 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Reserve(ctx, "r", items(pid, 2), time.Minute); err != nil {
		t.Fatal(err)
	}
	want := level(t, svc, pid).Available
	var avail []any
	testenv.WaitUntil(t, 30*time.Second, "the policy and the reserve on the feed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		avail = nil
		for _, c := range got {
			_, policy := c.Values["auto_reorder"]
			if policy || slices.Contains(c.Changed, "holds") { // SetReorder's change, and Reserve's of the stock
				var v any = "absent"
				if a, ok := c.Values["available"].(*int32); ok && a != nil {
					v = *a
				}
				avail = append(avail, v)
			}
		}
		return len(avail) >= 2
	})
	if len(avail) != 2 || avail[0] != "absent" || avail[1] != int32(want) {
		t.Fatalf("available in the changes: %v, want [absent %d]", avail, want)
	}
}
