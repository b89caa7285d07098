package eventsourcing

import (
	"context"
	"errors"
	"fmt"

	"github.com/cassandraorm/cassandraorm-go/orm"
)

// streamPosRow is the last version of a stream a projection has handled.
type streamPosRow struct {
	Projection string `cql:"projection" orm:"pk"`
	Stream     string `cql:"stream" orm:"pk"`
	Version    int64  `cql:"version"`
	// Generation is the projection generation the version belongs to: after a
	// rebuild, positions of older generations count as zero.
	Generation int64 `cql:"generation"`
}

// InStreamOrder wraps proj so that its handler sees the events of each stream in
// version order with none missing, and skips events it has handled already.
//
// The feed orders events by their writers' clocks, so two appends to one stream from
// two machines a few milliseconds apart can reach the feed in the wrong order. The
// wrapper keeps, per stream, the last version handled (in the store's
// <prefix>_stream_positions table): an older event is skipped; one that leaves a
// gap first loads the missing events from the stream and hands them over. Delivery is
// still at least once across crashes (a crash between handling and recording repeats
// the event), but never out of order. It costs a read and a write per event.
func (p *Projector) InStreamOrder(proj Projection) Projection {
	inner := proj.Handle
	s := p.store
	proj.Handle = func(ctx context.Context, e Envelope) error {
		row, err := s.positions.Get(ctx, proj.Name, e.Stream)
		if err != nil && !errors.Is(err, orm.ErrNotFound) {
			return fmt.Errorf("eventsourcing: reading the position of %s in %s: %w", e.Stream, proj.Name, err)
		}
		gen, _ := ctx.Value(generationKey{}).(int64)
		last := row.Version
		if row.Generation != gen {
			last = 0 // recorded before the last rebuild
		}
		if e.Version <= last {
			return nil
		}
		if e.Version > last+1 {
			for rec, err := range s.Load(ctx, e.Stream, last+1) {
				if err != nil {
					return err
				}
				if rec.Version >= e.Version {
					break
				}
				env := Envelope{Entry: Entry{Record: rec, Position: e.Position}}
				if env.Event, err = p.decode(rec); err != nil {
					return err
				}
				if err := inner(ctx, env); err != nil {
					return err
				}
			}
		}
		if err := inner(ctx, e); err != nil {
			return err
		}
		r := streamPosRow{Projection: proj.Name, Stream: e.Stream, Version: e.Version, Generation: gen}
		if err := s.positions.Insert(ctx, &r); err != nil {
			return fmt.Errorf("eventsourcing: recording the position of %s in %s: %w", e.Stream, proj.Name, err)
		}
		return nil
	}
	return proj
}

// decode decodes rec when its type is registered, and returns nil for an unknown type.
func (p *Projector) decode(rec Record) (Event, error) {
	if p.reg == nil {
		return nil, nil
	}
	ev, err := p.reg.Decode(rec)
	if errors.Is(err, ErrUnknownEventType) {
		return nil, nil
	}
	return ev, err
}
