package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// ProgressEvent reports one run of MigrateAll's migrate function: before it
// (Done false) and after it (Done true, with Err and Duration).
type ProgressEvent struct {
	// Tenant is the tenant migrated, "" for the shared keyspace.
	Tenant string
	// Keyspace is the keyspace migrated.
	Keyspace string
	// N counts the runs from 1; Total is how many there are.
	N, Total int
	// Done is false before the run and true after it.
	Done bool
	// Err is the run's error, when Done.
	Err error
	// Duration is how long the run took, when Done.
	Duration time.Duration
}

// String describes the event in one line, for a log or a terminal.
func (e ProgressEvent) String() string {
	what := "shared keyspace " + e.Keyspace
	if e.Tenant != "" {
		what = fmt.Sprintf("tenant %s (keyspace %s)", e.Tenant, e.Keyspace)
	}
	switch {
	case !e.Done:
		return fmt.Sprintf("[%d/%d] %s: migrating", e.N, e.Total, what)
	case e.Err != nil:
		return fmt.Sprintf("[%d/%d] %s: failed after %s: %v", e.N, e.Total, what, e.Duration.Round(time.Millisecond), e.Err)
	}
	return fmt.Sprintf("[%d/%d] %s: done in %s", e.N, e.Total, what, e.Duration.Round(time.Millisecond))
}

// MigrateAll runs migrate on every keyspace the tenants use: first once without a
// tenant in its context (the shared keyspace, which holds the rows of every tenant
// of the partition strategy), then once for each tenant of the keyspace strategy
// that is active or suspended, in id order, with the tenant in its context (marked,
// so that a suspended tenant is placed too). migrate is typically
// func(ctx context.Context) error { _, err := m.Up(ctx); return err } for a
// migrate.Migrator made on Registry.DB.
//
// progress, when set, is called on the calling goroutine before and after each run.
// A failed run does not stop the others: MigrateAll returns the failures joined, each
// naming its tenant (or the shared keyspace). Tenants still being provisioned are
// skipped (Provision runs their migrations), and so are those being deleted. To
// resume after a failure, run MigrateAll again: it runs migrate on every keyspace
// again, and a migrator skips the migrations each has applied. When ctx ends,
// MigrateAll stops and names the keyspaces it did not reach.
func (r *Registry) MigrateAll(ctx context.Context, migrate func(ctx context.Context) error, progress func(ProgressEvent)) error {
	if migrate == nil {
		return errors.New("registry: migrate all: nil migrate function")
	}
	all, err := r.List(ctx)
	if err != nil {
		return fmt.Errorf("registry: migrate all: %w", err)
	}
	var targets []Tenant
	for _, t := range all {
		if t.Strategy == KeyspaceStrategy && (t.Status == StatusActive || t.Status == StatusSuspended) {
			targets = append(targets, t)
		}
	}
	total := 1 + len(targets)
	var errs []error
	run := func(n int, id, ks string, ctx context.Context) {
		e := ProgressEvent{Tenant: id, Keyspace: ks, N: n, Total: total}
		if progress != nil {
			progress(e)
		}
		start := time.Now()
		err := migrate(ctx)
		e.Done, e.Err, e.Duration = true, err, time.Since(start)
		if progress != nil {
			progress(e)
		}
		if err != nil {
			if id == "" {
				errs = append(errs, fmt.Errorf("shared keyspace %s: migrate: %w", ks, err))
			} else {
				errs = append(errs, fmt.Errorf("tenant %s: migrate: %w", id, err))
			}
		}
	}
	run(1, "", r.db.Keyspace(), tenant.Without(ctx))
	for i, t := range targets {
		if ctx.Err() != nil {
			left := make([]string, 0, len(targets)-i)
			for _, t := range targets[i:] {
				left = append(left, t.ID)
			}
			errs = append(errs, fmt.Errorf("registry: migrate all: stopped before tenants %s: %w", strings.Join(left, ", "), ctx.Err()))
			break
		}
		run(i+2, t.ID, t.Keyspace, r.internal(ctx, t.ID, t.Keyspace))
	}
	return errors.Join(errs...)
}
