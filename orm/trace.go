package orm

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Tracer is told the id of the server-side trace of each statement run WithTracing,
// once the statement's answer arrived. The server writes the trace asynchronously:
// read it with DB.ReadTrace. Trace is called on the goroutine that ran the statement
// and must not block for long.
type Tracer interface {
	Trace(id UUID)
}

// TracerFunc makes a function a Tracer.
type TracerFunc func(id UUID)

// Trace calls f(id).
func (f TracerFunc) Trace(id UUID) { f(id) }

// driverTracer hands the driver's trace ids to a Tracer.
type driverTracer struct{ t Tracer }

func (d driverTracer) Trace(id []byte) {
	var u UUID
	copy(u[:], id)
	d.t.Trace(u)
}

// Trace is the server-side trace of one statement.
type Trace struct {
	// ID is the trace's session id.
	ID UUID
	// Coordinator is the address of the node that coordinated the statement.
	Coordinator string
	// Request names the kind of request, such as "Execute CQL3 prepared query".
	Request string
	// Started is when the coordinator received it.
	Started time.Time
	// Duration is how long the coordinator took.
	Duration time.Duration
	// Events are the steps the nodes recorded, in order.
	Events []TraceEvent
}

// TraceEvent is one step of a trace.
type TraceEvent struct {
	// Source is the node that recorded it.
	Source string
	// Activity says what happened.
	Activity string
	// Elapsed is the time since the node started on the request.
	Elapsed time.Duration
	// Thread is the server thread that recorded it.
	Thread string
}

// ReadTrace reads trace id from system_traces (at consistency One: the trace tables
// keep two replicas whatever the cluster's size), waiting until the server has finished
// writing it (its duration is recorded) or ctx ends.
func (db *DB) ReadTrace(ctx context.Context, id UUID) (Trace, error) {
	tr := Trace{ID: id}
	if err := db.live(); err != nil {
		return tr, err
	}
	for {
		var micros *int
		err := db.session.Query(`SELECT coordinator, request, started_at, duration FROM system_traces.sessions WHERE session_id = ?`, id).
			Consistency(One.driver()).ScanContext(ctx, &tr.Coordinator, &tr.Request, &tr.Started, &micros)
		if err != nil && !errors.Is(err, errNoRows) {
			return tr, fmt.Errorf("orm: reading trace %s: %w", id, classify(err))
		}
		if err == nil && micros != nil {
			tr.Duration = time.Duration(*micros) * time.Microsecond
			break
		}
		select {
		case <-ctx.Done():
			return tr, fmt.Errorf("orm: waiting for trace %s to be written: %w", id, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	iter := db.session.Query(`SELECT source, activity, source_elapsed, thread FROM system_traces.events WHERE session_id = ?`, id).
		Consistency(One.driver()).IterContext(ctx)
	var (
		e       TraceEvent
		elapsed int
	)
	for iter.Scan(&e.Source, &e.Activity, &elapsed, &e.Thread) {
		e.Elapsed = time.Duration(elapsed) * time.Microsecond
		tr.Events = append(tr.Events, e)
	}
	if err := iter.Close(); err != nil {
		return tr, fmt.Errorf("orm: reading the events of trace %s: %w", id, classify(err))
	}
	return tr, nil
}
