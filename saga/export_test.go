package saga

import (
	"context"
	"fmt"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// LoseAnswers makes o's conditional writes (Start's insert, each transition's
// batch) end with an unknown outcome (an error matching orm.ErrUncertain), as a
// lost connection or a timeout does, whenever lose says so for the write's saga:
// applied says whether the write reached the server first (its answer lost) or
// not at all (the request lost). A write the server refused reports its conflict
// as usual. Call it before o is used.
func LoseAnswers(o *Orchestrator, lose func(id string) (lost, applied bool)) {
	o.send = func(ctx context.Context, id string, write func(context.Context) error) error {
		lost, applied := lose(id)
		if !lost {
			return write(ctx)
		}
		if applied {
			if err := write(ctx); err != nil {
				return err
			}
		}
		return fmt.Errorf("saga test: the answer to a write of saga %s was lost: %w", id, orm.ErrUncertain)
	}
}

// FailSettles makes the SERIAL reads that settle o's writes of unknown outcome
// fail, without being sent, with the error fail returns for their saga (nil: the
// read is sent as usual). Call it before o is used.
func FailSettles(o *Orchestrator, fail func(id string) error) {
	read := o.entryTx
	o.entryTx = func(ctx context.Context, id string, seq int64) (string, error) {
		if err := fail(id); err != nil {
			return "", err
		}
		return read(ctx, id, seq)
	}
}

// DelayStore makes every conditional write of o call hook first. On an
// orchestrator whose process runs no worker those are its Starts' saga writes,
// each after its timer write.
func DelayStore(o *Orchestrator, hook func(id string)) {
	o.send = func(ctx context.Context, id string, write func(context.Context) error) error {
		hook(id)
		return write(ctx)
	}
}
