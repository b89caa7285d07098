// Package deliver holds the redelivery loop that every event bus transport
// of cqrs runs for one message, so that all of them retry, and give up on
// poison messages, the same way. It runs on retry.Do.
package deliver

import (
	"context"
	"math"

	"github.com/cassandraorm/cassandraorm-go/retry"
)

// Policy says how one message is delivered again after its handler fails.
type Policy struct {
	// Backoff spaces the deliveries.
	Backoff retry.Backoff
	// MaxDeliveries is the most times the handler is called for the
	// message; -1 for no limit. Required.
	MaxDeliveries int
	// Permanent reports the errors that make the message poison at once.
	// Required.
	Permanent func(error) bool
	// OnRetry, if not nil, is called after each failed call that will be
	// followed by another, with the number of calls so far.
	OnRetry func(deliveries int, err error)
}

// Result is how Until ended.
type Result int

const (
	// Stopped means ctx ended first: the message is not acknowledged, and
	// not poison either.
	Stopped Result = iota
	// Acked means a call returned nil.
	Acked
	// Poisoned means the calls ran out, or one returned a permanent error.
	Poisoned
)

// Until calls handle until it returns nil (Acked), ctx is done (Stopped;
// a done ctx makes it return before the first call, and a call that fails
// once ctx is done is not counted against the message), or the message
// turns out to be poison (Poisoned, with the last error). It returns, too,
// the number of calls made.
func Until(ctx context.Context, p Policy, handle func(context.Context) error) (Result, int, error) {
	limit := p.MaxDeliveries
	if limit < 0 {
		limit = math.MaxInt
	}
	deliveries := 0
	var last error
	retriable := func(err error) bool { return ctx.Err() == nil && !p.Permanent(err) }
	err := retry.Do(ctx, retry.Policy{If: retriable, MaxAttempts: limit, Backoff: p.Backoff},
		func(ctx context.Context, _ int) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			deliveries++
			last = handle(ctx)
			if last != nil && p.OnRetry != nil && deliveries < limit && retriable(last) {
				p.OnRetry(deliveries, last)
			}
			return last
		})
	switch {
	case err == nil:
		return Acked, deliveries, nil
	case ctx.Err() != nil:
		return Stopped, deliveries, nil
	default:
		return Poisoned, deliveries, last
	}
}
