package saga

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound is returned for a saga id that has no saga.
	ErrNotFound = errors.New("saga: not found")
	// ErrExists is returned by Start with an id that already names a saga.
	ErrExists = errors.New("saga: already exists")
	// ErrCompensated is matched by Execute's and Wait's error for a saga that did not
	// complete and was compensated.
	ErrCompensated = errors.New("saga: compensated")
	// ErrCompensationFailed is matched by Execute's and Wait's error for a saga that
	// parked because a compensation kept failing: it needs an operator.
	ErrCompensationFailed = errors.New("saga: compensation failed")
	// ErrStepTimeout is the error recorded for an attempt that did not finish by its
	// deadline (its worker may have died): the step may have run.
	ErrStepTimeout = errors.New("saga: step timed out")
	// ErrSagaTimeout is the reason recorded for a saga whose own deadline passed.
	ErrSagaTimeout = errors.New("saga: saga timed out")
	// ErrUnknownDefinition is returned for a stored saga whose definition is not
	// registered with the Orchestrator that found it.
	ErrUnknownDefinition = errors.New("saga: unknown definition")
)

// Permanent wraps err so that the saga does not retry the step: it starts
// compensating at once. Use it for definite refusals (a declined card, an invalid
// order), which also tell the saga the attempt had no effect: a step whose only
// attempts failed permanently is not compensated. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was made with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

type permanentError struct{ err error }

func (e permanentError) Error() string { return "permanent: " + e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// OutcomeError is Execute's and Wait's error for a saga that ended other than
// Completed. It matches ErrCompensated or ErrCompensationFailed.
type OutcomeError struct {
	// Info is the saga as it ended.
	Info Info
}

// Error implements error.
func (e *OutcomeError) Error() string {
	return fmt.Sprintf("saga %s %s: %s: %s", e.Info.Name, e.Info.ID, e.Info.Status, e.Info.Reason)
}

// Is matches the sentinel of the saga's status.
func (e *OutcomeError) Is(target error) bool {
	switch e.Info.Status {
	case Compensated:
		return target == ErrCompensated
	case CompensationFailed:
		return target == ErrCompensationFailed
	}
	return false
}
