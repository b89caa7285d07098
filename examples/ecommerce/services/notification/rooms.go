package notification

import (
	"context"
	"errors"

	"github.com/cassandraorm/cassandraorm-go/realtime"
)

// Rooms broadcasts to the WebSocket rooms of the real-time hub (HubRooms). Its
// BroadcastToRoom must be safe for concurrent use, and return once the message
// is handed to the room (nil) or could not be (an error, retried).
type Rooms interface {
	BroadcastToRoom(ctx context.Context, room, msgType string, data any) error
}

// HubRooms is Rooms on a real-time hub: BroadcastToRoom is Hub.Broadcast to
// the room of the tenant of ctx (tenant.From; none is an error, never a
// default). The delivery worker calls it in the tenant of the delivery, so
// a notification reaches the rooms of its own tenant only.
type HubRooms struct {
	// Hub broadcasts. Required.
	Hub *realtime.Hub
}

// BroadcastToRoom broadcasts data as a message of type msgType to room, in
// the tenant of ctx, on every hub sharing Hub's bus.
func (r HubRooms) BroadcastToRoom(ctx context.Context, room, msgType string, data any) error {
	if r.Hub == nil {
		return errors.New("notification: HubRooms: nil Hub")
	}
	_, err := r.Hub.Broadcast(ctx, room, msgType, data)
	return err
}

// RoomMessageType is the message type of a notification broadcast; its data
// is the Notification.
const RoomMessageType = "notification"

// AdminRoom is the room of the administrators, where low-stock alerts go.
const AdminRoom = "admin"

// RoomsChannel is the channel "rooms": a user's notification goes to room
// "user:<user id>", a low-stock alert to AdminRoom. A broadcast may be made
// again after a failure: clients drop a notification id they have seen.
type RoomsChannel struct {
	rooms Rooms
}

// NewRoomsChannel builds the rooms channel on r.
func NewRoomsChannel(r Rooms) (*RoomsChannel, error) {
	if r == nil {
		return nil, errors.New("notification: rooms: nil Rooms")
	}
	return &RoomsChannel{rooms: r}, nil
}

// Name is "rooms".
func (*RoomsChannel) Name() string { return "rooms" }

// Target is n's room, or "" for a notification to no user that is no low-stock
// alert.
func (*RoomsChannel) Target(n Notification) string {
	switch {
	case n.Kind == KindLowStockAlert:
		return AdminRoom
	case n.UserID != "":
		return "user:" + n.UserID
	}
	return ""
}

// Deliver broadcasts n to room target.
func (c *RoomsChannel) Deliver(ctx context.Context, n Notification, target string) error {
	return c.rooms.BroadcastToRoom(ctx, target, RoomMessageType, n)
}
