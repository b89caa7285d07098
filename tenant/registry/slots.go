package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/retry"
)

// ErrCeiling is matched by the error of a Provision refused because the cluster
// already holds Config.MaxKeyspaceTenants tenants of the keyspace strategy. The
// message says how many tables the tenant would have added and what to do instead.
var ErrCeiling = errors.New("registry: keyspace tenant ceiling reached")

// slotRow is the one row that lists the keyspace tenants holding a slot. Every
// change is a lightweight transaction conditioned on Version, so two processes
// reserving the last slot cannot both get it.
type slotRow struct {
	Name    string   `cql:"name" orm:"pk"`
	Holders []string `cql:"holders" orm:"set"`
	Version int64    `cql:"version"`
}

// slotsRow names the row of keyspace slots.
const slotsRow = "keyspace"

// errContended: another process changed the slots between our read and our write.
var errContended = errors.New("registry: keyspace slots changed meanwhile")

// slotPolicy retries a change of the slots after contention, an unknown outcome or
// an unavailable cluster. Each attempt reads the row afresh at SERIAL consistency
// and decides again (the optimistic-concurrency loop), so an attempt whose outcome
// was unknown is seen by the next one and never applied twice.
var slotPolicy = retry.Policy{If: retry.On(errContended, orm.ErrUncertain, orm.ErrUnavailable, orm.ErrTimeout),
	MaxAttempts: 40, Backoff: retry.Backoff{Initial: 10 * time.Millisecond, Max: 500 * time.Millisecond}}

// readSlots reads the slot holders at SERIAL consistency.
func (r *Registry) readSlots(ctx context.Context) (slotRow, bool, error) {
	cur, err := r.slots.Query().Where(orm.Eq("name", slotsRow)).With(orm.WithConsistency(orm.Serial)).One(ctx)
	if errors.Is(err, orm.ErrNotFound) {
		return slotRow{}, false, nil
	}
	return cur, err == nil, err
}

// reserve gives tenant id a keyspace slot, or fails with ErrCeiling when all are
// taken. It is idempotent: a holder reserves again at no cost, even past a ceiling
// lowered since. tables is how many tables the tenant's keyspace would hold, for the
// message.
func (r *Registry) reserve(ctx context.Context, id string, tables int) error {
	limit := max(r.cfg.MaxKeyspaceTenants, 0)
	return retry.Do(ctx, slotPolicy, func(ctx context.Context, _ int) error {
		cur, found, err := r.readSlots(ctx)
		switch {
		case err != nil:
			return err
		case slices.Contains(cur.Holders, id):
			return nil
		case len(cur.Holders) >= limit:
			return ceilingError(len(cur.Holders), limit, tables)
		case !found:
			err = r.slots.InsertIfNotExists(ctx, &slotRow{Name: slotsRow, Holders: []string{id}, Version: 1})
		default:
			err = r.slots.PatchIf(ctx, []any{slotsRow}, []orm.Predicate{orm.Eq("version", cur.Version)},
				[]orm.Change{orm.Add("holders", []string{id}), orm.Set("version", cur.Version+1)})
		}
		if errors.Is(err, orm.ErrConflict) {
			return errContended
		}
		return err
	})
}

// release gives tenant id's keyspace slot back; it does nothing if id holds none.
func (r *Registry) release(ctx context.Context, id string) error {
	return retry.Do(ctx, slotPolicy, func(ctx context.Context, _ int) error {
		cur, _, err := r.readSlots(ctx)
		switch {
		case err != nil:
			return err
		case !slices.Contains(cur.Holders, id):
			return nil
		}
		err = r.slots.PatchIf(ctx, []any{slotsRow}, []orm.Predicate{orm.Eq("version", cur.Version)},
			[]orm.Change{orm.Remove("holders", []string{id}), orm.Set("version", cur.Version+1)})
		if errors.Is(err, orm.ErrConflict) {
			return errContended
		}
		return err
	})
}

// ceilingError explains ErrCeiling: why there is a ceiling and what to do.
func ceilingError(held, limit, tables int) error {
	adds := "its own copy of each model's tables"
	if tables > 0 {
		adds = fmt.Sprintf("%d tables (its models and their unique lookup tables, plus what its migrations create)", tables)
	}
	return fmt.Errorf("%w: %d of %d keyspace tenants exist (Config.MaxKeyspaceTenants). Cassandra keeps about 1 MB of heap "+
		"per table on every node, and operators advise staying under about 200 tables per cluster; a keyspace tenant adds %s. "+
		"Provision this tenant with the partition strategy, or raise Config.MaxKeyspaceTenants after checking the cluster's capacity",
		ErrCeiling, held, limit, adds)
}

// schemaTables counts the tables a keyspace tenant's copy of the models holds: one
// per model and one per unique constraint (its lookup table).
func schemaTables(models []orm.SchemaModel) int {
	n := 0
	for _, m := range models {
		if m == nil {
			continue
		}
		n += 1 + len(m.Table().Uniques)
	}
	return n
}
