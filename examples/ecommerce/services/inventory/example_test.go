package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/inventory"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// A saga's calls on one product: reserve, a competing order refused, a duplicate
// reserve, the commit, and the compensation that undoes the sale.
func Example() {
	ctx := context.Background()
	ks := env.KeyspacePrefix() + "example"
	db, err := orm.Open(ctx, orm.Config{Hosts: env.Hosts(), Keyspace: ks})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateKeyspace(ctx, ks, orm.SimpleStrategy(1)); err != nil {
		log.Fatal(err)
	}
	svc, err := inventory.New(db, inventory.Config{})
	if err != nil {
		log.Fatal(err)
	}
	if err := svc.Sync(ctx); err != nil {
		log.Fatal(err)
	}
	sku := "sku-" + orm.NewUUID().String()
	if _, err := svc.SetStock(ctx, sku, 3); err != nil {
		log.Fatal(err)
	}
	order := []inventory.Item{{ProductID: sku, Quantity: 2}}

	rs, err := svc.Reserve(ctx, "saga-7/reserve_inventory", order, 15*time.Minute)
	fmt.Println("reserve:", rs[0].State, rs[0].Quantity, err)
	_, err = svc.Reserve(ctx, "saga-8/reserve_inventory", order, 15*time.Minute)
	fmt.Println("another order, insufficient:", errors.Is(err, inventory.ErrInsufficient))
	rs, err = svc.Reserve(ctx, "saga-7/reserve_inventory", order, 15*time.Minute)
	fmt.Println("duplicate:", rs[0].State, err)
	if _, err := svc.Commit(ctx, "saga-7/reserve_inventory", []string{sku}); err != nil {
		log.Fatal(err)
	}
	l, _ := svc.Get(ctx, sku)
	fmt.Printf("after commit: on hand %d, available %d\n", l.OnHand, l.Available)
	if _, err := svc.Release(ctx, "saga-7/reserve_inventory", []string{sku}); err != nil {
		log.Fatal(err)
	}
	l, _ = svc.Get(ctx, sku)
	fmt.Printf("after compensation: on hand %d, available %d\n", l.OnHand, l.Available)
	// Output:
	// reserve: held 2 <nil>
	// another order, insufficient: true
	// duplicate: held <nil>
	// after commit: on hand 1, available 1
	// after compensation: on hand 3, available 3
}
