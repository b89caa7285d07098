package orm

import (
	"fmt"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// Duration is a Cassandra duration: months, days and nanoseconds, kept apart because a
// month has no fixed length and a day may not have 24 hours. All three have the same
// sign.
type Duration struct {
	Months      int32
	Days        int32
	Nanoseconds int64
}

// MarshalCQL lets the driver bind d to a duration value. It is called by the driver,
// not by users.
func (d Duration) MarshalCQL(info gocql.TypeInfo) ([]byte, error) {
	if info.Type() != gocql.TypeDuration {
		return nil, gocql.MarshalError(fmt.Sprintf("orm: cannot bind a Duration to CQL type %v", info))
	}
	return gocql.Marshal(info, gocql.Duration(d))
}

// UnmarshalCQL lets the driver scan a duration value into d; null scans as zero. It is
// called by the driver, not by users.
func (d *Duration) UnmarshalCQL(info gocql.TypeInfo, data []byte) error {
	if info.Type() != gocql.TypeDuration {
		return gocql.UnmarshalError(fmt.Sprintf("orm: cannot scan CQL type %v into a Duration", info))
	}
	var g gocql.Duration
	if err := gocql.Unmarshal(info, data, &g); err != nil {
		return err
	}
	*d = Duration(g)
	return nil
}
