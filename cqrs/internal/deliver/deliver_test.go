package deliver

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	errFail := errors.New("fail")
	for _, tc := range []struct {
		name       string
		fails      int  // calls that fail before one succeeds; -1: all fail
		cancelAt   int  // cancel ctx during this call; 0: never
		cancelled  bool // ctx done before the first call
		wantAcked  bool
		wantCalls  int
		wantErrors int
	}{
		{"first call acks", 0, 0, false, true, 1, 0},
		{"acks after failures", 3, 0, false, true, 4, 3},
		{"cancelled while failing", -1, 2, false, false, 2, 1},
		{"cancelled before the first call", 0, 0, true, false, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tc.cancelled {
				cancel()
			}
			calls, reported := 0, 0
			acked := Until(ctx, func(context.Context) error {
				calls++
				if calls == tc.cancelAt {
					cancel()
				}
				if tc.fails < 0 || calls <= tc.fails {
					return errFail
				}
				return nil
			}, func(int) time.Duration { return time.Millisecond }, func(n int, err error) {
				reported++
				if n != reported || err != errFail {
					t.Errorf("onError(%d, %v), want (%d, %v)", n, err, reported, errFail)
				}
			})
			if acked != tc.wantAcked || calls != tc.wantCalls || reported != tc.wantErrors {
				t.Errorf("acked %v after %d calls and %d reports; want %v, %d, %d",
					acked, calls, reported, tc.wantAcked, tc.wantCalls, tc.wantErrors)
			}
		})
	}
}
