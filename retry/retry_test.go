package retry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/retry"
)

var (
	errTransient = errors.New("transient")
	errFatal     = errors.New("fatal")
)

func TestDo(t *testing.T) {
	fast := retry.Backoff{Initial: time.Microsecond, Max: time.Microsecond}
	for _, tc := range []struct {
		name     string
		policy   retry.Policy
		fails    []error // the errors of the first attempts, then success
		attempts int
		want     error
	}{
		{"success first", retry.Policy{If: retry.On(errTransient), Backoff: fast}, nil, 1, nil},
		{"transient then success", retry.Policy{If: retry.On(errTransient), Backoff: fast}, []error{errTransient, errTransient}, 3, nil},
		{"fatal is not retried", retry.Policy{If: retry.On(errTransient), Backoff: fast}, []error{errFatal}, 1, errFatal},
		{"attempts run out", retry.Policy{If: retry.On(errTransient), MaxAttempts: 2, Backoff: fast}, []error{errTransient, errTransient, errTransient}, 2, errTransient},
		{"default three attempts", retry.Policy{If: retry.On(errTransient), Backoff: fast}, []error{errTransient, errTransient, errTransient, errTransient}, 3, errTransient},
		{"one of several targets", retry.Policy{If: retry.On(errFatal, errTransient), Backoff: fast}, []error{errFatal}, 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			err := retry.Do(t.Context(), tc.policy, func(ctx context.Context, attempt int) error {
				n++
				if attempt != n {
					t.Fatalf("attempt %d, want %d", attempt, n)
				}
				if n <= len(tc.fails) {
					return tc.fails[n-1]
				}
				return nil
			})
			if n != tc.attempts {
				t.Fatalf("ran %d times, want %d", n, tc.attempts)
			}
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDoStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	n := 0
	err := retry.Do(ctx, retry.Policy{If: retry.On(errTransient), MaxAttempts: 100, Backoff: retry.Backoff{Initial: time.Hour}},
		func(ctx context.Context, attempt int) error {
			n++
			cancel()
			return errTransient
		})
	if n != 1 || !errors.Is(err, context.Canceled) || !errors.Is(err, errTransient) {
		t.Fatalf("ran %d times, err %v; want 1 run and an error wrapping both causes", n, err)
	}
}

func TestPolicyValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    retry.Policy
		ok   bool
	}{
		{"no If", retry.Policy{}, false},
		{"negative attempts", retry.Policy{If: retry.On(errTransient), MaxAttempts: -1}, false},
		{"negative backoff", retry.Policy{If: retry.On(errTransient), Backoff: retry.Backoff{Initial: -time.Second}}, false},
		{"multiplier below 1", retry.Policy{If: retry.On(errTransient), Backoff: retry.Backoff{Initial: time.Second, Multiplier: 0.5}}, false},
		{"jitter above 1", retry.Policy{If: retry.On(errTransient), Backoff: retry.Backoff{Initial: time.Second, Jitter: 1.5}}, false},
		{"multiplier and jitter", retry.Policy{If: retry.On(errTransient), Backoff: retry.Backoff{Initial: time.Second, Multiplier: 1.5, Jitter: 0.2}}, true},
		{"max below initial", retry.Policy{If: retry.On(errTransient), Backoff: retry.Backoff{Initial: time.Second, Max: time.Millisecond}}, false},
		{"defaults", retry.Policy{If: retry.On(errTransient)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			ran := false
			derr := retry.Do(t.Context(), tc.p, func(context.Context, int) error { ran = true; return nil })
			if ran == (err != nil) || (derr == nil) != tc.ok {
				t.Fatalf("Do ran=%v err=%v with an invalid=%v policy", ran, derr, err != nil)
			}
		})
	}
}

func TestBackoffDelay(t *testing.T) {
	b := retry.Backoff{Initial: 10 * time.Millisecond, Max: 80 * time.Millisecond}
	for attempt, want := range []time.Duration{10, 20, 40, 80, 80, 80} {
		want *= time.Millisecond
		for range 50 {
			if d := b.Delay(attempt); d < want/2 || d > want {
				t.Fatalf("Delay(%d) = %v, want within [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
	if d := (retry.Backoff{}).Delay(1000); d != 0 {
		t.Fatalf("zero Backoff waits %v", d)
	}
	// With no Max the cap is Initial*2^10, however many attempts.
	if d := (retry.Backoff{Initial: time.Millisecond}).Delay(1000); d < 512*time.Millisecond || d > 1024*time.Millisecond {
		t.Fatalf("Delay(1000) with no Max = %v, want within [512ms, 1024ms]", d)
	}
}

func TestBackoffMultiplierAndJitter(t *testing.T) {
	tests := []struct {
		name     string
		b        retry.Backoff
		attempt  int
		min, max time.Duration
	}{
		{"no jitter is exact", retry.Backoff{Initial: 100 * time.Millisecond, Multiplier: 3, Jitter: -1}, 2, 900 * time.Millisecond, 900 * time.Millisecond},
		{"jitter 0.2 keeps 80 percent", retry.Backoff{Initial: 100 * time.Millisecond, Multiplier: 3, Jitter: 0.2}, 2, 720 * time.Millisecond, 900 * time.Millisecond},
		{"capped by Max", retry.Backoff{Initial: 100 * time.Millisecond, Max: 250 * time.Millisecond, Multiplier: 3, Jitter: -1}, 5, 250 * time.Millisecond, 250 * time.Millisecond},
		{"multiplier 1 is constant", retry.Backoff{Initial: 40 * time.Millisecond, Multiplier: 1, Jitter: -1}, 7, 40 * time.Millisecond, 40 * time.Millisecond},
		{"huge multiplier does not overflow", retry.Backoff{Initial: time.Hour, Multiplier: 1e6, Jitter: -1}, 3, time.Hour, time.Duration(1 << 62)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 50 {
				if d := tc.b.Delay(tc.attempt); d < tc.min || d > tc.max {
					t.Fatalf("Delay(%d) = %v, want within [%v, %v]", tc.attempt, d, tc.min, tc.max)
				}
			}
		})
	}
}
