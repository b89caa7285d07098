package gateway_test

import (
	"context"
	"log"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/gateway"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/registry"
)

// A gateway over two subgraph services of the registry in keyspace
// ecommerce_registry. (Not run: it needs Cassandra, Node.js and the services.)
func ExampleNew() {
	ctx := context.Background()
	db, err := orm.Open(ctx, orm.Config{Hosts: []string{"127.0.0.1:9042"}, Keyspace: "ecommerce_registry"})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	reg, err := registry.New(db, registry.Config{})
	if err != nil {
		log.Fatal(err)
	}
	g, err := gateway.New(gateway.Config{
		Registry: reg,
		Services: []string{"users", "products"},
		Timeout:  2 * time.Second, // a slower subgraph gives partial data and an error naming it
		Addr:     "127.0.0.1:4000",
	})
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(g.Run(ctx))
}
