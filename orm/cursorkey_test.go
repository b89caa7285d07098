package orm_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

func TestPageCursorKey(t *testing.T) {
	m, _ := cursorRows(t)
	key := bytes.Repeat([]byte("k"), orm.MinCursorKeyLen)
	other := bytes.Repeat([]byte("o"), orm.MinCursorKeyLen)
	dbWith := func(key []byte) *orm.DB {
		db, err := orm.New(env.Session(t), env.Keyspace(), nil, orm.WithCursorKey(key))
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	query := func(db *orm.DB) orm.Query[CursorRow] {
		m, err := orm.NewModel[CursorRow](db)
		if err != nil {
			t.Fatal(err)
		}
		return m.Query().Where(orm.Eq("a", "ab"), orm.Eq("b", "c")).With(orm.WithPageSize(1))
	}
	p, err := query(dbWith(key)).Page(t.Context(), "")
	if err != nil || p.Next == "" {
		t.Fatalf("first page: %v, cursor %q", err, p.Next)
	}
	// Another DB handle (another process, say) with the same key takes the cursor.
	if next, err := query(dbWith(key)).Page(t.Context(), p.Next); err != nil || len(next.Items) != 1 {
		t.Fatalf("the same key on another handle: %d rows, %v", len(next.Items), err)
	}
	for name, db := range map[string]*orm.DB{"another key": dbWith(other), "the per-process key": m.DB()} {
		if got, err := query(db).Page(t.Context(), p.Next); !errors.Is(err, orm.ErrInvalidQuery) {
			t.Errorf("cursor made with one key, read with %s: %d rows, err %v", name, len(got.Items), err)
		}
	}
	for _, bad := range [][]byte{{}, []byte("short")} {
		if _, err := orm.New(env.Session(t), env.Keyspace(), nil, orm.WithCursorKey(bad)); !errors.Is(err, orm.ErrInvalidValue) {
			t.Errorf("cursor key of %d bytes: %v", len(bad), err)
		}
		if _, err := orm.Open(t.Context(), orm.Config{Hosts: []string{"127.0.0.1"}, CursorKey: bad}); !errors.Is(err, orm.ErrInvalidValue) {
			t.Errorf("Open with a cursor key of %d bytes: %v", len(bad), err)
		}
	}
}
