package vector_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/vector"
)

// listing is a tenant-scoped vector model: on a tenanted DB the tenant column
// leads its partition key, so a search within a category is one partition.
type listing struct {
	Category string    `cql:"category" orm:"pk"`
	ID       int       `cql:"id" orm:"ck"`
	Brand    string    `cql:"brand" orm:"index"`
	Owner    string    `cql:"owner"` // the tenant the test wrote it for, to check
	Vec      []float32 `cql:"vec" orm:"vector=8,index"`
}

// TestFilteredAndTenantSearch (reliability scenario 12): over two tenants'
// rows in the same table, 200 random searches (a category, with a brand or
// not) return only rows of the caller's tenant that pass the filter, and a
// search within one partition returns what Exact returns; a search without a
// tenant, without the rest of the partition key or with IN on it (which
// Cassandra refuses in an ANN read) fails before it is sent.
func TestFilteredAndTenantSearch(t *testing.T) {
	ctx := t.Context()
	tdb, err := openDB(t).WithTenancy(orm.Tenancy{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := orm.NewModel[listing](tdb, orm.TableName("listings"))
	if err != nil {
		t.Fatal(err)
	}
	run := runSuffix()
	tenants := []string{"t" + run, "u" + run}
	if err := tdb.Sync(tenant.With(ctx, tenants[0]), m); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(12, 12))
	cats, brands := []string{"lamps", "desks", "chairs"}, []string{"acme", "globex", "initech"}
	for _, id := range tenants {
		tctx := tenant.With(ctx, id)
		for i := range 150 {
			l := listing{Category: cats[i%3], ID: i, Brand: brands[rng.IntN(3)], Owner: id, Vec: unit(rng, 8)}
			if err := m.Insert(tctx, &l); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := vector.Search(ctx, m, "vec", unit(rng, 8), vector.SearchOptions{Where: []orm.Predicate{orm.Eq("category", "lamps")}}); !errors.Is(err, tenant.ErrNoTenant) {
		t.Errorf("search without a tenant: %v, want ErrNoTenant", err)
	}
	// Cassandra refuses an ANN read with part of a partition key restricted;
	// the tenant is part of it, so a search must name the rest.
	_, err = vector.Search(tenant.With(ctx, tenants[0]), m, "vec", unit(rng, 8), vector.SearchOptions{Where: []orm.Predicate{orm.Eq("brand", "acme")}})
	if !errors.Is(err, orm.ErrInvalidQuery) || !strings.Contains(err.Error(), "listings") || !strings.Contains(err.Error(), "category") {
		t.Errorf("search across partitions of a tenant: %v, want ErrInvalidQuery naming the table and category", err)
	}
	_, err = vector.Search(tenant.With(ctx, tenants[0]), m, "vec", unit(rng, 8), vector.SearchOptions{Where: []orm.Predicate{orm.In("category", "lamps", "desks")}})
	if !errors.Is(err, orm.ErrInvalidQuery) || !strings.Contains(err.Error(), "IN on key column category") {
		t.Errorf("search of two partitions with IN: %v, want ErrInvalidQuery naming the column", err)
	}
	for i := range 200 {
		who := tenants[rng.IntN(2)]
		tctx := tenant.With(ctx, who)
		cat, brand := cats[rng.IntN(3)], ""
		where := []orm.Predicate{orm.Eq("category", cat)}
		if rng.IntN(2) == 0 {
			brand = brands[rng.IntN(3)]
			where = append(where, orm.Eq("brand", brand))
		}
		q := unit(rng, 8)
		opts := vector.SearchOptions{Limit: 1 + rng.IntN(20), Where: where}
		res, err := vector.Search(tctx, m, "vec", q, opts)
		if err != nil {
			t.Fatalf("search %d (%s, %v): %v", i, who, where, err)
		}
		if len(res.Rows) == 0 {
			t.Errorf("search %d (%s, %v): no rows", i, who, where)
		}
		for _, r := range res.Rows {
			if r.Row.Owner != who || r.Row.Category != cat || (brand != "" && r.Row.Brand != brand) {
				t.Errorf("search %d by %s for category %q brand %q returned %+v", i, who, cat, brand, r.Row)
			}
		}
		if brand != "" {
			continue
		}
		// One partition: the index's answer is the exact one.
		ex, err := vector.Exact(tctx, m, "vec", q, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(idsOf(res)), fmt.Sprint(idsOf(ex)); got != want {
			t.Errorf("search %d in partition %s/%s: %s, Exact %s", i, who, cat, got, want)
		}
	}
}

// TestFilteredSearch: on a plain DB a search filtered on an indexed column
// across partitions returns only rows that pass it, as many as asked when
// enough pass.
func TestFilteredSearch(t *testing.T) {
	ctx := t.Context()
	db := openDB(t)
	m, err := orm.NewModel[listing](db, orm.TableName("plain_listings"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(ctx, m); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	brands := []string{"acme", "globex", "initech", "umbrella"}
	for i := range 400 {
		if err := m.Insert(ctx, &listing{Category: fmt.Sprint("c", i%7), ID: i, Brand: brands[i%4], Vec: unit(rng, 8)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		brand := brands[rng.IntN(4)]
		res, err := vector.Search(ctx, m, "vec", unit(rng, 8), vector.SearchOptions{Limit: 10, Where: []orm.Predicate{orm.Eq("brand", brand)}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) != 10 {
			t.Errorf("search %d for %s: %d rows, want 10", i, brand, len(res.Rows))
		}
		for _, r := range res.Rows {
			if r.Row.Brand != brand {
				t.Errorf("search %d for %s returned %+v", i, brand, r.Row)
			}
		}
	}
}

func idsOf(r vector.Result[listing]) []int {
	var ids []int
	for _, s := range r.Rows {
		ids = append(ids, s.Row.ID)
	}
	return ids
}

// runSuffix returns a short name part unique to this run.
func runSuffix() string {
	u := orm.NewUUID()
	return fmt.Sprintf("%x", u[:4])
}
