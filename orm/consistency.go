package orm

import (
	"fmt"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// Consistency is a Cassandra consistency level. The zero value means "the default":
// the DB's (Config.Consistency, itself LocalQuorum by default) for a statement, and
// the driver's (Serial) for the serial phase of a lightweight transaction.
type Consistency uint8

// Consistency levels. Serial and LocalSerial are for lightweight transactions and
// for reads that must see their outcome.
const (
	One Consistency = iota + 1
	Two
	Three
	Quorum
	All
	LocalQuorum
	EachQuorum
	Serial
	LocalSerial
	LocalOne
)

var consistencyNames = [...]string{"DEFAULT", "ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM",
	"EACH_QUORUM", "SERIAL", "LOCAL_SERIAL", "LOCAL_ONE"}

// String returns the level's CQL name, such as LOCAL_QUORUM.
func (c Consistency) String() string {
	if int(c) < len(consistencyNames) {
		return consistencyNames[c]
	}
	return fmt.Sprintf("Consistency(%d)", c)
}

// Validate reports a value that is none of the levels above (zero is valid: the
// default).
func (c Consistency) Validate() error {
	if int(c) >= len(consistencyNames) {
		return fmt.Errorf("%w: %s is not a consistency level", ErrInvalidValue, c)
	}
	return nil
}

// driver returns the driver's level for c: the levels are the protocol's codes, but
// for ANY (code zero, for writes only), which is left out so that zero can mean the
// default.
func (c Consistency) driver() gocql.Consistency { return gocql.Consistency(c) }
