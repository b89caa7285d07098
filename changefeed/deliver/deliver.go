// Package deliver hands the changes of a change feed subscription to the event
// bus (a cqrs.Publisher: Kafka, or the in-process bus) or to the WebSocket rooms
// of a realtime hub. Each function returns a changefeed.Subscription Handle:
//
//	subs.Subscribe(ctx, changefeed.Subscription{
//		Name: "orders-to-kafka", Table: "orders",
//		Handle: deliver.ToBus(bus, deliver.Topic("shop.orders")),
//		Retry:  deliver.Retry(),
//	})
//
// Delivery is at least once, from the feed to the bus or hub and from there on:
// a change may be published or broadcast again after a restart or a retry. Its
// ID goes with it (the message ID on the bus, the "id" of the JSON data in a
// room) for receivers to drop what they have seen.
package deliver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cassandraorm/cassandraorm-go/changefeed"
	"github.com/cassandraorm/cassandraorm-go/cqrs"
	"github.com/cassandraorm/cassandraorm-go/realtime"
	"github.com/cassandraorm/cassandraorm-go/retry"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// Retry returns a retry policy for subscriptions that deliver
// (Subscription.Retry): every error but the end of the subscription's context,
// ten attempts, from 50 ms doubling up to 5 s.
func Retry() retry.Policy {
	return retry.Policy{
		If: func(err error) bool {
			return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
		},
		MaxAttempts: 10,
		Backoff:     retry.Backoff{Initial: 50 * time.Millisecond, Max: 5 * time.Second},
	}
}

// Topic returns a topicOf for ToBus that sends every change to topic.
func Topic(topic string) func(changefeed.Change) string {
	return func(changefeed.Change) string { return topic }
}

// Metadata keys of the messages ToBus publishes, beside cqrs.MetaTenant.
const (
	MetaTable     = "table"
	MetaOp        = "op"
	MetaUncertain = "uncertain"
)

// Message returns change c as a bus message: ID the change's id, Key its
// partition (so that each partition's changes keep their order), Type
// "<table>.<op>", Payload c in JSON, Time when it was recorded, and metadata
// naming its tenant, table and operation, and "uncertain" = "true" for an
// uncertain change.
func Message(c changefeed.Change) (cqrs.Message, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return cqrs.Message{}, fmt.Errorf("deliver: change %s of %s: encoding: %w", c.ID, c.Table, err)
	}
	md := map[string]string{MetaTable: c.Table, MetaOp: string(c.Op)}
	if c.Tenant != "" {
		md[cqrs.MetaTenant] = c.Tenant
	}
	if c.Uncertain {
		md[MetaUncertain] = "true"
	}
	return cqrs.Message{ID: c.ID.String(), Key: c.Partition, Type: c.Table + "." + string(c.Op),
		Payload: payload, Metadata: md, Time: c.At}, nil
}

// ToBus returns a Handle that publishes each change, as Message makes it, to pub
// on the topic topicOf picks; a change with an empty topic is not published.
func ToBus(pub cqrs.Publisher, topicOf func(changefeed.Change) string) func(context.Context, changefeed.Change) error {
	return func(ctx context.Context, c changefeed.Change) error {
		topic := topicOf(c)
		if topic == "" {
			return nil
		}
		m, err := Message(c)
		if err != nil {
			return err
		}
		if err := pub.Publish(ctx, topic, m); err != nil {
			return fmt.Errorf("deliver: change %s of %s to topic %s: %w", c.ID, c.Table, topic, err)
		}
		return nil
	}
}

// Broadcaster sends a message to a room of the tenant of ctx: *realtime.Hub is
// one.
type Broadcaster interface {
	Broadcast(ctx context.Context, room, msgType string, data any) (realtime.ID, error)
}

// Broadcast is one message for a room: what a route makes of a change.
type Broadcast struct {
	// Room is the room's name, within the change's tenant.
	Room string
	// Type is the message's type, e.g. "low_stock_alert".
	Type string
	// Data is the message's data, encoded as JSON; nil sends the change
	// itself.
	Data any
}

// ToRooms returns a Handle that broadcasts each change to the rooms route picks
// (none: nothing is sent), in the change's tenant: a change without one goes to
// the tenant of the subscription's context, and fails when that has none either.
func ToRooms(hub Broadcaster, route func(changefeed.Change) []Broadcast) func(context.Context, changefeed.Change) error {
	return func(ctx context.Context, c changefeed.Change) error {
		msgs := route(c)
		if len(msgs) == 0 {
			return nil
		}
		if c.Tenant != "" {
			ctx = tenant.With(ctx, c.Tenant)
		} else if _, err := tenant.From(ctx); err != nil {
			return fmt.Errorf("deliver: change %s of %s: no tenant to broadcast in: %w", c.ID, c.Table, err)
		}
		for _, m := range msgs {
			data := m.Data
			if data == nil {
				data = c
			}
			if _, err := hub.Broadcast(ctx, m.Room, m.Type, data); err != nil {
				return fmt.Errorf("deliver: change %s of %s to room %s: %w", c.ID, c.Table, m.Room, err)
			}
		}
		return nil
	}
}
