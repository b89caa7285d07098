package eventsourcing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// Event is a domain event: a Go value that says what happened. EventType names it in
// the store; the name must stay stable for as long as events of the type are stored.
type Event interface {
	EventType() string
}

// Metadata travels with every event: who did it, on whose behalf, and why.
type Metadata struct {
	// CorrelationID ties together everything caused by one request.
	CorrelationID string
	// CausationID is the id of the command or event that caused this one.
	CausationID string
	// Tenant is the tenant the event belongs to, if any. Repository.Save sets it
	// from the tenant of its context (tenant.From), when there is one.
	Tenant string
	// Actor is the user or service that caused it.
	Actor string
	// Extra holds anything else; keys must not clash with the fields above.
	Extra map[string]string
}

func (m Metadata) toMap() map[string]string {
	out := make(map[string]string, len(m.Extra)+4)
	for k, v := range m.Extra {
		out[k] = v
	}
	set := func(k, v string) {
		if v != "" {
			out[k] = v
		}
	}
	set("correlation_id", m.CorrelationID)
	set("causation_id", m.CausationID)
	set("tenant", m.Tenant)
	set("actor", m.Actor)
	return out
}

func metadataFrom(in map[string]string) Metadata {
	m := Metadata{
		CorrelationID: in["correlation_id"], CausationID: in["causation_id"],
		Tenant: in["tenant"], Actor: in["actor"],
	}
	for k, v := range in {
		switch k {
		case "correlation_id", "causation_id", "tenant", "actor":
		default:
			if m.Extra == nil {
				m.Extra = map[string]string{}
			}
			m.Extra[k] = v
		}
	}
	return m
}

type metadataKey struct{}

// WithMetadata returns a context carrying m; Repository.Save stamps it on the events
// it appends, so a request handler sets it once. Under a context that carries a
// tenant (tenant.With), Save takes m.Tenant from it: leave m.Tenant empty, or set it
// to the same tenant.
func WithMetadata(ctx context.Context, m Metadata) context.Context {
	return context.WithValue(ctx, metadataKey{}, m)
}

// MetadataFrom returns the metadata carried by ctx (zero if none).
func MetadataFrom(ctx context.Context) Metadata {
	m, _ := ctx.Value(metadataKey{}).(Metadata)
	return m
}

// withTenant returns md with the tenant of ctx, for the events Append stores in
// stream: md as it is when ctx has no tenant; an error when ctx's tenant is invalid,
// or when md names another tenant (saving one tenant's events from another tenant's
// request is a bug in the caller).
func withTenant(ctx context.Context, stream string, md Metadata) (Metadata, error) {
	id, err := tenant.From(ctx)
	switch {
	case errors.Is(err, tenant.ErrNoTenant):
		return md, nil
	case err != nil:
		return md, fmt.Errorf("eventsourcing: saving %s: context: %w", stream, err)
	case md.Tenant != "" && md.Tenant != id:
		return md, fmt.Errorf("eventsourcing: saving %s: metadata has tenant %q, but the context has tenant %q: %w",
			stream, md.Tenant, id, tenant.ErrMismatch)
	}
	md.Tenant = id
	return md, nil
}

// EventData is an event ready to append: encoded, with its id and metadata.
type EventData struct {
	// ID identifies the event; appends are idempotent by it. Zero means a new
	// random id.
	ID orm.UUID
	// Type is the event type name.
	Type string
	// SchemaVersion is the version of the payload's shape.
	SchemaVersion int
	// Data is the encoded payload.
	Data []byte
	// Metadata is stored with the event.
	Metadata Metadata
}

// Record is a stored event.
type Record struct {
	// ID identifies the event; consumers dedupe by it.
	ID orm.UUID
	// Stream is the stream (aggregate id) the event belongs to.
	Stream string
	// Version is the event's place in its stream, from 1, without gaps.
	Version int64
	// Type is the event type name; SchemaVersion the version of Data's shape.
	Type          string
	SchemaVersion int
	// Data is the encoded payload; decode it with Registry.Decode.
	Data []byte
	// Metadata is what the writer stamped on the event.
	Metadata Metadata
	// RecordedAt is when the event was appended (the writer's clock).
	RecordedAt time.Time
}

// Errors.
var (
	// ErrConcurrency is returned when an append's expected version is not the
	// stream's current version: another writer got there first.
	ErrConcurrency = errors.New("eventsourcing: concurrency conflict")
	// ErrUnknownEventType is returned when a stored event's type is not registered.
	ErrUnknownEventType = errors.New("eventsourcing: unknown event type")
	// ErrCorruptEvent is returned when a stored event's payload cannot be decoded.
	ErrCorruptEvent = errors.New("eventsourcing: corrupt event")
	// ErrStreamNotFound is returned when loading an aggregate whose stream is empty.
	ErrStreamNotFound = errors.New("eventsourcing: stream not found")
)

// ConcurrencyError reports a lost race on a stream. It matches ErrConcurrency.
type ConcurrencyError struct {
	// Stream is the stream appended to.
	Stream string
	// Expected is the version the append expected.
	Expected int64
	// Current is the stream's version as read when the append was refused, or
	// CurrentUnknown when that read failed. The refusal is certain either way: the
	// append's events are not in the stream.
	Current int64
}

// CurrentUnknown is ConcurrencyError.Current when the stream's version could not be
// read after a certain refusal.
const CurrentUnknown int64 = -1

// Error implements error.
func (e *ConcurrencyError) Error() string {
	if e.Current == CurrentUnknown {
		return fmt.Sprintf("eventsourcing: concurrency conflict on stream %s: expected version %d, current version unknown (reading it failed)", e.Stream, e.Expected)
	}
	return fmt.Sprintf("eventsourcing: concurrency conflict on stream %s: expected version %d, current is %d", e.Stream, e.Expected, e.Current)
}

// Is makes errors.Is(err, ErrConcurrency) true.
func (e *ConcurrencyError) Is(target error) bool { return target == ErrConcurrency }

// UncertainError reports an append whose outcome is unknown: its events may be in
// the stream, now or later (a timeout, a lost connection, ctx ending in flight, or
// a refusal whose cause could not be read). It matches orm.ErrUncertain with
// errors.Is, and never ErrConcurrency. Appending the same events (same IDs) at the
// same expected version again settles it: that succeeds, without storing them
// twice, if they are stored.
type UncertainError struct {
	// Stream is the stream appended to.
	Stream string
	// Expected is the version the append expected.
	Expected int64
	// Err is what left the outcome unknown.
	Err error
}

// Error implements error.
func (e *UncertainError) Error() string {
	return fmt.Sprintf("eventsourcing: append to %s at version %d: outcome unknown: %v", e.Stream, e.Expected, e.Err)
}

// Unwrap returns Err.
func (e *UncertainError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, orm.ErrUncertain) true.
func (e *UncertainError) Is(target error) bool { return target == orm.ErrUncertain }
