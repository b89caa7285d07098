package registry

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// Strategy says where a tenant's rows live.
type Strategy string

// Strategies.
const (
	// PartitionStrategy keeps the tenant's rows in the shared tables, under its id in
	// the tenant column that leads every partition key. A tenant costs no table: it
	// is the default, and the right choice for all but a few large tenants.
	PartitionStrategy Strategy = "partition"
	// KeyspaceStrategy gives the tenant a keyspace of its own, holding its own copy of
	// every tenant-scoped and keyspace-scoped table. Each such tenant adds tables to
	// the cluster, so their number is capped (Config.MaxKeyspaceTenants).
	KeyspaceStrategy Strategy = "keyspace"
)

// Status is where a tenant is in its lifecycle.
type Status string

// Statuses. Only an active tenant is served: Keyspace and Active refuse the others.
const (
	// StatusProvisioning: Provision recorded the tenant and has not finished its
	// schema. Keyspace and Active refuse it with tenant.ErrUnknown. Provision run
	// again finishes it.
	StatusProvisioning Status = "provisioning"
	// StatusActive: provisioned and served.
	StatusActive Status = "active"
	// StatusSuspended: provisioned and refused with tenant.ErrSuspended until Resume.
	StatusSuspended Status = "suspended"
	// StatusDeleting: Delete started; refused with tenant.ErrUnknown. Delete run
	// again finishes it.
	StatusDeleting Status = "deleting"
)

// Tenant is a tenant as the registry records it.
type Tenant struct {
	// ID is the tenant's id, a slug (tenant.Check).
	ID string
	// Name is a display name; the registry only stores it.
	Name string
	// Strategy says where its rows live; it never changes.
	Strategy Strategy
	// Status is where it is in its lifecycle.
	Status Status
	// Keyspace is its own keyspace under KeyspaceStrategy ("" under
	// PartitionStrategy, whose rows live in the shared keyspace).
	Keyspace string
	// CreatedAt is when Provision first recorded it (UTC, milliseconds).
	CreatedAt time.Time
	// Limits are quotas for the application to enforce (rows, requests per second,
	// ...); the registry stores them and enforces none.
	Limits map[string]int64
}

// Spec is what Provision is asked to create.
type Spec struct {
	// ID is the tenant's id: it must pass tenant.Check and, under KeyspaceStrategy,
	// make a keyspace name (Config.KeyspacePrefix + tenant.Ident(ID)) of at most 48
	// characters.
	ID string
	// Name is a display name: valid UTF-8, at most MaxNameLen bytes. Optional.
	Name string
	// Strategy is PartitionStrategy (the default, when empty) or KeyspaceStrategy.
	Strategy Strategy
	// Limits are stored with the tenant (see Tenant.Limits); keys may not be empty.
	Limits map[string]int64
}

// MaxNameLen is the longest Spec.Name, in bytes.
const MaxNameLen = 200

// Schema is what a tenant's schema is made of. The application knows its models, so
// it passes them to Provision and Delete; the registry knows none of its own.
type Schema struct {
	// Models are synced (orm.DB.Sync) in the tenant's context when it is
	// provisioned: in its own keyspace under KeyspaceStrategy, in the shared tables
	// under PartitionStrategy. Each model is synced on the DB it was made on (its
	// DB method), which should be the registry's view (Registry.DB). Delete purges
	// the rows of the tenant-scoped ones for a tenant of the partition strategy.
	Models []orm.SchemaModel
	// Migrate, when set, runs after the models are synced, with the tenant in its
	// context, e.g. func(ctx context.Context) error { _, err := m.Up(ctx); return err }
	// for a migrate.Migrator made on Registry.DB: it then applies the migrations in
	// the tenant's keyspace, or in the shared keyspace for a tenant of the partition
	// strategy (where they are usually applied already, and nothing runs). It must be
	// idempotent: a Provision resumed after a failure runs it again.
	Migrate func(ctx context.Context) error
}

// Config configures a Registry. A zero field takes its default; Validate says which
// values are refused.
type Config struct {
	// Table is the registry's table of tenants (default "tenants"), in the DB's
	// keyspace. Two more tables are named after it: Table+"_slots" (the keyspace
	// tenants' slots, see MaxKeyspaceTenants) and Table+"_leases" (one lease per
	// tenant being provisioned or deleted). All three are global: one for the
	// whole deployment.
	Table string
	// KeyspacePrefix starts the keyspace of each tenant of the keyspace strategy:
	// KeyspacePrefix + tenant.Ident(id) (default "t_"). Lowercase letters, digits and
	// underscores, starting with a letter; Cassandra allows 48 characters in all, so
	// with the default prefix every valid id fits, and with a longer one Provision
	// refuses the ids that would not.
	KeyspacePrefix string
	// MaxKeyspaceTenants is the most tenants of the keyspace strategy the cluster
	// holds at once, counted across every process that shares the registry (default
	// 20; negative: none). Cassandra keeps about 1 MB of heap per table on every
	// node, and operators advise staying under about 200 tables per cluster: each
	// keyspace tenant adds a copy of every tenant-scoped table. Raise it only after
	// checking the cluster's capacity. Provision refuses past it with ErrCeiling.
	MaxKeyspaceTenants int
	// Replication is the replication of the tenant keyspaces it creates. Default
	// orm.SimpleStrategy(1), for development: set orm.NetworkTopology in production.
	Replication orm.Replication
	// MaxStaleness bounds how old an answer of Keyspace and Active may be (default
	// 5s): a change made through another Registry (another process) is seen within
	// it; one made through this Registry, at once.
	MaxStaleness time.Duration
	// CacheSize bounds the entries of the Keyspace and Active cache (default 10000).
	// At most a quarter of them remember unknown ids, so a flood of made-up ids
	// evicts only other unknown ids.
	CacheSize int
	// LeaseTTL is the TTL of the lease a Provision or Delete holds on its tenant
	// (default 15s, at least 1s): after a process dies halfway, the next Provision or
	// Delete of that tenant waits this long (plus a second) before it takes over.
	LeaseTTL time.Duration
}

// Defaults.
const (
	DefaultTable              = "tenants"
	DefaultKeyspacePrefix     = "t_"
	DefaultMaxKeyspaceTenants = 20
	DefaultMaxStaleness       = 5 * time.Second
	DefaultCacheSize          = 10000
	DefaultLeaseTTL           = 15 * time.Second
)

func (c *Config) setDefaults() {
	if c.Table == "" {
		c.Table = DefaultTable
	}
	if c.KeyspacePrefix == "" {
		c.KeyspacePrefix = DefaultKeyspacePrefix
	}
	if c.MaxKeyspaceTenants == 0 {
		c.MaxKeyspaceTenants = DefaultMaxKeyspaceTenants
	}
	if reflect.ValueOf(c.Replication).IsZero() {
		c.Replication = orm.SimpleStrategy(1)
	}
	if c.MaxStaleness == 0 {
		c.MaxStaleness = DefaultMaxStaleness
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
}

// maxKeyspaceLen is the longest keyspace name Cassandra accepts.
const maxKeyspaceLen = 48

var prefixRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Validate reports the first field a Registry cannot work with: a table name that
// is not an identifier (or too long to name the two tables after it), a keyspace
// prefix that is not lowercase letters, digits and underscores starting with a
// letter or that leaves no room for a two-character id, a negative MaxStaleness or
// CacheSize, or a LeaseTTL below one second. Zero fields count as their defaults.
func (c Config) Validate() error {
	c.setDefaults()
	for _, t := range []string{c.Table, c.Table + "_slots", c.Table + "_leases"} {
		if err := orm.CheckIdent("table", t); err != nil {
			return fmt.Errorf("registry: Config.Table %q: %w (the registry names two more tables after it, %s_slots and %s_leases)", c.Table, err, c.Table, c.Table)
		}
	}
	if !prefixRE.MatchString(c.KeyspacePrefix) {
		return fmt.Errorf("registry: Config.KeyspacePrefix %q: want lowercase letters, digits and underscores, starting with a letter", c.KeyspacePrefix)
	}
	if n := maxKeyspaceLen - len(c.KeyspacePrefix); n < 2 {
		return fmt.Errorf("registry: Config.KeyspacePrefix %q: %d characters leave no room for a tenant id in a keyspace name of at most %d", c.KeyspacePrefix, len(c.KeyspacePrefix), maxKeyspaceLen)
	}
	if c.MaxStaleness < 0 {
		return fmt.Errorf("registry: Config.MaxStaleness %v is negative", c.MaxStaleness)
	}
	if c.CacheSize < 0 {
		return fmt.Errorf("registry: Config.CacheSize %d is negative", c.CacheSize)
	}
	if c.LeaseTTL < time.Second {
		return fmt.Errorf("registry: Config.LeaseTTL %v: want at least 1s", c.LeaseTTL)
	}
	return nil
}

// row is a tenant's row of the registry table.
type row struct {
	ID        string           `cql:"id" orm:"pk"`
	Name      string           `cql:"name"`
	Strategy  string           `cql:"strategy"`
	Status    string           `cql:"status"`
	Keyspace  string           `cql:"keyspace"`
	CreatedAt time.Time        `cql:"created_at"`
	Limits    map[string]int64 `cql:"limits"`
}

func (r row) tenant() Tenant {
	return Tenant{ID: r.ID, Name: r.Name, Strategy: Strategy(r.Strategy), Status: Status(r.Status),
		Keyspace: r.Keyspace, CreatedAt: r.CreatedAt, Limits: r.Limits}
}

// Registry records the tenants, provisions and deletes them, and says where each
// one's rows live (it is an orm.Placer) and whether it may be served (a
// tenanthttp.Resolver). It is safe for concurrent use, and any number of processes
// may share one registry table: they coordinate through lightweight transactions and
// leases in Cassandra.
type Registry struct {
	cfg    Config
	db     *orm.DB // as given: the registry's tables live in its keyspace
	tdb    *orm.DB // db.WithTenancy with this Registry as Placer
	rows   *orm.Model[row]
	slots  *orm.Model[slotRow]
	leases *lease.Manager
	cache  *cache
}

// New returns a Registry whose tables live in db's keyspace, which must be set. db
// may be tenanted or not: the registry's tables are global either way. New touches
// nothing; call Sync to create the tables. It returns cfg.Validate's error.
func New(db *orm.DB, cfg Config) (*Registry, error) {
	if db == nil {
		return nil, errors.New("registry: New: nil DB")
	}
	if db.Keyspace() == "" {
		return nil, errors.New("registry: New: the DB has no keyspace for the registry's tables: set orm.Config.Keyspace")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	r := &Registry{cfg: cfg, db: db}
	var err error
	if r.rows, err = orm.NewModel[row](db, orm.TableName(cfg.Table), orm.WithScope(orm.GlobalScope)); err != nil {
		return nil, fmt.Errorf("registry: table %s: %w", cfg.Table, err)
	}
	if r.slots, err = orm.NewModel[slotRow](db, orm.TableName(cfg.Table+"_slots"), orm.WithScope(orm.GlobalScope)); err != nil {
		return nil, fmt.Errorf("registry: table %s_slots: %w", cfg.Table, err)
	}
	if r.leases, err = lease.New(db, lease.Config{Table: cfg.Table + "_leases", Scope: orm.GlobalScope, TTL: cfg.LeaseTTL}); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	if r.tdb, err = db.WithTenancy(orm.Tenancy{Placer: r}); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	r.cache = newCache(cfg.CacheSize, cfg.MaxStaleness, r.read)
	return r, nil
}

// Sync creates the registry's tables if they do not exist: the tenants, the keyspace
// slots and the leases.
func (r *Registry) Sync(ctx context.Context) error {
	if err := r.db.Sync(ctx, r.rows, r.slots); err != nil {
		return fmt.Errorf("registry: sync: %w", err)
	}
	if err := r.leases.Sync(ctx); err != nil {
		return fmt.Errorf("registry: sync: %w", err)
	}
	return nil
}

// DB returns the tenanted view of the registry's DB, with this Registry as its
// Placer (orm.DB.WithTenancy): make the application's models on it, so each
// tenant's calls land in the tenant's keyspace or, with its id in the tenant column,
// in the shared tables. It is the recommended way. An application that needs another
// tenant column calls db.WithTenancy(orm.Tenancy{Placer: reg, Column: ...}) itself.
// Close the DB given to New, not this view.
func (r *Registry) DB() *orm.DB { return r.tdb }

// Config returns the registry's configuration, with its defaults filled in.
func (r *Registry) Config() Config { return r.cfg }

// Get reads tenant id from the registry table, not from the cache, at SERIAL
// consistency, so it sees every status change that has completed. It fails with
// an error matching tenant.ErrInvalidID for an invalid id and tenant.ErrUnknown
// when there is no such tenant; a tenant being deleted is returned, with
// StatusDeleting.
func (r *Registry) Get(ctx context.Context, id string) (Tenant, error) {
	if err := tenant.Check(id); err != nil {
		return Tenant{}, fmt.Errorf("registry: get: %w", err)
	}
	cur, found, err := r.readSerial(ctx, id)
	switch {
	case err != nil:
		return Tenant{}, fmt.Errorf("tenant %s: get: %w", id, err)
	case !found:
		return Tenant{}, fmt.Errorf("tenant %s: %w", id, tenant.ErrUnknown)
	}
	return cur.tenant(), nil
}

// readSerial reads tenant id's row at SERIAL consistency: it sees the outcome of
// every lightweight transaction on it, completing one left in flight.
func (r *Registry) readSerial(ctx context.Context, id string) (row, bool, error) {
	cur, err := r.rows.Query().Where(orm.Eq("id", id)).With(orm.WithConsistency(orm.Serial)).One(ctx)
	if errors.Is(err, orm.ErrNotFound) {
		return row{}, false, nil
	}
	if err != nil {
		return row{}, false, err
	}
	return cur, true, nil
}

// List returns every tenant, in id order, whatever its status. It reads the whole
// registry table, page by page: it is for administration, not for requests.
func (r *Registry) List(ctx context.Context) ([]Tenant, error) {
	var out []Tenant
	// One small row per tenant: a full scan is the access path.
	for cur, err := range r.rows.Query().AllowFiltering().With(orm.WithPageSize(500)).All(ctx) {
		if err != nil {
			return nil, fmt.Errorf("registry: list: %w", err)
		}
		out = append(out, cur.tenant())
	}
	slices.SortFunc(out, func(a, b Tenant) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Suspend makes tenant id refused with tenant.ErrSuspended: at once by this
// Registry, within Config.MaxStaleness by the others. It is a lightweight
// transaction from StatusActive; suspending a suspended tenant does nothing. It fails
// with an error matching tenant.ErrUnknown for a tenant that does not exist or is
// being deleted, and refuses one still being provisioned.
func (r *Registry) Suspend(ctx context.Context, id string) error {
	return r.setStatus(ctx, id, "suspend", StatusActive, StatusSuspended)
}

// Resume makes a suspended tenant active again, the way Suspend suspends it;
// resuming an active tenant does nothing.
func (r *Registry) Resume(ctx context.Context, id string) error {
	return r.setStatus(ctx, id, "resume", StatusSuspended, StatusActive)
}

// setStatus moves tenant id from status from to status to with a lightweight
// transaction; step names the operation in errors.
func (r *Registry) setStatus(ctx context.Context, id, step string, from, to Status) error {
	if err := tenant.Check(id); err != nil {
		return fmt.Errorf("registry: %s: %w", step, err)
	}
	// Whatever happens, the next answer of this Registry is read afresh.
	defer r.cache.invalidate(id)
	err := r.rows.PatchIf(ctx, []any{id}, []orm.Predicate{orm.Eq("status", string(from))},
		[]orm.Change{orm.Set("status", string(to))})
	var ce *orm.ConflictError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		cur, _ := ce.Current.(*row)
		switch {
		case cur == nil:
			return fmt.Errorf("tenant %s: %s: %w", id, step, tenant.ErrUnknown)
		case Status(cur.Status) == to:
			return nil
		case Status(cur.Status) == StatusDeleting:
			return fmt.Errorf("tenant %s: %s: being deleted: %w", id, step, tenant.ErrUnknown)
		}
		return fmt.Errorf("tenant %s: %s: the tenant is %s, not %s", id, step, cur.Status, from)
	case errors.Is(err, orm.ErrUncertain):
		// The transaction may have applied: a serial read settles it.
		if cur, found, rerr := r.readSerial(ctx, id); rerr == nil && found && Status(cur.Status) == to {
			return nil
		}
	}
	return fmt.Errorf("tenant %s: %s: %w", id, step, err)
}

// placementKey is the context key of a placement.
type placementKey struct{}

// placement marks a context in which the registry's own work on a tenant runs
// (provisioning, deletion, MigrateAll): Keyspace and Active answer with it, without
// reading, whatever the tenant's status.
type placement struct {
	r        *Registry
	id       string
	keyspace string
}

// internal returns ctx with tenant id in it, marked as the registry's own work on
// it, placed in keyspace ks ("" for the shared tables).
func (r *Registry) internal(ctx context.Context, id, ks string) context.Context {
	return context.WithValue(tenant.With(ctx, id), placementKey{}, placement{r: r, id: id, keyspace: ks})
}

// placed returns the placement of tenant id that ctx was marked with by this
// Registry, if any.
func (r *Registry) placed(ctx context.Context, id string) (string, bool) {
	p, ok := ctx.Value(placementKey{}).(placement)
	if !ok || p.r != r || p.id != id {
		return "", false
	}
	return p.keyspace, true
}

var _ orm.Placer = (*Registry)(nil)
