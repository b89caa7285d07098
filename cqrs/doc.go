// Package cqrs separates the two directions of an application: commands,
// which ask for a change and have one handler each, and events, which say
// what changed and reach every interested consumer.
//
// # Commands
//
// A CommandBus routes each command, by its Go type, to the one handler
// registered for it with Handle, through a chain of Middleware: Logging,
// Validation (commands with a Validate method) and Retry, which runs the
// handler again on an optimistic-concurrency conflict under a retry.Policy.
//
//	retryConflicts, err := cqrs.Retry(retry.Policy{If: retry.On(eventsourcing.ErrConcurrency), MaxAttempts: 5})
//	if err != nil { ... }
//	bus := cqrs.NewCommandBus(cqrs.Logging(logger), cqrs.Validation(), retryConflicts)
//	err := cqrs.Handle(bus, func(ctx context.Context, c PlaceOrder) error { ... })
//	err = bus.Dispatch(ctx, PlaceOrder{OrderID: "o-1"})
//
// # Events
//
// An EventBus publishes Messages to topics and delivers them to consumer
// groups. Every group receives every message at least once, the members of
// a group share the messages, and messages with the same Key arrive in
// publish order. A handler acknowledges a message by returning nil; an
// error redelivers it, after a backoff, holding back the later messages of
// its key, until MaxDeliveries calls have failed: then, or at once for an
// error made with Permanent, the message is poison and moves to a poison
// topic, and its key goes on. Because delivery is at least once, handlers
// dedupe by Message.ID.
//
//	events, err := cqrs.NewMemoryBus(cqrs.MemoryConfig{})
//	if err != nil { ... }
//	defer events.Close()
//	sub, err := events.Subscribe(ctx, "orders", "billing", func(ctx context.Context, m cqrs.Message) error {
//		return bill(ctx, m) // nil acknowledges; an error redelivers
//	})
//	err = events.Publish(ctx, "orders", cqrs.Message{Key: "o-1", Type: "order.placed", Payload: body})
//
// A message belongs to the tenant of the context it is published under
// (tenant.With): Publish records it in the metadata entry MetaTenant and
// refuses a message that names another tenant, and every handler call runs
// under the tenant of its message, or under none. See Prepare and Deliver.
//
// The MemoryBus serves a single process with no broker; the package
// cqrs/kafka carries the same contract across processes on Kafka. The
// package cqrs/bustest is the conformance suite both pass, and that any
// other transport must pass.
package cqrs
