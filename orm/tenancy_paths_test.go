package orm_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// Parcel is a tenant-scoped model keyed by tuples.
type Parcel struct {
	Zone Pair   `cql:"zone" orm:"pk,tuple"`
	Slot Pair   `cql:"slot" orm:"ck,tuple"`
	Note string `cql:"note"`
}

// TestTenancyPurgeTupleKey: PurgeTenant removes the rows of a table whose partition
// key is a tuple, in the shared tables and in a tenant's own keyspace, and nobody
// else's.
func TestTenancyPurgeTupleKey(t *testing.T) {
	db, _ := tenantDB(t)
	parcels, err := orm.NewModel[Parcel](db, orm.TableName("parcel_purge"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	tenants := []string{"acme", "globex", "big"}
	for _, id := range tenants {
		tctx := tenant.With(ctx, id)
		if err := db.Sync(tctx, parcels); err != nil {
			t.Fatal(err)
		}
		for i := range int32(2) {
			p := Parcel{Zone: Pair{i, "z"}, Slot: Pair{1, "s"}, Note: id}
			if err := parcels.Insert(tctx, &p); err != nil {
				t.Fatalf("%s: %v", id, err)
			}
		}
	}
	for _, id := range []string{"acme", "big"} {
		tctx := tenant.With(ctx, id)
		if n, err := parcels.PurgeTenant(tctx); err != nil || n != 2 {
			t.Fatalf("purge %s: %d partitions, %v; want 2", id, n, err)
		}
		if _, err := parcels.Get(tctx, Pair{0, "z"}, Pair{1, "s"}); !errors.Is(err, orm.ErrNotFound) {
			t.Errorf("%s after its purge: %v, want ErrNotFound", id, err)
		}
	}
	globex := tenant.With(ctx, "globex")
	for i := range int32(2) {
		if p, err := parcels.Get(globex, Pair{i, "z"}, Pair{1, "s"}); err != nil || p.Note != "globex" {
			t.Errorf("globex after the others' purges: %+v, %v", p, err)
		}
	}
}

// TestTenancyColumnClashesWithLookup: a tenant column named like a column of a
// unique lookup table is refused when the model is made, not by the server when
// the lookup table is created.
func TestTenancyColumnClashesWithLookup(t *testing.T) {
	for _, col := range []string{"claimed_at", "owner_team", "owner_id"} {
		db, err := buildDB(t).WithTenancy(orm.Tenancy{Column: col})
		if err != nil {
			t.Fatal(err)
		}
		_, err = orm.NewModel[Staff](db)
		if !errors.Is(err, orm.ErrInvalidModel) || !strings.Contains(err.Error(), col) || !strings.Contains(err.Error(), "staff_by_email") {
			t.Errorf("tenant column %s: %v, want ErrInvalidModel naming it and the lookup table", col, err)
		}
	}
	db, err := buildDB(t).WithTenancy(orm.Tenancy{Column: "org"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := orm.NewModel[Staff](db); err != nil {
		t.Errorf("tenant column org: %v", err)
	}
}
