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
		sentinel  error // what a refusal is classified as
	}{
		{"write timeout", &gocql.RequestErrWriteTimeout{WriteType: "CAS"}, true, nil},
		{"read timeout in a paxos round", &gocql.RequestErrReadTimeout{}, true, nil},
		{"cas write unknown", &gocql.RequestErrCASWriteUnknown{}, true, nil},
		{"write failure", &gocql.RequestErrWriteFailure{}, true, nil},
		{"no response", gocql.ErrTimeoutNoResponse, true, nil},
		{"connection closed", gocql.ErrConnectionClosed, true, nil},
		{"deadline", context.DeadlineExceeded, true, nil},
		{"canceled", context.Canceled, true, nil},
		{"wrapped timeout", fmt.Errorf("x: %w", &gocql.RequestErrWriteTimeout{}), true, nil},
		{"unavailable", &gocql.RequestErrUnavailable{}, false, ErrUnavailable},
		{"overloaded", &gocql.RequestErrOverloaded{}, false, ErrUnavailable},
		{"invalid", &gocql.RequestErrInvalid{}, false, ErrInvalidQuery},
		{"syntax", &gocql.RequestErrSyntax{}, false, ErrInvalidQuery},
		{"unauthorized", &gocql.RequestErrUnauthorized{}, false, ErrUnauthorized},
		{"unprepared", &gocql.RequestErrUnprepared{}, false, ErrUnavailable},
		{"marshal", gocql.MarshalError("can not marshal"), false, ErrInvalidValue},
		{"no hosts", gocql.ErrNoConnections, false, ErrUnavailable},
		{"session closed", gocql.ErrSessionClosed, false, ErrClosed},
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
			if tc.sentinel != nil && !errors.Is(got, tc.sentinel) {
				t.Fatalf("outcome(%v) = %v: does not match %v", tc.err, got, tc.sentinel)
			}
		})
	}
	if outcome(nil) != nil {
		t.Fatal("outcome(nil) != nil")
	}
}

// TestClassifyRead checks the sentinels of read errors, which are never uncertain.
func TestClassifyRead(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want error
	}{
		{&gocql.RequestErrReadTimeout{}, ErrTimeout},
		{gocql.ErrTimeoutNoResponse, ErrTimeout},
		{&gocql.RequestErrUnavailable{}, ErrUnavailable},
		{&gocql.RequestErrInvalid{}, ErrInvalidQuery},
		{gocql.UnmarshalError("x"), ErrInvalidValue},
	} {
		got := classify(tc.err)
		if !errors.Is(got, tc.want) || !errors.Is(got, tc.err) || errors.Is(got, ErrUncertain) {
			t.Errorf("classify(%T) = %v; want %v wrapping it", tc.err, got, tc.want)
		}
	}
	if classify(nil) != nil {
		t.Fatal("classify(nil) != nil")
	}
}
