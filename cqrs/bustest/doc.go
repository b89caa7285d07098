// Package bustest is the conformance suite of cqrs.EventBus transports:
// every transport runs it from its own tests, and a transport that passes
// keeps the contract the rest of the toolkit relies on.
//
// The suite checks that every field of a message survives the trip; that
// messages of one key arrive in order and are never handled two at a time;
// that every consumer group receives every message and that the members of
// a group share them with none lost; that a handler error redelivers the
// message, holding back the later messages of its key; that closing a
// member with a handler in flight hands the unacknowledged messages to the
// next member, which starts right after the acknowledged ones; that Close
// stops delivery and is idempotent, and that a closed bus refuses work;
// that Publish with a cancelled context publishes nothing; that a message
// whose handler always fails reaches the poison topic after exactly
// MaxDeliveries calls, and one whose handler returns a permanent error
// after one, while the later messages still arrive; and that publishers
// racing with Close get success or ErrClosed, never a panic or a deadlock,
// and (for a durable transport) lose no acknowledged message. For tenants:
// that a message published under a tenant's context carries it in its
// metadata and in its handler's context; that messages of eleven
// publishers (ten tenants and one without) interleaved on shared keys are
// each handled under their own tenant, none under another's or under the
// Subscribe context's; that a message without tenant is handled without
// one, right after messages with one; and that a Publish naming another
// tenant than its context's, or an invalid tenant, fails naming the topic
// and the tenants, and publishes none of its messages.
//
//	func TestConformance(t *testing.T) {
//		bustest.Run(t, bustest.Transport{
//			NewBus: func(t *testing.T) cqrs.EventBus {
//				return mybus.New(mybus.Config{MaxDeliveries: 3, ...})
//			},
//			MaxDeliveries: 3,
//			Durable:       true,
//		})
//	}
//
// Configure the transport for speed in tests: a short redelivery backoff
// (the suite makes handlers fail on purpose) and, for a broker, short
// fetch waits and heartbeats so that members join and leave quickly.
package bustest
