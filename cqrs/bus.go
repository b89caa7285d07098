package cqrs

import (
	"context"
	"errors"
)

// ErrClosed is wrapped by the errors of Publish and Subscribe once the bus
// is closed; the errors name the topic.
var ErrClosed = errors.New("cqrs: bus closed")

// Handler handles one delivered message.
//
// A nil return acknowledges the message: it will not be delivered to this
// group again, except after a crash that loses the acknowledgement (delivery
// is at least once, so handlers dedupe by Message.ID). An error means "not
// handled": the same message is delivered again, after a backoff, until a
// call returns nil, the subscription closes, or the message turns out to be
// poison. While a message waits for its redelivery, the later messages of
// its key wait too, so per-key order holds even across failures; so may
// messages of other keys that the transport keeps in the same partition.
//
// A message is poison when the handler has failed on it MaxDeliveries
// times in a row (a setting of each transport, 10 by default), or at once
// when the error wraps ErrPoison (see Permanent): the transport publishes
// it, with the metadata of Poisoned, to the group's poison topic (by
// default the topic's name + ".poison") and then acknowledges it, and the
// group goes on with the next message. The later messages of its key are
// then delivered, still in order, but without it: a consumer that needs
// every message of a key (a projection, say) must expect the gap, or
// handle the poison topic. The count of deliveries starts again when the
// message moves to another member, after a crash or a rebalance.
//
// The context is cancelled when the subscription closes; a handler that
// returns an error then (typically ctx.Err()) leaves the message
// unacknowledged, and another member of the group receives it. A handler is
// called concurrently for messages of different partitions, never for two
// messages of the same key in the same group.
//
// The context carries the message's tenant (its MetaTenant entry) for
// tenant.From, or no tenant when the message names none, whatever tenant
// the Subscribe context has; see Deliver, which every transport calls.
type Handler func(ctx context.Context, m Message) error

// Publisher publishes messages to topics.
//
// Publish must be safe for concurrent use. It returns nil only once every
// message is durably accepted by the transport (for Kafka: written to all
// in-sync replicas); on error, some of the messages may have been accepted,
// and publishing them again may duplicate them, which consumers tolerate by
// deduping on ID. Messages with the same Key given to one Publish call, or
// to sequential calls, are delivered in that order. Publish sets each
// message's Topic and fills an empty ID and a zero Time (see Stamp). A
// context already done makes it return the context's error and publish
// nothing.
//
// When ctx carries a tenant, Publish gives it to each message without a
// MetaTenant entry, and publishes nothing, returning an error wrapping
// tenant.ErrMismatch, if a message names another tenant; an invalid tenant
// in ctx or in a message is an error wrapping tenant.ErrInvalidID, and
// nothing is published either. The errors name the topic and the tenants.
// See Prepare, which every transport calls.
type Publisher interface {
	Publish(ctx context.Context, topic string, msgs ...Message) error
}

// Subscriber subscribes handlers to topics in consumer groups.
//
// Subscribe must be safe for concurrent use. Every group receives every
// message of the topic at least once; the members of one group (the
// subscriptions with the same topic and group, in this process or others)
// share the messages, each message going to one member at a time. A group
// that has never acknowledged anything starts at the oldest message the
// transport still keeps; a group that has, resumes after the messages it
// acknowledged.
//
// Subscribe returns once the subscription is registered; messages may
// arrive before or after it returns. The subscription ends when it is
// closed, when ctx is done, or when the bus is closed; the handler's
// context carries ctx's values.
type Subscriber interface {
	Subscribe(ctx context.Context, topic, group string, h Handler) (Subscription, error)
}

// Subscription is one member of a consumer group.
type Subscription interface {
	// Close stops consuming: it cancels the context of handler calls in
	// flight and waits for them to return, records the offsets of the
	// acknowledged messages so that the group resumes after them, and
	// leaves the group so that other members take over. Once Close
	// returns, no handler call of the subscription runs. Close is safe to
	// call more than once and concurrently; later calls return the first
	// call's result. An error means the acknowledgements may be lost: the
	// messages they concern will be delivered again.
	Close() error
}

// EventBus is a Publisher and a Subscriber that share one connection to a
// transport.
type EventBus interface {
	Publisher
	Subscriber
	// Close closes every subscription of the bus, waits for publishes in
	// flight, and releases the transport. From the moment it starts,
	// Publish and Subscribe return an error wrapping ErrClosed; a Publish
	// racing with Close either returns such an error or succeeds as usual
	// (the transport has the messages; durably, if the transport is). It
	// is safe to call more than once, and concurrently with the other
	// methods.
	Close() error
}
