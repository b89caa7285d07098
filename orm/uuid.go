package orm

import (
	"fmt"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// UUID is a Cassandra uuid or timeuuid value: 16 bytes in RFC 4122 order. It binds and
// scans as uuid and timeuuid, also inside collections, tuples and user-defined types,
// and as text in text columns. The zero UUID is the nil UUID; in a non-key column it is
// left unset on write (see docs/orm.md).
type UUID [16]byte

// NewUUID returns a random (version 4) UUID.
func NewUUID() UUID {
	u, err := gocql.RandomUUID()
	if err != nil {
		// crypto/rand does not fail on supported platforms; a failure here means the
		// process cannot produce safe identifiers at all.
		panic(fmt.Sprintf("orm: reading random bytes for a UUID: %v", err))
	}
	return UUID(u)
}

// NewTimeUUID returns a version 1 UUID for the current time, for timeuuid columns.
// UUIDs made in one process sort by the time they were made.
func NewTimeUUID() UUID { return UUID(gocql.TimeUUID()) }

// MinTimeUUID returns the smallest timeuuid of instant t, for range bounds on
// timeuuid clustering columns.
func MinTimeUUID(t time.Time) UUID { return UUID(gocql.MinTimeUUID(t)) }

// MaxTimeUUID returns the largest timeuuid of instant t.
func MaxTimeUUID(t time.Time) UUID { return UUID(gocql.MaxTimeUUID(t)) }

// ParseUUID parses the textual form of a UUID, such as
// "6f1c0d4e-0000-4000-8000-000000000001".
func ParseUUID(s string) (UUID, error) {
	u, err := gocql.ParseUUID(s)
	if err != nil {
		return UUID{}, fmt.Errorf("%w: %w", ErrInvalidValue, err)
	}
	return UUID(u), nil
}

// String returns the textual form of u, in lower case with dashes.
func (u UUID) String() string { return gocql.UUID(u).String() }

// IsZero reports whether u is the nil UUID (all zeros).
func (u UUID) IsZero() bool { return u == UUID{} }

// Version returns the UUID version: 1 for a timeuuid, 4 for a random one.
func (u UUID) Version() int { return int(u[6] >> 4) }

// Time returns the time at which a version 1 UUID (a timeuuid) was made, and the zero
// time for any other version.
func (u UUID) Time() time.Time {
	if u.Version() != 1 {
		return time.Time{}
	}
	return gocql.UUID(u).Time()
}

// MarshalText implements encoding.TextMarshaler.
func (u UUID) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (u *UUID) UnmarshalText(text []byte) error {
	v, err := ParseUUID(string(text))
	if err != nil {
		return err
	}
	*u = v
	return nil
}

// MarshalJSON writes u as a JSON string.
func (u UUID) MarshalJSON() ([]byte, error) { return []byte(`"` + u.String() + `"`), nil }

// UnmarshalJSON reads a JSON string holding a UUID.
func (u *UUID) UnmarshalJSON(data []byte) error {
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		return fmt.Errorf("%w: UUID from JSON %s: want a string", ErrInvalidValue, data)
	}
	return u.UnmarshalText(data[1 : len(data)-1])
}

// MarshalCQL lets the driver bind u to a uuid, timeuuid, text or blob value. It is
// called by the driver, not by users.
func (u UUID) MarshalCQL(info gocql.TypeInfo) ([]byte, error) {
	switch info.Type() {
	case gocql.TypeUUID:
		return u[:], nil
	case gocql.TypeTimeUUID:
		if u.Version() != 1 {
			return nil, gocql.MarshalError(fmt.Sprintf("orm: UUID %s is version %d, not a timeuuid (version 1)", u, u.Version()))
		}
		return u[:], nil
	case gocql.TypeVarchar, gocql.TypeText, gocql.TypeAscii:
		return []byte(u.String()), nil
	case gocql.TypeBlob:
		return u[:], nil
	}
	return nil, gocql.MarshalError(fmt.Sprintf("orm: cannot bind a UUID to CQL type %v", info))
}

// UnmarshalCQL lets the driver scan a uuid, timeuuid, text or blob value into u. A
// null value scans as the zero UUID. It is called by the driver, not by users.
func (u *UUID) UnmarshalCQL(info gocql.TypeInfo, data []byte) error {
	if len(data) == 0 {
		*u = UUID{}
		return nil
	}
	switch info.Type() {
	case gocql.TypeUUID, gocql.TypeTimeUUID, gocql.TypeBlob:
		if len(data) != 16 {
			return gocql.UnmarshalError(fmt.Sprintf("orm: a UUID is 16 bytes, not %d", len(data)))
		}
		copy(u[:], data)
		return nil
	case gocql.TypeVarchar, gocql.TypeText, gocql.TypeAscii:
		v, err := gocql.ParseUUID(string(data))
		if err != nil {
			return gocql.UnmarshalError(fmt.Sprintf("orm: reading a UUID from text: %v", err))
		}
		*u = UUID(v)
		return nil
	}
	return gocql.UnmarshalError(fmt.Sprintf("orm: cannot scan CQL type %v into a UUID", info))
}
