package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Backoff is an exponential backoff with jitter: the wait before retry n
// (counted from 0) is drawn between half and all of Initial*2^n, capped at
// Max. The jitter makes competing writers fall out of step. The zero Backoff
// does not wait.
type Backoff struct {
	// Initial is the base of the first wait.
	Initial time.Duration
	// Max caps every wait; zero means Initial*2^10.
	Max time.Duration
}

// Delay returns the wait before retry attempt (0 for the first retry).
func (b Backoff) Delay(attempt int) time.Duration {
	if b.Initial <= 0 {
		return 0
	}
	maxDelay := b.Max
	if maxDelay <= 0 {
		maxDelay = b.Initial << 10
	}
	d := b.Initial
	for i := 0; i < attempt && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	return d/2 + rand.N(d/2+1)
}

// Validate reports a negative duration or a Max below Initial.
func (b Backoff) Validate() error {
	switch {
	case b.Initial < 0 || b.Max < 0:
		return fmt.Errorf("retry: backoff %v..%v: negative duration", b.Initial, b.Max)
	case b.Max > 0 && b.Max < b.Initial:
		return fmt.Errorf("retry: backoff Max %v is below Initial %v", b.Max, b.Initial)
	}
	return nil
}

// Policy says which errors of an operation are worth running it again, and how
// often. Its zero fields take the defaults documented on each.
type Policy struct {
	// If reports whether err is worth another attempt. Required: there is no
	// error that is safe to retry for every operation. On builds one.
	If func(err error) bool
	// MaxAttempts is the most times the operation runs, the first included.
	// Default 3.
	MaxAttempts int
	// Backoff spaces the attempts. Default 10 ms doubling up to 1 s, with jitter.
	Backoff Backoff
}

// withDefaults returns p with its zero fields set to their defaults.
func (p Policy) withDefaults() Policy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = 3
	}
	if p.Backoff == (Backoff{}) {
		p.Backoff = Backoff{Initial: 10 * time.Millisecond, Max: time.Second}
	}
	return p
}

// Validate reports a Policy that cannot run: no If, a negative MaxAttempts or an
// invalid Backoff.
func (p Policy) Validate() error {
	switch {
	case p.If == nil:
		return errors.New("retry: Policy.If is nil: say which errors are worth another attempt")
	case p.MaxAttempts < 0:
		return fmt.Errorf("retry: Policy.MaxAttempts %d is negative", p.MaxAttempts)
	}
	return p.Backoff.Validate()
}

// On returns a predicate for Policy.If that accepts the errors that match one of
// targets with errors.Is.
func On(targets ...error) func(error) bool {
	return func(err error) bool {
		for _, t := range targets {
			if errors.Is(err, t) {
				return true
			}
		}
		return false
	}
}

// Do runs fn, and runs it again while it fails with an error that p.If accepts,
// up to p.MaxAttempts in all, waiting p.Backoff between attempts. attempt counts
// from 1. Do returns nil on the first success; otherwise the last error (wrapped
// with the number of attempts when they ran out), or an error wrapping both the
// last error and ctx's if ctx ends during a wait. It returns p's Validate error
// without running fn if p is invalid.
func Do(ctx context.Context, p Policy, fn func(ctx context.Context, attempt int) error) error {
	p = p.withDefaults()
	if err := p.Validate(); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		err := fn(ctx, attempt)
		switch {
		case err == nil || !p.If(err):
			return err
		case attempt >= p.MaxAttempts:
			return fmt.Errorf("retry: gave up after %d attempts: %w", attempt, err)
		}
		t := time.NewTimer(p.Backoff.Delay(attempt - 1))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("retry: stopped after attempt %d (%w): %w", attempt, err, ctx.Err())
		case <-t.C:
		}
	}
}
