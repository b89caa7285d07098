// Package kafka is the cqrs.EventBus on Apache Kafka, built on franz-go.
//
// A Bus publishes through one idempotent producer that waits for all
// in-sync replicas, so Publish returns only once the messages are durable
// and a retried produce neither duplicates nor reorders them. The record
// key is Message.Key, so each key stays in one partition and keeps its
// order; the record value is the payload; headers carry the id, the type,
// the time to the nanosecond (cqrs-id, cqrs-type, cqrs-time) and one
// header per metadata entry, the tenant among them (the header "tenant",
// cqrs.MetaTenant), which each handler call gets back in its context.
//
// Each Subscribe is one member of a Kafka consumer group, with a client of
// its own. Records are handled in order per partition, partitions in
// parallel; a handler error retries the same record with backoff, holding
// back its partition, and offsets are committed only up to the last
// acknowledged record, after each batch and on Close. A record whose
// handler failed Config.MaxDeliveries times, or returned an error wrapping
// cqrs.ErrPoison, is produced to the poison topic (<topic>.poison by
// default) with cqrs-poison-* headers naming the topic, group, deliveries
// and error, and only then acknowledged. A group that has
// never committed starts at the oldest retained record. Partitions do not
// move between members while a batch is in hand, so a key is never handled
// by two members at once.
//
// Topics are created on first use with Config.Partitions partitions
// (EnsureTopic creates one explicitly), unless Config.NoTopicCreation is
// set.
//
//	bus, err := kafka.New(kafka.Config{Brokers: []string{"127.0.0.1:9092"}})
//	if err != nil { ... }
//	defer bus.Close()
//	sub, err := bus.Subscribe(ctx, "orders", "billing", handle)
//	err = bus.Publish(ctx, "orders", cqrs.Message{Key: "o-1", Type: "order.placed", Payload: body})
package kafka
