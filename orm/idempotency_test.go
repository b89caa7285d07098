package orm

import (
	"testing"
	"time"
)

type idemRow struct {
	ID    string   `cql:"id" orm:"pk"`
	Seq   int64    `cql:"seq" orm:"ck"`
	Name  string   `cql:"name"`
	Lines []string `cql:"lines"`
	Tags  []string `cql:"tags" orm:"set"`
}

type idemCounter struct {
	ID    string  `cql:"id" orm:"pk"`
	Views Counter `cql:"views"`
}

// Statements the driver may retry are exactly those that are safe to apply twice:
// lightweight transactions, counter increments and list appends/prepends are not.
func TestIdempotencyMarking(t *testing.T) {
	db := &DB{keyspace: "ks"}
	rows := MustModel[idemRow](db)
	counters := MustModel[idemCounter](db)
	ctx := t.Context()
	o := queryOpts{}
	sc := scoped{st: rows.home}
	key := []any{"a", int64(1)}
	build := func(w writeStmt, _ any, err error) writeStmt {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	patch := func(m interface {
		buildPatch(scoped, []any, []Predicate, bool, []Change, *queryOpts) (writeStmt, error)
	}, keys []any, lwt bool, ch ...Change) writeStmt {
		t.Helper()
		w, err := m.buildPatch(scoped{st: &stmts{}}, keys, nil, lwt, ch, &o)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	r := idemRow{ID: "a", Seq: 1, Name: "n"}
	cases := []struct {
		name string
		w    writeStmt
		want bool
	}{
		{"insert", build(rows.buildInsert(ctx, sc, &r, false, &o)), true},
		{"insert with TTL", build(rows.buildInsert(ctx, sc, &r, false, &queryOpts{ttl: time.Hour, hasTTL: true})), true},
		{"insert if not exists", build(rows.buildInsert(ctx, sc, &r, true, &o)), false},
		{"update", build(rows.buildUpdate(ctx, sc, &r, nil, false, &o)), true},
		{"update if", build(rows.buildUpdate(ctx, sc, &r, []Predicate{Eq("name", "n")}, true, &o)), false},
		{"set", patch(rows, key, false, Set("name", "x")), true},
		{"set add", patch(rows, key, false, Add("tags", []string{"x"})), true},
		{"set remove", patch(rows, key, false, Remove("tags", []string{"x"})), true},
		{"list append", patch(rows, key, false, Append("lines", []string{"x"})), false},
		{"list prepend", patch(rows, key, false, Prepend("lines", []string{"x"})), false},
		{"set and append", patch(rows, key, false, Set("name", "x"), Append("lines", []string{"x"})), false},
		{"patch if", patch(rows, key, true, Set("name", "x")), false},
		{"counter", patch(counters, []any{"a"}, false, Increment("views", 1)), false},
	}
	for _, c := range cases {
		if c.w.idempotent != c.want {
			t.Errorf("%s: idempotent = %v, want %v (%s)", c.name, c.w.idempotent, c.want, c.w.cql)
		}
	}
	d, err := rows.buildDelete(sc, key, nil, false, nil)
	if err != nil || !d.idempotent {
		t.Errorf("delete: idempotent = %v, %v", d.idempotent, err)
	}
	d, err = rows.buildDelete(sc, key, nil, true, nil)
	if err != nil || d.idempotent {
		t.Errorf("delete if exists: idempotent = %v, %v", d.idempotent, err)
	}
}
