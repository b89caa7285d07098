package cqrs

import (
	"math/rand/v2"
	"time"
)

// Backoff is an exponential backoff with jitter: the wait before retry n
// (counted from 0) is drawn between half and all of Initial*2^n, capped at
// Max. The zero Backoff does not wait.
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
