package orm_test

import (
	"errors"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

func TestQueryHardDeleteOnSoftDeleteModel(t *testing.T) {
	notes := newModel[Note](t, openDB(t))
	ctx := t.Context()
	for i := range 3 {
		if err := notes.Insert(ctx, &Note{Owner: "qhd", ID: int32(i), Text: "n"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := notes.Query().Where(orm.Eq("owner", "qhd"), orm.Gte("id", int32(1))).HardDelete(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := notes.Get(ctx, "qhd", int32(0)); err != nil {
		t.Fatalf("row outside the range: %v", err)
	}
	for _, id := range []int32{1, 2} {
		n, err := notes.Query().IncludeDeleted().Where(orm.Eq("owner", "qhd"), orm.Eq("id", id)).Count(ctx)
		if err != nil || n != 0 {
			t.Fatalf("row %d after HardDelete: %d rows, %v", id, n, err)
		}
	}
	if _, err := notes.Get(ctx, "qhd", int32(1)); !errors.Is(err, orm.ErrNotFound) {
		t.Fatalf("get after HardDelete: %v", err)
	}
}
