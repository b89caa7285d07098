package orm_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// FuzzQueryBuilder feeds arbitrary column names, operators and values to the builder.
// Whatever it gets, the builder either refuses with a typed error or produces CQL in
// which every identifier is a quoted model column and no value appears: values only
// travel as bind markers.
func FuzzQueryBuilder(f *testing.F) {
	f.Add("stream", "bucket", "x'; DROP TABLE event; --", 3, 0)
	f.Add(`kind" = 'a`, "seq", "?", 1, 1)
	f.Add("note", "kind", "\x00", 2, 2)
	f.Add("seq", "stream", "", 5, 3)
	db := buildDB(f)
	events, err := orm.NewModel[Event](db)
	if err != nil {
		f.Fatal(err)
	}
	cols := map[string]bool{"stream": true, "bucket": true, "seq": true, "kind": true, "note": true}
	f.Fuzz(func(t *testing.T, col1, col2, val string, op, extra int) {
		preds := []func(string, any) orm.Predicate{orm.Eq, orm.Gt, orm.Lte, orm.Contains, orm.ContainsKey, orm.Ne}
		p1 := preds[abs(op)%len(preds)](col1, val)
		p2 := orm.In(col2, val, val+"x")
		q := events.Query().Where(p1, p2)
		switch abs(extra) % 4 {
		case 1:
			q = q.Columns(col1)
		case 2:
			q = q.OrderBy(col2, orm.Desc)
		case 3:
			q = q.AllowFiltering()
		}
		stmt, vals, err := q.CQL(t.Context())
		if err != nil {
			for _, want := range []error{orm.ErrUnknownColumn, orm.ErrFiltering, orm.ErrInvalidQuery, orm.ErrInvalidValue} {
				if errors.Is(err, want) {
					return
				}
			}
			t.Fatalf("untyped error: %v", err)
		}
		// Outside quoted identifiers, the statement holds only keywords, operators
		// and markers: no value text.
		parts := strings.Split(stmt, `"`)
		var bare strings.Builder
		for i := 0; i < len(parts); i += 2 {
			bare.WriteString(parts[i] + " ")
		}
		for tok := range strings.FieldsSeq(bare.String()) {
			if tok = strings.Trim(tok, "(),."); tok != "" && !keywords[tok] {
				t.Fatalf("token %q outside identifiers in %s", tok, stmt)
			}
		}
		if len(vals) < 3 {
			t.Fatalf("%d bound values for two predicates: %s", len(vals), stmt)
		}
		// Every quoted identifier is a model column, the keyspace or the table.
		for i := 1; i < len(parts); i += 2 {
			if id := parts[i]; !cols[id] && id != env.Keyspace() && id != "event" {
				t.Fatalf("identifier %q in %s", id, stmt)
			}
		}
	})
}

var keywords = map[string]bool{}

func init() {
	for k := range strings.FieldsSeq("SELECT FROM WHERE AND IN ORDER BY ASC DESC LIMIT ALLOW FILTERING CONTAINS KEY = > >= < <= != ? ?,") {
		keywords[k] = true
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// fuzzValue makes a value of one of many Go types from the fuzzed inputs: the types
// the columns of BadRow take, their pointers and collections, and types no column
// takes.
func fuzzValue(kind uint8, s string, n int64) any {
	switch kind % 26 {
	case 0:
		return s
	case 1:
		return n
	case 2:
		return int32(n)
	case 3:
		return []byte(s)
	case 4:
		return []string{s}
	case 5:
		return map[string]float64{s: float64(n)}
	case 6:
		return time.Unix(n, n%1e9).In(time.FixedZone("z", int(n%86400)))
	case 7:
		return nil
	case 8:
		return Pair{int32(n), s}
	case 9:
		return &s
	case 10:
		return make([]float32, abs(int(n%5)))
	case 11:
		return time.Duration(n)
	case 12:
		return fuzzUUID(s)
	case 13:
		return Geo{float64(n), 1}
	case 14:
		return []any{s, n}
	case 15:
		return []int{int(n)}
	case 16:
		return float64(n)
	case 17:
		return n%2 == 0
	case 18:
		return [][]int{{int(n)}}
	case 19:
		return map[int]string{int(n): s}
	case 20:
		return (*Pair)(nil)
	case 21:
		return &Pair{int32(n), s}
	case 22:
		return []*string{nil, &s}
	case 23:
		return map[string]any{s: n}
	case 24:
		return struct{ X chan int }{}
	default:
		return orm.UUID{}
	}
}

// fuzzUUID makes a UUID from s, a time UUID when s is empty.
func fuzzUUID(s string) orm.UUID {
	if s == "" {
		return orm.MinTimeUUID(time.Unix(1, 0))
	}
	var u orm.UUID
	copy(u[:], s)
	return u
}

// FuzzWriteSurface feeds fuzzed values, column names, keys, batch kinds and cursors to
// every public write and query call on a model of many column types, against the
// real database. Whatever it gets, no call panics, every error names the table, and
// a fuzzed cursor is never taken.
func FuzzWriteSurface(f *testing.F) {
	for op := range uint8(24) {
		f.Add("n", op, op, "x", int64(op), "")
		f.Add("pair", op, uint8(8), "", int64(-1), "AAAA")
		f.Add("vec", op, uint8(10), "é", int64(3), "")
	}
	f.Add("tags", uint8(3), uint8(19), "k", int64(2), "")
	f.Add("score", uint8(4), uint8(18), "k", int64(2), "")
	f.Add("home", uint8(2), uint8(13), "k", int64(2), "")
	f.Add("tod", uint8(2), uint8(11), "", int64(25*time.Hour), "")
	f.Add("code", uint8(0), uint8(0), "\xff", int64(0), "")
	db := openDB(f)
	m := newModel[BadRow](f, db)
	preds := []func(string, any) orm.Predicate{orm.Eq, orm.Gt, orm.Lte, orm.Gte, orm.Contains, orm.ContainsKey, orm.Ne,
		func(c string, v any) orm.Predicate { return orm.In(c, v, v) }}
	f.Fuzz(func(t *testing.T, col string, op, kind uint8, s string, n int64, cursor string) {
		ctx, cancel := withTimeout(t, 20*time.Second)
		defer cancel()
		v := fuzzValue(kind, s, n)
		var key any = fuzzUUID(s)
		if kind&0x80 != 0 {
			key = fuzzValue(kind>>2, s, n)
		}
		keys := []any{key}
		pred := preds[abs(int(n%int64(len(preds))))](col, v)
		id, _ := key.(orm.UUID)
		row := &BadRow{ID: id, N: int32(n), Code: s, Tod: time.Duration(n), Stamp: fuzzUUID(s),
			Vec: make([]float32, abs(int(n%5))), Tags: []string{s}, Score: map[string]float64{s: float64(n)}}
		page := func(q orm.Query[BadRow]) error {
			p, err := q.With(orm.WithPageSize(2)).Page(ctx, cursor)
			if err == nil && cursor != "" {
				t.Fatalf("fuzzed cursor %q taken: %d rows", cursor, len(p.Items))
			}
			return err
		}
		var err error
		switch op % 24 {
		case 0:
			err = m.Insert(ctx, row, orm.WithTTL(time.Duration(n)))
		case 1:
			err = m.Update(ctx, row)
		case 2:
			err = m.Patch(ctx, keys, []orm.Change{orm.Set(col, v)})
		case 3:
			err = m.Patch(ctx, keys, []orm.Change{orm.Add(col, v)})
		case 4:
			err = m.Patch(ctx, keys, []orm.Change{orm.Remove(col, v)})
		case 5:
			err = m.Patch(ctx, keys, []orm.Change{orm.Append(col, v), orm.Prepend(col, v)})
		case 6:
			err = m.Patch(ctx, keys, []orm.Change{orm.Put(col, v, v)})
		case 7:
			err = m.Patch(ctx, keys, []orm.Change{orm.Increment(col, n)})
		case 8:
			err = m.PatchIf(ctx, keys, []orm.Predicate{pred}, []orm.Change{orm.Set("n", int32(1))})
		case 9:
			err = m.Delete(ctx, key)
		case 10:
			err = m.DeleteIf(ctx, keys, pred)
		case 11:
			err = m.UpdateIf(ctx, row, []orm.Predicate{pred})
		case 12:
			b := db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})
			if err = m.Batch(b).Patch(ctx, keys, []orm.Change{orm.Set(col, v)}); err == nil {
				err = b.Exec(ctx)
			}
		case 13:
			b := db.NewBatch(orm.BatchKind(n), orm.BatchLimits{MaxStatements: int(kind) - 1})
			if err = m.Batch(b).Insert(ctx, row); err == nil {
				if err = m.Batch(b).PatchIf(ctx, keys, []orm.Predicate{pred}, []orm.Change{orm.Set("n", int32(2))}); err == nil {
					err = b.Exec(ctx)
				}
			}
		case 14:
			err = page(m.Query().Where(pred).AllowFiltering())
		case 15:
			err = page(m.Query().Where(orm.Eq("id", key), pred))
		case 16:
			_, err = m.Query().Where(orm.Eq("id", key), pred).One(ctx)
			if errors.Is(err, orm.ErrNotFound) {
				err = nil
			}
		case 17:
			_, err = m.Query().Where(pred).Count(ctx)
		case 18:
			_, err = m.Get(ctx, key)
			if errors.Is(err, orm.ErrNotFound) {
				err = nil
			}
		case 19:
			vec, _ := v.([]float32)
			err = page(m.Query().NearestTo(col, vec).Limit(int(kind)))
		case 20:
			err = m.Query().Where(orm.Eq("id", key), pred).Delete(ctx)
		case 21:
			_, err = m.CellMeta(ctx, col, key)
			if errors.Is(err, orm.ErrNotFound) {
				err = nil
			}
		case 22:
			err = m.DeleteColumns(ctx, keys, col)
		case 23:
			err = page(m.Query().Where(orm.Eq("id", key)).Columns(col).OrderBy(col, orm.Desc))
		}
		if err != nil && !strings.Contains(err.Error(), "bad_row") {
			t.Fatalf("op %d: error does not name the table: %v", op%24, err)
		}
	})
}
