// Package registry records the tenants of a deployment in Cassandra and runs their
// lifecycle: Provision, Suspend, Resume, Delete, and MigrateAll for schema changes.
// A Registry is the orm.Placer of the application's tenanted DB (it says which
// tenants have a keyspace of their own) and the tenanthttp.Resolver of its HTTP
// middleware (it says which tenants may be served).
//
// A tenant has a strategy, fixed when it is provisioned: PartitionStrategy (the
// default) keeps its rows in the shared tables under its id; KeyspaceStrategy gives
// it a keyspace of its own (Config.KeyspacePrefix + its id), for a few large
// tenants. Every keyspace tenant adds a copy of each table, and Cassandra keeps
// about 1 MB of heap per table, so their number is capped across the cluster
// (Config.MaxKeyspaceTenants, ErrCeiling).
//
// Its status goes provisioning → active ⇄ suspended → deleting → (gone). Only active
// tenants are served: Keyspace and Active refuse a suspended one with
// tenant.ErrSuspended, and an unknown one, one still being provisioned or one being
// deleted with tenant.ErrUnknown. They answer from a bounded cache whose entries are
// at most Config.MaxStaleness old; changes made through the same Registry are seen
// at once.
//
// Provision and Delete are idempotent and resumable, and exclusive across
// processes: each holds a lease named for the tenant, so two processes never work
// on one tenant at once, and a process that dies halfway is taken over after the
// lease's TTL by the next call.
//
//	reg, err := registry.New(db, registry.Config{}) // db: orm.Open(...) on the shared keyspace
//	...
//	_ = reg.Sync(ctx)                          // the registry's own tables
//	app := reg.DB()                            // make the application's models on it
//	orders, _ := orm.NewModel[Order](app)      // tenant-scoped
//	m, _ := migrate.New(app, migrate.Config{}) // its migrations
//	schema := registry.Schema{Models: []orm.SchemaModel{orders},
//		Migrate: func(ctx context.Context) error { _, err := m.Up(ctx); return err }}
//	_, err = reg.Provision(ctx, registry.Spec{ID: "acme", Strategy: registry.KeyspaceStrategy}, schema)
//	...
//	err = orders.Insert(tenant.With(ctx, "acme"), &o) // lands in keyspace t_acme
//
// The command `cassandraorm tenant` runs the lifecycle from a shell, and
// `cassandraorm migrate ... up -all-tenants` runs MigrateAll. See
// docs/tenancy.md.
package registry
