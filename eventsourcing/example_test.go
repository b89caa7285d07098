package eventsourcing_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/cassandraorm/cassandraorm-go/eventsourcing"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// An aggregate raised, saved, loaded again, and a stale copy refused.
func Example() {
	ctx := context.Background()
	db, err := orm.Open(ctx, orm.Config{Hosts: env.Hosts(), Keyspace: "es_examples"})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	// A clean slate for the example: its keyspace holds nothing worth keeping.
	if err := db.DropKeyspace(ctx, "es_examples"); err != nil {
		log.Fatal(err)
	}
	if err := db.CreateKeyspace(ctx, "es_examples", orm.SimpleStrategy(1)); err != nil {
		log.Fatal(err)
	}
	store, err := eventsourcing.NewStore(db, eventsourcing.StoreConfig{})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Sync(ctx); err != nil {
		log.Fatal(err)
	}
	reg := eventsourcing.NewRegistry(nil)
	_ = eventsourcing.Register[Added](reg, 1)
	_ = eventsourcing.Register[Reset](reg, 1)
	counters, err := eventsourcing.NewRepository[*Counter, CounterEvent](store, reg, func() *Counter { return &Counter{} },
		eventsourcing.RepositoryConfig{})
	if err != nil {
		log.Fatal(err)
	}

	id := "counter-" + orm.NewUUID().String()
	c := counters.New(id)
	eventsourcing.Raise[CounterEvent](c, Added{N: 40})
	eventsourcing.Raise[CounterEvent](c, Added{N: 2})
	if err := counters.Save(ctx, c); err != nil {
		log.Fatal(err)
	}

	a, _ := counters.Load(ctx, id)
	b, _ := counters.Load(ctx, id)
	fmt.Println(a.Total, a.Version())

	eventsourcing.Raise[CounterEvent](a, Reset{})
	fmt.Println(counters.Save(ctx, a))
	eventsourcing.Raise[CounterEvent](b, Added{N: 1})
	err = counters.Save(ctx, b)
	fmt.Println(errors.Is(err, eventsourcing.ErrConcurrency))
	// Output:
	// 42 2
	// <nil>
	// true
}
