package migrate

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// TestRetryLWT checks the one automatic LWT retry: which errors run the lightweight
// transaction again, and when a conflict counts as the earlier attempt's success. The
// errors are the ORM's own sentinels, as a write to the migrations table returns them.
func TestRetryLWT(t *testing.T) {
	uncertain := fmt.Errorf("orm: lwt insert schema_migrations: %w", orm.ErrUncertain)
	unavailable := fmt.Errorf("orm: lwt insert schema_migrations: %w", orm.ErrUnavailable)
	conflict := &orm.ConflictError{Table: "schema_migrations", Op: "insert"}
	invalid := fmt.Errorf("orm: insert schema_migrations: %w", orm.ErrInvalidQuery)
	tests := []struct {
		name     string
		results  []error // what each attempt returns
		want     error   // nil for success
		attempts int
	}{
		{"success", []error{nil}, nil, 1},
		{"first conflict is real", []error{conflict}, orm.ErrConflict, 1},
		{"conflict after uncertain: it applied", []error{uncertain, conflict}, nil, 2},
		{"conflict after unavailable is real", []error{unavailable, conflict}, orm.ErrConflict, 2},
		{"uncertain then success", []error{uncertain, nil}, nil, 2},
		{"invalid is not retried", []error{invalid}, orm.ErrInvalidQuery, 1},
		{"gives up after three", []error{uncertain, uncertain, uncertain, nil}, orm.ErrUncertain, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			err := retryLWT(t.Context(), func() error {
				n++
				return tc.results[n-1]
			})
			if n != tc.attempts {
				t.Errorf("%d attempts, want %d", n, tc.attempts)
			}
			if (tc.want == nil) != (err == nil) || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("retryLWT = %v, want %v", err, tc.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := retryLWT(ctx, func() error { return uncertain }); !errors.Is(err, context.Canceled) || !errors.Is(err, orm.ErrUncertain) {
		t.Errorf("with ctx done: %v", err)
	}
}
