package migrate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/retry"
)

// Config configures a Migrator. The zero value is ready to use.
type Config struct {
	// Table records the applied migrations, in the DB's keyspace. Default
	// "schema_migrations".
	Table string
	// LockTable holds the lock row, in the DB's keyspace. Default
	// "schema_migrations_lock".
	LockTable string
	// DirtyTable holds the dirty migrations (see ErrDirty), in the DB's keyspace.
	// Default "schema_migrations_dirty".
	DirtyTable string
	// LockLease is how long the lock outlives its holder: it is a lease (package
	// lease) of this TTL, whose row is written with a TTL of LockLease plus one second
	// (TTLs count whole seconds) and renewed every fifth of LockLease while
	// migrations run; a run whose last successful renewal was sent four fifths of it
	// ago stops with ErrLockLost. A crashed process blocks the others for at most LockLease plus one
	// second. Whole seconds, at least one. Default 30s.
	LockLease time.Duration
	// Progress, when set, is called on the calling goroutine as a run goes: when it
	// waits for another process's lock, and after each migration applied or rolled back.
	Progress func(Event)
}

func (o *Config) setDefaults() {
	if o.Table == "" {
		o.Table = "schema_migrations"
	}
	if o.LockTable == "" {
		o.LockTable = "schema_migrations_lock"
	}
	if o.DirtyTable == "" {
		o.DirtyTable = "schema_migrations_dirty"
	}
	if o.LockLease == 0 {
		o.LockLease = 30 * time.Second
	}
}

// Validate reports whether the options can be used.
func (o Config) Validate() error {
	if err := orm.CheckIdent("table", o.Table); err != nil {
		return fmt.Errorf("migrate: Config.Table: %w", err)
	}
	if err := orm.CheckIdent("table", o.LockTable); err != nil {
		return fmt.Errorf("migrate: Config.LockTable: %w", err)
	}
	if err := orm.CheckIdent("table", o.DirtyTable); err != nil {
		return fmt.Errorf("migrate: Config.DirtyTable: %w", err)
	}
	if o.Table == o.LockTable || o.Table == o.DirtyTable || o.LockTable == o.DirtyTable {
		return fmt.Errorf("migrate: Config.Table %q, LockTable %q and DirtyTable %q must differ", o.Table, o.LockTable, o.DirtyTable)
	}
	if o.LockLease < time.Second || o.LockLease%time.Second != 0 {
		return fmt.Errorf("migrate: Config.LockLease %s: want whole seconds, at least 1s", o.LockLease)
	}
	return nil
}

// appliedRow is one row of the migrations table.
type appliedRow struct {
	Version   int64        `cql:"version" orm:"pk"`
	Name      string       `cql:"name"`
	Kind      string       `cql:"kind"`     // "cql" or "go"
	Checksum  string       `cql:"checksum"` // hex SHA-256 of the up file; empty for Go
	AppliedAt time.Time    `cql:"applied_at"`
	Duration  orm.Duration `cql:"duration"`
}

// Migrator applies and rolls back a set of migrations on one keyspace. Build it with
// New, Add and AddFS, then call Up, UpTo, UpN, Down or Status. Its methods are safe for
// concurrent use, and runs in any number of processes exclude each other through a
// lock in Cassandra.
type Migrator struct {
	db      *orm.DB
	opts    Config
	applied *orm.Model[appliedRow]
	dirty   *orm.Model[dirtyRow]
	// locks creates the lock table; each run takes the lock through a Manager of its own
	// (see newOwner).
	locks *lease.Manager

	mu     sync.Mutex
	ms     map[int64]*migration
	synced map[string]bool // by keyspace: the bookkeeping tables exist
}

// New returns a Migrator for the migrations of db's keyspace, which must be set. It
// touches nothing until a run: the migrations and lock tables are created then.
func New(db *orm.DB, opts Config) (*Migrator, error) {
	if db == nil {
		return nil, errors.New("migrate: New: nil DB")
	}
	if db.Keyspace() == "" {
		return nil, errors.New("migrate: New: the DB has no keyspace: set orm.Config.Keyspace")
	}
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	applied, err := orm.NewModel[appliedRow](db, orm.TableName(opts.Table), orm.WithScope(orm.KeyspaceScope))
	if err != nil {
		return nil, err
	}
	dirty, err := orm.NewModel[dirtyRow](db, orm.TableName(opts.DirtyTable), orm.WithScope(orm.KeyspaceScope))
	if err != nil {
		return nil, err
	}
	m := &Migrator{db: db, opts: opts, applied: applied, dirty: dirty, ms: map[int64]*migration{}, synced: map[string]bool{}}
	if m.locks, err = m.leases(newOwner(), nil); err != nil {
		return nil, err
	}
	return m, nil
}

// Add adds Go migrations. It fails with ErrInvalidMigration for a version below 1, an
// empty name or a nil Up, and with ErrDuplicateVersion for a version already added;
// then it adds none of ms.
func (m *Migrator) Add(ms ...Migration) error {
	src := "Go migration"
	if _, file, line, ok := runtime.Caller(1); ok {
		src = fmt.Sprintf("Go migration added at %s:%d", file, line)
	}
	add := make([]*migration, 0, len(ms))
	for _, g := range ms {
		switch {
		case g.Version < 1:
			return fmt.Errorf("%w: %s: version %d: want a positive version", ErrInvalidMigration, g.Name, g.Version)
		case strings.TrimSpace(g.Name) == "" || strings.ContainsAny(g.Name, "\n\r"):
			return fmt.Errorf("%w: version %d: want a one-line name", ErrInvalidMigration, g.Version)
		case g.Up == nil:
			return fmt.Errorf("%w: %s: no Up func", ErrInvalidMigration, label(g.Version, g.Name))
		}
		add = append(add, &migration{version: g.Version, name: g.Name, source: src + " (" + g.Name + ")", goUp: g.Up, goDown: g.Down})
	}
	return m.add(add)
}

// AddFS adds the .cql migrations in directory dir of fsys (use "." for its root):
// files named VERSION_NAME.up.cql, each with an optional VERSION_NAME.down.cql, such
// as 0001_create_users.up.cql. Other files are ignored; a .cql file named otherwise is
// an error. With embed:
//
//	//go:embed migrations/*.cql
//	var migrations embed.FS
//	...
//	err := m.AddFS(migrations, "migrations")
//
// It fails like Add, and with ErrInvalidMigration for a file that does not split into
// statements (see SplitCQL); then it adds none of the files.
func (m *Migrator) AddFS(fsys fs.FS, dir string) error {
	ms, err := loadFS(fsys, dir)
	if err != nil {
		return err
	}
	return m.add(ms)
}

func (m *Migrator) add(ms []*migration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[int64]*migration{}
	for _, x := range ms {
		if prev := cmp.Or(m.ms[x.version], seen[x.version]); prev != nil {
			return fmt.Errorf("%w: version %d: %s and %s", ErrDuplicateVersion, x.version, describe(prev), describe(x))
		}
		seen[x.version] = x
	}
	for _, x := range ms {
		m.ms[x.version] = x
	}
	return nil
}

// sorted returns the migrations in version order.
func (m *Migrator) sorted() []*migration {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*migration, 0, len(m.ms))
	for _, x := range m.ms {
		out = append(out, x)
	}
	slices.SortFunc(out, func(a, b *migration) int { return cmp.Compare(a.version, b.version) })
	return out
}

// ensureTables creates the migrations, dirty and lock tables if they do not exist.
func (m *Migrator) ensureTables(ctx context.Context) error {
	ks, err := m.db.KeyspaceFor(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	m.mu.Lock()
	synced := m.synced[ks]
	m.mu.Unlock()
	if synced {
		return nil
	}
	if err := m.db.Sync(ctx, m.applied, m.dirty); err != nil {
		return fmt.Errorf("migrate: creating the migration tables: %w", err)
	}
	if err := m.locks.Sync(ctx); err != nil {
		return fmt.Errorf("migrate: creating the migration tables: %w", err)
	}
	m.mu.Lock()
	m.synced[ks] = true
	m.mu.Unlock()
	return nil
}

// readApplied returns the recorded migrations by version.
func (m *Migrator) readApplied(ctx context.Context) (map[int64]appliedRow, error) {
	out := map[int64]appliedRow{}
	// The table holds one small row per migration: a full scan is the access path.
	for row, err := range m.applied.Query().AllowFiltering().All(ctx) {
		if err != nil {
			return nil, fmt.Errorf("migrate: reading applied migrations: %w", err)
		}
		out[row.Version] = row
	}
	return out, nil
}

// EventKind says what an Event reports.
type EventKind int

// Event kinds.
const (
	// EventWaiting: another process holds the lock; reported once per holder.
	EventWaiting EventKind = iota + 1
	// EventApplied: a migration's up step ran and was recorded.
	EventApplied
	// EventRolledBack: a migration's down step ran and its record was deleted.
	EventRolledBack
)

// Result is one migration a run applied or rolled back.
type Result struct {
	// Version and Name identify the migration.
	Version int64
	Name    string
	// Duration is how long its step took.
	Duration time.Duration
}

// Event is what Config.Progress is told.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Result is the migration, for EventApplied and EventRolledBack.
	Result Result
	// Holder and HeldSince describe the lock holder, for EventWaiting.
	Holder    string
	HeldSince time.Time
}

// String renders the event as a line of progress, e.g. "applied 0002_add_index in 183ms".
func (e Event) String() string {
	switch e.Kind {
	case EventWaiting:
		return fmt.Sprintf("waiting for the migration lock held by %s since %s", e.Holder, e.HeldSince.Format(time.RFC3339))
	case EventApplied:
		return fmt.Sprintf("applied %s in %s", label(e.Result.Version, e.Result.Name), e.Result.Duration.Round(time.Millisecond))
	case EventRolledBack:
		return fmt.Sprintf("rolled back %s in %s", label(e.Result.Version, e.Result.Name), e.Result.Duration.Round(time.Millisecond))
	}
	return fmt.Sprintf("migrate event %d", int(e.Kind))
}

func (m *Migrator) emit(e Event) {
	if m.opts.Progress != nil {
		m.opts.Progress(e)
	}
}

// Up applies every pending migration in version order, holding the migration lock;
// see UpTo.
func (m *Migrator) Up(ctx context.Context) ([]Result, error) {
	return m.up(ctx, func(pending []*migration) []*migration { return pending })
}

// UpTo applies the pending migrations with versions up to and including version, in
// version order. It takes the migration lock first, waiting while another process
// holds it (until ctx ends), and only then reads which migrations are applied, so
// migrations another process applied meanwhile are not run again. A pending version
// lower than an applied one (from a merged branch) is applied too.
//
// It refuses to run, with ErrChecksumMismatch, if an applied .cql migration's up file
// changed. The first failing migration stops the run with a *MigrationError; the ones
// applied before it stay recorded. It returns the migrations it applied.
func (m *Migrator) UpTo(ctx context.Context, version int64) ([]Result, error) {
	return m.up(ctx, func(pending []*migration) []*migration {
		i := slices.IndexFunc(pending, func(x *migration) bool { return x.version > version })
		if i < 0 {
			return pending
		}
		return pending[:i]
	})
}

// UpN applies the first n pending migrations (fewer if fewer are pending); see UpTo.
func (m *Migrator) UpN(ctx context.Context, n int) ([]Result, error) {
	if n < 1 {
		return nil, fmt.Errorf("migrate: UpN(%d): want at least 1", n)
	}
	return m.up(ctx, func(pending []*migration) []*migration { return pending[:min(n, len(pending))] })
}

func (m *Migrator) up(ctx context.Context, pick func(pending []*migration) []*migration) ([]Result, error) {
	return m.locked(ctx, func(ctx context.Context, applied map[int64]appliedRow) ([]Result, error) {
		if err := m.refuseDirty(ctx); err != nil {
			return nil, err
		}
		var pending, changed []*migration
		for _, x := range m.sorted() {
			row, ok := applied[x.version]
			switch {
			case !ok:
				pending = append(pending, x)
			case x.isCQL() && row.Checksum != x.sum:
				changed = append(changed, x)
			}
		}
		if len(changed) > 0 {
			names := make([]string, len(changed))
			for i, x := range changed {
				names[i] = x.source
			}
			return nil, fmt.Errorf("%w since it was applied: %s: restore the file, or roll the migration back and apply it again",
				ErrChecksumMismatch, strings.Join(names, ", "))
		}
		var done []Result
		for _, x := range pick(pending) {
			start := time.Now()
			if err := m.runStep(ctx, x, "up"); err != nil {
				return done, err
			}
			d := time.Since(start)
			row := appliedRow{Version: x.version, Name: x.name, Kind: x.kind(), Checksum: x.sum,
				AppliedAt: time.Now().UTC().Truncate(time.Millisecond), Duration: orm.Duration{Nanoseconds: d.Nanoseconds()}}
			if err := retryLWT(ctx, func() error { return m.applied.InsertIfNotExists(ctx, &row) }); err != nil {
				// The step ran: the migration is applied, recorded or not.
				return done, m.markDirty(ctx, m.stepError(ctx, x, "up", 0, Statement{}, "", fmt.Errorf("recording it: %w", err)), "recording it as applied")
			}
			r := Result{Version: x.version, Name: x.name, Duration: d}
			done = append(done, r)
			m.emit(Event{Kind: EventApplied, Result: r})
		}
		return done, nil
	})
}

// Down rolls back the last steps applied migrations (the highest versions), in
// reverse order, holding the migration lock like UpTo. Before running anything it checks
// that each of them is known and has a down step (else ErrUnknownMigration or
// ErrIrreversible). A failing down step stops the run with a *MigrationError; the ones
// rolled back before it stay rolled back. It returns the migrations it rolled back.
func (m *Migrator) Down(ctx context.Context, steps int) ([]Result, error) {
	if steps < 1 {
		return nil, fmt.Errorf("migrate: Down(%d): want at least 1 step", steps)
	}
	return m.locked(ctx, func(ctx context.Context, applied map[int64]appliedRow) ([]Result, error) {
		if err := m.refuseDirty(ctx); err != nil {
			return nil, err
		}
		versions := make([]int64, 0, len(applied))
		for v := range applied {
			versions = append(versions, v)
		}
		slices.Sort(versions)
		slices.Reverse(versions)
		versions = versions[:min(steps, len(versions))]
		m.mu.Lock()
		todo := make([]*migration, len(versions))
		for i, v := range versions {
			todo[i] = m.ms[v]
		}
		m.mu.Unlock()
		for i, x := range todo {
			row := applied[versions[i]]
			switch {
			case x == nil:
				return nil, fmt.Errorf("%w: %s was applied at %s but is not among the migrations",
					ErrUnknownMigration, label(row.Version, row.Name), row.AppliedAt.Format(time.RFC3339))
			case !x.reversible():
				return nil, fmt.Errorf("%w: %s (%s)", ErrIrreversible, x.label(), x.source)
			}
		}
		var done []Result
		for _, x := range todo {
			start := time.Now()
			if err := m.runStep(ctx, x, "down"); err != nil {
				return done, err
			}
			if err := retryLWT(ctx, func() error { return m.applied.DeleteIf(ctx, []any{x.version}) }); err != nil {
				// The step ran: the migration is rolled back, its record deleted or not.
				return done, m.markDirty(ctx, m.stepError(ctx, x, "down", 0, Statement{}, "", fmt.Errorf("deleting its record: %w", err)), "deleting its record")
			}
			r := Result{Version: x.version, Name: x.name, Duration: time.Since(start)}
			done = append(done, r)
			m.emit(Event{Kind: EventRolledBack, Result: r})
		}
		return done, nil
	})
}

// retryLWT runs lwt, a lightweight transaction on the migrations table made while
// holding the migration lock, up to three times in all (with package retry) while it
// fails with an unknown outcome (orm.ErrUncertain) or for want of replicas
// (orm.ErrUnavailable). This is the one automatic LWT retry in the module, and it is
// safe because nobody else writes the migrations table while we hold the lock: a
// conflict on an attempt after an uncertain one can only mean that the uncertain one
// applied, so it counts as success. Any other conflict is a real one and is returned.
func retryLWT(ctx context.Context, lwt func() error) error {
	policy := retry.Policy{If: retry.On(orm.ErrUncertain, orm.ErrUnavailable), MaxAttempts: 3}
	uncertain := false
	return retry.Do(ctx, policy, func(ctx context.Context, attempt int) error {
		err := lwt()
		switch {
		case uncertain && errors.Is(err, orm.ErrConflict):
			return nil
		case errors.Is(err, orm.ErrUncertain):
			uncertain = true
		}
		return err
	})
}

// locked runs f while holding the migration lock, with the applied migrations read
// after taking it. The context f gets is cancelled with ErrLockLost if the lock is lost.
func (m *Migrator) locked(ctx context.Context, f func(context.Context, map[int64]appliedRow) ([]Result, error)) (done []Result, err error) {
	if err := m.ensureTables(ctx); err != nil {
		return nil, err
	}
	h, err := m.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer func() {
		if rerr := m.release(ctx, h); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watch(runCtx, cancel, h)
	applied, err := m.readApplied(runCtx)
	if err != nil {
		return nil, err
	}
	return f(runCtx, applied)
}

// runStep runs one direction of migration x. A failure after which the step may have
// changed something (see mayHaveChanged) marks the migration dirty.
func (m *Migrator) runStep(ctx context.Context, x *migration, dir string) error {
	if !x.isCQL() {
		f := x.goUp
		if dir == "down" {
			f = x.goDown
		}
		if err := f(ctx, m.db); err != nil {
			return m.markDirty(ctx, m.stepError(ctx, x, dir, 0, Statement{}, "", err), "go step")
		}
		return nil
	}
	stmts, file := x.cqlUp, x.source
	if dir == "down" {
		stmts, file = x.cqlDown, x.downSrc
	}
	for i, st := range stmts {
		// ExecCQL runs the statement in the DB's keyspace (the protocol v5 keyspace
		// flag), tells the observer, and waits for schema agreement and index builds.
		if err := m.db.ExecCQL(ctx, st.Text); err != nil {
			me := m.stepError(ctx, x, dir, i+1, st, file, err)
			if !mayHaveChanged(x, i+1, err) {
				return me
			}
			return m.markDirty(ctx, me, "")
		}
	}
	return nil
}

// stepError wraps err as a *MigrationError, adding the cause of ctx's cancellation
// (ErrLockLost) when that is why the step failed.
func (m *Migrator) stepError(ctx context.Context, x *migration, dir string, n int, st Statement, file string, err error) *MigrationError {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) && errors.Is(cause, ErrLockLost) {
		err = fmt.Errorf("%w: %w", cause, err)
	}
	return &MigrationError{Version: x.version, Name: x.name, Direction: dir, File: file,
		Statement: n, Line: st.Line, Text: st.FirstLine(), Err: err}
}
