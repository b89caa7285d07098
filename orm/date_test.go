package orm_test

import (
	"errors"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// DayRow has a date as partition key, clustering key and indexed column.
type DayRow struct {
	Day  time.Time `cql:"day" orm:"pk,date"`
	At   time.Time `cql:"at" orm:"ck,date"`
	Seen time.Time `cql:"seen" orm:"date,index"`
	N    int32     `cql:"n"`
}

// TestDateKeysAndPredicates writes dates whose calendar day differs from their UTC
// day (zones east and west of UTC) or lies before 1970, and finds each row with the
// very value it was written with, by every path that binds a value.
func TestDateKeysAndPredicates(t *testing.T) {
	m := newModel[DayRow](t, openDB(t))
	ctx := t.Context()
	east := time.FixedZone("east", 13*3600)
	west := time.FixedZone("west", -11*3600)
	cases := []struct {
		name string
		day  time.Time
	}{
		// 05:00 at +13 is the day before in UTC; 20:00 at -11 the day after.
		{"east 1969-12-31", time.Date(1969, 12, 31, 5, 0, 0, 0, east)},
		{"west 1969-12-31", time.Date(1969, 12, 31, 20, 0, 0, 0, west)},
		{"utc noon 1900-03-01", time.Date(1900, 3, 1, 12, 0, 0, 0, time.UTC)},
		{"east 1900-03-01", time.Date(1900, 3, 1, 1, 0, 0, 0, east)},
		{"west 2024-02-29", time.Date(2024, 2, 29, 23, 0, 0, 0, west)},
		{"east 2024-06-15", time.Date(2024, 6, 15, 5, 0, 0, 0, east)},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.day
			next := d.AddDate(0, 0, 1)
			want := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
			if err := m.Insert(ctx, &DayRow{Day: d, At: d, Seen: d, N: int32(i)}); err != nil {
				t.Fatal(err)
			}
			// A second row of the partition, written in a batch.
			b := m.DB().NewBatch(orm.LoggedBatch, orm.BatchLimits{})
			if err := m.Batch(b).Insert(ctx, &DayRow{Day: d, At: next, Seen: next, N: int32(i)}); err != nil {
				t.Fatal(err)
			}
			if err := b.Exec(ctx); err != nil {
				t.Fatal(err)
			}
			got, err := m.Get(ctx, d, d)
			if err != nil {
				t.Fatalf("Get with the written value: %v", err)
			}
			if !got.Day.Equal(want) || !got.At.Equal(want) || !got.Seen.Equal(want) {
				t.Fatalf("read back %v / %v / %v, want the calendar day %v", got.Day, got.At, got.Seen, want)
			}
			if _, err := m.Get(ctx, d, next); err != nil {
				t.Fatalf("Get of the batched row: %v", err)
			}
			if meta, err := m.CellMeta(ctx, "n", d, d); err != nil || meta.WriteTime.IsZero() {
				t.Fatalf("CellMeta with the written value: %+v, %v", meta, err)
			}
			queries := map[string]struct {
				q    orm.Query[DayRow]
				want int
			}{
				"Eq partition":      {m.Query().Where(orm.Eq("day", d)), 2},
				"In partition":      {m.Query().Where(orm.In("day", d, d.AddDate(0, 0, 7))), 2},
				"Eq clustering":     {m.Query().Where(orm.Eq("day", d), orm.Eq("at", d)), 1},
				"In clustering":     {m.Query().Where(orm.Eq("day", d), orm.In("at", d, next)), 2},
				"range clustering":  {m.Query().Where(orm.Eq("day", d), orm.Gte("at", d), orm.Lt("at", next)), 1},
				"range clustering2": {m.Query().Where(orm.Eq("day", d), orm.Gt("at", d), orm.Lte("at", next)), 1},
				"Eq index":          {m.Query().Where(orm.Eq("seen", d)), 1},
				"range index":       {m.Query().Where(orm.Gte("seen", d), orm.Lte("seen", d)), 1},
			}
			for name, c := range queries {
				n := 0
				for _, err := range c.q.All(ctx) {
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					n++
				}
				if n != c.want {
					t.Errorf("%s: %d rows, want %d", name, n, c.want)
				}
			}
			// Page through the partition one row at a time.
			q := m.Query().Where(orm.Eq("day", d)).With(orm.WithPageSize(1))
			seen, cursor := 0, ""
			for {
				p, err := q.Page(ctx, cursor)
				if err != nil {
					t.Fatalf("Page: %v", err)
				}
				seen += len(p.Items)
				if cursor = p.Next; cursor == "" {
					break
				}
			}
			if seen != 2 {
				t.Errorf("paged %d rows, want 2", seen)
			}
			// Patch the indexed date and condition on it.
			if err := m.Patch(ctx, []any{d, next}, []orm.Change{orm.Set("seen", d)}); err != nil {
				t.Fatal(err)
			}
			if err := m.PatchIf(ctx, []any{d, next}, []orm.Predicate{orm.Eq("seen", d)}, []orm.Change{orm.Set("n", int32(100))}); err != nil {
				t.Fatalf("PatchIf on the date it was patched with: %v", err)
			}
			if err := m.DeleteIf(ctx, []any{d, d}, orm.Eq("seen", d)); err != nil {
				t.Fatalf("DeleteIf on the written date: %v", err)
			}
			if _, err := m.Get(ctx, d, d); !errors.Is(err, orm.ErrNotFound) {
				t.Fatalf("after DeleteIf: %v", err)
			}
			if err := m.Delete(ctx, d); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Get(ctx, d, next); !errors.Is(err, orm.ErrNotFound) {
				t.Fatalf("after Delete of the partition: %v", err)
			}
		})
	}
}
