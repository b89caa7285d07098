package migrate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// dirtyRow is one row of the dirty table: a migration whose step failed after it may
// have changed something. While one exists, runs refuse to start (ErrDirty).
type dirtyRow struct {
	Version   int64     `cql:"version" orm:"pk"`
	Name      string    `cql:"name"`
	Direction string    `cql:"direction"` // "up" or "down"
	File      string    `cql:"file"`      // the .cql file, empty for a Go step
	Statement int       `cql:"statement"` // 1-based; 0 for a Go step or the record write
	Line      int       `cql:"line"`
	Text      string    `cql:"text"`  // the statement's first line, or what failed
	Error     string    `cql:"error"` // the failure's text
	Uncertain bool      `cql:"uncertain"`
	FailedAt  time.Time `cql:"failed_at"`
}

// where describes the failed statement of r, for messages.
func (r dirtyRow) where() string {
	if r.File == "" {
		return r.Text
	}
	return fmt.Sprintf("%s statement %d (line %d) %s", r.File, r.Statement, r.Line, strconv.Quote(r.Text))
}

// err returns the error wrapping ErrDirty that names r, its failed statement and the
// way out.
func (r dirtyRow) err() error {
	outcome := "failed"
	if r.Uncertain {
		outcome = "failed with an unknown outcome"
	}
	return fmt.Errorf("%w: %s: %s at %s, %s at %s: %s; check the schema, then resolve it as applied "+
		"(Resolve(ctx, %d, true); cassandraorm migrate resolve -version %d -applied) or as pending, to run it again "+
		"(Resolve(ctx, %d, false); -pending)",
		ErrDirty, label(r.Version, r.Name), r.Direction, r.where(), outcome, r.FailedAt.Format(time.RFC3339), r.Error,
		r.Version, r.Version, r.Version)
}

// mayHaveChanged reports whether a failed step may have changed something, so that
// its migration must be marked dirty: any failure of a Go step (it may have written),
// and a failure of a .cql statement unless it is the first of its file and the server
// refused it as invalid or unauthorized. Other refusals of a first statement
// (ErrUnavailable) count too: the ORM reports the wait for schema agreement after a
// statement that applied the same way.
func mayHaveChanged(x *migration, stmt int, err error) bool {
	if !x.isCQL() || stmt != 1 || errors.Is(err, orm.ErrUncertain) {
		return true
	}
	return !errors.Is(err, orm.ErrInvalidQuery) && !errors.Is(err, orm.ErrUnauthorized)
}

// markDirty records the migration of me as dirty, what being the failed part when
// not a .cql statement ("go step"), and returns the error to report: me
// with Dirty set, or me joined with why the mark could not be written. It writes
// under a context of its own, so that a step cancelled (by ctx or the loss of the lock)
// is still marked: a conservative mark the operator clears with Resolve.
func (m *Migrator) markDirty(ctx context.Context, me *MigrationError, what string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	row := dirtyRow{Version: me.Version, Name: me.Name, Direction: me.Direction, File: me.File,
		Statement: me.Statement, Line: me.Line, Text: me.Text, Error: me.Err.Error(),
		Uncertain: errors.Is(me.Err, orm.ErrUncertain), FailedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if what != "" {
		row.Text = what
	}
	err := retryLWT(ctx, func() error { return m.dirty.InsertIfNotExists(ctx, &row) })
	if errors.Is(err, orm.ErrConflict) {
		// Already marked: by a run that lost the lock to us, or by ours after an
		// uncertain attempt. It is dirty either way.
		err = nil
	}
	if err != nil {
		return errors.Join(me, fmt.Errorf("migrate: %s may have changed the schema or data, but marking it dirty failed, "+
			"so the next run will run it again: check it before that: %w", label(me.Version, me.Name), err))
	}
	me.Dirty = true
	return me
}

// readDirty returns the dirty migrations by version.
func (m *Migrator) readDirty(ctx context.Context) (map[int64]dirtyRow, error) {
	out := map[int64]dirtyRow{}
	// One small row per dirty migration, usually none: a full scan is the access path.
	for row, err := range m.dirty.Query().AllowFiltering().All(ctx) {
		if err != nil {
			return nil, fmt.Errorf("migrate: reading dirty migrations: %w", err)
		}
		out[row.Version] = row
	}
	return out, nil
}

// refuseDirty returns an error wrapping ErrDirty if any migration is dirty.
func (m *Migrator) refuseDirty(ctx context.Context) error {
	dirty, err := m.readDirty(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range dirty {
		errs = append(errs, r.err())
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// Resolve records what the operator found to be true of migration version, after
// checking the schema: applied (its up step took effect) or not (it is pending and the
// next Up runs its up step from the start). It clears the migration's dirty mark, which
// is what it is for (see ErrDirty), but works on a clean migration too: then it
// records a pending migration as applied without running it, or forgets an applied
// one without running its down step.
//
// It holds the migration lock like Up, and refuses, with ErrUnknownMigration, a version
// that is not among the Migrator's migrations. Marking a .cql migration applied
// records the checksum of its current up file. The writes are retried like those of
// Up; if one fails, Resolve can simply be called again.
func (m *Migrator) Resolve(ctx context.Context, version int64, applied bool) error {
	m.mu.Lock()
	x := m.ms[version]
	m.mu.Unlock()
	if x == nil {
		return fmt.Errorf("%w: Resolve: version %d is not among the migrations", ErrUnknownMigration, version)
	}
	_, err := m.locked(ctx, func(ctx context.Context, rows map[int64]appliedRow) ([]Result, error) {
		_, recorded := rows[version]
		switch {
		case applied && !recorded:
			row := appliedRow{Version: x.version, Name: x.name, Kind: x.kind(), Checksum: x.sum,
				AppliedAt: time.Now().UTC().Truncate(time.Millisecond)}
			if err := retryLWT(ctx, func() error { return m.applied.InsertIfNotExists(ctx, &row) }); err != nil {
				return nil, fmt.Errorf("migrate: resolving %s as applied: recording it: %w", x.label(), err)
			}
		case !applied && recorded:
			if err := retryLWT(ctx, func() error { return m.applied.DeleteIf(ctx, []any{x.version}) }); err != nil {
				return nil, fmt.Errorf("migrate: resolving %s as pending: deleting its record: %w", x.label(), err)
			}
		}
		// DELETE IF EXISTS on a clean migration is a conflict on the first attempt:
		// nothing to clear.
		err := retryLWT(ctx, func() error { return m.dirty.DeleteIf(ctx, []any{x.version}) })
		if err != nil && !errors.Is(err, orm.ErrConflict) {
			return nil, fmt.Errorf("migrate: resolving %s: clearing its dirty mark: %w", x.label(), err)
		}
		return nil, nil
	})
	return err
}
