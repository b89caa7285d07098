package realtime

import (
	"encoding/json"
	"errors"
)

// Frame is one message of the wire protocol, either way: a JSON object in
// a WebSocket text message, with the fields its Op uses (see the package
// documentation).
type Frame struct {
	// Op says what the frame is: OpJoin or OpLeave from a client; OpMessage,
	// OpJoined, OpGap, OpLeft or OpError from the hub.
	Op string `json:"op"`
	// Room is the room the frame concerns, a name within the client's
	// tenant.
	Room string `json:"room,omitempty"`
	// Since, in OpJoin, is the id of the last message the client got from
	// the room: the hub sends what came after it.
	Since string `json:"since,omitempty"`
	// ID, Type and Data are an OpMessage's id, type and JSON content.
	ID   string          `json:"id,omitempty"`
	Type string          `json:"type,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
	// Last, in OpJoined and OpGap, is the id from which the client gets
	// every message: the one to send as Since when it joins again, until a
	// message brings a later one.
	Last string `json:"last,omitempty"`
	// Code and Error, in OpError, say what went wrong: Code is one of the
	// Code constants, Error a text for people.
	Code  string `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
}

// The operations of Frame.Op.
const (
	OpJoin    = "join"    // client: join Room, after Since if set
	OpLeave   = "leave"   // client: leave Room
	OpMessage = "message" // hub: a message of Room
	OpJoined  = "joined"  // hub: the client is in Room, with every message after Last
	OpGap     = "gap"     // hub: messages after Since are lost; reload, then every message after Last
	OpLeft    = "left"    // hub: the client has left Room
	OpError   = "error"   // hub: a request failed (Code, Error)
)

// The error codes of Frame.Code.
const (
	CodeBadRequest    = "bad_request"    // not a JSON text frame, an unknown op, a malformed since
	CodeInvalidRoom   = "invalid_room"   // the room name is not valid
	CodeForbidden     = "forbidden"      // the policy refuses the room
	CodeAlreadyJoined = "already_joined" // the client is in the room already
	CodeNotJoined     = "not_joined"     // leave of a room the client is not in
	CodeTooManyRooms  = "too_many_rooms" // the client is in Config.MaxRooms rooms
	CodeUnavailable   = "unavailable"    // the bus did not answer: try again later
)

// MaxTypeLen is the longest message type.
const MaxTypeLen = 64

// ErrInvalidType: a message type is not 1 to MaxTypeLen characters of ASCII
// letters, digits and "_-.:".
var ErrInvalidType = errors.New("realtime: invalid message type")

// checkType reports whether t is a valid message type.
func checkType(t string) error { return checkChars(ErrInvalidType, t, MaxTypeLen, "_-.:") }

// messageFrame encodes message m of room name.
func messageFrame(name string, m Message) ([]byte, error) {
	return json.Marshal(Frame{Op: OpMessage, Room: name, ID: m.ID.String(), Type: m.Type, Data: m.Data})
}
