package eventsourcing

import "time"

// snapshotRow is the latest snapshot of a stream.
type snapshotRow struct {
	Stream        string    `cql:"stream" orm:"pk"`
	Version       int64     `cql:"version"`
	SchemaVersion int32     `cql:"schema_version"`
	Data          []byte    `cql:"data"`
	TakenAt       time.Time `cql:"taken_at"`
}

// Snapshotter is implemented by aggregates whose state can be saved whole, so loading
// replays only the events after the snapshot. UnmarshalSnapshot is called on a new
// aggregate.
type Snapshotter interface {
	MarshalSnapshot() ([]byte, error)
	UnmarshalSnapshot(data []byte) error
}

// SnapshotPolicy says when a Repository takes snapshots of a Snapshotter aggregate.
type SnapshotPolicy struct {
	// Every takes a snapshot once this many events were stored since the last one
	// (0: never on count).
	Every int64
	// SlowLoad takes a snapshot after a load that took longer than this (0: never
	// on time).
	SlowLoad time.Duration
	// SchemaVersion is the version of the snapshot's shape. A stored snapshot of
	// another version is ignored (the aggregate is replayed from its events and a
	// new snapshot replaces the old one), never misread.
	SchemaVersion int
}

func (p SnapshotPolicy) due(stored, snapshotAt int64, loadTook time.Duration) bool {
	if p.Every > 0 && stored-snapshotAt >= p.Every {
		return true
	}
	return p.SlowLoad > 0 && loadTook > p.SlowLoad
}
