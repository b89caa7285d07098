package orm_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

type RegPair struct {
	N int32
	S string
}

// RegRow gathers the column kinds the regressions below concern.
type RegRow struct {
	P     string     `cql:"p" orm:"pk"`
	C     int32      `cql:"c" orm:"ck,index"`
	Name  string     `cql:"name" orm:"index"`
	Age   int32      `cql:"age" orm:"index"`
	Tags  []string   `cql:"tags" orm:"set"`
	Pair  RegPair    `cql:"pair" orm:"tuple"`
	Day   time.Time  `cql:"day" orm:"date"`
	Email string     `cql:"email" orm:"unique"`
	Del   *time.Time `cql:"del" orm:"softdelete"`
}

// RegTuple is RegRow without unique constraints, so it can be batched.
type RegTuple struct {
	P    string  `cql:"p" orm:"pk"`
	C    int32   `cql:"c" orm:"ck"`
	Pair RegPair `cql:"pair" orm:"tuple"`
}

func TestRegressionTuples(t *testing.T) {
	m := newModel[RegRow](t, openDB(t), orm.TableName("reg_tuples"))
	ctx := t.Context()
	key := []any{"tup", int32(1)}
	if err := m.Insert(ctx, &RegRow{P: "tup", C: 1}); err != nil {
		t.Fatal(err)
	}
	// Set a tuple by value and by pointer, condition on it, and null it.
	if err := m.Patch(ctx, key, []orm.Change{orm.Set("pair", RegPair{1, "one"})}); err != nil {
		t.Fatal(err)
	}
	if err := m.PatchIf(ctx, key, []orm.Predicate{orm.Eq("pair", RegPair{1, "one"})}, []orm.Change{orm.Set("pair", &RegPair{2, "two"})}); err != nil {
		t.Fatal(err)
	}
	got, _ := m.Get(ctx, key...)
	if got.Pair != (RegPair{2, "two"}) {
		t.Fatalf("pair %+v", got.Pair)
	}
	if err := m.Patch(ctx, key, []orm.Change{orm.Set("pair", nil)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.Get(ctx, key...); got.Pair != (RegPair{}) {
		t.Fatalf("nulled pair %+v", got.Pair)
	}
	// A batch keeps each row's tuple even when the caller reuses one variable.
	tm := newModel[RegTuple](t, m.DB())
	b := m.DB().NewBatch(orm.LoggedBatch, orm.BatchLimits{})
	var r RegTuple
	for i := range 3 {
		r = RegTuple{P: "alias", C: int32(i), Pair: RegPair{int32(i), "x"}}
		if err := tm.Batch(b).Update(ctx, &r); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if got, _ := tm.Get(ctx, "alias", int32(i)); got.Pair.N != int32(i) {
			t.Fatalf("row %d has pair %+v", i, got.Pair)
		}
	}
}

func TestRegressionWrites(t *testing.T) {
	m := newModel[RegRow](t, openDB(t), orm.TableName("reg_writes"))
	ctx := t.Context()
	// Update with a non-nil empty collection empties it.
	r := RegRow{P: "w", C: 1, Tags: []string{"x", "y"}}
	if err := m.Insert(ctx, &r); err != nil {
		t.Fatal(err)
	}
	r.Tags = []string{}
	if err := m.Update(ctx, &r); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.Get(ctx, "w", int32(1)); len(got.Tags) != 0 {
		t.Fatalf("tags %v after an update with an empty set", got.Tags)
	}
	// Dates keep their calendar day whatever the time zone, before 1970 too.
	for _, day := range []time.Time{
		time.Date(2024, 3, 10, 0, 30, 0, 0, time.FixedZone("JST", 9*3600)),
		time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC),
	} {
		r := RegRow{P: "w", C: 2, Day: day}
		if err := m.Insert(ctx, &r); err != nil {
			t.Fatal(err)
		}
		got, _ := m.Get(ctx, "w", int32(2))
		if y, mo, d := got.Day.Date(); y != day.Year() || mo != day.Month() || d != day.Day() {
			t.Fatalf("stored %v, read %v", day, got.Day)
		}
	}
	// HardDelete of a soft-deleted row releases its unique values.
	u := RegRow{P: "w", C: 3, Email: "soft@example.com"}
	if err := m.Insert(ctx, &u); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, "w", int32(3)); err != nil {
		t.Fatal(err)
	}
	if err := m.HardDelete(ctx, "w", int32(3)); err != nil {
		t.Fatal(err)
	}
	if err := m.Insert(ctx, &RegRow{P: "w", C: 4, Email: "soft@example.com"}); err != nil {
		t.Fatalf("email of a hard-deleted row still claimed: %v", err)
	}
}

func TestRegressionReads(t *testing.T) {
	m := newModel[RegRow](t, openDB(t), orm.TableName("reg_reads"))
	ctx := t.Context()
	for _, p := range []string{"a", "b"} {
		for i := range 4 {
			if err := m.Insert(ctx, &RegRow{P: p, C: int32(i), Name: "n", Age: int32(i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// One and Limit skip soft-deleted rows without losing live ones.
	if err := m.Delete(ctx, "a", int32(0)); err != nil {
		t.Fatal(err)
	}
	if r, err := m.Query().Where(orm.Eq("p", "a")).One(ctx); err != nil || r.C != 1 {
		t.Fatalf("One after a soft delete: %+v %v", r.C, err)
	}
	n := 0
	for _, err := range m.Query().Where(orm.Eq("p", "a")).Limit(2).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("Limit(2) gave %d live rows", n)
	}
	// A cursor of one query is refused by another.
	qa := m.Query().Where(orm.Eq("p", "a")).With(orm.WithPageSize(1))
	page, err := qa.Page(ctx, "")
	if err != nil || page.Next == "" {
		t.Fatalf("first page: %v %q", err, page.Next)
	}
	qb := m.Query().Where(orm.Eq("p", "b")).With(orm.WithPageSize(1))
	if _, err := qb.Page(ctx, page.Next); !errors.Is(err, orm.ErrInvalidQuery) || !strings.Contains(err.Error(), "another query") {
		t.Fatalf("foreign cursor: %v", err)
	}
	// In takes a slice; an indexed clustering column serves equality.
	cnt, err := m.Query().Where(orm.In("p", []string{"a", "b"})).Count(ctx)
	if err != nil || cnt != 8 {
		t.Fatalf("In with a slice: %d %v", cnt, err)
	}
	if cnt, err := m.Query().Where(orm.Eq("c", int32(2))).Count(ctx); err != nil || cnt != 2 {
		t.Fatalf("indexed clustering column: %d %v", cnt, err)
	}
	// A range on an indexed numeric clustering column without the partition key is
	// served by its index.
	if cnt, err := m.Query().Where(orm.Eq("age", int32(3)), orm.Gt("c", int32(1))).Count(ctx); err != nil || cnt != 2 {
		t.Fatalf("index equality and indexed clustering range: %d %v", cnt, err)
	}
	// Queries Cassandra would refuse are refused first, saying why.
	refused := map[string]struct {
		q    orm.Query[RegRow]
		want string
	}{
		"order with IN":       {m.Query().Where(orm.In("p", "a", "b")).OrderBy("c", orm.Desc), "cannot page"},
		"order with an index": {m.Query().Where(orm.Eq("p", "a"), orm.Eq("name", "n")).OrderBy("c", orm.Desc), "indexed column name"},
		"range on text index": {m.Query().Where(orm.Gt("name", "a")), "serves equality only"},
	}
	for name, c := range refused {
		_, _, err := c.q.CQL(t.Context())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, c.want)
		}
	}
}

func TestRegressionIndexTargets(t *testing.T) {
	db := openDB(t)
	type keysOnList struct {
		ID int32   `orm:"pk"`
		L  []int32 `orm:"index=keys"`
	}
	type fullOnPlain struct {
		ID int32   `orm:"pk"`
		L  []int32 `orm:"index=full"`
	}
	type frozenDefault struct {
		ID int32   `orm:"pk"`
		L  []int32 `cql:"l" orm:"frozen,index"`
	}
	if _, err := orm.NewModel[keysOnList](db); !errors.Is(err, orm.ErrInvalidModel) || !strings.Contains(err.Error(), "applies to maps") {
		t.Errorf("keys index on a list: %v", err)
	}
	if _, err := orm.NewModel[fullOnPlain](db); !errors.Is(err, orm.ErrInvalidModel) {
		t.Errorf("full index on a non-frozen list: %v", err)
	}
	m, err := orm.NewModel[frozenDefault](db)
	if err != nil {
		t.Fatal(err)
	}
	if c := m.Table().Column("l"); c.Index != "full" {
		t.Errorf("frozen collection index target %q, want full", c.Index)
	}
	if err := db.Sync(t.Context(), m); err != nil {
		t.Fatalf("sync of a full index: %v", err)
	}
}

func TestDeleteTakesUntypedIntegerKeys(t *testing.T) {
	m := newModel[RegTuple](t, openDB(t), orm.TableName("reg_keys"))
	ctx := t.Context()
	if err := m.Insert(ctx, &RegTuple{P: "k", C: 5}); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, "k", 5); err != nil { // an untyped 5 for an int32 column
		t.Fatal(err)
	}
	if _, err := m.Get(ctx, "k", int32(5)); !errors.Is(err, orm.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := m.Delete(ctx, "k", 1<<40); !errors.Is(err, orm.ErrInvalidValue) {
		t.Fatalf("a key that does not fit: %v", err)
	}
}
