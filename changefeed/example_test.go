package changefeed_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/changefeed/filter"
	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

// Stock is the examples' model: a product's stock.
type Stock struct {
	Product  string `cql:"product" orm:"pk"`
	Quantity int32  `cql:"quantity"`
}

// A model that records its changes, and a durable subscription to the updates
// that leave less than 10 in stock, which follows the feed until its context
// ends (here, once it has seen the two it expects).
func Example() {
	ctx := context.Background()
	db, err := orm.Open(ctx, orm.Config{Hosts: env.Hosts(), Keyspace: "changefeed_examples"})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateKeyspace(ctx, "changefeed_examples", orm.SimpleStrategy(1)); err != nil {
		log.Fatal(err)
	}
	run := suffix() // tables of this run, so that the example starts afresh
	feed, err := changefeed.NewFeed(db, changefeed.FeedConfig{Log: changefeed.Config{Table: "example_changes_" + run, Lag: time.Second}})
	if err != nil {
		log.Fatal(err)
	}
	stock, err := orm.NewModel[Stock](db, orm.TableName("example_stock_"+run), orm.RecordChanges(feed))
	if err != nil {
		log.Fatal(err)
	}
	leases, err := lease.New(db, lease.Config{Table: "example_leases_" + run})
	if err != nil {
		log.Fatal(err)
	}
	if err := db.Sync(ctx, append(feed.Models(), stock)...); err != nil {
		log.Fatal(err)
	}
	if err := leases.Sync(ctx); err != nil {
		log.Fatal(err)
	}

	_ = stock.Insert(ctx, &Stock{Product: "lamp", Quantity: 40})
	for _, q := range []int32{12, 8, 3} {
		_ = stock.Patch(ctx, []any{"lamp"}, []orm.Change{orm.Set("quantity", q)})
	}

	subs := changefeed.Subscriber{Feed: feed, Leases: leases}
	ctx, stop := context.WithCancel(ctx)
	seen := 0
	low := changefeed.Subscription{
		Name: "low-stock", Table: stock.Table().Name, Ops: []orm.ChangeOp{orm.OpUpdate},
		Filter: filter.Lt("quantity", 10),
		Handle: func(ctx context.Context, c changefeed.Change) error {
			fmt.Printf("%s %s: %v\n", c.Op, c.Key["product"], c.Values["quantity"])
			if seen++; seen == 2 {
				stop() // the example has seen what it came for
			}
			return nil
		},
	}
	// The changes come a second (the log's Lag) after they were made.
	if err := subs.Subscribe(ctx, low); !errors.Is(err, context.Canceled) {
		log.Fatal(err)
	}
	// Output:
	// update lamp: 8
	// update lamp: 3
}
