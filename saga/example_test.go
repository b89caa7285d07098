package saga_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/saga"
)

// Trip books a flight and a hotel; the hotel is full, so the flight is cancelled.
type Trip struct {
	Flight string `json:"flight"`
	Hotel  string `json:"hotel"`
}

func Example() {
	ctx := context.Background()
	db, err := orm.Open(ctx, orm.Config{Hosts: env.Hosts(), Keyspace: env.Keyspace()})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateKeyspace(ctx, env.Keyspace(), orm.SimpleStrategy(1)); err != nil {
		log.Fatal(err)
	}
	orch, err := saga.New(db, saga.Config{Table: "example", Shards: 2, Poll: 50 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	if err := orch.Sync(ctx); err != nil {
		log.Fatal(err)
	}
	trips, err := saga.Register(orch, &saga.Definition[Trip]{Name: "book_trip", Steps: []saga.Step[Trip]{
		{Name: "book_flight", Timeout: 5 * time.Second,
			Action: func(ctx context.Context, t *Trip) error {
				k, _ := saga.KeyFrom(ctx) // the airline dedupes on it
				t.Flight = "booked with key " + k.Step + "/" + string(k.Direction)
				return nil
			},
			Compensate: func(ctx context.Context, t *Trip) error { t.Flight = "cancelled"; return nil }},
		{Name: "book_hotel", Timeout: 5 * time.Second,
			Action: func(ctx context.Context, t *Trip) error { return saga.Permanent(errors.New("hotel full")) }},
	}})
	if err != nil {
		log.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = orch.Run(wctx) }()

	res, err := trips.Execute(ctx, Trip{})
	fmt.Println(errors.Is(err, saga.ErrCompensated), res.Status)
	fmt.Println("flight:", res.State.Flight)
	fmt.Println("reason:", res.Reason)
	// Output:
	// true compensated
	// flight: cancelled
	// reason: step book_hotel: permanent: hotel full
}
