package orm

import (
	"errors"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

func TestConsistencyToDriver(t *testing.T) {
	tests := []struct {
		c    Consistency
		want gocql.Consistency
		name string
	}{
		{One, gocql.One, "ONE"},
		{Two, gocql.Two, "TWO"},
		{Three, gocql.Three, "THREE"},
		{Quorum, gocql.Quorum, "QUORUM"},
		{All, gocql.All, "ALL"},
		{LocalQuorum, gocql.LocalQuorum, "LOCAL_QUORUM"},
		{EachQuorum, gocql.EachQuorum, "EACH_QUORUM"},
		{Serial, gocql.Serial, "SERIAL"},
		{LocalSerial, gocql.LocalSerial, "LOCAL_SERIAL"},
		{LocalOne, gocql.LocalOne, "LOCAL_ONE"},
	}
	for _, tc := range tests {
		if got := tc.c.driver(); got != tc.want {
			t.Errorf("%s.driver() = %v, want %v", tc.c, got, tc.want)
		}
		if tc.c.String() != tc.name || tc.c.Validate() != nil {
			t.Errorf("%d: String %q, Validate %v", tc.c, tc.c, tc.c.Validate())
		}
	}
	if err := Consistency(42).Validate(); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("Consistency(42).Validate() = %v", err)
	}
}
