// Package deliver holds the redelivery loop that every event bus transport
// of cqrs runs for one message, so that all of them retry the same way.
package deliver

import (
	"context"
	"time"
)

// Until calls handle until it returns nil (the message is acknowledged:
// Until returns true) or ctx is done (Until returns false; a done ctx
// makes it return before the first call). After a failed
// call it reports the error to onError, with the number of failed calls so
// far, and waits delay(failures-1) before calling again.
func Until(ctx context.Context, handle func(context.Context) error, delay func(attempt int) time.Duration, onError func(failures int, err error)) bool {
	for failures := 0; ; {
		if ctx.Err() != nil {
			return false
		}
		err := handle(ctx)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		failures++
		onError(failures, err)
		t := time.NewTimer(delay(failures - 1))
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}
