package retry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Backoff is an exponential backoff with jitter: the wait before retry n
// (counted from 0) is Initial*Multiplier^n, capped at Max, of which a share
// Jitter is drawn at random (by default between half and all of it). The
// jitter makes competing writers fall out of step. The zero Backoff does not
// wait.
type Backoff struct {
	// Initial is the base of the first wait.
	Initial time.Duration
	// Max caps every wait; zero means Initial*Multiplier^10.
	Max time.Duration
	// Multiplier grows the wait from one retry to the next; zero means 2, and
	// below 1 is invalid.
	Multiplier float64
	// Jitter is the share of each wait drawn at random: the wait lies between
	// (1-Jitter) and 1 times the computed one. Zero means 0.5; negative means no
	// jitter; above 1 is invalid.
	Jitter float64
}

// Delay returns the wait before retry attempt (0 for the first retry).
func (b Backoff) Delay(attempt int) time.Duration {
	if b.Initial <= 0 {
		return 0
	}
	mult := b.Multiplier
	if mult == 0 {
		mult = 2
	}
	maxDelay := b.Max
	if maxDelay <= 0 {
		maxDelay = time.Duration(min(float64(b.Initial)*math.Pow(mult, 10), math.MaxInt64/2))
	}
	d := float64(b.Initial)
	for i := 0; i < attempt && d < float64(maxDelay); i++ {
		d *= mult
	}
	d = min(d, float64(maxDelay))
	jitter := b.Jitter
	switch {
	case jitter == 0:
		jitter = 0.5
	case jitter < 0:
		return time.Duration(d)
	}
	fixed := time.Duration(d * (1 - jitter))
	return fixed + rand.N(time.Duration(d)-fixed+1)
}

// Validate reports a negative duration, a Max below Initial, a Multiplier
// below 1 or a Jitter above 1.
func (b Backoff) Validate() error {
	switch {
	case b.Initial < 0 || b.Max < 0:
		return fmt.Errorf("retry: backoff %v..%v: negative duration", b.Initial, b.Max)
	case b.Max > 0 && b.Max < b.Initial:
		return fmt.Errorf("retry: backoff Max %v is below Initial %v", b.Max, b.Initial)
	case b.Multiplier != 0 && !(b.Multiplier >= 1):
		return fmt.Errorf("retry: backoff Multiplier %v is below 1", b.Multiplier)
	case b.Jitter > 1 || math.IsNaN(b.Jitter):
		return fmt.Errorf("retry: backoff Jitter %v is above 1", b.Jitter)
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
