package cqrs

import (
	"context"
	"errors"
	"fmt"

	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// MetaTenant is the metadata key of the tenant a message belongs to; its
// value is a tenant id (see tenant.Check). Publish fills it from the
// tenant of its context and refuses a message that names another tenant
// (see Prepare); the transport puts it back into the context of every
// handler call (see Deliver). An entry, whatever its value, names the
// message's tenant: an empty value is an invalid id, not "no tenant". The
// Kafka transport carries it as a record header, like every metadata
// entry.
const MetaTenant = "tenant"

// Prepare returns msgs as Publish(ctx, topic, msgs...) publishes them, or
// the reason it must publish none of them. Each message is stamped (see
// Stamp) and, when ctx carries a tenant (tenant.From), a message without a
// MetaTenant entry gets one with that tenant. It fails when ctx carries an
// invalid tenant id (tenant.ErrInvalidID), when a message's MetaTenant
// names another tenant than ctx's (tenant.ErrMismatch: publishing one
// tenant's message from another tenant's request is a bug in the caller),
// and, under a ctx without tenant, when a message's MetaTenant is not a
// valid id (tenant.ErrInvalidID). A ctx without tenant leaves the messages'
// tenants as they are, so that a message may name its tenant explicitly
// (the event store's relay does, for each stored event).
//
// Transports call it first in Publish, so that all of them fill and check
// the same fields the same way, and publish nothing if it fails. The error
// names the message (its place in msgs and its ID) and the tenants, not
// the topic: Publish wraps it with the topic.
func Prepare(ctx context.Context, topic string, msgs []Message) ([]Message, error) {
	current, err := tenant.From(ctx)
	switch {
	case errors.Is(err, tenant.ErrNoTenant):
		current = ""
	case err != nil:
		return nil, fmt.Errorf("context: %w", err)
	}
	out := make([]Message, len(msgs))
	for i, m := range msgs {
		m = Stamp(topic, m)
		named, ok := m.Metadata[MetaTenant]
		switch {
		case !ok && current != "":
			if m.Metadata == nil {
				m.Metadata = make(map[string]string, 1)
			}
			m.Metadata[MetaTenant] = current
		case !ok:
		case current != "" && named != current:
			return nil, fmt.Errorf("message %d (id %s) has tenant %q, but the context has tenant %q: %w", i, m.ID, named, current, tenant.ErrMismatch)
		case current == "":
			if err := tenant.Check(named); err != nil {
				return nil, fmt.Errorf("message %d (id %s): metadata %s: %w", i, m.ID, MetaTenant, err)
			}
		}
		out[i] = m
	}
	return out, nil
}

// Deliver calls h for one delivery of m, as every transport does: with a
// copy of m of its own (see Message.Clone), and a context that is ctx with
// m's tenant. When m has a MetaTenant entry, the context carries its value
// (tenant.With); when it has none, the context carries no tenant, even if
// ctx does (tenant.Without), so a handler never runs under a tenant its
// message does not name. A value that is not a valid tenant id (from a
// producer that bypassed Publish) does not stop the delivery: h is called,
// and tenant.From in it returns tenant.ErrInvalidID; h decides, and may
// return Permanent(err) to move the message to the poison topic.
//
// Transports call it for every handler call, so that all of them give
// handlers the same context.
func Deliver(ctx context.Context, h Handler, m Message) error {
	if id, ok := m.Metadata[MetaTenant]; ok {
		ctx = tenant.With(ctx, id)
	} else {
		ctx = tenant.Without(ctx)
	}
	return h(ctx, m.Clone())
}
