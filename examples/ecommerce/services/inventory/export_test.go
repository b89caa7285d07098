package inventory

import (
	"context"
	"fmt"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// LoseAnswers makes s's batches end with an unknown outcome (an error matching
// orm.ErrUncertain), as a lost connection does, whenever lose says so for the
// batch's product: applied says whether the batch reached the server first (its
// answer lost) or not at all (the request lost). A batch the server did not
// apply reports its conflict as usual. landed, when not nil, runs after a batch
// applied whose answer is lost, before the loss is reported.
func LoseAnswers(s *Service, lose func(productID string) (lost, applied bool), landed func()) {
	s.execute = func(t *txn, ctx context.Context) error {
		lost, applied := lose(t.pid)
		if !lost {
			return t.exec(ctx)
		}
		if applied {
			if err := t.exec(ctx); err != nil {
				return err
			}
			if landed != nil {
				landed()
			}
		}
		return fmt.Errorf("inventory test: answer lost: %w", orm.ErrUncertain)
	}
}
