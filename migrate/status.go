package migrate

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// State is where a migration stands.
type State int

// States.
const (
	// StatePending: not applied.
	StatePending State = iota + 1
	// StateApplied: applied, and for a .cql migration its up file is unchanged.
	StateApplied
	// StateChanged: a .cql migration whose up file changed since it was applied (its
	// checksum differs). An error: Up refuses to run while one is.
	StateChanged
	// StateUnknown: recorded as applied, but not among the Migrator's migrations (applied
	// by a newer release, or its file was deleted).
	StateUnknown
	// StateDirty: a step failed after it may have changed something (see ErrDirty).
	// An error: runs refuse to start until Resolve says whether it applied.
	StateDirty
)

// String returns the state in lower case, e.g. "pending".
func (s State) String() string {
	switch s {
	case StatePending:
		return "pending"
	case StateApplied:
		return "applied"
	case StateChanged:
		return "changed"
	case StateUnknown:
		return "unknown"
	case StateDirty:
		return "dirty"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// MigrationStatus is one line of Status.
type MigrationStatus struct {
	// Version and Name identify the migration.
	Version int64
	Name    string
	// Source is the up file of a .cql migration, or where a Go migration was added;
	// empty for a StateUnknown one.
	Source string
	// State is where the migration stands.
	State State
	// AppliedAt and Duration say when and how long the migration ran; zero if StatePending.
	AppliedAt time.Time
	Duration  time.Duration
	// Err is set when the state is an error: for StateChanged, an error wrapping
	// ErrChecksumMismatch; for StateDirty, one wrapping ErrDirty that names the failed
	// statement and its error.
	Err error
}

// Label returns the migration as migration files name it, e.g. "0002_add_index".
func (s MigrationStatus) Label() string { return label(s.Version, s.Name) }

// Status reports every migration, known or recorded, in version order. It reads the
// migrations table without taking the lock (creating the tables if they do not exist),
// so it may run while another process migrates. The error is about reading only: a
// migration in error carries it in its Err.
func (m *Migrator) Status(ctx context.Context) ([]MigrationStatus, error) {
	if err := m.ensureTables(ctx); err != nil {
		return nil, err
	}
	applied, err := m.readApplied(ctx)
	if err != nil {
		return nil, err
	}
	dirty, err := m.readDirty(ctx)
	if err != nil {
		return nil, err
	}
	var out []MigrationStatus
	for _, x := range m.sorted() {
		s := MigrationStatus{Version: x.version, Name: x.name, Source: x.source, State: StatePending}
		if row, ok := applied[x.version]; ok {
			s.State, s.AppliedAt, s.Duration = StateApplied, row.AppliedAt, time.Duration(row.Duration.Nanoseconds)
			if x.isCQL() && row.Checksum != x.sum {
				s.State = StateChanged
				s.Err = fmt.Errorf("%w: %s: checksum %s when applied, %s now", ErrChecksumMismatch, x.source, short(row.Checksum), short(x.sum))
			}
			delete(applied, x.version)
		}
		if r, ok := dirty[x.version]; ok {
			s.State, s.Err = StateDirty, r.err()
			delete(dirty, x.version)
		}
		out = append(out, s)
	}
	for _, row := range applied {
		s := MigrationStatus{Version: row.Version, Name: row.Name, State: StateUnknown,
			AppliedAt: row.AppliedAt, Duration: time.Duration(row.Duration.Nanoseconds)}
		if r, ok := dirty[row.Version]; ok {
			s.State, s.Err = StateDirty, r.err()
			delete(dirty, row.Version)
		}
		out = append(out, s)
	}
	for _, r := range dirty { // marked by a release that knew the migration
		out = append(out, MigrationStatus{Version: r.Version, Name: r.Name, State: StateDirty, Err: r.err()})
	}
	slices.SortFunc(out, func(a, b MigrationStatus) int { return cmp.Compare(a.Version, b.Version) })
	return out, nil
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	if sum == "" {
		return "(none)"
	}
	return sum
}
