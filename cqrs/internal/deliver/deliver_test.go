package deliver

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/retry"
)

func TestUntil(t *testing.T) {
	errFail := errors.New("fail")
	errPoison := errors.New("poison")
	for _, tc := range []struct {
		name      string
		max       int
		fails     int   // calls that fail before one succeeds; -1: all fail
		failWith  error // the error of the failing calls; errFail if nil
		cancelAt  int   // cancel ctx during this call; 0: never
		cancelled bool  // ctx done before the first call
		want      Result
		wantCalls int
		wantRetry int // OnRetry calls
	}{
		{"first call acks", 5, 0, nil, 0, false, Acked, 1, 0},
		{"acks after failures", 5, 3, nil, 0, false, Acked, 4, 3},
		{"acks on the last delivery", 4, 3, nil, 0, false, Acked, 4, 3},
		{"poisoned after max deliveries", 3, -1, nil, 0, false, Poisoned, 3, 2},
		{"one delivery only", 1, -1, nil, 0, false, Poisoned, 1, 0},
		{"no limit", -1, 20, nil, 0, false, Acked, 21, 20},
		{"permanent error poisons at once", 5, -1, errPoison, 0, false, Poisoned, 1, 0},
		{"cancelled while failing", 5, -1, nil, 2, false, Stopped, 2, 1},
		{"cancelled during the last delivery", 2, -1, nil, 2, false, Stopped, 2, 1},
		{"cancelled before the first call", 5, 0, nil, 0, true, Stopped, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tc.cancelled {
				cancel()
			}
			failWith := tc.failWith
			if failWith == nil {
				failWith = errFail
			}
			calls, retries := 0, 0
			p := Policy{
				Backoff:       retry.Backoff{Initial: time.Microsecond, Max: time.Microsecond},
				MaxDeliveries: tc.max,
				Permanent:     func(err error) bool { return errors.Is(err, errPoison) },
				OnRetry: func(n int, err error) {
					retries++
					if n != retries || err != failWith {
						t.Errorf("OnRetry(%d, %v), want (%d, %v)", n, err, retries, failWith)
					}
				},
			}
			got, n, err := Until(ctx, p, func(context.Context) error {
				calls++
				if calls == tc.cancelAt {
					cancel()
				}
				if tc.fails < 0 || calls <= tc.fails {
					return failWith
				}
				return nil
			})
			if got != tc.want || n != calls || calls != tc.wantCalls || retries != tc.wantRetry {
				t.Errorf("Until = %v after %d calls (reported %d), %d retries; want %v, %d, %d",
					got, calls, n, retries, tc.want, tc.wantCalls, tc.wantRetry)
			}
			if (got == Poisoned) != (err != nil) || (err != nil && err != failWith) {
				t.Errorf("Until error = %v, want the last handler error exactly when poisoned", err)
			}
		})
	}
}
