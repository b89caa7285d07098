package changefeed_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// holdingLog is the feed with a write that can be held between the staging of
// its record and the sending of its batch, so that it lands after readers have
// passed its place, as a batch the cluster applies late does. The held write's
// record is a dead writer's: its Done does nothing, so no copy of the record
// stands in for it, and it has no deadline.
type holdingLog struct {
	*changefeed.Feed
	// hold arms a hold: the next Stage reports on staged, then waits for the
	// channel it received to close.
	hold   chan chan struct{}
	staged chan struct{}
}

func (l *holdingLog) Stage(ctx context.Context, b *orm.Batch, c *orm.RowChange) (orm.ChangeRecord, error) {
	r, err := l.Feed.Stage(ctx, b, c)
	if err != nil {
		return nil, err
	}
	select {
	case release := <-l.hold:
		l.staged <- struct{}{}
		<-release
		return deadRecord{r}, nil
	default:
		return r, nil
	}
}

type deadRecord struct{ orm.ChangeRecord }

func (deadRecord) Deadline() time.Time         { return time.Time{} }
func (deadRecord) Done(context.Context, error) {}

// count returns how many of changes are of product id, and whether all of
// them are marked late.
func count(cs []changefeed.Change, id string) (n int, late bool) {
	late = true
	for _, c := range cs {
		if c.Key["id"] == id {
			n++
			late = late && c.Late
		}
	}
	return n, late
}

func (c *collector) waitID(t *testing.T, id string) {
	t.Helper()
	testenv.WaitUntil(t, time.Minute, "change of "+id+" delivered", func() bool {
		n, _ := count(c.changes(), id)
		return n > 0
	})
}

// TestLateLanding: a write whose batch applies after the subscriptions have
// passed its record's place (its writer gone, no copy recorded) is delivered
// once, marked late, by a durable and an ephemeral subscription alike; a
// successor of the durable one does not deliver it again; and one that lands
// while no reader runs is delivered by the next.
func TestLateLanding(t *testing.T) {
	f := newFixture(t, nil, changefeed.FeedConfig{Log: changefeed.Config{LookBack: 10 * time.Second}})
	ctx := t.Context()
	hl := &holdingLog{Feed: f.feed, hold: make(chan chan struct{}, 1), staged: make(chan struct{})}
	table := f.products.Table().Name
	held, err := orm.NewModel[product](f.db, orm.TableName(table), orm.RecordChanges(hl))
	if err != nil {
		t.Fatal(err)
	}
	write := func(id string) {
		t.Helper()
		if err := f.products.Insert(ctx, &product{ID: id, Name: id}); err != nil {
			t.Fatal(err)
		}
	}
	// writeLate stages id's write, then lets it land once passed has run.
	writeLate := func(id string, passed func()) {
		t.Helper()
		release := make(chan struct{})
		hl.hold <- release
		done := make(chan error, 1)
		go func() { done <- held.Insert(ctx, &product{ID: id, Name: id}) }()
		<-hl.staged
		passed()
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	name := "late-" + suffix()
	durable := func() (*collector, func()) {
		c := &collector{}
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			done <- f.subs.Subscribe(ctx, changefeed.Subscription{Name: name, Table: table, Handle: c.handle})
		}()
		stop := sync.OnceFunc(func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("subscription %s: %v", name, err)
			}
		})
		t.Cleanup(stop)
		return c, stop
	}
	first, stopFirst := durable()
	eph := f.subscribe(t, ctx, changefeed.Subscription{Table: table})
	// An ephemeral subscription starts from when it runs: write until it has
	// seen a write.
	n := 0
	testenv.WaitUntil(t, time.Minute, "the ephemeral subscription running", func() bool {
		n++
		write(fmt.Sprintf("start%d", n))
		return len(eph.changes()) > 0
	})
	first.waitID(t, fmt.Sprintf("start%d", n))

	writeLate("k1", func() {
		write("k2")
		first.waitID(t, "k2") // both have passed k1's place
		eph.waitID(t, "k2")
	})
	first.waitID(t, "k1")
	eph.waitID(t, "k1")
	write("k3")
	for _, c := range []*collector{first, eph} {
		c.waitID(t, "k3")
		if n, late := count(c.changes(), "k1"); n != 1 || !late {
			t.Errorf("k1 delivered %d times, late %v: want once, late", n, late)
		}
		if _, late := count(c.changes(), "k2"); late {
			t.Error("k2 delivered late")
		}
	}

	// A successor starts from the checkpoint and its predecessor's record of
	// what it handled: nothing from before comes again.
	stopFirst()
	second, stopSecond := durable()
	write("k4")
	second.waitID(t, "k4")
	write("k5") // read after the successor's first look-back
	second.waitID(t, "k5")
	for _, id := range []string{"start1", "k1", "k2", "k3"} {
		if n, _ := count(second.changes(), id); n != 0 {
			t.Errorf("the successor delivered %s again (%d times)", id, n)
		}
	}

	// A write that lands while no reader runs, behind the checkpoint.
	writeLate("k6", func() {
		write("k7")
		second.waitID(t, "k7")
		stopSecond()
	})
	third, _ := durable()
	third.waitID(t, "k6")
	if _, late := count(third.changes(), "k6"); !late {
		t.Error("k6 not marked late")
	}
	eph.waitID(t, "k6")
	if n, late := count(eph.changes(), "k6"); n != 1 || !late {
		t.Errorf("ephemeral: k6 delivered %d times, late %v: want once, late", n, late)
	}
}
