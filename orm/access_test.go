package orm_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// Listing has every kind of access path: a composite partition key, a clustering
// column, a static and a free column, SAI indexes on text, a number and
// collections.
type Listing struct {
	Region string            `cql:"region" orm:"pk"`
	Shop   string            `cql:"shop" orm:"pk"`
	ID     int64             `cql:"id" orm:"ck"`
	Owner  string            `cql:"owner" orm:"static"`
	Note   string            `cql:"note"`
	Kind   string            `cql:"kind" orm:"index"`
	Price  int64             `cql:"price" orm:"index"`
	Tags   []string          `cql:"tags" orm:"set,index"`
	Attrs  map[string]string `cql:"attrs" orm:"index=keys"`
}

// accessPreds are the predicates TestAccessPathAgreesWithServer combines.
var accessPreds = map[string]orm.Predicate{
	"region=": orm.Eq("region", "r"), "region>": orm.Gt("region", "r"),
	"shop=": orm.Eq("shop", "s"), "shopIN": orm.In("shop", "s", "t"),
	"id=": orm.Eq("id", int64(1)), "id>": orm.Gt("id", int64(1)), "idIN": orm.In("id", int64(1), int64(2)),
	"owner=": orm.Eq("owner", "o"), "note=": orm.Eq("note", "n"),
	"kind=": orm.Eq("kind", "k"), "kind>": orm.Gt("kind", "k"), "kindIN": orm.In("kind", "k", "l"),
	"price=": orm.Eq("price", int64(3)), "price>": orm.Gt("price", int64(3)), "priceIN": orm.In("price", int64(3), int64(4)),
	"tags": orm.Contains("tags", "t"), "attrs": orm.ContainsKey("attrs", "a"),
}

// TestAccessPathAgreesWithServer: every query of one or two predicates that the
// access-path check lets through without AllowFiltering runs on Cassandra without
// ALLOW FILTERING. A tenanted view adds ALLOW FILTERING to queries that do not
// restrict the whole partition key (for its tenant column), so a query the check
// let through wrongly would run there as a filtering scan, silently.
func TestAccessPathAgreesWithServer(t *testing.T) {
	listings := newModel[Listing](t, openDB(t), orm.TableName("listing_access"))
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range accessPreds {
			if !yield(n) {
				return
			}
		}
	})
	for i, a := range names {
		for _, b := range append([]string{""}, names[i+1:]...) {
			ps := []orm.Predicate{accessPreds[a]}
			if b != "" {
				ps = append(ps, accessPreds[b])
			}
			q := listings.Query().Where(ps...)
			if _, _, err := q.CQL(t.Context()); err != nil {
				continue // refused by the check
			}
			for _, err := range q.All(t.Context()) {
				if err != nil && strings.Contains(err.Error(), "ALLOW FILTERING") {
					t.Errorf("%s %s: the check let it through, and Cassandra says: %v", a, b, err)
				}
				break
			}
		}
	}
}

// TestTenancyAccessPath: on a tenanted view the access path of a query is checked
// as on a plain DB: the ALLOW FILTERING the view adds for its tenant column never
// lets through a query whose own access path needs it.
func TestTenancyAccessPath(t *testing.T) {
	plainDB := buildDB(t)
	tdb, err := plainDB.WithTenancy(orm.Tenancy{})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := orm.NewModel[Listing](plainDB)
	if err != nil {
		t.Fatal(err)
	}
	tenanted, err := orm.NewModel[Listing](tdb)
	if err != nil {
		t.Fatal(err)
	}
	acme := tenant.With(t.Context(), "acme")
	for _, tc := range []struct {
		name  string
		where []orm.Predicate
	}{
		{"IN on an indexed text column", []orm.Predicate{orm.In("kind", "a", "b")}},
		{"IN on an indexed number", []orm.Predicate{orm.In("price", int64(1), int64(2))}},
		{"IN on an indexed column in a partition", []orm.Predicate{orm.Eq("region", "r"), orm.Eq("shop", "s"), orm.In("kind", "a", "b")}},
		{"part of the partition key and an index", []orm.Predicate{orm.Eq("region", "r"), orm.Eq("kind", "a")}},
		{"the other part of the partition key and an index", []orm.Predicate{orm.Eq("shop", "s"), orm.Gt("price", int64(1))}},
		{"part of the partition key and a collection index", []orm.Predicate{orm.In("shop", "s", "t"), orm.Contains("tags", "x")}},
		{"a free column", []orm.Predicate{orm.Eq("note", "n")}},
	} {
		for name, m := range map[string]*orm.Model[Listing]{"plain": plain, "tenanted": tenanted} {
			q := m.Query().Where(tc.where...)
			if stmt, _, err := q.CQL(acme); !errors.Is(err, orm.ErrFiltering) {
				t.Errorf("%s, %s: %s (%v), want ErrFiltering", tc.name, name, stmt, err)
			}
			if stmt, _, err := q.AllowFiltering().CQL(acme); err != nil || !strings.HasSuffix(stmt, " ALLOW FILTERING") {
				t.Errorf("%s, %s, AllowFiltering: %s (%v)", tc.name, name, stmt, err)
			}
		}
	}
	// What the check lets through on a plain DB, the view runs with ALLOW FILTERING
	// for its tenant column only when the query leaves the partition key open.
	for _, tc := range []struct {
		name   string
		where  []orm.Predicate
		filter bool // on the view
	}{
		{"an indexed column", []orm.Predicate{orm.Eq("kind", "a")}, true},
		{"two indexed columns", []orm.Predicate{orm.Eq("kind", "a"), orm.Gt("price", int64(1))}, true},
		{"a partition", []orm.Predicate{orm.Eq("region", "r"), orm.In("shop", "s", "t")}, false},
		{"an indexed column in a partition", []orm.Predicate{orm.Eq("region", "r"), orm.Eq("shop", "s"), orm.Eq("kind", "a")}, false},
	} {
		stmt, _, err := plain.Query().Where(tc.where...).CQL(acme)
		if err != nil || strings.Contains(stmt, "FILTERING") {
			t.Errorf("%s, plain: %s (%v)", tc.name, stmt, err)
		}
		stmt, _, err = tenanted.Query().Where(tc.where...).CQL(acme)
		if err != nil || strings.HasSuffix(stmt, " ALLOW FILTERING") != tc.filter {
			t.Errorf("%s, tenanted: %s (%v), want ALLOW FILTERING %v", tc.name, stmt, err, tc.filter)
		}
	}
}
