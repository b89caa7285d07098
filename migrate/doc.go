// Package migrate applies versioned schema and data migrations to a Cassandra
// keyspace, exactly once across any number of processes.
//
// A migration has a version (a positive int64 that orders it), a name, an up step and
// an optional down step. Steps are Go functions (Add) or .cql files of statements read
// from an fs.FS (AddFS), so they can be embedded in the binary; both kinds mix in one
// Migrator. Files are named VERSION_NAME.up.cql and VERSION_NAME.down.cql.
//
// Applied migrations are recorded in a table of the keyspace (schema_migrations:
// version, name, kind, checksum of the .cql up file, applied_at, duration), and
// dirty migrations in another (schema_migrations_dirty). Up, UpTo,
// UpN and Down first take a lock: a row of a second table inserted with a lightweight
// transaction (INSERT ... IF NOT EXISTS USING TTL: a lease of package lease),
// renewed while the run lasts and deleted at its end. A second process waits for it, then reads the applied
// migrations and runs only what is still pending, usually nothing. A process that
// dies leaves a lock that expires with its lease (Config.LockLease).
//
// Each .cql statement that changes the schema is followed by a wait for schema
// agreement. A failing step stops the run with a *MigrationError naming the version,
// the name and, for a .cql file, the statement number, line and first line of text;
// migrations applied before it stay recorded. A step that failed after it may have
// changed something (a Go step, a statement with an unknown outcome, a statement after
// others of its file ran) marks its migration dirty: runs then refuse with ErrDirty
// until an operator checks the schema and calls Resolve.
//
//	db, err := orm.Open(ctx, orm.Config{Hosts: []string{"127.0.0.1:9042"}, Keyspace: "shop"})
//	...
//	m, err := migrate.New(db, migrate.Config{})
//	...
//	if err := m.AddFS(migrations, "migrations"); err != nil { ... } // //go:embed migrations/*.cql
//	err = m.Add(migrate.Migration{Version: 3, Name: "backfill_emails",
//		Up: func(ctx context.Context, db *orm.DB) error { ... }})
//	...
//	applied, err := m.Up(ctx)
//
// The command `cassandraorm migrate` runs a directory of .cql migrations the same way.
package migrate
