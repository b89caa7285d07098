package cqrs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Logging logs every dispatched command with l: its type, how long it
// took and, at level Error, the error it returned; successes at level
// Debug.
func Logging(l *slog.Logger) Middleware {
	return func(next Dispatcher) Dispatcher {
		return func(ctx context.Context, cmd any) error {
			start := time.Now()
			err := next(ctx, cmd)
			attrs := []slog.Attr{slog.String("command", fmt.Sprintf("%T", cmd)), slog.Duration("duration", time.Since(start))}
			if err != nil {
				l.LogAttrs(ctx, slog.LevelError, "cqrs: command failed", append(attrs, slog.Any("err", err))...)
			} else {
				l.LogAttrs(ctx, slog.LevelDebug, "cqrs: command handled", attrs...)
			}
			return err
		}
	}
}

// ErrInvalidCommand is wrapped, with the command's own error, by the error
// of a command that Validation refused.
var ErrInvalidCommand = errors.New("cqrs: invalid command")

// Validator is a command that can tell whether it is well formed.
type Validator interface {
	Validate() error
}

// Validation refuses commands that implement Validator and whose Validate
// returns an error: the handler does not run, and Dispatch returns an
// error that wraps both ErrInvalidCommand and Validate's error. Other
// commands pass through.
func Validation() Middleware {
	return func(next Dispatcher) Dispatcher {
		return func(ctx context.Context, cmd any) error {
			if v, ok := cmd.(Validator); ok {
				if err := v.Validate(); err != nil {
					return fmt.Errorf("%w %T: %w", ErrInvalidCommand, cmd, err)
				}
			}
			return next(ctx, cmd)
		}
	}
}

// RetryPolicy says which errors of a command are worth running it again,
// and how often.
type RetryPolicy struct {
	// If reports whether err is transient; typically a concurrency
	// conflict: IsError(eventsourcing.ErrConcurrency). Required.
	If func(err error) bool
	// MaxAttempts is the most times the command runs, the first included.
	// Default 3.
	MaxAttempts int
	// Backoff spaces the attempts. Default 10 ms doubling up to 1 s, with
	// jitter so that competing writers fall out of step.
	Backoff Backoff
}

// IsError returns a predicate for RetryPolicy.If that matches the errors
// that errors.Is(err, target).
func IsError(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

// Retry runs the rest of the chain again while it fails with an error that
// p.If accepts, up to p.MaxAttempts in all, waiting p.Backoff between
// attempts. This is the loop of optimistic concurrency: each attempt must
// load the current state again, decide again and try to append again, so
// the handler (not the caller) does the loading. Retry returns nil on the
// first success; otherwise the last error, or ctx's error if ctx ends
// during a wait. It panics if p.If is nil.
func Retry(p RetryPolicy) Middleware {
	if p.If == nil {
		panic("cqrs.Retry: RetryPolicy.If is nil")
	}
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 3
	}
	if p.Backoff == (Backoff{}) {
		p.Backoff = Backoff{Initial: 10 * time.Millisecond, Max: time.Second}
	}
	return func(next Dispatcher) Dispatcher {
		return func(ctx context.Context, cmd any) error {
			for attempt := 1; ; attempt++ {
				err := next(ctx, cmd)
				if err == nil || attempt >= p.MaxAttempts || !p.If(err) {
					return err
				}
				t := time.NewTimer(p.Backoff.Delay(attempt - 1))
				select {
				case <-ctx.Done():
					t.Stop()
					return fmt.Errorf("cqrs: retry %T after attempt %d (%w): %w", cmd, attempt, err, ctx.Err())
				case <-t.C:
				}
			}
		}
	}
}
