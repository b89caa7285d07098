package barrier_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/saga/barrier"
)

// A participant's reservation and its compensation, called by a saga at least once:
// the duplicate do is not run again, and a do that comes after its undo is skipped.
func Example() {
	ctx := context.Background()
	ks := env.KeyspacePrefix() + "example" // dropped with the test package's keyspace
	db, err := orm.Open(ctx, orm.Config{Hosts: env.Hosts(), Keyspace: ks})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateKeyspace(ctx, ks, orm.SimpleStrategy(1)); err != nil {
		log.Fatal(err)
	}
	bar, err := barrier.New(db, barrier.Config{})
	if err != nil {
		log.Fatal(err)
	}
	if err := bar.Sync(ctx); err != nil {
		log.Fatal(err)
	}

	reserved := 0
	reserve := func(context.Context) error { reserved++; return nil } // idempotent by branch in real code
	release := func(context.Context) error { reserved--; return nil }

	for _, key := range []string{"order-1/reserve/do", "order-1/reserve/do", "order-1/reserve/undo",
		"order-2/reserve/undo", "order-2/reserve/do"} {
		branch, op, err := barrier.SplitKey(key)
		if err != nil {
			log.Fatal(err)
		}
		call, fn := bar.Do, reserve
		if op == barrier.Undo {
			call, fn = bar.Undo, release
		}
		out, err := call(ctx, branch, fn)
		fmt.Printf("%s: %v (compensated: %v)\n", key, out, errors.Is(err, barrier.ErrCompensated))
	}
	fmt.Println("reserved:", reserved)
	// Output:
	// order-1/reserve/do: ran (compensated: false)
	// order-1/reserve/do: duplicate (compensated: false)
	// order-1/reserve/undo: ran (compensated: false)
	// order-2/reserve/undo: null compensation (compensated: false)
	// order-2/reserve/do: skipped (compensated: true)
	// reserved: 0
}
