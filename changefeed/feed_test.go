package changefeed_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// product is the tests' model that records its changes.
type product struct {
	ID        string   `cql:"id" orm:"pk"`
	Name      string   `cql:"name"`
	Quantity  int32    `cql:"quantity"`
	Threshold int32    `cql:"reorder_threshold"`
	Tags      []string `cql:"tags" orm:"set"`
	Note      *string  `cql:"note"`
	Data      []byte   `cql:"data"`
}

// line is a model with a clustering column, for changes of part of a partition.
type line struct {
	Order string `cql:"order_id" orm:"pk"`
	N     int32  `cql:"n" orm:"ck"`
	SKU   string `cql:"sku"`
	// Total is the order's, in every row of it.
	Total *int64 `cql:"total" orm:"static"`
}

// feedLag is the lag of the tests' feeds: short, so they wait little, and long
// enough that a recorded write (which must land within half of it) fits on a
// busy 2-core machine.
const feedLag = 2 * time.Second

// fixture is a feed with the tests' models, all on tables of this run.
type fixture struct {
	db       *orm.DB
	feed     *changefeed.Feed
	products *orm.Model[product]
	lines    *orm.Model[line]
	subs     changefeed.Subscriber
}

func suffix() string { return strings.ReplaceAll(orm.NewUUID().String()[:8], "-", "") }

func newFixture(t *testing.T, db *orm.DB, cfg changefeed.FeedConfig) *fixture {
	t.Helper()
	if db == nil {
		var err error
		if db, err = orm.New(env.Session(t), env.Keyspace(), nil); err != nil {
			t.Fatal(err)
		}
	}
	s := suffix()
	if cfg.Log.Table == "" {
		cfg.Log.Table = "changes_" + s
	}
	if cfg.Log.Lag == 0 {
		cfg.Log.Lag = feedLag
	}
	feed, err := changefeed.NewFeed(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, feed: feed}
	if f.products, err = orm.NewModel[product](db, orm.TableName("products_"+s), orm.RecordChanges(feed)); err != nil {
		t.Fatal(err)
	}
	if f.lines, err = orm.NewModel[line](db, orm.TableName("lines_"+s), orm.RecordChanges(feed)); err != nil {
		t.Fatal(err)
	}
	lm, err := lease.New(db, lease.Config{Table: "leases_" + s, TTL: 3 * time.Second, Poll: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(t.Context(), append(feed.Models(), f.products, f.lines)...); err != nil {
		t.Fatal(err)
	}
	if err := lm.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.subs = changefeed.Subscriber{Feed: feed, Leases: lm, Poll: 50 * time.Millisecond}
	return f
}

// collector gathers the changes a subscription delivers.
type collector struct {
	mu  sync.Mutex
	got []changefeed.Change
}

func (c *collector) handle(_ context.Context, ch changefeed.Change) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, ch)
	return nil
}

func (c *collector) changes() []changefeed.Change {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

// wait returns the changes once there are n, failing the test after timeout.
func (c *collector) wait(t *testing.T, n int) []changefeed.Change {
	t.Helper()
	testenv.WaitUntil(t, 30*time.Second, fmt.Sprintf("%d changes delivered", n), func() bool { return len(c.changes()) >= n })
	return c.changes()
}

// subscribe runs sub in the background until the test ends; its Handle, when
// nil, is a new collector's, which it returns.
func (f *fixture) subscribe(t *testing.T, ctx context.Context, sub changefeed.Subscription) *collector {
	t.Helper()
	c := &collector{}
	if sub.Handle == nil {
		sub.Handle = c.handle
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- f.subs.Subscribe(ctx, sub) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("subscription %q to %s: %v", sub.Name, sub.Table, err)
		}
	})
	return c
}

// want is the part of a Change a test checks.
type want struct {
	op      orm.ChangeOp
	key     map[string]any
	values  map[string]any
	changed []string
}

func check(t *testing.T, i int, got changefeed.Change, w want) {
	t.Helper()
	if got.Op != w.op || !reflect.DeepEqual(got.Key, w.key) || !reflect.DeepEqual(got.Values, w.values) ||
		!slices.Equal(got.Changed, w.changed) {
		t.Errorf("change %d:\n got %s %v values %#v changed %q\nwant %s %v values %#v changed %q",
			i, got.Op, got.Key, got.Values, got.Changed, w.op, w.key, w.values, w.changed)
	}
	if got.ID.IsZero() || got.At.IsZero() || got.Uncertain {
		t.Errorf("change %d: id %v at %v uncertain %v", i, got.ID, got.At, got.Uncertain)
	}
}

func ptr[T any](v T) *T { return &v }

// TestEveryWrite records each kind of write and checks what a durable
// subscription receives for each, in order: the written values (nulls and
// empty values apart), the columns changed, the key, and nothing for writes
// that did not apply.
func TestEveryWrite(t *testing.T) {
	f := newFixture(t, nil, changefeed.FeedConfig{})
	ctx := t.Context()
	table := f.products.Table().Name
	got := f.subscribe(t, ctx, changefeed.Subscription{Name: "every-" + suffix(), Table: table})
	lines := f.subscribe(t, ctx, changefeed.Subscription{Name: "lines-" + suffix(), Table: f.lines.Table().Name})

	// An insert leaves the nil fields unset (it writes no nulls by default), so
	// they are not among the columns it changes.
	all := []string{"data", "name", "note", "quantity", "reorder_threshold", "tags"}
	k1 := map[string]any{"id": "p1"}
	var wants []want
	step := func(name string, err error, w ...want) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		wants = append(wants, w...)
	}
	p := product{ID: "p1", Name: "lamp", Quantity: 5, Threshold: 2, Tags: []string{"home"}, Data: []byte{}}
	step("insert", f.products.Insert(ctx, &p), want{orm.OpInsert, k1, map[string]any{
		"name": "lamp", "quantity": int32(5), "reorder_threshold": int32(2), "tags": []string{"home"}, "data": []byte{}}, without(all, "note")})
	p.Name, p.Note = "desk lamp", ptr("bright")
	step("update", f.products.Update(ctx, &p), want{orm.OpUpdate, k1, map[string]any{
		"name": "desk lamp", "quantity": int32(5), "reorder_threshold": int32(2), "tags": []string{"home"}, "note": ptr("bright"), "data": []byte{}}, all})
	step("patch set", f.products.Patch(ctx, []any{"p1"}, []orm.Change{orm.Set("quantity", int32(3))}),
		want{orm.OpUpdate, k1, map[string]any{"quantity": int32(3)}, []string{"quantity"}})
	step("patch add", f.products.Patch(ctx, []any{"p1"}, []orm.Change{orm.Add("tags", []string{"sale"}), orm.Set("note", nil)}),
		want{orm.OpUpdate, k1, map[string]any{"note": nil}, []string{"note", "tags"}})
	step("patch refused", ignore(orm.ErrConflict, f.products.PatchIf(ctx, []any{"p1"}, []orm.Predicate{orm.Eq("quantity", int32(99))}, []orm.Change{orm.Set("quantity", int32(0))})))
	step("patch if", f.products.PatchIf(ctx, []any{"p1"}, []orm.Predicate{orm.Eq("quantity", int32(3))}, []orm.Change{orm.Set("quantity", int32(2))}),
		want{orm.OpUpdate, k1, map[string]any{"quantity": int32(2)}, []string{"quantity"}})
	step("delete columns", f.products.DeleteColumns(ctx, []any{"p1"}, "note"),
		want{orm.OpUpdate, k1, map[string]any{"note": nil}, []string{"note"}})
	step("delete", f.products.Delete(ctx, "p1"), want{orm.OpDelete, k1, map[string]any{}, nil})
	q := product{ID: "p2", Name: "chair", Quantity: 1}
	k2 := map[string]any{"id": "p2"}
	step("insert if not exists", f.products.InsertIfNotExists(ctx, &q), want{orm.OpInsert, k2, map[string]any{
		"name": "chair", "quantity": int32(1), "reorder_threshold": int32(0)}, []string{"name", "quantity", "reorder_threshold"}})
	step("insert refused", ignore(orm.ErrConflict, f.products.InsertIfNotExists(ctx, &q)))

	ch := got.wait(t, len(wants))
	if len(ch) != len(wants) {
		t.Fatalf("%d changes, want %d: %+v", len(ch), len(wants), ch)
	}
	for i, w := range wants {
		check(t, i, ch[i], w)
		if ch[i].Table != table {
			t.Errorf("change %d: table %s", i, ch[i].Table)
		}
	}

	// A write of a whole partition's rows keys by the partition only.
	for n := range int32(2) {
		if err := f.lines.Insert(ctx, &line{Order: "o1", N: n, SKU: "s"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.lines.Delete(ctx, "o1"); err != nil {
		t.Fatal(err)
	}
	lc := lines.wait(t, 3)
	check(t, 0, lc[0], want{orm.OpInsert, map[string]any{"order_id": "o1", "n": int32(0)}, map[string]any{"sku": "s"}, []string{"sku"}})
	check(t, 2, lc[2], want{orm.OpDelete, map[string]any{"order_id": "o1"}, map[string]any{}, nil})
}

// without returns names less name.
func without(names []string, name string) []string {
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == name })
}

// ignore returns nil for an error matching target, and err otherwise.
func ignore(target, err error) error {
	if errors.Is(err, target) {
		return nil
	}
	if err == nil {
		return fmt.Errorf("want an error matching %v, got none", target)
	}
	return err
}

// TestConflictCurrent checks that a conditional write refused on a model that
// records its changes still returns the current row, typed.
func TestConflictCurrent(t *testing.T) {
	f := newFixture(t, nil, changefeed.FeedConfig{})
	ctx := t.Context()
	if err := f.products.Insert(ctx, &product{ID: "c1", Name: "stool", Quantity: 4}); err != nil {
		t.Fatal(err)
	}
	err := f.products.PatchIf(ctx, []any{"c1"}, []orm.Predicate{orm.Eq("quantity", int32(5))}, []orm.Change{orm.Set("quantity", int32(0))})
	var ce *orm.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a ConflictError", err)
	}
	cur, ok := ce.Current.(*product)
	if !ok || cur.Quantity != 4 || cur.Name != "stool" {
		t.Fatalf("current %#v", ce.Current)
	}
}

// TestSoftDelete: on a model with a softdelete column, Delete is a delete that
// sets it, Restore an update that clears it, HardDelete a delete of the row.
func TestSoftDelete(t *testing.T) {
	type doc struct {
		ID      string     `cql:"id" orm:"pk"`
		Title   string     `cql:"title"`
		Deleted *time.Time `cql:"deleted_at" orm:"softdelete"`
	}
	f := newFixture(t, nil, changefeed.FeedConfig{})
	docs, err := orm.NewModel[doc](f.db, orm.TableName("docs_"+suffix()), orm.RecordChanges(f.feed))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := f.db.Sync(ctx, docs); err != nil {
		t.Fatal(err)
	}
	got := f.subscribe(t, ctx, changefeed.Subscription{Name: "docs-" + suffix(), Table: docs.Table().Name})
	for _, step := range []func() error{
		func() error { return docs.Insert(ctx, &doc{ID: "d", Title: "t"}) },
		func() error { return docs.Delete(ctx, "d") },
		func() error { return docs.Restore(ctx, "d") },
		func() error { return docs.HardDelete(ctx, "d") },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	cs := got.wait(t, 4)
	k := map[string]any{"id": "d"}
	check(t, 0, cs[0], want{orm.OpInsert, k, map[string]any{"title": "t"}, []string{"title"}})
	if cs[1].Op != orm.OpDelete || !slices.Equal(cs[1].Changed, []string{"deleted_at"}) || cs[1].Values["deleted_at"] == nil {
		t.Errorf("soft delete: %+v", cs[1])
	}
	check(t, 2, cs[2], want{orm.OpUpdate, k, map[string]any{"deleted_at": nil}, []string{"deleted_at"}})
	check(t, 3, cs[3], want{orm.OpDelete, k, map[string]any{}, nil})
}

// TestUnrecordedModelConflict checks that a model that does not record its
// changes, on a table whose rows carry change marks, still gets the current row
// of a refused conditional write (the mark column is one it does not know).
func TestUnrecordedModelConflict(t *testing.T) {
	f := newFixture(t, nil, changefeed.FeedConfig{})
	ctx := t.Context()
	if err := f.products.PatchIf(ctx, []any{"u1"}, []orm.Predicate{orm.Eq("quantity", nil)}, []orm.Change{orm.Set("quantity", int32(4))}); err != nil {
		t.Fatal(err)
	}
	plain, err := orm.NewModel[product](f.db, orm.TableName(f.products.Table().Name))
	if err != nil {
		t.Fatal(err)
	}
	// A row with marks, and one without (the column null).
	if err := plain.Insert(ctx, &product{ID: "u2", Quantity: 5}); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]int32{"u1": 4, "u2": 5} {
		err = plain.InsertIfNotExists(ctx, &product{ID: id, Quantity: 9})
		var ce *orm.ConflictError
		if !errors.As(err, &ce) {
			t.Fatalf("%s: got %v, want a ConflictError", id, err)
		}
		if cur, ok := ce.Current.(*product); !ok || cur.Quantity != want {
			t.Fatalf("%s: current %#v", id, ce.Current)
		}
	}
}
