package changefeed_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// slot is a model with two clustering columns, for deletes of slices.
type slot struct {
	Day  string `cql:"day" orm:"pk"`
	Room string `cql:"room" orm:"ck"`
	Hour int32  `cql:"hour" orm:"ck"`
	Who  string `cql:"who"`
}

// TestQueryDeleteRecorded: each Query.Delete of a model that records its
// changes is recorded with its delete, one change per key prefix it deleted
// under, with the Range of a slice; the rows the records say were deleted are
// gone and the others are not; a delete that is refused, by the ORM or by the
// server, records nothing.
func TestQueryDeleteRecorded(t *testing.T) {
	f := newFixture(t, nil, changefeed.FeedConfig{})
	ctx := t.Context()
	slots, err := orm.NewModel[slot](f.db, orm.TableName("slots_"+suffix()), orm.RecordChanges(f.feed))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.Sync(ctx, slots); err != nil {
		t.Fatal(err)
	}
	got := f.subscribe(t, ctx, changefeed.Subscription{Name: "slots-" + suffix(), Table: slots.Table().Name, Ops: []orm.ChangeOp{orm.OpDelete}})
	for _, day := range []string{"d1", "d2", "d3", "d4"} {
		for _, room := range []string{"a", "b", "c"} {
			for h := int32(8); h <= 12; h++ {
				if err := slots.Insert(ctx, &slot{Day: day, Room: room, Hour: h, Who: "x"}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	q := slots.Query()
	type key = map[string]any
	for _, tc := range []struct {
		name    string
		where   []orm.Predicate
		changes []want                 // op delete; values empty, changed nil
		ranges  []*changefeed.KeyRange // one per change
		left    map[string]int         // rows left in the day's partition, by room
	}{
		{"slice", []orm.Predicate{orm.Eq("day", "d1"), orm.Eq("room", "a"), orm.Gte("hour", 9), orm.Lt("hour", 12)},
			[]want{{key: key{"day": "d1", "room": "a"}}},
			[]*changefeed.KeyRange{{Column: "hour", Lower: int32(9), LowerInclusive: true, Upper: int32(12)}},
			map[string]int{"a": 2, "b": 5, "c": 5}},
		{"upper bound only", []orm.Predicate{orm.Eq("day", "d1"), orm.Eq("room", "b"), orm.Lte("hour", 10)},
			[]want{{key: key{"day": "d1", "room": "b"}}},
			[]*changefeed.KeyRange{{Column: "hour", Upper: int32(10), UpperInclusive: true}},
			map[string]int{"a": 2, "b": 2, "c": 5}},
		{"partition", []orm.Predicate{orm.Eq("day", "d2")},
			[]want{{key: key{"day": "d2"}}}, []*changefeed.KeyRange{nil}, map[string]int{}},
		{"prefix", []orm.Predicate{orm.Eq("day", "d3"), orm.Eq("room", "c")},
			[]want{{key: key{"day": "d3", "room": "c"}}}, []*changefeed.KeyRange{nil}, map[string]int{"a": 5, "b": 5}},
		{"in", []orm.Predicate{orm.Eq("day", "d3"), orm.Eq("room", "a"), orm.In("hour", 8, 12)},
			[]want{{key: key{"day": "d3", "room": "a", "hour": int32(8)}}, {key: key{"day": "d3", "room": "a", "hour": int32(12)}}},
			[]*changefeed.KeyRange{nil, nil}, map[string]int{"a": 3, "b": 5}},
		{"range on the first clustering column", []orm.Predicate{orm.Eq("day", "d4"), orm.Gt("room", "a")},
			[]want{{key: key{"day": "d4"}}},
			[]*changefeed.KeyRange{{Column: "room", Lower: "a"}}, map[string]int{"a": 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(got.changes())
			if err := q.Where(tc.where...).Delete(ctx); err != nil {
				t.Fatal(err)
			}
			cs := got.wait(t, before+len(tc.changes))[before:]
			if len(cs) != len(tc.changes) {
				t.Fatalf("%d changes, want %d: %+v", len(cs), len(tc.changes), cs)
			}
			for i, w := range tc.changes {
				w.op, w.values = orm.OpDelete, map[string]any{}
				check(t, i, cs[i], w)
				if !reflect.DeepEqual(cs[i].Range, tc.ranges[i]) {
					t.Errorf("change %d: range %+v, want %+v", i, cs[i].Range, tc.ranges[i])
				}
			}
			day := tc.where[0]
			left := map[string]int{}
			for r, err := range q.Where(day).All(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				left[r.Room]++
			}
			if !reflect.DeepEqual(left, tc.left) {
				t.Errorf("rows left by room %v, want %v", left, tc.left)
			}
		})
	}

	// Refused deletes record nothing and delete nothing: by the ORM, before
	// anything is sent, and by the server (a partition key longer than
	// 64 KiB), which refuses the batch with its record.
	many := make([]any, 101)
	for i := range many {
		many[i] = fmt.Sprint("r", i)
	}
	for _, tc := range []struct {
		name   string
		q      orm.Query[slot]
		target error
	}{
		{"two lower bounds", q.Where(orm.Eq("day", "d4"), orm.Eq("room", "a"), orm.Gt("hour", 8), orm.Gte("hour", 9)), orm.ErrInvalidQuery},
		{"after a free column", q.Where(orm.Eq("day", "d4"), orm.Eq("hour", int32(9))).AllowFiltering(), orm.ErrInvalidQuery},
		{"too many prefixes", q.Where(orm.Eq("day", "d4"), orm.In("room", many...)), orm.ErrInvalidQuery},
		{"refused by the server", q.Where(orm.Eq("day", strings.Repeat("d", 70_000))), nil},
	} {
		err := tc.q.Delete(ctx)
		t.Logf("%s: %v", tc.name, err)
		if err == nil || (tc.target != nil && !errors.Is(err, tc.target)) {
			t.Errorf("%s: Delete() = %v, want an error matching %v", tc.name, err, tc.target)
		}
	}
	before := len(got.changes())
	if err := q.Where(orm.Eq("day", "end")).Delete(ctx); err != nil {
		t.Fatal(err)
	}
	cs := got.wait(t, before+1)
	if n := len(cs); n != before+1 || cs[n-1].Key["day"] != "end" {
		t.Errorf("after the refused deletes: %d changes, the last %+v; want %d, the last of day end", n, cs[n-1], before+1)
	}
	if n, err := q.Where(orm.Eq("day", "d4")).Count(ctx); err != nil || n != 5 {
		t.Errorf("rows of d4 after the refused deletes: %d, %v; want 5", n, err)
	}
	ids := map[orm.UUID]bool{}
	for _, c := range cs {
		ids[c.ID] = true
	}
	if len(ids) != len(cs) {
		t.Errorf("%d changes with %d ids", len(cs), len(ids))
	}
}
