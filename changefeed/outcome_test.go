package changefeed_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// The tests here drive the feed's records through orm.ChangeLog, as the ORM
// does, to play the writers the ORM cannot be made to be: one that dies between
// two steps, one whose batch's outcome is unknown, one whose write lands late.

// quickAbandon is the AbandonAfter of these tests: the least the lag allows.
const quickAbandon = 2 * feedLag

// rowChange returns the RowChange of a patch of product id's quantity.
func (f *fixture) rowChange(id string, quantity int32) *orm.RowChange {
	q := []byte{byte(quantity >> 24), byte(quantity >> 16), byte(quantity >> 8), byte(quantity)}
	return &orm.RowChange{Table: f.products.Table(), Op: orm.OpUpdate, Key: [][]byte{[]byte(id)},
		Values: map[string][]byte{"quantity": q}, Changed: []string{"quantity"}}
}

// byID returns the changes of product id.
func byID(cs []changefeed.Change, id string) []changefeed.Change {
	return slices.DeleteFunc(slices.Clone(cs), func(c changefeed.Change) bool { return c.Key["id"] != id })
}

// finish writes a change of product "end" and returns the changes once it is
// delivered: everything before it has been decided.
func (f *fixture) finish(t *testing.T, c *collector) []changefeed.Change {
	t.Helper()
	if err := f.products.Insert(t.Context(), &product{ID: "end"}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitUntil(t, 60*time.Second, "the last change delivered", func() bool { return len(byID(c.changes(), "end")) > 0 })
	return c.changes()
}

// TestWrittenAhead plays the writers of conditional writes that die between
// writing their record ahead and telling it the outcome.
func TestWrittenAhead(t *testing.T) {
	f := newFixture(t, nil, changefeed.FeedConfig{Log: changefeed.Config{AbandonAfter: quickAbandon}})
	ctx := t.Context()
	got := f.subscribe(t, ctx, changefeed.Subscription{Name: "ahead-" + suffix(), Table: f.products.Table().Name})

	// Died before the write: the record is given up after AbandonAfter.
	if _, err := f.feed.WriteAhead(ctx, f.rowChange("never", 1)); err != nil {
		t.Fatal(err)
	}
	// Died after the write applied: readers find its mark. The write is made by
	// another client, in CQL, as the ORM makes it.
	rec, err := f.feed.WriteAhead(ctx, f.rowChange("landed", 2))
	if err != nil {
		t.Fatal(err)
	}
	cql := fmt.Sprintf(`UPDATE %s.%s USING TTL 86400 SET quantity = 2, %s = %s + {%s} WHERE id = 'landed'`,
		env.Keyspace(), f.products.Table().Name, orm.ChangeMarkColumn, orm.ChangeMarkColumn, rec.ID())
	if err := env.Session(t).Query(cql).ExecContext(ctx); err != nil {
		t.Fatal(err)
	}
	cs := f.finish(t, got)
	if n := len(byID(cs, "never")); n != 0 {
		t.Errorf("the change never made was delivered %d times", n)
	}
	landed := byID(cs, "landed")
	if len(landed) != 1 || landed[0].ID != rec.ID() || landed[0].Values["quantity"] != int32(2) || landed[0].Uncertain {
		t.Errorf("the change made by a writer that died: %+v", landed)
	}
}

// TestUncertainAfterMarkTTL: a record written ahead that no reader could settle
// before the mark would have expired is delivered, marked Uncertain.
func TestUncertainAfterMarkTTL(t *testing.T) {
	f := newFixture(t, nil, changefeed.FeedConfig{Log: changefeed.Config{AbandonAfter: quickAbandon}, MarkTTL: quickAbandon})
	ctx := t.Context()
	got := f.subscribe(t, ctx, changefeed.Subscription{Name: "unsure-" + suffix(), Table: f.products.Table().Name})
	rec, err := f.feed.WriteAhead(ctx, f.rowChange("unsure", 3))
	if err != nil {
		t.Fatal(err)
	}
	unsure := byID(f.finish(t, got), "unsure")
	if len(unsure) != 1 || !unsure[0].Uncertain || unsure[0].ID != rec.ID() {
		t.Fatalf("got %+v, want the change once, uncertain", unsure)
	}
}

// TestStagedOutcomes plays writers of logged batches: one whose outcome was
// unknown though it applied, one whose outcome was unknown and that did not
// apply, and one that landed later than half the lag.
func TestStagedOutcomes(t *testing.T) {
	f := newFixture(t, nil, changefeed.FeedConfig{Log: changefeed.Config{AbandonAfter: quickAbandon}})
	ctx := t.Context()
	got := f.subscribe(t, ctx, changefeed.Subscription{Name: "staged-" + suffix(), Table: f.products.Table().Name})
	stage := func(id string) (*orm.Batch, orm.ChangeRecord) {
		t.Helper()
		b := f.db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})
		rec, err := f.feed.Stage(ctx, b, f.rowChange(id, 4))
		if err != nil {
			t.Fatal(err)
		}
		return b, rec
	}
	unknown := fmt.Errorf("timed out: %w", orm.ErrUncertain)

	applied, appliedRec := stage("unknown-applied")
	if err := applied.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	appliedRec.Done(ctx, unknown)

	_, lostRec := stage("unknown-lost")
	lostRec.Done(ctx, unknown)

	late, lateRec := stage("late")
	if err := late.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	testenv.WaitUntil(t, 10*time.Second, "half the lag passed", func() bool { return time.Since(lateRec.ID().Time()) > feedLag/2 })
	lateRec.Done(ctx, nil)

	cs := f.finish(t, got)
	for _, tc := range []struct {
		id   string
		rec  orm.ChangeRecord
		want int
	}{
		{"unknown-applied", appliedRec, 2}, // the record and its stand-in
		{"unknown-lost", lostRec, 0},
		{"late", lateRec, 2}, // the record and its copy
	} {
		cs := byID(cs, tc.id)
		if len(cs) != tc.want {
			t.Errorf("%s: delivered %d times, want %d: %+v", tc.id, len(cs), tc.want, cs)
		}
		for _, c := range cs {
			if c.ID != tc.rec.ID() || c.Values["quantity"] != int32(4) || c.Uncertain {
				t.Errorf("%s: %+v, want id %s", tc.id, c, tc.rec.ID())
			}
		}
	}
}

// TestDeadline checks the deadlines the feed gives its records: half the lag
// after a staged record, half AbandonAfter after one written ahead. (That a
// write's context gets its record's deadline is seen in the benchmarks and the
// crash test, where writes past it fail with their outcome unknown.)
func TestDeadline(t *testing.T) {
	f := newFixture(t, nil, changefeed.FeedConfig{})
	rec, err := f.feed.Stage(t.Context(), f.db.NewBatch(orm.LoggedBatch, orm.BatchLimits{}), f.rowChange("d", 1))
	if err != nil {
		t.Fatal(err)
	}
	if d := rec.Deadline().Sub(rec.ID().Time()); d != feedLag/2 {
		t.Errorf("staged deadline %v after the record, want half the lag", d)
	}
	ahead, err := f.feed.WriteAhead(t.Context(), f.rowChange("d", 1))
	if err != nil {
		t.Fatal(err)
	}
	ahead.Done(context.Background(), orm.ErrConflict)
	if d := ahead.Deadline().Sub(ahead.ID().Time()); d != f.feed.Config().Log.AbandonAfter/2 {
		t.Errorf("written-ahead deadline %v after the record, want half AbandonAfter", d)
	}
}

// TestTamperedLog: a log entry another client rewrote with bytes the feed never
// writes stops a subscription with an error naming the change's table, and no
// panic; the change is not delivered.
func TestTamperedLog(t *testing.T) {
	f := newFixture(t, nil, changefeed.FeedConfig{})
	ctx := t.Context()
	if err := f.products.Insert(ctx, &product{ID: "tampered", Quantity: 1}); err != nil {
		t.Fatal(err)
	}
	s := env.Session(t)
	log := env.Keyspace() + "." + f.feed.Config().Log.Table
	var bucket int64
	var shard int32
	var seq orm.UUID
	if err := s.Query("SELECT bucket, shard, seq FROM "+log+" LIMIT 1 ALLOW FILTERING").ScanContext(ctx, &bucket, &shard, &seq); err != nil {
		t.Fatal(err)
	}
	if err := s.Query("UPDATE "+log+" SET key_values = [0x00], column_values = {'quantity': 0x02} WHERE bucket = ? AND shard = ? AND seq = ?",
		bucket, shard, seq).ExecContext(ctx); err != nil {
		t.Fatal(err)
	}
	delivered := 0
	sub := changefeed.Subscription{Name: "tampered-" + suffix(), Table: f.products.Table().Name,
		Handle: func(context.Context, changefeed.Change) error { delivered++; return nil }}
	var err error
	testenv.WaitUntil(t, 30*time.Second, "the tampered entry read", func() bool {
		err = f.subs.CatchUp(ctx, sub)
		return err != nil
	})
	if !strings.Contains(err.Error(), f.products.Table().Name) || !strings.Contains(err.Error(), "malformed") || delivered != 0 {
		t.Fatalf("got %v (%d delivered), want an error naming the table and the malformed value", err, delivered)
	}
}
