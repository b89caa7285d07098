package eventsourcing

import "github.com/cassandraorm/cassandraorm-go/orm"

// Root is embedded in an aggregate to track its identity, version and the events
// raised since it was loaded. E is the aggregate's event type, usually an interface
// its events implement.
type Root[E Event] struct {
	id      string
	version int64
	pending []E
	ids     []orm.UUID // the pending events' ids, fixed when raised so a retried save is idempotent
}

// ID returns the aggregate's id, which is also its stream name.
func (r *Root[E]) ID() string { return r.id }

// Version returns the version including raised, not yet saved events.
func (r *Root[E]) Version() int64 { return r.version }

// StoredVersion returns the version of the last saved event (0 for a new aggregate).
func (r *Root[E]) StoredVersion() int64 { return r.version - int64(len(r.pending)) }

// Pending returns the events raised since the aggregate was loaded or saved.
func (r *Root[E]) Pending() []E { return r.pending }

// Aggregate is implemented by an aggregate type A (usually a pointer to a struct that
// embeds Root[E]): Apply changes its state for one event and must not fail, since it
// also replays history.
type Aggregate[E Event] interface {
	AggregateRoot() *Root[E]
	Apply(e E)
}

// AggregateRoot returns r itself, so a struct embedding Root[E] satisfies the first
// method of Aggregate.
func (r *Root[E]) AggregateRoot() *Root[E] { return r }

// Raise applies e to a at once and queues it to be saved.
func Raise[E Event](a Aggregate[E], e E) {
	a.Apply(e)
	r := a.AggregateRoot()
	r.pending = append(r.pending, e)
	r.ids = append(r.ids, orm.NewUUID())
	r.version++
}

// replay applies a stored event.
func replay[E Event](a Aggregate[E], e E, version int64) {
	a.Apply(e)
	a.AggregateRoot().version = version
}
