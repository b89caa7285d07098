package realtime

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalidID: a message id is not of the form "<ms>-<seq>".
var ErrInvalidID = errors.New("realtime: invalid message id")

// ID is a room message's id. The ids of one room grow with each message,
// across every hub, so a client that knows the last id it got can ask for
// what came after it. Its text form is "<ms>-<seq>", two decimal numbers:
// the RedisBus uses Redis stream ids (the server's clock in milliseconds and
// a sequence within the millisecond); a bus with a counter per room would
// use Ms 0. The zero ID is before every message.
type ID struct {
	Ms, Seq uint64
}

// String returns the id's text form, "<ms>-<seq>".
func (id ID) String() string {
	return strconv.FormatUint(id.Ms, 10) + "-" + strconv.FormatUint(id.Seq, 10)
}

// Compare returns -1, 0 or +1 as id is before, equal to or after o.
func (id ID) Compare(o ID) int {
	if c := cmp.Compare(id.Ms, o.Ms); c != 0 {
		return c
	}
	return cmp.Compare(id.Seq, o.Seq)
}

// ParseID parses the text form of an id. It fails with ErrInvalidID on
// anything but two decimal numbers that fit 64 bits, joined by a hyphen.
func ParseID(s string) (ID, error) {
	ms, seq, ok := strings.Cut(s, "-")
	a, err1 := parseDecimal(ms)
	b, err2 := parseDecimal(seq)
	if !ok || err1 != nil || err2 != nil {
		return ID{}, fmt.Errorf("%w %.40q: want <ms>-<seq>", ErrInvalidID, s)
	}
	return ID{Ms: a, Seq: b}, nil
}

// parseDecimal parses digits only: strconv alone would take a leading "+".
func parseDecimal(s string) (uint64, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseUint(s, 10, 64)
}
