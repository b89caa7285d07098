package orm

import (
	"errors"
	"fmt"
	"strings"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

// Sentinel errors. Every error the package returns wraps one of these, together with
// the table, key, column or statement it concerns, so callers test with errors.Is
// without importing the driver, and read the details from the message. A driver error
// stays wrapped underneath, for errors.As. The exceptions are errors of user code the
// ORM calls (hooks, migrations), returned wrapped as they are, and ctx's own error when
// a read is cancelled.
var (
	// ErrNotFound is returned by Get and FindOne when no row matches.
	ErrNotFound = errors.New("orm: not found")
	// ErrConflict is returned when a lightweight transaction was not applied: the row
	// already exists, a condition did not hold, or a unique value is taken.
	ErrConflict = errors.New("orm: conflict")
	// ErrInvalidIdentifier is returned for a keyspace, table or column name that is not a
	// plain Cassandra identifier.
	ErrInvalidIdentifier = errors.New("orm: invalid identifier")
	// ErrUnknownColumn is returned when a query names a column the model does not have.
	ErrUnknownColumn = errors.New("orm: unknown column")
	// ErrInvalidModel is returned when a Go struct cannot be mapped faithfully to a table.
	ErrInvalidModel = errors.New("orm: invalid model")
	// ErrInvalidQuery is returned when a query cannot be built: a predicate on a column
	// that does not support it, an ORDER BY on a non-clustering column, and the like.
	ErrInvalidQuery = errors.New("orm: invalid query")
	// ErrFiltering is returned when a query has no efficient access path (it restricts
	// neither the partition key nor an indexed column) and would need ALLOW FILTERING.
	ErrFiltering = errors.New("orm: query needs ALLOW FILTERING")
	// ErrInvalidValue is returned when a value cannot be written as given, such as a
	// vector of the wrong dimension or a nil partition key.
	ErrInvalidValue = errors.New("orm: invalid value")
	// ErrValidation is returned when a model fails its field validation.
	ErrValidation = errors.New("orm: validation failed")
	// ErrUnsafeSchemaChange is returned by schema sync when a live table differs from
	// its model in a way that cannot be changed in place (a type or key change).
	ErrUnsafeSchemaChange = errors.New("orm: unsafe schema change")
	// ErrBatchTooLarge is returned when a batch exceeds its guardrails.
	ErrBatchTooLarge = errors.New("orm: batch too large")
	// ErrDetached is returned by every call that would run a statement on a DB made by
	// Detached, which has no session.
	ErrDetached = errors.New("orm: the DB is detached: it builds statements but runs none")
	// ErrUncertain is matched by the error of a write whose outcome is unknown: it
	// was sent, and no answer says whether it applied (a write or read timeout,
	// CAS_WRITE_UNKNOWN, a write failure on some replicas, a lost connection, or ctx
	// ending while it was in flight). The write may have applied, now or later. For a
	// lightweight transaction, settle it by reading with Serial consistency; for a
	// plain idempotent write, by writing it again. It is never a conflict.
	ErrUncertain = errors.New("orm: outcome unknown")
	// ErrUnavailable is matched by the error of a statement the cluster refused for
	// want of capacity: not enough live replicas for the consistency level, an
	// overloaded or bootstrapping coordinator, no connection to any host. The
	// statement certainly did not apply; it is worth trying again later.
	ErrUnavailable = errors.New("orm: cluster unavailable")
	// ErrTimeout is matched by the error of a read that got no answer in time (a read
	// timeout on the replicas, or the driver's request timeout). Reads may be tried
	// again; a write that times out is ErrUncertain instead.
	ErrTimeout = errors.New("orm: timeout")
	// ErrUnauthorized is matched by the error of a statement the server refused for
	// want of permissions or credentials.
	ErrUnauthorized = errors.New("orm: unauthorized")
	// ErrClosed is matched by the error of a statement run on a closed DB.
	ErrClosed = errors.New("orm: DB closed")
)

// classify wraps err, a driver error, with the sentinel that says what it means, the
// driver error staying underneath: ErrUnavailable, ErrTimeout, ErrUnauthorized,
// ErrInvalidValue (a value the driver cannot marshal), ErrInvalidQuery (a statement
// the server refuses as invalid) or ErrClosed. Errors already classified, ctx's errors and
// ErrNotFound-like driver errors the caller handles are returned as they are.
func classify(err error) error {
	if err == nil {
		return nil
	}
	for _, s := range []error{ErrUncertain, ErrUnavailable, ErrTimeout, ErrUnauthorized, ErrInvalidValue, ErrInvalidQuery, ErrClosed} {
		if errors.Is(err, s) {
			return err
		}
	}
	var (
		unavailable *gocql.RequestErrUnavailable
		overloaded  *gocql.RequestErrOverloaded
		booting     *gocql.RequestErrBootstrapping
		unprepared  *gocql.RequestErrUnprepared
		readTimeout *gocql.RequestErrReadTimeout
		readFailure *gocql.RequestErrReadFailure
		invalid     *gocql.RequestErrInvalid
		syntax      *gocql.RequestErrSyntax
		config      *gocql.RequestErrConfig
		exists      *gocql.RequestErrAlreadyExists
		function    *gocql.RequestErrFunctionFailure
		unauth      *gocql.RequestErrUnauthorized
		creds       *gocql.RequestErrCredentials
		marshal     gocql.MarshalError
		unmarshal   gocql.UnmarshalError
	)
	switch {
	case errors.As(err, &unavailable), errors.As(err, &overloaded), errors.As(err, &booting),
		errors.As(err, &unprepared), errors.Is(err, gocql.ErrNoConnections), errors.Is(err, gocql.ErrNoStreams),
		errors.Is(err, gocql.ErrNoConnectionsStarted):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	case errors.As(err, &readTimeout), errors.As(err, &readFailure), errors.Is(err, gocql.ErrTimeoutNoResponse):
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	case errors.As(err, &unauth), errors.As(err, &creds):
		return fmt.Errorf("%w: %w", ErrUnauthorized, err)
	case errors.As(err, &marshal), errors.As(err, &unmarshal):
		return fmt.Errorf("%w: %w", ErrInvalidValue, err)
	case errors.As(err, &invalid), errors.As(err, &syntax), errors.As(err, &config), errors.As(err, &exists),
		errors.As(err, &function):
		return fmt.Errorf("%w: %w", ErrInvalidQuery, err)
	case errors.Is(err, gocql.ErrSessionClosed):
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}

// outcome marks err, the error of a write statement the driver tried to send, as
// ErrUncertain unless it is a refusal that proves nothing was applied: the server
// rejecting the request before executing it (unavailable replicas, overload, a
// syntax, invalid-request, unauthorized or unprepared error), or the driver failing
// before sending (no connection, a value it could not marshal).
func outcome(err error) error {
	if err == nil || errors.Is(err, ErrUncertain) {
		return err
	}
	c := classify(err)
	for _, refusal := range []error{ErrUnavailable, ErrUnauthorized, ErrInvalidValue, ErrInvalidQuery, ErrClosed} {
		if errors.Is(c, refusal) {
			return c
		}
	}
	return uncertainError{err}
}

// uncertainError wraps the error of a write whose outcome is unknown.
type uncertainError struct{ err error }

func (e uncertainError) Error() string        { return "outcome unknown: " + e.err.Error() }
func (e uncertainError) Unwrap() error        { return e.err }
func (e uncertainError) Is(target error) bool { return target == ErrUncertain }

// ConflictError reports a lightweight transaction that was not applied. It matches
// ErrConflict with errors.Is.
type ConflictError struct {
	// Table is the table the statement was written against.
	Table string
	// Op is the operation: "insert", "update", "delete" or "unique".
	Op string
	// Key describes the primary key (or unique value) concerned, as column=value pairs.
	Key string
	// Constraint names the unique constraint that was violated, if any.
	Constraint string
	// Current holds the row as the server saw it when the condition failed: a *T for a
	// Model[T], or nil when the server returned no row (for example, DELETE IF EXISTS on
	// a missing row).
	Current any
}

// Error implements error.
func (e *ConflictError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "orm: conflict: %s %s", e.Op, e.Table)
	if e.Key != "" {
		fmt.Fprintf(&b, " (%s)", e.Key)
	}
	switch {
	case e.Constraint != "":
		fmt.Fprintf(&b, ": unique constraint %s already taken", e.Constraint)
	case e.Op == "insert":
		b.WriteString(": row already exists")
	default:
		b.WriteString(": condition not met")
	}
	return b.String()
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// ValidationError lists the fields of a model that failed validation. It matches
// ErrValidation with errors.Is.
type ValidationError struct {
	// Table is the model's table.
	Table string
	// Fields maps a column name to what is wrong with it.
	Fields []FieldError
}

// FieldError is one failed rule on one column.
type FieldError struct {
	Column string
	Rule   string
	Msg    string
}

// Error implements error.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Column + ": " + f.Msg
	}
	return fmt.Sprintf("orm: validation failed for %s: %s", e.Table, strings.Join(parts, "; "))
}

// Is makes errors.Is(err, ErrValidation) true.
func (e *ValidationError) Is(target error) bool { return target == ErrValidation }
