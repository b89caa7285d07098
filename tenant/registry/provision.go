package registry

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// errVanished: the tenant's row was removed while we waited for its lease (a
// Provision refused at the ceiling, or a Delete, finished meanwhile).
var errVanished = errors.New("the tenant's row was removed meanwhile")

// Provision creates tenant spec.ID with its schema, and returns it active.
//
// It is idempotent and resumable. It first records the tenant with
// StatusProvisioning (INSERT IF NOT EXISTS: one writer creates it), then, holding
// a lease named for the tenant, runs steps that are each idempotent: under
// KeyspaceStrategy it reserves a keyspace slot (see Config.MaxKeyspaceTenants and
// ErrCeiling), creates the keyspace (CREATE KEYSPACE IF NOT EXISTS) and syncs
// schema.Models in it; under PartitionStrategy it syncs schema.Models (the shared
// tables). Then it calls schema.Migrate, and finally sets StatusActive (a
// lightweight transaction from StatusProvisioning). The steps run with the tenant in
// their context, marked so that the tenant is placed although it is not active yet.
//
// Run again after a failure, or after its process died, it goes on and ends with a
// complete active tenant. Two calls for the same tenant at once, in one process or
// several, do the work once: the second waits for the lease (at most Config.LeaseTTL
// after a holder died), then finds the tenant active and returns it.
//
// A tenant that is already active or suspended is returned as it is, with no error
// and without touching its schema (MigrateAll changes existing tenants' schemas);
// its Name and Limits are kept. Provision fails when the tenant exists with another
// strategy (a tenant's strategy never changes), with an error matching
// tenant.ErrUnknown when it is being deleted, with tenant.ErrInvalidID for an id
// that is not valid or whose keyspace name would be too long or would be that of a
// keyspace of shared tables (the registry's, or one a model of schema names), and
// with ErrCeiling when no keyspace slot is left; the refused tenant is then not
// recorded, so it may be provisioned with the partition strategy. Errors name the
// tenant and the step.
func (r *Registry) Provision(ctx context.Context, spec Spec, schema Schema) (Tenant, error) {
	spec, ks, err := r.checkSpec(spec, schema)
	if err != nil {
		return Tenant{}, err
	}
	for range 3 {
		t, err := r.provision(ctx, spec, ks, schema)
		if !errors.Is(err, errVanished) {
			return t, err
		}
	}
	return Tenant{}, fmt.Errorf("tenant %s: provision: %w, three times", spec.ID, errVanished)
}

// checkSpec validates spec and schema, fills spec's defaults and returns the
// keyspace the tenant would have ("" under PartitionStrategy).
func (r *Registry) checkSpec(spec Spec, schema Schema) (Spec, string, error) {
	if err := tenant.Check(spec.ID); err != nil {
		return spec, "", fmt.Errorf("registry: provision: %w", err)
	}
	id := spec.ID
	if spec.Strategy == "" {
		spec.Strategy = PartitionStrategy
	}
	if spec.Strategy != PartitionStrategy && spec.Strategy != KeyspaceStrategy {
		return spec, "", fmt.Errorf("tenant %s: provision: strategy %q: want %q or %q", id, spec.Strategy, PartitionStrategy, KeyspaceStrategy)
	}
	if !utf8.ValidString(spec.Name) || len(spec.Name) > MaxNameLen {
		return spec, "", fmt.Errorf("tenant %s: provision: name %.40q...: want valid UTF-8 of at most %d bytes", id, spec.Name, MaxNameLen)
	}
	for k := range spec.Limits {
		if k == "" {
			return spec, "", fmt.Errorf("tenant %s: provision: a limit has an empty name", id)
		}
	}
	for i, m := range schema.Models {
		if m == nil {
			return spec, "", fmt.Errorf("tenant %s: provision: Schema.Models[%d] is nil", id, i)
		}
	}
	if spec.Strategy == PartitionStrategy {
		return spec, "", nil
	}
	ks := r.keyspaceName(id)
	if len(ks) > maxKeyspaceLen {
		return spec, "", fmt.Errorf("tenant %s: provision: %w: its keyspace %s would have %d characters, and Cassandra allows %d: "+
			"use an id of at most %d characters, or a shorter Config.KeyspacePrefix", id, tenant.ErrInvalidID, ks, len(ks),
			maxKeyspaceLen, maxKeyspaceLen-len(r.cfg.KeyspacePrefix))
	}
	if err := orm.CheckIdent("keyspace", ks); err != nil {
		return spec, "", fmt.Errorf("tenant %s: provision: %w: %w", id, tenant.ErrInvalidID, err)
	}
	if r.shared(ks, schema) {
		return spec, "", fmt.Errorf("tenant %s: provision: %w: its keyspace would be %s, which holds tables shared by every tenant: "+
			"use another id, or another Config.KeyspacePrefix", id, tenant.ErrInvalidID, ks)
	}
	return spec, ks, nil
}

// shared reports whether keyspace ks holds tables that are not one tenant's: the
// registry's keyspace (the registry's tables, and the shared tables of the
// partition tenants) or the keyspace a model of schema names. Such a keyspace is
// never a keyspace tenant's, so Delete never drops it.
func (r *Registry) shared(ks string, schema Schema) bool {
	if ks == r.db.Keyspace() {
		return true
	}
	for _, m := range schema.Models {
		if m.Table().Keyspace == ks {
			return true
		}
	}
	return false
}

// keyspaceName returns the keyspace of tenant id under KeyspaceStrategy.
func (r *Registry) keyspaceName(id string) string { return r.cfg.KeyspacePrefix + tenant.Ident(id) }

// leaseName names the lease held while tenant id is provisioned or deleted.
func leaseName(id string) string { return "tenant/" + id }

// provision is one attempt of Provision; it fails with errVanished when the
// tenant's row was removed while it waited for the lease.
func (r *Registry) provision(ctx context.Context, spec Spec, ks string, schema Schema) (Tenant, error) {
	id := spec.ID
	fail := func(step string, err error) (Tenant, error) {
		return Tenant{}, fmt.Errorf("tenant %s: provision: %s: %w", id, step, err)
	}
	cur, err := r.record(ctx, row{ID: id, Name: spec.Name, Strategy: string(spec.Strategy), Status: string(StatusProvisioning),
		Keyspace: ks, CreatedAt: time.Now().UTC().Truncate(time.Millisecond), Limits: spec.Limits})
	if err != nil {
		return fail("record", err)
	}
	if done, t, err := r.provisioned(cur, spec); done {
		return t, err
	}

	held, err := r.leases.Acquire(ctx, leaseName(id))
	if err != nil {
		return fail("lease", err)
	}
	defer releaseLease(ctx, held)
	// What the last holder left: it may have finished, or given up at the ceiling.
	cur, found, err := r.readSerial(ctx, id)
	switch {
	case err != nil:
		return fail("read", err)
	case !found:
		return Tenant{}, errVanished
	}
	if done, t, err := r.provisioned(cur, spec); done {
		return t, err
	}

	runCtx, stop := watch(ctx, held)
	defer stop()
	ictx := r.internal(runCtx, id, cur.Keyspace)
	step := func(name string, f func() error) error {
		if !held.Valid() {
			return fmt.Errorf("tenant %s: provision: %s: %w", id, name, held.Err())
		}
		if err := f(); err != nil {
			if cause := context.Cause(runCtx); cause != nil && ctx.Err() == nil {
				err = fmt.Errorf("%w (%w)", err, cause)
			}
			return fmt.Errorf("tenant %s: provision: %s: %w", id, name, err)
		}
		return nil
	}
	if Strategy(cur.Strategy) == KeyspaceStrategy {
		err := step("reserve a keyspace slot", func() error { return r.reserve(ictx, id, schemaTables(schema.Models)) })
		if errors.Is(err, ErrCeiling) {
			// Nothing was created: free the id, so it may be provisioned otherwise.
			if ferr := r.rows.DeleteIf(ctx, []any{id}, orm.Eq("status", string(StatusProvisioning))); ferr != nil && !errors.Is(ferr, orm.ErrConflict) {
				err = errors.Join(err, fmt.Errorf("tenant %s: provision: removing the refused tenant's row: %w", id, ferr))
			}
			r.cache.invalidate(id)
			return Tenant{}, err
		}
		if err != nil {
			return Tenant{}, err
		}
		if err := step("create keyspace "+cur.Keyspace, func() error {
			return r.db.CreateKeyspace(ictx, cur.Keyspace, r.cfg.Replication)
		}); err != nil {
			return Tenant{}, err
		}
	}
	if err := step("sync models", func() error { return r.syncModels(ictx, schema.Models) }); err != nil {
		return Tenant{}, err
	}
	if schema.Migrate != nil {
		if err := step("migrate", func() error { return schema.Migrate(ictx) }); err != nil {
			return Tenant{}, err
		}
	}
	if err := step("activate", func() error { return r.activate(ictx, id) }); err != nil {
		return Tenant{}, err
	}
	r.cache.invalidate(id)
	cur.Status = string(StatusActive)
	return cur.tenant(), nil
}

// provisioned says whether Provision is done with tenant row cur, asked for spec:
// the tenant is provisioned already, or cannot be.
func (r *Registry) provisioned(cur row, spec Spec) (bool, Tenant, error) {
	if Strategy(cur.Strategy) != spec.Strategy {
		return true, Tenant{}, fmt.Errorf("tenant %s: provision: the tenant exists with the %s strategy, and %s was asked for: "+
			"a tenant's strategy cannot change", spec.ID, cur.Strategy, spec.Strategy)
	}
	switch Status(cur.Status) {
	case StatusActive, StatusSuspended:
		return true, cur.tenant(), nil
	case StatusDeleting:
		return true, Tenant{}, fmt.Errorf("tenant %s: provision: the tenant is being deleted (run Delete again to finish): %w", spec.ID, tenant.ErrUnknown)
	case StatusProvisioning:
		return false, Tenant{}, nil
	}
	return true, Tenant{}, fmt.Errorf("tenant %s: provision: status %q is unknown to this version of the registry", spec.ID, cur.Status)
}

// record inserts tenant row want if no row has its id, and returns the row as it is
// then: want, or the one another call recorded before.
func (r *Registry) record(ctx context.Context, want row) (row, error) {
	err := r.rows.InsertIfNotExists(ctx, &want)
	var ce *orm.ConflictError
	switch {
	case err == nil:
		return want, nil
	case errors.As(err, &ce):
		if cur, ok := ce.Current.(*row); ok && cur != nil {
			return *cur, nil
		}
	case errors.Is(err, orm.ErrUncertain):
		// The insert may have applied: a serial read settles it. Either way the
		// row read is the one to go on with.
		if cur, found, rerr := r.readSerial(ctx, want.ID); rerr == nil && found {
			return cur, nil
		}
	}
	return row{}, err
}

// activate moves tenant id from StatusProvisioning to StatusActive.
func (r *Registry) activate(ctx context.Context, id string) error {
	err := r.rows.PatchIf(ctx, []any{id}, []orm.Predicate{orm.Eq("status", string(StatusProvisioning))},
		[]orm.Change{orm.Set("status", string(StatusActive))})
	var ce *orm.ConflictError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		cur, _ := ce.Current.(*row)
		switch {
		case cur == nil:
			return fmt.Errorf("the tenant was deleted meanwhile: %w", tenant.ErrUnknown)
		case Status(cur.Status) == StatusActive, Status(cur.Status) == StatusSuspended:
			return nil // a previous holder finished
		case Status(cur.Status) == StatusDeleting:
			return fmt.Errorf("the tenant is being deleted: %w", tenant.ErrUnknown)
		}
		return fmt.Errorf("the tenant is %s", cur.Status)
	case errors.Is(err, orm.ErrUncertain):
		if cur, found, rerr := r.readSerial(ctx, id); rerr == nil && found && Status(cur.Status) == StatusActive {
			return nil
		}
	}
	return err
}

// syncModels syncs each model on the DB it was made on, in ctx.
func (r *Registry) syncModels(ctx context.Context, models []orm.SchemaModel) error {
	for _, m := range models {
		db := r.tdb
		if d, ok := m.(interface{ DB() *orm.DB }); ok && d.DB() != nil {
			db = d.DB()
		}
		if err := db.Sync(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// watch returns a context derived from ctx that ends when lease held is lost, and
// the function that stops watching.
func watch(ctx context.Context, held *lease.Held) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-held.Lost():
			cancel(fmt.Errorf("lease %s lost: %w", held.Name(), held.Err()))
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(nil) }
}

// releaseLease releases held, even if ctx has ended. A failure is not reported:
// the work is done, and the lease expires within its TTL.
func releaseLease(ctx context.Context, held *lease.Held) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = held.Release(ctx)
}

// Delete removes tenant id and its data.
//
// It first sets StatusDeleting, so that Keyspace and Active refuse the tenant at
// once on this Registry (within Config.MaxStaleness on the others) with an error
// matching tenant.ErrUnknown. Then, holding the tenant's lease (so it never runs
// beside a Provision of the tenant), it drops the keyspace of a tenant of the
// keyspace strategy and releases its slot, or, for a tenant of the partition
// strategy, purges its rows from every tenant-scoped model of schema.Models
// (orm.Model.PurgeTenant: the table and its unique lookup tables). Rows of tables
// not in schema.Models stay. Last it removes the tenant's row.
//
// Run again after a failure, it goes on where it stopped. It fails with an error
// matching tenant.ErrUnknown when no such tenant exists (also after a Delete that
// completed). Errors name the tenant and the step.
func (r *Registry) Delete(ctx context.Context, id string, schema Schema) error {
	if err := tenant.Check(id); err != nil {
		return fmt.Errorf("registry: delete: %w", err)
	}
	defer r.cache.invalidate(id)
	fail := func(step string, err error) error { return fmt.Errorf("tenant %s: delete: %s: %w", id, step, err) }
	if err := r.markDeleting(ctx, id); err != nil {
		return err
	}
	r.cache.invalidate(id)

	held, err := r.leases.Acquire(ctx, leaseName(id))
	if err != nil {
		return fail("lease", err)
	}
	defer releaseLease(ctx, held)
	cur, found, err := r.readSerial(ctx, id)
	switch {
	case err != nil:
		return fail("read", err)
	case !found:
		return nil // another Delete finished while we waited
	}
	runCtx, stop := watch(ctx, held)
	defer stop()
	ictx := r.internal(runCtx, id, cur.Keyspace)
	step := func(name string, f func() error) error {
		if !held.Valid() {
			return fail(name, held.Err())
		}
		if err := f(); err != nil {
			return fail(name, err)
		}
		return nil
	}
	if Strategy(cur.Strategy) == KeyspaceStrategy {
		if cur.Keyspace != "" {
			if err := step("drop keyspace "+cur.Keyspace, func() error {
				if r.shared(cur.Keyspace, schema) {
					return fmt.Errorf("keyspace %s holds tables shared by every tenant: not dropped", cur.Keyspace)
				}
				return r.db.DropKeyspace(ictx, cur.Keyspace)
			}); err != nil {
				return err
			}
		}
		if err := step("release the keyspace slot", func() error { return r.release(ictx, id) }); err != nil {
			return err
		}
	} else {
		for _, m := range schema.Models {
			p, ok := m.(interface {
				PurgeTenant(context.Context) (int, error)
			})
			if !ok || m.Table().Tenant == nil {
				continue // not tenant-scoped: nothing of this tenant's in it
			}
			if err := step("purge "+m.Table().Name, func() error { _, err := p.PurgeTenant(ictx); return err }); err != nil {
				return err
			}
		}
	}
	return step("remove the tenant's row", func() error {
		err := r.rows.DeleteIf(ictx, []any{id}, orm.Eq("status", string(StatusDeleting)))
		var ce *orm.ConflictError
		switch {
		case errors.As(err, &ce) && ce.Current == nil:
			return nil // gone already
		case errors.Is(err, orm.ErrUncertain):
			if _, found, rerr := r.readSerial(ictx, id); rerr == nil && !found {
				return nil
			}
		}
		return err
	})
}

// markDeleting sets tenant id's status to StatusDeleting, from whatever it is.
func (r *Registry) markDeleting(ctx context.Context, id string) error {
	for range 5 {
		cur, found, err := r.readSerial(ctx, id)
		switch {
		case err != nil:
			return fmt.Errorf("tenant %s: delete: read: %w", id, err)
		case !found:
			return fmt.Errorf("tenant %s: delete: %w", id, tenant.ErrUnknown)
		case Status(cur.Status) == StatusDeleting:
			return nil
		}
		err = r.rows.PatchIf(ctx, []any{id}, []orm.Predicate{orm.Eq("status", cur.Status)},
			[]orm.Change{orm.Set("status", string(StatusDeleting))})
		switch {
		case err == nil:
			return nil
		case errors.Is(err, orm.ErrConflict), errors.Is(err, orm.ErrUncertain):
			continue // the status changed meanwhile, or may have: read it again
		default:
			return fmt.Errorf("tenant %s: delete: mark deleting: %w", id, err)
		}
	}
	return fmt.Errorf("tenant %s: delete: mark deleting: the status kept changing under us", id)
}
