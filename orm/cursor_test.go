package orm_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// CursorRow has a two-part text partition key and a timestamp clustering column.
type CursorRow struct {
	A  string    `cql:"a" orm:"pk"`
	B  string    `cql:"b" orm:"pk"`
	At time.Time `cql:"at" orm:"ck"`
}

// cursorRows makes the cursor_row table with rows in partitions (ab, c) and (a, bc).
func cursorRows(t *testing.T) (*orm.Model[CursorRow], time.Time) {
	t.Helper()
	m := newModel[CursorRow](t, openDB(t))
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, p := range [][2]string{{"ab", "c"}, {"a", "bc"}} {
		for i := range 4 {
			if err := m.Insert(t.Context(), &CursorRow{A: p[0], B: p[1], At: t0.Add(time.Duration(i) * time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return m, t0
}

// page2 reads the first page of q1 (one row) and then, with its cursor, a page of q2.
func page2(t *testing.T, q1, q2 orm.Query[CursorRow]) (orm.Page[CursorRow], error) {
	t.Helper()
	p, err := q1.With(orm.WithPageSize(1)).Page(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Next == "" {
		t.Fatal("first page has no cursor")
	}
	return q2.With(orm.WithPageSize(1)).Page(t.Context(), p.Next)
}

func TestPageCursorBinding(t *testing.T) {
	m, t0 := cursorRows(t)
	t.Run("values that print alike are other queries", func(t *testing.T) {
		// fmt.Fprint prints both value lists as "abc".
		q1 := m.Query().Where(orm.Eq("a", "ab"), orm.Eq("b", "c"))
		q2 := m.Query().Where(orm.Eq("a", "a"), orm.Eq("b", "bc"))
		p, err := page2(t, q1, q2)
		if !errors.Is(err, orm.ErrInvalidQuery) || !strings.Contains(err.Error(), "cursor_row") {
			t.Fatalf("cursor of (ab, c) taken by (a, bc): %d rows, err %v", len(p.Items), err)
		}
	})
	t.Run("a pointer value is the value it points to", func(t *testing.T) {
		a1, a2 := "ab", "ab"
		q1 := m.Query().Where(orm.Eq("a", &a1), orm.Eq("b", "c"))
		q2 := m.Query().Where(orm.Eq("a", &a2), orm.Eq("b", "c"))
		p, err := page2(t, q1, q2)
		if err != nil {
			t.Fatalf("the same query with another pointer to the same value: %v", err)
		}
		if len(p.Items) != 1 || !p.Items[0].At.Equal(t0.Add(time.Minute)) {
			t.Fatalf("second page %+v, want the row at %v", p.Items, t0.Add(time.Minute))
		}
	})
	t.Run("the same instant in another zone is the same value", func(t *testing.T) {
		q := func(zone *time.Location) orm.Query[CursorRow] {
			return m.Query().Where(orm.Eq("a", "ab"), orm.Eq("b", "c"), orm.Gte("at", t0.In(zone)))
		}
		p, err := page2(t, q(time.UTC), q(time.FixedZone("x", -5*3600)))
		if err != nil {
			t.Fatalf("the same instant in another zone: %v", err)
		}
		if len(p.Items) != 1 || !p.Items[0].At.Equal(t0.Add(time.Minute)) {
			t.Fatalf("second page %+v, want the row at %v", p.Items, t0.Add(time.Minute))
		}
	})
	t.Run("an altered or truncated cursor is refused", func(t *testing.T) {
		q := m.Query().Where(orm.Eq("a", "ab"), orm.Eq("b", "c")).With(orm.WithPageSize(1))
		p, err := q.Page(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(p.Next)
		if err != nil {
			t.Fatalf("cursor %q is not URL-safe base64: %v", p.Next, err)
		}
		var bad []string
		for i := range raw {
			for _, bit := range []byte{0x01, 0x80} {
				alt := []byte(string(raw))
				alt[i] ^= bit
				bad = append(bad, base64.RawURLEncoding.EncodeToString(alt))
			}
		}
		for n := 1; n < len(raw); n++ { // n = 0 is the empty cursor: the first page
			bad = append(bad, base64.RawURLEncoding.EncodeToString(raw[:n]))
		}
		bad = append(bad, p.Next+"A", "!!", p.Next[1:])
		for _, c := range bad {
			got, err := q.Page(t.Context(), c)
			if !errors.Is(err, orm.ErrInvalidQuery) || !strings.Contains(err.Error(), "cursor_row") {
				t.Fatalf("cursor %q (from %q): %d rows, err %v; want ErrInvalidQuery naming the table", c, p.Next, len(got.Items), err)
			}
		}
	})
}
