package realtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Errors of room names and of the room policy.
var (
	// ErrInvalidRoom: a room name is not 1 to MaxRoomName characters of
	// ASCII letters, digits and "_-.:@".
	ErrInvalidRoom = errors.New("realtime: invalid room name")
	// ErrForbidden: the policy refuses a connection a room.
	ErrForbidden = errors.New("realtime: room forbidden")
)

// MaxRoomName is the longest room name.
const MaxRoomName = 128

// checkRoomName reports whether name is a valid room name.
func checkRoomName(name string) error { return checkChars(ErrInvalidRoom, name, MaxRoomName, "_-.:@") }

// checkChars reports whether s is 1 to maxLen characters of ASCII letters,
// digits and the bytes of extra, with an error wrapping what.
func checkChars(what error, s string, maxLen int, extra string) error {
	if len(s) == 0 || len(s) > maxLen {
		return fmt.Errorf("%w %.40q: want 1 to %d characters", what, s, maxLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return fmt.Errorf("%w %.40q: want ASCII letters, digits and %s", what, s, extra)
		}
	}
	return nil
}

// Policy decides whether the connection of who may join room, a name within
// who's tenant (a connection never reaches another tenant's rooms, whatever
// the policy says). ctx carries who's tenant (tenant.From). A nil error
// admits; an error refuses, and its text is not shown to the client. It is
// called from many goroutines at once.
type Policy func(ctx context.Context, who Claims, room string) error

// DefaultPolicy admits a user to "user:<their own id>" and, with the role
// "admin", to "admin"; it refuses every other room with ErrForbidden.
func DefaultPolicy(_ context.Context, who Claims, room string) error {
	switch {
	case room == "user:"+who.User:
		return nil
	case room == "admin" && slices.Contains(who.Roles, "admin"):
		return nil
	}
	return fmt.Errorf("%w: user %q of tenant %q may not join %q", ErrForbidden, who.User, who.Tenant, room)
}
