package kafka_test

import (
	"context"
	"fmt"
	"log"

	"github.com/cassandraorm/cassandraorm-go/cqrs"
	"github.com/cassandraorm/cassandraorm-go/cqrs/kafka"
)

// Publishing events with the order id as key keeps each order's events in
// order for every consumer group. (Not run: it needs a broker.)
func ExampleBus() {
	ctx := context.Background()
	bus, err := kafka.New(kafka.Config{Brokers: []string{"127.0.0.1:9092"}, ClientID: "orders-service"})
	if err != nil {
		log.Fatal(err)
	}
	defer bus.Close()

	sub, err := bus.Subscribe(ctx, "orders", "billing", func(ctx context.Context, m cqrs.Message) error {
		fmt.Println(m.Key, m.Type)
		return nil // acknowledged: the group's offset moves past it
	})
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()

	err = bus.Publish(ctx, "orders", cqrs.Message{
		Key:      "o-1",
		Type:     "order.placed",
		Payload:  []byte(`{"items":2}`),
		Metadata: map[string]string{"correlation_id": "req-7"},
	})
	if err != nil {
		log.Fatal(err)
	}
}
