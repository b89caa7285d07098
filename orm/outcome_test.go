package orm

import (
	"context"
	"errors"
	"fmt"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// TestOutcome checks which driver errors leave a write's outcome unknown.
func TestOutcome(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		uncertain bool
	}{
		{"write timeout", &gocql.RequestErrWriteTimeout{WriteType: "CAS"}, true},
		{"read timeout in a paxos round", &gocql.RequestErrReadTimeout{}, true},
		{"cas write unknown", &gocql.RequestErrCASWriteUnknown{}, true},
		{"write failure", &gocql.RequestErrWriteFailure{}, true},
		{"no response", gocql.ErrTimeoutNoResponse, true},
		{"connection closed", gocql.ErrConnectionClosed, true},
		{"deadline", context.DeadlineExceeded, true},
		{"canceled", context.Canceled, true},
		{"wrapped timeout", fmt.Errorf("x: %w", &gocql.RequestErrWriteTimeout{}), true},
		{"unavailable", &gocql.RequestErrUnavailable{}, false},
		{"overloaded", &gocql.RequestErrOverloaded{}, false},
		{"invalid", &gocql.RequestErrInvalid{}, false},
		{"syntax", &gocql.RequestErrSyntax{}, false},
		{"unauthorized", &gocql.RequestErrUnauthorized{}, false},
		{"unprepared", &gocql.RequestErrUnprepared{}, false},
		{"marshal", gocql.MarshalError("can not marshal"), false},
		{"no hosts", gocql.ErrNoConnections, false},
		{"session closed", gocql.ErrSessionClosed, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := outcome(tc.err)
			if errors.Is(got, ErrUncertain) != tc.uncertain {
				t.Fatalf("outcome(%v): uncertain = %v, want %v", tc.err, !tc.uncertain, tc.uncertain)
			}
			if !errors.Is(got, tc.err) {
				t.Fatalf("outcome(%v) = %v: does not wrap the driver's error", tc.err, got)
			}
			if errors.Is(got, ErrConflict) {
				t.Fatalf("outcome(%v) is a conflict", tc.err)
			}
		})
	}
	if outcome(nil) != nil {
		t.Fatal("outcome(nil) != nil")
	}
}
