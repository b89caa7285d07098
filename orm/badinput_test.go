package orm_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// BadRow has a column of each kind a wrong value used to reach the driver or the
// server unchecked through.
type BadRow struct {
	ID    orm.UUID           `cql:"id" orm:"pk"`
	N     int32              `cql:"n" orm:"index"`
	Pair  Pair               `cql:"pair" orm:"tuple"`
	Tags  []string           `cql:"tags" orm:"set,index"`
	Score map[string]float64 `cql:"score"`
	Log   []int32            `cql:"log"`
	Vec   []float32          `cql:"vec" orm:"vector=3"`
	Code  string             `cql:"code" orm:"ascii"`
	Tod   time.Duration      `cql:"tod" orm:"time"`
	Stamp orm.UUID           `cql:"stamp" orm:"timeuuid"`
	Home  Geo                `cql:"home"`
}

// TestBadValuesRefusedNamingTableAndColumn gives each public way of binding a value
// a value that does not fit its column: none may panic, and each error must match
// ErrInvalidValue and name the table and the column, before anything is sent.
func TestBadValuesRefusedNamingTableAndColumn(t *testing.T) {
	db := openDB(t)
	m := newModel[BadRow](t, db)
	ctx := t.Context()
	id := orm.NewUUID()
	key := []any{id}
	if err := m.Insert(ctx, &BadRow{ID: id, Vec: []float32{1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	patch := func(chs ...orm.Change) func() error {
		return func() error { return m.Patch(ctx, key, chs) }
	}
	query := func(ps ...orm.Predicate) func() error {
		return func() error {
			for _, err := range m.Query().Where(append([]orm.Predicate{orm.Eq("id", id)}, ps...)...).AllowFiltering().All(ctx) {
				return err
			}
			return nil
		}
	}
	batch := func(add func(orm.BatchWriter[BadRow]) error) func() error {
		return func() error {
			b := db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})
			if err := add(m.Batch(b)); err != nil {
				return err
			}
			return b.Exec(ctx)
		}
	}
	cases := []struct {
		name, column string
		do           func() error
	}{
		{"Set tuple to an int", "pair", patch(orm.Set("pair", 5))},
		{"Set tuple to another struct", "pair", patch(orm.Set("pair", Geo{}))},
		{"condition on tuple with a string", "pair", func() error {
			return m.PatchIf(ctx, key, []orm.Predicate{orm.Eq("pair", "x")}, []orm.Change{orm.Set("n", int32(1))})
		}},
		{"Set int to a bool", "n", patch(orm.Set("n", true))},
		{"Set int out of range", "n", patch(orm.Set("n", int64(1)<<40))},
		{"Add an int to set<text>", "tags", patch(orm.Add("tags", []int{5}))},
		{"Remove a bool from set<text>", "tags", patch(orm.Remove("tags", []bool{true}))},
		{"Put a bool key in map<text, double>", "score", patch(orm.Put("score", true, 1.0))},
		{"Put a string value in map<text, double>", "score", patch(orm.Put("score", "k", "v"))},
		{"Remove map keys of the wrong type", "score", patch(orm.Remove("score", []bool{true}))},
		{"Remove map keys that are not comparable", "score", patch(orm.Remove("score", [][]int{{1}}))},
		{"Append strings to list<int>", "log", patch(orm.Append("log", []string{"x"}))},
		{"Set vector of the wrong length", "vec", patch(orm.Set("vec", []float32{1}))},
		{"Set vector to strings", "vec", patch(orm.Set("vec", []string{"a", "b", "c"}))},
		{"Set ascii to non-ASCII", "code", patch(orm.Set("code", "héllo"))},
		{"Set time of day past midnight", "tod", patch(orm.Set("tod", 25*time.Hour))},
		{"Set time of day negative", "tod", patch(orm.Set("tod", -time.Second))},
		{"Set timeuuid to a random UUID", "stamp", patch(orm.Set("stamp", orm.NewUUID()))},
		{"Set UDT to another struct", "home", patch(orm.Set("home", Pair{}))},
		{"Eq with a bool", "n", query(orm.Eq("n", true))},
		{"In with a string", "n", query(orm.In("n", int32(1), "x"))},
		{"Gt with a slice", "n", query(orm.Gt("n", []int{1}))},
		{"Contains with an int", "tags", query(orm.Contains("tags", 5))},
		{"Get with a string key", "id", func() error { _, err := m.Get(ctx, "not a uuid"); return err }},
		{"DeleteColumns with a bool key", "id", func() error { return m.DeleteColumns(ctx, []any{true}, "n") }},
		{"DeleteIf condition of the wrong type", "n", func() error { return m.DeleteIf(ctx, key, orm.Eq("n", "x")) }},
		{"UpdateIf condition of the wrong type", "n", func() error {
			return m.UpdateIf(ctx, &BadRow{ID: id, Vec: []float32{1, 2, 3}}, []orm.Predicate{orm.Eq("n", 1.5)})
		}},
		{"Insert a vector of the wrong length", "vec", func() error { return m.Insert(ctx, &BadRow{ID: id, Vec: []float32{1}}) }},
		{"Insert non-ASCII text", "code", func() error { return m.Insert(ctx, &BadRow{ID: id, Vec: []float32{1, 2, 3}, Code: "ü"}) }},
		{"batched Patch of the wrong type", "n", batch(func(w orm.BatchWriter[BadRow]) error {
			return w.Patch(ctx, key, []orm.Change{orm.Set("n", "x")})
		})},
		{"batched Delete with a wrong key", "id", batch(func(w orm.BatchWriter[BadRow]) error { return w.Delete(ctx, 42) })},
		{"Delete with a bool key", "id", func() error { return m.Delete(ctx, true) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := noPanic(t, tc.do)
			if !errors.Is(err, orm.ErrInvalidValue) || !strings.Contains(err.Error(), "bad_row") || !strings.Contains(err.Error(), tc.column) {
				t.Fatalf("got %v; want ErrInvalidValue naming table bad_row and column %s", err, tc.column)
			}
		})
	}
}

// noPanic runs f and turns a panic into a test failure.
func noPanic(t *testing.T, f func() error) (err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("panic: %v", r)
		}
	}()
	return f()
}

func TestBadBatchKindAndSession(t *testing.T) {
	ctx := t.Context()
	db := openDB(t)
	m := newModel[BadRow](t, db)
	for _, kind := range []orm.BatchKind{orm.BatchKind(7), orm.BatchKind(-1)} {
		err := noPanic(t, func() error {
			b := db.NewBatch(kind, orm.BatchLimits{})
			if err := m.Batch(b).Delete(ctx, orm.NewUUID()); err != nil {
				return err
			}
			return b.Exec(t.Context())
		})
		if !errors.Is(err, orm.ErrInvalidQuery) || !strings.Contains(err.Error(), fmt.Sprint(int(kind))) {
			t.Errorf("batch kind %d: %v", kind, err)
		}
		if s := kind.String(); !strings.Contains(s, fmt.Sprint(int(kind))) {
			t.Errorf("BatchKind(%d).String() = %q", kind, s)
		}
	}
	b := db.NewBatch(orm.LoggedBatch, orm.BatchLimits{MaxStatements: -1})
	if err := noPanic(t, func() error { return m.Batch(b).Delete(ctx, orm.NewUUID()) }); !errors.Is(err, orm.ErrInvalidQuery) {
		t.Errorf("negative batch limit: %v", err)
	}
	if _, err := orm.New(nil, env.Keyspace(), nil); !errors.Is(err, orm.ErrInvalidValue) {
		t.Errorf("orm.New with a nil session: %v", err)
	}
}

// TestDetachedRunsNothing checks that a DB with no session builds statements and
// refuses, without panicking, every call that would run one.
func TestDetachedRunsNothing(t *testing.T) {
	db := buildDB(t)
	m, err := orm.NewModel[Account](db)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, _, err := m.Query().Where(orm.Eq("id", "a")).CQL(ctx); err != nil {
		t.Fatalf("a detached DB does not build: %v", err)
	}
	calls := map[string]func() error{
		"Insert":            func() error { return m.Insert(ctx, &Account{ID: "a"}) },
		"InsertIfNotExists": func() error { return m.InsertIfNotExists(ctx, &Account{ID: "a"}) },
		"Get":               func() error { _, err := m.Get(ctx, "a"); return err },
		"Delete":            func() error { return m.Delete(ctx, "a") },
		"Count":             func() error { _, err := m.Query().Where(orm.Eq("id", "a")).Count(ctx); return err },
		"Page":              func() error { _, err := m.Query().Where(orm.Eq("id", "a")).Page(ctx, ""); return err },
		"All": func() error {
			for _, err := range m.Query().Where(orm.Eq("id", "a")).All(ctx) {
				return err
			}
			return nil
		},
		"CellMeta": func() error { _, err := m.CellMeta(ctx, "owner", "a"); return err },
		"Batch": func() error {
			b := db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})
			if err := m.Batch(b).Insert(ctx, &Account{ID: "a"}); err != nil {
				return err
			}
			return b.Exec(ctx)
		},
		"Sync":    func() error { return db.Sync(ctx, m) },
		"ExecCQL": func() error { return db.ExecCQL(ctx, "SELECT now() FROM system.local") },
		"Tables":  func() error { _, err := db.Tables(ctx, "system"); return err },
		"KeyspaceExists": func() error {
			_, err := db.KeyspaceExists(ctx, "system")
			return err
		},
	}
	for name, call := range calls {
		if err := noPanic(t, call); !errors.Is(err, orm.ErrDetached) {
			t.Errorf("%s on a detached DB: %v, want ErrDetached", name, err)
		}
	}
}

// TestBadConsistencyRefused checks that a consistency level the driver cannot take
// is refused with ErrInvalidValue on every path, never passed on (the driver panics
// on a serial consistency other than Serial or LocalSerial).
func TestBadConsistencyRefused(t *testing.T) {
	db := openDB(t)
	m := newModel[Account](t, db, orm.TableName("account_badcons"))
	ctx := t.Context()
	for name, opt := range map[string]orm.QueryOption{
		"serial One":     orm.WithSerialConsistency(orm.One),
		"unknown level":  orm.WithConsistency(orm.Consistency(42)),
		"unknown serial": orm.WithSerialConsistency(orm.Consistency(42)),
	} {
		calls := map[string]func() error{
			"InsertIfNotExists": func() error { return m.InsertIfNotExists(ctx, &Account{ID: "c"}, opt) },
			"Insert":            func() error { return m.Insert(ctx, &Account{ID: "c"}, opt) },
			"All": func() error {
				for _, err := range m.Query().Where(orm.Eq("id", "c")).With(opt).All(ctx) {
					return err
				}
				return nil
			},
			"Page":  func() error { _, err := m.Query().Where(orm.Eq("id", "c")).With(opt).Page(ctx, ""); return err },
			"Count": func() error { _, err := m.Query().Where(orm.Eq("id", "c")).With(opt).Count(ctx); return err },
			"Batch": func() error {
				b := db.NewBatch(orm.LoggedBatch, orm.BatchLimits{}, opt)
				if err := m.Batch(b).Insert(ctx, &Account{ID: "c"}); err != nil {
					return err
				}
				return b.Exec(ctx)
			},
		}
		for call, f := range calls {
			if err := noPanic(t, f); !errors.Is(err, orm.ErrInvalidValue) || !strings.Contains(err.Error(), "account_badcons") {
				t.Errorf("%s with %s: %v, want ErrInvalidValue naming the table", call, name, err)
			}
		}
	}
	if s := orm.ColumnKind(9).String(); s != "ColumnKind(9)" {
		t.Errorf("ColumnKind(9).String() = %q", s)
	}
}
