package orm_test

import (
	"errors"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

type Note struct {
	Owner     string     `cql:"owner" orm:"pk"`
	ID        int32      `cql:"id" orm:"ck"`
	Text      string     `cql:"text"`
	DeletedAt *time.Time `cql:"deleted_at" orm:"softdelete"`
}

func TestSoftDelete(t *testing.T) {
	db := openDB(t)
	notes := newModel[Note](t, db)
	ctx := t.Context()
	for i := range 3 {
		if err := notes.Insert(ctx, &Note{Owner: "sd", ID: int32(i), Text: "n"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := notes.Delete(ctx, "sd", int32(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := notes.Get(ctx, "sd", int32(1)); !errors.Is(err, orm.ErrNotFound) {
		t.Fatalf("get of a soft-deleted row: %v", err)
	}
	q := notes.Query().Where(orm.Eq("owner", "sd"))
	var ids []int32
	for n, err := range q.Columns("id").All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, n.ID)
	}
	if len(ids) != 2 || ids[0] != 0 || ids[1] != 2 {
		t.Fatalf("live rows %v", ids)
	}
	page, err := q.Page(ctx, "")
	if err != nil || len(page.Items) != 2 {
		t.Fatalf("page %+v %v", page.Items, err)
	}
	all := 0
	for n, err := range q.IncludeDeleted().All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if n.ID == 1 && n.DeletedAt == nil {
			t.Fatal("deleted row without its deletion time")
		}
		all++
	}
	if all != 3 {
		t.Fatalf("IncludeDeleted gave %d rows", all)
	}
	// Ranges are refused; Restore brings the row back; HardDelete removes it.
	if err := notes.Delete(ctx, "sd"); !errors.Is(err, orm.ErrInvalidQuery) {
		t.Fatalf("soft delete of a partition: %v", err)
	}
	if err := notes.Restore(ctx, "sd", int32(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := notes.Get(ctx, "sd", int32(1)); err != nil {
		t.Fatalf("restored row: %v", err)
	}
	if err := notes.HardDelete(ctx, "sd"); err != nil {
		t.Fatal(err)
	}
	if n, _ := q.Count(ctx); n != 0 {
		t.Fatalf("%d rows after hard delete", n)
	}
}
