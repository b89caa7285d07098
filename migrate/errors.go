package migrate

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors. Errors from this package wrap one of these, a *MigrationError, an
// orm error or a driver error, together with the version and name concerned; test them
// with errors.Is and errors.As.
var (
	// ErrInvalidMigration is returned by Add and AddFS for a migration that cannot be
	// run: a bad version or file name, a missing up step, a .cql file that does not
	// split into statements.
	ErrInvalidMigration = errors.New("migrate: invalid migration")
	// ErrDuplicateVersion is returned by Add and AddFS when two migrations share a
	// version; the message names both.
	ErrDuplicateVersion = errors.New("migrate: duplicate version")
	// ErrChecksumMismatch means a .cql migration's up file changed after it was
	// applied. Up refuses to run until the file is restored or the migration is rolled
	// back; Status reports it on the migration.
	ErrChecksumMismatch = errors.New("migrate: applied migration file changed")
	// ErrIrreversible is returned by Down when a migration to roll back has no down
	// step. Nothing is rolled back.
	ErrIrreversible = errors.New("migrate: migration has no down step")
	// ErrUnknownMigration is returned by Down when an applied version to roll back is
	// not among the Migrator's migrations. Nothing is rolled back.
	ErrUnknownMigration = errors.New("migrate: applied migration is not known")
	// ErrLockLost means the migration lock could not be renewed in time, or another
	// process took it: the run stops, and the migration in progress (if any) is
	// cancelled, not recorded as applied, and marked dirty (it may have run in part).
	ErrLockLost = errors.New("migrate: migration lock lost")
	// ErrDirty means a migration's step failed after it may have changed something:
	// a Go step failed, or a .cql statement failed with an unknown outcome or after
	// earlier statements of its file ran, or the step ran but recording it failed. The
	// migration is marked dirty, and Up, UpTo, UpN and Down refuse to run, before
	// running anything, until an operator has checked the schema and called Resolve.
	// The error names the migration, the failed statement and the way out; Status
	// reports it on the migration.
	ErrDirty = errors.New("migrate: migration is dirty")
)

// MigrationError reports a migration step that failed. Migrations applied (or rolled
// back) before it in the same run stay recorded; the failed one is not recorded as
// applied (or rolled back), but the .cql statements before the failed one have run.
// When the step may have changed something it is marked dirty (Dirty; see ErrDirty);
// if that mark could not be written, the error returned joins the *MigrationError
// with one saying so.
type MigrationError struct {
	// Version and Name identify the migration.
	Version int64
	Name    string
	// Direction is "up" or "down".
	Direction string
	// File is the .cql file that failed, empty for a Go step.
	File string
	// Statement is the 1-based number of the failed statement in File, 0 for a Go step.
	Statement int
	// Line is the line of File where that statement starts.
	Line int
	// Text is the first line of that statement.
	Text string
	// Err is what went wrong.
	Err error
	// Dirty is set when the migration was marked dirty: the next runs refuse to start
	// (ErrDirty) until Resolve says whether it applied.
	Dirty bool
}

// Error implements error.
func (e *MigrationError) Error() string {
	var b strings.Builder
	b.WriteString("migrate: " + e.Direction + " " + label(e.Version, e.Name))
	if e.File != "" {
		fmt.Fprintf(&b, ": %s statement %d (line %d) %s", e.File, e.Statement, e.Line, strconv.Quote(e.Text))
	}
	b.WriteString(": " + e.Err.Error())
	if e.Dirty {
		fmt.Fprintf(&b, " (marked dirty: check the schema, then resolve version %d as applied or pending)", e.Version)
	}
	return b.String()
}

// Unwrap returns Err.
func (e *MigrationError) Unwrap() error { return e.Err }
