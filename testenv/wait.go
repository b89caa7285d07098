package testenv

import (
	"errors"
	"testing"
	"time"
)

// WaitFor calls cond until it returns nil and fails t with cond's last error
// if that has not happened within timeout, or when the test's context ends.
// It is how tests wait for something to happen (a message delivered, a lag
// or a TTL passed, another goroutine or process at a given point), instead
// of sleeping for a guessed time: it returns as soon as the condition
// holds, and a slow machine only makes it wait longer, never fail. It waits
// 5 ms before the second call, doubling up to 200 ms between later ones.
// Call it from the test's goroutine.
func WaitFor(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	pause := 5 * time.Millisecond
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-deadline.C:
			t.Fatalf("testenv: still not so after %v: %v", timeout, err)
		case <-t.Context().Done():
			t.Fatalf("testenv: test ended while waiting: %v", err)
		case <-time.After(pause):
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
}

// WaitUntil is WaitFor for a condition that is simply true or false: it fails t
// with what if cond has not become true within timeout.
func WaitUntil(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	WaitFor(t, timeout, func() error {
		if cond() {
			return nil
		}
		return errors.New(what)
	})
}
