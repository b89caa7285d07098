package orm_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// Product is the model the examples use.
type Product struct {
	Category string    `cql:"category" orm:"pk"`
	SKU      string    `cql:"sku" orm:"ck"`
	Name     string    `cql:"name" validate:"required"`
	Price    float64   `cql:"price" validate:"min=0"`
	Tags     []string  `cql:"tags" orm:"set,index"`
	Updated  time.Time `cql:"updated"`
	Stock    *int32    `cql:"stock"`
}

// exampleDB opens the local node on a keyspace of the examples' own, with a fresh
// product table.
func exampleDB(ctx context.Context) (*orm.DB, *orm.Model[Product]) {
	db, err := orm.Open(ctx, orm.Config{Hosts: env.Hosts(), Keyspace: "orm_examples"})
	if err != nil {
		log.Fatal(err)
	}
	if err := db.CreateKeyspace(ctx, "orm_examples", orm.SimpleStrategy(1)); err != nil {
		log.Fatal(err)
	}
	products, err := orm.NewModel[Product](db)
	if err != nil {
		log.Fatal(err)
	}
	if err := db.Sync(ctx, products); err != nil {
		log.Fatal(err)
	}
	for _, c := range []string{"books", "games"} {
		if err := products.Delete(ctx, c); err != nil {
			log.Fatal(err)
		}
	}
	return db, products
}

// A model from a struct, its table created, one row written and read back.
func Example() {
	ctx := context.Background()
	db, products := exampleDB(ctx)
	defer db.Close()

	p := Product{Category: "books", SKU: "b-1", Name: "The Go Programming Language", Price: 39.5, Tags: []string{"go"}}
	if err := products.Insert(ctx, &p); err != nil {
		log.Fatal(err)
	}
	got, err := products.Get(ctx, "books", "b-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.Name, got.Price, got.Tags, got.Stock == nil)

	_, err = products.Get(ctx, "books", "nope")
	fmt.Println(errors.Is(err, orm.ErrNotFound))
	// Output:
	// The Go Programming Language 39.5 [go] true
	// true
}

// Queries are checked against the model: a predicate on a column that is neither a
// key nor indexed is refused before anything is sent.
func ExampleQuery() {
	ctx := context.Background()
	db, products := exampleDB(ctx)
	defer db.Close()
	for i, name := range []string{"Chess", "Go", "Shogi"} {
		p := Product{Category: "games", SKU: fmt.Sprint("g-", i), Name: name, Tags: []string{"board"}}
		if err := products.Insert(ctx, &p); err != nil {
			log.Fatal(err)
		}
	}
	q := products.Query().Where(orm.Eq("category", "games")).OrderBy("sku", orm.Desc).Limit(2)
	for p, err := range q.All(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(p.SKU, p.Name)
	}
	_, err := products.Query().Where(orm.Eq("name", "Go")).One(ctx)
	fmt.Println(errors.Is(err, orm.ErrFiltering))
	// Output:
	// g-2 Shogi
	// g-1 Go
	// true
}

// Page through a partition with an opaque cursor, as an HTTP handler would.
func ExampleQuery_Page() {
	ctx := context.Background()
	db, products := exampleDB(ctx)
	defer db.Close()
	for i := range 5 {
		p := Product{Category: "books", SKU: fmt.Sprint("b-", i), Name: "book"}
		if err := products.Insert(ctx, &p); err != nil {
			log.Fatal(err)
		}
	}
	q := products.Query().Where(orm.Eq("category", "books")).With(orm.WithPageSize(2))
	cursor := ""
	for {
		page, err := q.Page(ctx, cursor)
		if err != nil {
			log.Fatal(err)
		}
		skus := make([]string, len(page.Items))
		for i, p := range page.Items {
			skus[i] = p.SKU
		}
		fmt.Println(strings.Join(skus, " "))
		if page.Next == "" {
			break
		}
		cursor = page.Next // hand this to the client, e.g. ?cursor=...
	}
	// Output:
	// b-0 b-1
	// b-2 b-3
	// b-4
}

// A lightweight transaction: the second insert of the same key is refused and shows
// the row that exists.
func ExampleModel_InsertIfNotExists() {
	ctx := context.Background()
	db, products := exampleDB(ctx)
	defer db.Close()
	first := Product{Category: "books", SKU: "lwt", Name: "first"}
	second := Product{Category: "books", SKU: "lwt", Name: "second"}
	fmt.Println(products.InsertIfNotExists(ctx, &first))
	err := products.InsertIfNotExists(ctx, &second)
	var conflict *orm.ConflictError
	if errors.As(err, &conflict) {
		fmt.Println("not applied; current name:", conflict.Current.(*Product).Name)
	}
	// Output:
	// <nil>
	// not applied; current name: first
}

// Change parts of a row in place: a set, a counter-free scalar, a TTL.
func ExampleModel_Patch() {
	ctx := context.Background()
	db, products := exampleDB(ctx)
	defer db.Close()
	p := Product{Category: "books", SKU: "patch", Name: "book", Tags: []string{"a"}}
	if err := products.Insert(ctx, &p); err != nil {
		log.Fatal(err)
	}
	err := products.Patch(ctx, []any{"books", "patch"}, []orm.Change{
		orm.Add("tags", []string{"b", "c"}),
		orm.Set("price", 12.0),
	}, orm.WithTTL(time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	got, _ := products.Get(ctx, "books", "patch")
	fmt.Println(got.Tags, got.Price)
	// Output: [a b c] 12
}

// Writes that must be seen together go in one logged batch.
func ExampleBatch() {
	ctx := context.Background()
	db, products := exampleDB(ctx)
	defer db.Close()
	b := db.NewBatch(orm.LoggedBatch, orm.BatchLimits{})
	for _, sku := range []string{"x", "y"} {
		if err := products.Batch(b).Insert(ctx, &Product{Category: "books", SKU: sku, Name: sku}); err != nil {
			log.Fatal(err)
		}
	}
	if err := b.Exec(ctx); err != nil {
		log.Fatal(err)
	}
	n, _ := products.Query().Where(orm.Eq("category", "books")).Count(ctx)
	fmt.Println(n)
	// Output: 2
}

// Detached builds models and statements with no server: the access-path checks run
// as they would before sending, and nothing is ever sent.
func ExampleDetached() {
	ctx := context.Background()
	db, err := orm.Detached("shop")
	if err != nil {
		log.Fatal(err)
	}
	products, err := orm.NewModel[Product](db)
	if err != nil {
		log.Fatal(err)
	}
	stmt, _, err := products.Query().Where(orm.Eq("category", "books")).Limit(10).CQL(ctx)
	fmt.Println(stmt, err)
	_, _, err = products.Query().Where(orm.Eq("name", "Dune")).CQL(ctx)
	fmt.Println(errors.Is(err, orm.ErrFiltering))
	err = products.Insert(ctx, &Product{Category: "books", SKU: "b1", Name: "Dune"})
	fmt.Println(errors.Is(err, orm.ErrDetached))
	// Output:
	// SELECT "category", "sku", "name", "price", "tags", "updated", "stock" FROM "shop"."product" WHERE "category" = ? LIMIT 10 <nil>
	// true
	// true
}

// A tenanted view of a DB makes every model tenant-scoped: the tenant column leads its
// partition key, and every statement is restricted to the context's tenant.
func ExampleDB_WithTenancy() {
	base, err := orm.Detached("shop")
	if err != nil {
		log.Fatal(err)
	}
	db, err := base.WithTenancy(orm.Tenancy{}) // every tenant in the shared tables
	if err != nil {
		log.Fatal(err)
	}
	products, err := orm.NewModel[Product](db)
	if err != nil {
		log.Fatal(err)
	}
	ctx := tenant.With(context.Background(), "acme")
	stmt, vals, err := products.Query().Where(orm.Eq("category", "books")).CQL(ctx)
	fmt.Println(stmt, len(vals), err)

	_, _, err = products.Query().Where(orm.Eq("category", "books")).CQL(context.Background())
	fmt.Println(errors.Is(err, tenant.ErrNoTenant))
	// Output:
	// SELECT "category", "sku", "name", "price", "tags", "updated", "stock" FROM "shop"."product" WHERE "tenant_id" = ? AND "category" = ? 2 <nil>
	// true
}
