package changefeed_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/changefeed/filter"
	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/retry"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// ids returns the product ids of changes, in order.
func ids(cs []changefeed.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i], _ = c.Key["id"].(string)
	}
	return out
}

// TestFilters runs the subscriptions side by side (durable, so that they
// read from the log's start): updates that leave
// stock below 10 (read from the row when the write did not set quantity), the
// same filter parsed from JSON, inserts only, and one that reads every row.
func TestFilters(t *testing.T) {
	f := newFixture(t, nil, changefeed.FeedConfig{})
	ctx := t.Context()
	table := f.products.Table().Name
	run := suffix()
	durable := func(name string, sub changefeed.Subscription) *collector {
		sub.Name, sub.Table = name+run, table
		return f.subscribe(t, ctx, sub)
	}
	low := durable("low", changefeed.Subscription{Ops: []orm.ChangeOp{orm.OpUpdate}, Filter: filter.Lt("quantity", 10)})
	parsed, err := filter.Parse([]byte(`{"quantity": {"$lt": 10}, "name": {"$in": ["lamp", "desk"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	lowJSON := durable("json", changefeed.Subscription{Ops: []orm.ChangeOp{orm.OpUpdate}, Filter: parsed})
	inserts := durable("inserts", changefeed.Subscription{Ops: []orm.ChangeOp{orm.OpInsert}})
	rows := durable("rows", changefeed.Subscription{ReadRow: true})
	if err := f.products.Insert(ctx, &product{ID: "start", Name: "x", Quantity: 100}); err != nil {
		t.Fatal(err)
	}

	writes := []struct {
		id  string
		chs []orm.Change
	}{
		{"a", []orm.Change{orm.Set("quantity", int32(12))}},                          // not low
		{"a", []orm.Change{orm.Set("quantity", int32(8))}},                           // low
		{"a", []orm.Change{orm.Set("name", "desk")}},                                 // quantity read from the row: still low
		{"b", []orm.Change{orm.Set("quantity", int32(3)), orm.Set("name", "chair")}}, // low, but not a name of the JSON filter
		{"c", []orm.Change{orm.Set("quantity", int32(10))}},                          // not low
	}
	if err := f.products.Insert(ctx, &product{ID: "a", Name: "lamp", Quantity: 20}); err != nil {
		t.Fatal(err)
	}
	for _, w := range writes {
		if err := f.products.Patch(ctx, []any{w.id}, w.chs); err != nil {
			t.Fatal(err)
		}
	}
	// The row a filter reads is the row when the subscriber reads the change
	// (a lag later), so no later write changes a's quantity.
	all := rows.wait(t, 2+len(writes))
	if got := ids(inserts.wait(t, 2)); !slices.Equal(got, []string{"start", "a"}) {
		t.Errorf("inserts: %q", got)
	}
	// Each subscription reads on its own: wait for what each should get.
	low.wait(t, 3)
	lowJSON.wait(t, 2)
	if got := ids(low.changes()); !slices.Equal(got, []string{"a", "a", "b"}) {
		t.Errorf("low stock: %q, want a, a, b", got)
	}
	if got := low.changes(); len(got) == 3 && (got[1].Row == nil || got[1].Row["quantity"] != int32(8) || got[0].Row != nil) {
		t.Errorf("low stock rows: %v, %v: want the row read only for the change without quantity", got[0].Row, got[1].Row)
	}
	if got := ids(lowJSON.changes()); !slices.Equal(got, []string{"a", "a"}) {
		t.Errorf("low stock by JSON: %q, want a, a", got)
	}
	last := all[len(all)-1]
	if last.Row["quantity"] != int32(10) || last.Row["id"] != "c" {
		t.Errorf("ReadRow: %v", last.Row)
	}
	if v, ok := all[len(all)-3].Value("quantity"); !ok || v != int32(8) {
		t.Errorf("Value(quantity) of the name change = %v, %v: want it from the row", v, ok)
	}

	// A filter the table cannot hold is refused when the subscription starts.
	for _, bad := range []filter.Filter{filter.Lt("nope", 1), filter.Lt("quantity", "ten"), filter.Contains("name", "x")} {
		err := f.subs.Subscribe(ctx, changefeed.Subscription{Table: table, Filter: bad, Handle: low.handle})
		if err == nil || !strings.Contains(err.Error(), table) {
			t.Errorf("filter %v: %v, want an error naming %s", bad, err, table)
		}
	}
}

// TestRefusedSubscriptions checks the subscriptions Subscribe refuses at once.
func TestRefusedSubscriptions(t *testing.T) {
	f := newFixture(t, nil, changefeed.FeedConfig{})
	table := f.products.Table().Name
	h := func(context.Context, changefeed.Change) error { return nil }
	for _, tc := range []struct {
		name string
		subs changefeed.Subscriber
		sub  changefeed.Subscription
		want string
	}{
		{"no feed", changefeed.Subscriber{}, changefeed.Subscription{Table: table, Handle: h}, "Feed is nil"},
		{"no handler", f.subs, changefeed.Subscription{Table: table}, "nil Handle"},
		{"unknown table", f.subs, changefeed.Subscription{Table: "nope", Handle: h}, "no model of table nope"},
		{"unknown op", f.subs, changefeed.Subscription{Table: table, Ops: []orm.ChangeOp{"upsert"}, Handle: h}, `unknown operation "upsert"`},
		{"durable without leases", changefeed.Subscriber{Feed: f.feed}, changefeed.Subscription{Name: "d", Table: table, Handle: h}, "Leases is nil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.subs.Subscribe(t.Context(), tc.sub)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
	if err := f.subs.CatchUp(t.Context(), changefeed.Subscription{Table: table, Handle: h}); err == nil {
		t.Error("CatchUp of an ephemeral subscription: no error")
	}
}

// TestDurableResume: a durable subscription stopped and started again resumes
// after the last change it handled; one whose handler failed gets the failed
// change again; CatchUp returns once it has handled what is there.
func TestDurableResume(t *testing.T) {
	f := newFixture(t, nil, changefeed.FeedConfig{})
	ctx := t.Context()
	table := f.products.Table().Name
	name := "resume-" + suffix()
	write := func(ids ...string) {
		t.Helper()
		for _, id := range ids {
			if err := f.products.Insert(ctx, &product{ID: id, Name: id}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// catchUp handles what is there with h, until it has seen want.
	catchUp := func(want string, h func(context.Context, changefeed.Change) error) ([]string, error) {
		var seen []string
		var err error
		handle := func(ctx context.Context, c changefeed.Change) error {
			seen = append(seen, c.Key["id"].(string))
			return h(ctx, c)
		}
		testenv.WaitUntil(t, 30*time.Second, "caught up to "+want, func() bool {
			err = f.subs.CatchUp(ctx, changefeed.Subscription{Name: name, Table: table, Handle: handle})
			return err != nil || slices.Contains(seen, want)
		})
		return seen, err
	}
	ok := func(context.Context, changefeed.Change) error { return nil }
	write("r1", "r2")
	if seen, err := catchUp("r2", ok); err != nil || !slices.Equal(seen, []string{"r1", "r2"}) {
		t.Fatalf("first run: %q, %v", seen, err)
	}
	write("r3", "r4")
	boom := errors.New("boom")
	seen, err := catchUp("r4", func(_ context.Context, c changefeed.Change) error {
		if c.Key["id"] == "r4" {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || !slices.Equal(seen, []string{"r3", "r4"}) || !strings.Contains(err.Error(), name) {
		t.Fatalf("second run: %q, %v: want r3, r4 and boom naming the subscription", seen, err)
	}
	write("r5")
	if seen, err := catchUp("r5", ok); err != nil || !slices.Equal(seen, []string{"r4", "r5"}) {
		t.Fatalf("third run: %q, %v: want the failed r4 again, then r5", seen, err)
	}
}

// TestDurableLease: the handler's context carries the shard's lease; a second
// subscriber of the same name waits for it and takes over when the first stops.
func TestDurableLease(t *testing.T) {
	f := newFixture(t, nil, changefeed.FeedConfig{})
	ctx := t.Context()
	table := f.products.Table().Name
	name := "lease-" + suffix()
	first := &collector{}
	fctx, stopFirst := context.WithCancel(ctx)
	firstDone := make(chan error, 1)
	go func() {
		firstDone <- f.subs.Subscribe(fctx, changefeed.Subscription{Name: name, Table: table, Handle: func(ctx context.Context, c changefeed.Change) error {
			if _, ok := lease.FromContext(ctx); !ok {
				return errors.New("no lease in the handler's context")
			}
			return first.handle(ctx, c)
		}})
	}()
	if err := f.products.Insert(ctx, &product{ID: "l1"}); err != nil {
		t.Fatal(err)
	}
	first.wait(t, 1)
	second := f.subscribe(t, ctx, changefeed.Subscription{Name: name, Table: table})
	if err := f.products.Insert(ctx, &product{ID: "l2"}); err != nil {
		t.Fatal(err)
	}
	first.wait(t, 2)
	stopFirst()
	if err := <-firstDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("first subscriber: %v", err)
	}
	if err := f.products.Insert(ctx, &product{ID: "l3"}); err != nil {
		t.Fatal(err)
	}
	if got := ids(second.wait(t, 1)); !slices.Equal(got, []string{"l3"}) {
		t.Fatalf("second subscriber got %q, want l3 only", got)
	}
	if got := ids(first.changes()); !slices.Equal(got, []string{"l1", "l2"}) {
		t.Fatalf("first subscriber got %q", got)
	}
}

// TestEphemeralStartsNow: an ephemeral subscription sees no change made before
// it started.
func TestEphemeralStartsNow(t *testing.T) {
	f := newFixture(t, nil, changefeed.FeedConfig{})
	ctx := t.Context()
	if err := f.products.Insert(ctx, &product{ID: "before"}); err != nil {
		t.Fatal(err)
	}
	got := f.subscribe(t, ctx, changefeed.Subscription{Table: f.products.Table().Name})
	// Write until one write lands after the subscription's start (it started
	// on its own goroutine, at a time the test does not know).
	testenv.WaitUntil(t, 30*time.Second, "a change after the start delivered", func() bool {
		if err := f.products.Insert(ctx, &product{ID: "after"}); err != nil {
			t.Fatal(err)
		}
		return len(got.changes()) > 0
	})
	for _, id := range ids(got.changes()) {
		if id != "after" {
			t.Fatalf("ephemeral subscription got %q", id)
		}
	}
}

// TestTenants: on a tenanted DB each tenant's subscription sees the changes made
// in its own tenant only, and a subscription needs a tenant.
func TestTenants(t *testing.T) {
	base, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := base.WithTenancy(orm.Tenancy{})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, db, changefeed.FeedConfig{})
	table := f.products.Table().Name
	run := suffix()
	acme, globex := tenant.With(t.Context(), "acme"+run), tenant.With(t.Context(), "globex"+run)
	a := f.subscribe(t, acme, changefeed.Subscription{Name: "t", Table: table})
	g := f.subscribe(t, globex, changefeed.Subscription{Name: "t", Table: table})
	for i, ctx := range []context.Context{acme, globex, acme} {
		if err := f.products.Insert(ctx, &product{ID: "same", Quantity: int32(i)}); err != nil {
			t.Fatal(err)
		}
	}
	ac, gc := a.wait(t, 2), g.wait(t, 1)
	for _, c := range ac {
		if c.Tenant != "acme"+run {
			t.Errorf("acme got %+v", c)
		}
	}
	if len(gc) != 1 || gc[0].Tenant != "globex"+run || gc[0].Values["quantity"] != int32(1) {
		t.Errorf("globex got %+v", gc)
	}
	if err := f.subs.Subscribe(t.Context(), changefeed.Subscription{Table: table, Handle: a.handle}); err == nil {
		t.Error("a subscription without a tenant on a tenanted DB: no error")
	}
	// A global model cannot record its changes on a tenanted DB.
	_, err = orm.NewModel[product](db, orm.TableName("global_"+run), orm.WithScope(orm.GlobalScope), orm.RecordChanges(f.feed))
	if !errors.Is(err, orm.ErrInvalidModel) {
		t.Errorf("global model: %v", err)
	}
}

// TestBatches: a logged batch records the changes of each of its writes with
// them; an unlogged one is refused, naming the table; a conditional batch records
// its writes ahead and marks them, and a refused one records nothing.
func TestBatches(t *testing.T) {
	f := newFixture(t, nil, changefeed.FeedConfig{})
	ctx := t.Context()
	got := f.subscribe(t, ctx, changefeed.Subscription{Name: "b-" + suffix(), Table: f.products.Table().Name})
	lines := f.subscribe(t, ctx, changefeed.Subscription{Name: "bl-" + suffix(), Table: f.lines.Table().Name})

	b := f.db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})
	if err := f.products.Batch(b).Insert(ctx, &product{ID: "b1", Quantity: 1}); err != nil {
		t.Fatal(err)
	}
	if err := f.lines.Batch(b).Insert(ctx, &line{Order: "o", N: 1, SKU: "b1"}); err != nil {
		t.Fatal(err)
	}
	if err := f.products.Batch(b).Patch(ctx, []any{"b2"}, []orm.Change{orm.Set("quantity", int32(2))}); err != nil {
		t.Fatal(err)
	}
	if err := b.Exec(ctx); err != nil {
		t.Fatal(err)
	}

	u := f.db.NewBatch(orm.UnloggedBatch, orm.BatchLimits{})
	if err := f.products.Batch(u).Insert(ctx, &product{ID: "u1"}); err != nil {
		t.Fatal(err)
	}
	if err := u.Exec(ctx); !errors.Is(err, orm.ErrInvalidQuery) || !strings.Contains(err.Error(), f.products.Table().Name) {
		t.Fatalf("unlogged batch: %v", err)
	}
	if _, err := f.products.Get(ctx, "u1"); !errors.Is(err, orm.ErrNotFound) {
		t.Fatalf("the refused batch wrote: %v", err)
	}

	cas := func(n int32, quantity int32) error {
		c := f.db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})
		if err := f.lines.Batch(c).InsertIfNotExists(ctx, &line{Order: "c", N: n, SKU: "x"}); err != nil {
			return err
		}
		if err := f.lines.Batch(c).Insert(ctx, &line{Order: "c", N: 100 + n, SKU: "y"}); err != nil {
			return err
		}
		return c.Exec(ctx)
	}
	if err := cas(1, 1); err != nil {
		t.Fatal(err)
	}
	if err := cas(1, 2); !errors.Is(err, orm.ErrConflict) {
		t.Fatalf("second conditional batch: %v", err)
	}
	if err := f.products.Insert(ctx, &product{ID: "end"}); err != nil {
		t.Fatal(err)
	}
	if p := ids(got.wait(t, 3)); !slices.Equal(p, []string{"b1", "b2", "end"}) {
		t.Errorf("products: %q", p)
	}
	var l []string
	for _, c := range lines.wait(t, 3) {
		l = append(l, fmt.Sprintf("%v %v", c.Key["order_id"], c.Key["n"]))
	}
	if !slices.Equal(l, []string{"o 1", "c 1", "c 101"}) {
		t.Errorf("lines: %q", l)
	}
}

// TestRefusedModels: the models and writes a change-recording model refuses.
func TestRefusedModels(t *testing.T) {
	f := newFixture(t, nil, changefeed.FeedConfig{})
	run := suffix()
	type hits struct {
		Page  string      `cql:"page" orm:"pk"`
		Count orm.Counter `cql:"count"`
	}
	if _, err := orm.NewModel[hits](f.db, orm.TableName("hits_"+run), orm.RecordChanges(f.feed)); !errors.Is(err, orm.ErrInvalidModel) || !strings.Contains(err.Error(), "counter") {
		t.Errorf("counter table: %v", err)
	}
	type clash struct {
		ID    string     `cql:"id" orm:"pk"`
		Marks []orm.UUID `cql:"orm_change_marks" orm:"set"`
	}
	if _, err := orm.NewModel[clash](f.db, orm.TableName("clash_"+run), orm.RecordChanges(f.feed)); !errors.Is(err, orm.ErrInvalidModel) || !strings.Contains(err.Error(), orm.ChangeMarkColumn) {
		t.Errorf("mark column clash: %v", err)
	}
	ctx := t.Context()
	if err := f.products.Insert(ctx, &product{ID: "d"}); err != nil {
		t.Fatal(err)
	}
	err := f.products.DeleteIf(ctx, []any{"d"}, orm.Eq("quantity", int32(0)))
	if !errors.Is(err, orm.ErrInvalidQuery) || !strings.Contains(err.Error(), f.products.Table().Name) {
		t.Errorf("DeleteIf: %v", err)
	}
	if _, err := f.products.Get(ctx, "d"); err != nil {
		t.Errorf("the refused DeleteIf deleted: %v", err)
	}
}

// TestPartitionWrites: on a table with clustering columns the mark is the
// partition's, so conditional writes of static columns alone and conditional
// deletes of a row are recorded, keyed by what they were given.
func TestPartitionWrites(t *testing.T) {
	f := newFixture(t, nil, changefeed.FeedConfig{})
	ctx := t.Context()
	got := f.subscribe(t, ctx, changefeed.Subscription{Name: "p-" + suffix(), Table: f.lines.Table().Name, ReadRow: true})
	if err := f.lines.Insert(ctx, &line{Order: "s", N: 1, SKU: "x"}); err != nil {
		t.Fatal(err)
	}
	total := func(v int64) orm.Change { return orm.Set("total", v) }
	steps := []struct {
		name string
		err  error
	}{
		{"static patch", f.lines.Patch(ctx, []any{"s"}, []orm.Change{total(5)})},
		{"conditional static patch", f.lines.PatchIf(ctx, []any{"s"}, []orm.Predicate{orm.Eq("total", int64(5))}, []orm.Change{total(6)})},
		{"refused static patch", ignore(orm.ErrConflict, f.lines.PatchIf(ctx, []any{"s"}, []orm.Predicate{orm.Eq("total", int64(5))}, []orm.Change{total(7)}))},
		{"conditional delete", f.lines.DeleteIf(ctx, []any{"s", int32(1)}, orm.Eq("sku", "x"))},
		{"refused conditional delete", ignore(orm.ErrConflict, f.lines.DeleteIf(ctx, []any{"s", int32(1)}, orm.Eq("sku", "x")))},
		{"end", f.lines.Insert(ctx, &line{Order: "s", N: 2, SKU: "end"})},
	}
	for _, s := range steps {
		if s.err != nil {
			t.Fatalf("%s: %v", s.name, s.err)
		}
	}
	cs := got.wait(t, 5)
	if len(cs) != 5 {
		t.Fatalf("%d changes, want 5: %+v", len(cs), cs)
	}
	part, row := map[string]any{"order_id": "s"}, map[string]any{"order_id": "s", "n": int32(1)}
	check(t, 1, cs[1], want{orm.OpUpdate, part, map[string]any{"total": ptr(int64(5))}, []string{"total"}})
	check(t, 2, cs[2], want{orm.OpUpdate, part, map[string]any{"total": ptr(int64(6))}, []string{"total"}})
	check(t, 3, cs[3], want{orm.OpDelete, row, map[string]any{}, nil})
	if cs[1].Row == nil || cs[1].Row["order_id"] != "s" {
		t.Errorf("the row read for a partition's change: %v", cs[1].Row)
	}
}

// TestRetry: a subscription with a Retry policy runs a failing handler again,
// and goes on once it succeeds; without one the first failure stops it.
func TestRetry(t *testing.T) {
	f := newFixture(t, nil, changefeed.FeedConfig{})
	ctx := t.Context()
	if err := f.products.Insert(ctx, &product{ID: "r"}); err != nil {
		t.Fatal(err)
	}
	flaky := errors.New("flaky")
	calls := 0
	handle := func(context.Context, changefeed.Change) error {
		calls++
		if calls < 3 {
			return flaky
		}
		return nil
	}
	sub := changefeed.Subscription{Name: "retry-" + suffix(), Table: f.products.Table().Name, Handle: handle,
		Retry: retry.Policy{If: retry.On(flaky), MaxAttempts: 3}}
	testenv.WaitUntil(t, 30*time.Second, "the change handled", func() bool {
		if err := f.subs.CatchUp(ctx, sub); err != nil {
			t.Fatal(err)
		}
		return calls > 0
	})
	if calls != 3 {
		t.Errorf("%d calls, want 3", calls)
	}
	calls = 0
	sub.Name, sub.Retry = "noretry-"+suffix(), retry.Policy{}
	testenv.WaitUntil(t, 30*time.Second, "the change handled", func() bool {
		err := f.subs.CatchUp(ctx, sub)
		if err != nil && !errors.Is(err, flaky) {
			t.Fatal(err)
		}
		return err != nil
	})
	if calls != 1 {
		t.Errorf("without Retry: %d calls, want 1", calls)
	}
	sub.Retry = retry.Policy{If: retry.On(flaky), MaxAttempts: -1}
	if err := f.subs.Subscribe(ctx, sub); err == nil || !strings.Contains(err.Error(), "MaxAttempts") {
		t.Errorf("an invalid policy: %v", err)
	}
}
