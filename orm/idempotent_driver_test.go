package orm_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

type IdemItem struct {
	ID    string   `cql:"id" orm:"pk"`
	Seq   int64    `cql:"seq" orm:"ck"`
	Name  string   `cql:"name"`
	Lines []string `cql:"lines"`
	Tags  []string `cql:"tags" orm:"set"`
}

type IdemViews struct {
	ID    string      `cql:"id" orm:"pk"`
	Views orm.Counter `cql:"views"`
}

// The driver retries (and may speculatively repeat) exactly the statements
// marked idempotent, so the mark the driver receives must say "safe to apply
// twice" only where that holds: never on lightweight transactions, counter
// increments or list appends and prepends. TestIdempotencyMarking checks the
// builder's flag without a server; this checks what reaches the driver.
func TestIdempotencyReachesDriver(t *testing.T) {
	db, log := observedDB(t)
	items := newModel[IdemItem](t, db)
	views := newModel[IdemViews](t, db)
	key := []any{"a", int64(1)}
	r := IdemItem{ID: "a", Seq: 1, Name: "n"}
	cases := []struct {
		name  string
		table string
		run   func(ctx context.Context) error
		want  bool
	}{
		{"insert", "idem_item", func(ctx context.Context) error { return items.Insert(ctx, &r) }, true},
		{"insert with TTL", "idem_item", func(ctx context.Context) error { return items.Insert(ctx, &r, orm.WithTTL(time.Hour)) }, true},
		{"insert if not exists", "idem_item", func(ctx context.Context) error { return items.InsertIfNotExists(ctx, &r) }, false},
		{"update", "idem_item", func(ctx context.Context) error { return items.Update(ctx, &r) }, true},
		{"update if", "idem_item", func(ctx context.Context) error {
			return items.UpdateIf(ctx, &r, []orm.Predicate{orm.Eq("name", "n")})
		}, false},
		{"set", "idem_item", func(ctx context.Context) error { return items.Patch(ctx, key, []orm.Change{orm.Set("name", "n")}) }, true},
		{"set add", "idem_item", func(ctx context.Context) error {
			return items.Patch(ctx, key, []orm.Change{orm.Add("tags", []string{"x"})})
		}, true},
		{"set remove", "idem_item", func(ctx context.Context) error {
			return items.Patch(ctx, key, []orm.Change{orm.Remove("tags", []string{"x"})})
		}, true},
		{"list append", "idem_item", func(ctx context.Context) error {
			return items.Patch(ctx, key, []orm.Change{orm.Append("lines", []string{"x"})})
		}, false},
		{"list prepend", "idem_item", func(ctx context.Context) error {
			return items.Patch(ctx, key, []orm.Change{orm.Prepend("lines", []string{"x"})})
		}, false},
		{"set and append", "idem_item", func(ctx context.Context) error {
			return items.Patch(ctx, key, []orm.Change{orm.Set("name", "n"), orm.Append("lines", []string{"x"})})
		}, false},
		{"patch if", "idem_item", func(ctx context.Context) error {
			return items.PatchIf(ctx, key, []orm.Predicate{orm.Eq("name", "n")}, []orm.Change{orm.Set("name", "n")})
		}, false},
		{"counter", "idem_views", func(ctx context.Context) error {
			return views.Patch(ctx, []any{"a"}, []orm.Change{orm.Increment("views", 1)})
		}, false},
		{"delete", "idem_item", func(ctx context.Context) error { return items.Delete(ctx, key...) }, true},
		{"delete if exists", "idem_item", func(ctx context.Context) error { return items.DeleteIf(ctx, key) }, false},
	}
	log.take("")
	for _, c := range cases {
		// A condition that does not hold is a conflict, still a statement sent.
		if err := c.run(t.Context()); err != nil && !errors.Is(err, orm.ErrConflict) {
			t.Fatalf("%s: %v", c.name, err)
		}
		sent := log.take(c.table)
		if len(sent) == 0 {
			t.Errorf("%s: nothing reached the driver", c.name)
		}
		for _, q := range sent {
			if q.idempotent != c.want {
				t.Errorf("%s: the driver got idempotent = %v, want %v (%s)", c.name, q.idempotent, c.want, q.stmt)
			}
		}
	}
}
