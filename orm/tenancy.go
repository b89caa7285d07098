package orm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// Placer says where each tenant's rows live. The tenant registry (package
// tenant/registry) is one, answering from a cache of bounded staleness.
//
// Keyspace must be safe for concurrent use and cheap: the ORM calls it for every
// statement on a tenant-scoped model.
type Placer interface {
	// Keyspace returns the keyspace that holds tenant's own tables (the keyspace
	// strategy), or "" when the tenant's rows live in the shared tables, under its
	// id in the tenant column (the partition strategy). It returns an error matching
	// tenant.ErrUnknown or tenant.ErrSuspended for a tenant that may not be served,
	// and any other error when it cannot find out; the ORM then runs nothing.
	Keyspace(ctx context.Context, tenantID string) (string, error)
}

// DefaultTenantColumn is the name of the tenant column when Tenancy.Column is empty.
const DefaultTenantColumn = "tenant_id"

// Tenancy makes a DB multi-tenant: see DB.WithTenancy.
type Tenancy struct {
	// Placer says which tenants have a keyspace of their own. Nil: every tenant's
	// rows live in the shared tables (the partition strategy for all).
	Placer Placer
	// Column names the tenant column that leads the partition key of every
	// tenant-scoped table. Default DefaultTenantColumn.
	Column string
}

func (c *Tenancy) setDefaults() {
	if c.Column == "" {
		c.Column = DefaultTenantColumn
	}
}

// Validate reports a Tenancy that WithTenancy cannot use: a tenant column name that
// is not a plain identifier. Zero fields are taken at their defaults.
func (c Tenancy) Validate() error {
	c.setDefaults()
	if err := CheckIdent("column", c.Column); err != nil {
		return fmt.Errorf("orm: Tenancy.Column: %w", err)
	}
	return nil
}

// WithTenancy returns a multi-tenant view of db: it shares db's session and settings,
// and every model made on it is tenant-scoped unless made WithScope(GlobalScope) or
// WithScope(KeyspaceScope).
//
// A tenant-scoped model resolves the tenant from the context of each call
// (tenant.From) and fails with an error matching tenant.ErrNoTenant when there is
// none: there is no default tenant. Its table has the tenant column first in its
// partition key, and every statement the ORM builds on it (reads, writes, queries,
// counts, batches, unique claims, lightweight transactions) restricts or sets that
// column to the context's tenant; a caller cannot name the column. Tenants the
// Placer puts in a keyspace of their own get the same table, with the same tenant
// column, in that keyspace; the others share the table in the model's keyspace.
//
// Close db, not the view: the view's Close does nothing.
func (db *DB) WithTenancy(cfg Tenancy) (*DB, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	v := *db
	v.owned = false
	v.tenancy = &tenancyState{cfg: cfg, values: &sync.Map{}, cached: &atomic.Int64{}}
	return &v, nil
}

// Tenanted reports whether db is a multi-tenant view made by WithTenancy.
func (db *DB) Tenanted() bool { return db.tenancy != nil }

// tenancyState is a tenanted DB's configuration and its cache of encoded tenant ids.
type tenancyState struct {
	cfg    Tenancy
	values *sync.Map // tenant id -> encoded tenant column value
	cached *atomic.Int64
}

// maxCachedTenants bounds the cache of encoded tenant ids; past it ids are encoded
// on each statement, which costs an allocation and nothing else.
const maxCachedTenants = 1 << 17

// Scope says how a model's table is shared among tenants on a tenanted DB.
type Scope int

// Scopes of a model.
const (
	// TenantScope: one row set per tenant, told apart by the tenant column (or by the
	// tenant's own keyspace). The default on a tenanted DB.
	TenantScope Scope = iota
	// GlobalScope: one table shared by every tenant, with no tenant column, in the
	// model's keyspace: the tenant registry, reference data. Calls need no tenant.
	GlobalScope
	// KeyspaceScope: one table in each keyspace tenants use, with no tenant column:
	// the model's keyspace (shared by the partition-strategy tenants, and used by
	// calls without a tenant) and each keyspace tenant's own. Bookkeeping of the
	// schema, such as applied migrations, is kept so.
	KeyspaceScope
)

// String returns "tenant", "global" or "keyspace".
func (s Scope) String() string {
	switch s {
	case TenantScope:
		return "tenant"
	case GlobalScope:
		return "global"
	case KeyspaceScope:
		return "keyspace"
	}
	return fmt.Sprintf("Scope(%d)", int(s))
}

// WithScope sets how the model's table is shared among tenants on a tenanted DB
// (default TenantScope). On a DB without tenancy every model is global and the
// option changes nothing, so a package can make its models with the scope they need
// on any DB.
func WithScope(s Scope) ModelOption { return func(c *modelConfig) { c.scope = s } }

// scoped is where one call on a model runs: the statements of its keyspace and, on a
// tenant-scoped model, the bound value of the tenant column.
type scoped struct {
	st     *stmts
	tenant any // encoded tenant id; nil when the model has no tenant column
	id     string
}

// tenantOf returns the tenant of ctx, or "" (and no error) for a call that runs
// without one: on a DB without tenancy, a global model, or a per-keyspace model
// called without a tenant.
func (db *DB) tenantOf(ctx context.Context, t *Table, what string) (string, error) {
	if db.tenancy == nil || t.scope == GlobalScope {
		return "", nil
	}
	id, err := tenant.From(ctx)
	if err != nil {
		if t.scope == KeyspaceScope && errors.Is(err, tenant.ErrNoTenant) {
			return "", nil
		}
		return "", fmt.Errorf("orm: %s %s: %w", what, t.Name, err)
	}
	return id, nil
}

// keyspaceFor returns the keyspace of table t (whose home keyspace is home) for
// tenant id ("" for none).
func (db *DB) keyspaceFor(ctx context.Context, t *Table, home, id, what string) (string, error) {
	if id == "" || db.tenancy.cfg.Placer == nil {
		return home, nil
	}
	ks, err := db.tenancy.cfg.Placer.Keyspace(ctx, id)
	if err != nil {
		return "", fmt.Errorf("orm: %s %s: tenant %s: %w", what, t.Name, id, err)
	}
	if ks == "" {
		return home, nil
	}
	return ks, nil
}

// tenantValue returns the bound value of tenant id in column c of table t.
func (db *DB) tenantValue(t *Table, id string) (any, error) {
	if v, ok := db.tenancy.values.Load(id); ok {
		return v, nil
	}
	vals, err := t.bind(nil, t.Tenant, id)
	if err != nil {
		return nil, err
	}
	if db.tenancy.cached.Add(1) <= maxCachedTenants {
		db.tenancy.values.Store(id, vals[0])
	}
	return vals[0], nil
}

// scope resolves where a call with context ctx runs; what names the operation for
// errors.
func (m *Model[T]) scope(ctx context.Context, what string) (scoped, error) {
	if m.db.tenancy == nil || m.t.scope == GlobalScope {
		return scoped{st: m.home}, nil
	}
	id, err := m.db.tenantOf(ctx, m.t, what)
	if err != nil {
		return scoped{}, err
	}
	ks, err := m.db.keyspaceFor(ctx, m.t, m.home.ks, id, what)
	if err != nil {
		return scoped{}, err
	}
	sc := scoped{st: m.home, id: id}
	if ks != m.home.ks {
		sc.st = m.stmtsIn(ks)
	}
	if m.t.Tenant != nil {
		if sc.tenant, err = m.db.tenantValue(m.t, id); err != nil {
			return scoped{}, fmt.Errorf("orm: %s %s: %w", what, m.t.Name, err)
		}
	}
	return sc, nil
}

// keys returns the bound values of key values keys (a prefix of the primary key),
// preceded by the tenant column's value on a tenant-scoped model.
func (sc scoped) keys(t *Table, keys []any) ([]any, error) {
	vals := make([]any, 0, len(keys)+1)
	if sc.tenant != nil {
		vals = append(vals, sc.tenant)
	}
	var err error
	for i, k := range keys {
		if vals, err = t.bind(vals, t.pk[i], k); err != nil {
			return nil, err
		}
	}
	return vals, nil
}

// lead appends the tenant column's value, on a tenant-scoped model.
func (sc scoped) lead(vals []any) []any {
	if sc.tenant != nil {
		return append(vals, sc.tenant)
	}
	return vals
}

// leadCols appends the column of the value lead appends (nil: bound as it is).
func (sc scoped) leadCols(cols []*Column) []*Column {
	if sc.tenant != nil {
		return append(cols, nil)
	}
	return cols
}

// stmts are a model's statements in one keyspace.
type stmts struct {
	ks          string
	from        string // qualified table name
	insert      string
	get         string
	uniqueStmts map[string]uniqueStmts // by constraint name
}

// stmtsIn returns the model's statements in keyspace ks, building them once.
func (m *Model[T]) stmtsIn(ks string) *stmts {
	if st, ok := m.others.Load(ks); ok {
		return st.(*stmts)
	}
	st, _ := m.others.LoadOrStore(ks, m.buildStmts(ks))
	return st.(*stmts)
}
