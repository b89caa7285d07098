package retry_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cassandraorm/cassandraorm-go/retry"
)

func ExampleDo() {
	errBusy := errors.New("busy")
	p := retry.Policy{If: retry.On(errBusy), MaxAttempts: 5, Backoff: retry.Backoff{Initial: time.Millisecond}}
	err := retry.Do(context.Background(), p, func(ctx context.Context, attempt int) error {
		fmt.Println("attempt", attempt)
		if attempt < 3 {
			return errBusy
		}
		return nil
	})
	fmt.Println("err:", err)
	// Output:
	// attempt 1
	// attempt 2
	// attempt 3
	// err: <nil>
}
