package realtime

import (
	"context"
	"encoding/json"
)

// Room names a room: rooms are scoped to a tenant, so tenant A's "admin"
// is not tenant B's.
type Room struct {
	Tenant, Name string
}

// String returns "<tenant>/<name>", for messages.
func (r Room) String() string { return r.Tenant + "/" + r.Name }

// Message is one message of a room.
type Message struct {
	// ID is the message's id, given by the Bus.
	ID ID
	// Type says what the message is about ("order_status_update").
	Type string
	// Data is the message's JSON content.
	Data json.RawMessage
}

// History is what a Bus keeps of a room after a given id.
type History struct {
	// Messages are the room's messages after the id, oldest first; none
	// when Gap is set.
	Messages []Message
	// Gap reports that some messages after the id are no longer kept.
	Gap bool
	// Last is the id every later message of the room will be after: the
	// last message's id, or a position if the room has none.
	Last ID
}

// Bus carries room messages between hubs: it gives each message its id,
// keeps each room's recent history and delivers each new message to every
// hub listening to the room. RedisBus is the Redis implementation; another
// (Kafka, say) must keep the same contract. Its methods are safe for
// concurrent use.
type Bus interface {
	// Publish appends a message to room's history and delivers it to the
	// room's listeners, and returns its id, after the ids of every message
	// published to room before. An error means the message may or may not
	// have been published: Publish is never retried by the hub.
	Publish(ctx context.Context, room Room, msgType string, data json.RawMessage) (ID, error)
	// Cursor returns the id every message published to room from now on
	// will be after: where a client that joins now starts.
	Cursor(ctx context.Context, room Room) (ID, error)
	// Since returns room's messages after since, or reports a gap if some
	// of them are no longer kept.
	Since(ctx context.Context, room Room, since ID) (History, error)
	// Subscribe opens a subscription whose messages go to deliver, and
	// whose interruptions go to resync. Both are called from one goroutine,
	// one call at a time, and must not block. deliver gets each message
	// of a listened room, in id order. resync(room) says that messages of
	// room may have been missed (the bus lost its connection and got it
	// back): the hub reads them back with Since.
	Subscribe(deliver func(Room, Message), resync func(Room)) (Subscription, error)
}

// Subscription is a hub's subscription to a Bus. Its methods are safe for
// concurrent use.
type Subscription interface {
	// Listen starts the delivery of room's messages. Once it returns nil,
	// every message published to room after that is delivered (or, if the
	// connection is lost, followed by a resync). Calls are counted: room is
	// listened to until Unlisten has been called as often as Listen.
	Listen(ctx context.Context, room Room) error
	// Unlisten undoes one Listen.
	Unlisten(ctx context.Context, room Room) error
	// Close ends the subscription; no call to deliver or resync starts
	// once it has returned.
	Close() error
}
