package filter_test

import (
	"fmt"

	"github.com/cassandraorm/cassandraorm-go/changefeed/filter"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// Order is the model of the examples.
type Order struct {
	ID       orm.UUID `cql:"id" orm:"pk"`
	Status   string   `cql:"status"`
	Quantity int32    `cql:"quantity"`
	Active   bool     `cql:"active"`
}

func orders() *orm.Table {
	db, err := orm.Detached("shop")
	if err != nil {
		panic(err)
	}
	return orm.MustModel[Order](db).Table()
}

// A filter built in Go, bound to the orders table and matched against rows.
func Example() {
	f := filter.And(
		filter.In("status", "processing", "shipped", "delivered"),
		filter.Lt("quantity", 10),
	)
	fmt.Println(f)

	m, err := filter.Bind(f, orders())
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Columns())
	for _, row := range []map[string]any{
		{"status": "shipped", "quantity": int32(3)},
		{"status": "shipped", "quantity": int32(12)},
		{"status": "cancelled", "quantity": int32(3)},
		{"quantity": int32(3)}, // no status: missing
	} {
		ok, err := m.Match(row)
		fmt.Println(ok, err)
	}
	// Output:
	// {"status":{"$in":["processing","shipped","delivered"]},"quantity":{"$lt":10}}
	// [quantity status]
	// true <nil>
	// false <nil>
	// false <nil>
	// false <nil>
}

// The seed application's JSON form, parsed and bound.
func ExampleParse() {
	f, err := filter.Parse([]byte(`{"quantity": {"$not": {"$gte": 10}}, "$or": [{"status": "paid"}, {"active": true}]}`))
	if err != nil {
		panic(err)
	}
	m, err := filter.Bind(f, orders())
	if err != nil {
		panic(err)
	}
	ok, _ := m.Match(map[string]any{"quantity": int32(4), "status": "new", "active": true})
	fmt.Println(ok)
	ok, _ = m.Match(map[string]any{"quantity": int32(4), "status": "new", "active": false})
	fmt.Println(ok)
	// Output:
	// true
	// false
}

// Bind refuses what does not fit the table, naming the table and the column.
func ExampleBind() {
	for _, s := range []string{
		`{"stauts": "paid"}`,
		`{"active": {"$lt": true}}`,
		`{"quantity": 1.5}`,
		`{"status": {"$regex": "^p"}}`,
	} {
		f, err := filter.Parse([]byte(s))
		if err == nil {
			_, err = filter.Bind(f, orders())
		}
		fmt.Println(err)
	}
	// Output:
	// filter: table order has no column "stauts"
	// filter: table order, column active (boolean): $lt does not apply (the type has no order here)
	// filter: table order, column quantity (int): $eq: 1.5 is not a whole number
	// filter: column status: unknown operator "$regex"
}

// $exists, $ne and a null column.
func ExampleExists() {
	m, err := filter.Bind(filter.Or(filter.Exists("status", false), filter.Ne("quantity", 0)), orders())
	if err != nil {
		panic(err)
	}
	ok, _ := m.Match(map[string]any{"quantity": int32(0)}) // status missing
	fmt.Println(ok)
	ok, _ = m.Match(map[string]any{"status": "paid", "quantity": int32(0)})
	fmt.Println(ok)
	ok, _ = m.Match(map[string]any{"status": "paid"}) // quantity missing: $ne matches
	fmt.Println(ok)
	// Output:
	// true
	// false
	// true
}
