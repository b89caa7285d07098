package cqrs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cassandraorm/cassandraorm-go/retry"
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

// Retry returns a middleware that runs the rest of the chain again while it
// fails with an error that p.If accepts (retry.On(eventsourcing.ErrConcurrency),
// typically), up to p.MaxAttempts in all, waiting p.Backoff between attempts;
// p's zero fields take the defaults of retry.Policy. This is the loop of
// optimistic concurrency: each attempt must load the current state again,
// decide again and try to append again, so the handler (not the caller) does
// the loading.
//
// The middleware returns nil on the first success and the handler's error
// as it is when no retry was made; when the attempts run out, or ctx ends
// during a wait, an error naming the command and wrapping the last error
// (and ctx's). Retry returns an error, and no middleware, if p is invalid
// (see retry.Policy.Validate).
func Retry(p retry.Policy) (Middleware, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("cqrs: retry middleware: %w", err)
	}
	return func(next Dispatcher) Dispatcher {
		return func(ctx context.Context, cmd any) error {
			var last error
			err := retry.Do(ctx, p, func(ctx context.Context, _ int) error {
				last = next(ctx, cmd)
				return last
			})
			if err != nil && err != last {
				return fmt.Errorf("cqrs: dispatch %T: %w", cmd, err)
			}
			return err
		}
	}, nil
}
