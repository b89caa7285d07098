package registry

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"
)

// EventKind says what happened to an instance.
type EventKind int

// The kinds of Event.
const (
	// Joined: an instance appeared (and, on the first poll, every instance listed).
	Joined EventKind = iota + 1
	// Left: an instance is no longer listed: it deregistered, or its row expired.
	Left
	// Changed: an instance's URL, version, metadata, health URL or health (healthy or
	// not) changed.
	Changed
	// Failed: a poll failed (Event.Err); the next poll tries again, and the
	// instances known stay as they were.
	Failed
)

// String returns the kind's name.
func (k EventKind) String() string {
	switch k {
	case Joined:
		return "joined"
	case Left:
		return "left"
	case Changed:
		return "changed"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one change a Watch saw.
type Event struct {
	// Kind is what happened.
	Kind EventKind
	// Entry is the instance: as it is now (Joined, Changed) or as it was last seen
	// (Left). Zero for Failed.
	Entry Entry
	// Previous is the instance before a Changed event.
	Previous Entry
	// Err is the poll's error of a Failed event.
	Err error
	// At is when the poll that saw the change returned.
	At time.Time
}

// Watch reports the joins, leaves and changes of service name's instances, healthy
// or not, on the returned channel, by reading them every Config.Poll and comparing
// with the previous read. The first read happens before Watch returns (its error is
// returned) and reports every listed instance as Joined. The channel is closed when
// ctx ends; cancelling ctx is how a Watch stops, and its goroutine exits then even
// if nobody reads the channel any more.
//
// Delays: a join, a change made with Update or a deregistration is seen within one
// Poll of its write; a change of health within Heartbeat plus one Poll; a killed
// instance leaves within TTL plus one Poll of its last heartbeat. A heartbeat's
// rewrite of an unchanged instance is no event.
func (r *Registry) Watch(ctx context.Context, name string) (<-chan Event, error) {
	first, err := r.DiscoverAll(ctx, name)
	if err != nil {
		return nil, err
	}
	ch := make(chan Event)
	go r.watch(ctx, name, first, ch)
	return ch, nil
}

// watch sends the events of each poll until ctx ends.
func (r *Registry) watch(ctx context.Context, name string, first []Entry, ch chan<- Event) {
	defer close(ch)
	known := map[string]Entry{}
	if !send(ctx, ch, diff(known, first, time.Now())) {
		return
	}
	t := time.NewTicker(r.cfg.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now, err := r.DiscoverAll(ctx, name)
		at := time.Now()
		if ctx.Err() != nil {
			return
		}
		var evs []Event
		if err != nil {
			evs = []Event{{Kind: Failed, Err: err, At: at}}
		} else {
			evs = diff(known, now, at)
		}
		if !send(ctx, ch, evs) {
			return
		}
	}
}

// send delivers evs in order, or reports false when ctx ends first.
func send(ctx context.Context, ch chan<- Event, evs []Event) bool {
	for _, e := range evs {
		select {
		case ch <- e:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// diff updates known (by instance id) to now and returns the events between them:
// joins and changes in id order, then leaves.
func diff(known map[string]Entry, now []Entry, at time.Time) []Event {
	var evs []Event
	seen := make(map[string]bool, len(now))
	for _, e := range now {
		seen[e.ID] = true
		old, ok := known[e.ID]
		switch {
		case !ok:
			evs = append(evs, Event{Kind: Joined, Entry: e, At: at})
		case changed(old, e):
			evs = append(evs, Event{Kind: Changed, Entry: e, Previous: old, At: at})
		}
		known[e.ID] = e
	}
	var gone []string
	for id := range known {
		if !seen[id] {
			gone = append(gone, id)
		}
	}
	slices.Sort(gone)
	for _, id := range gone {
		evs = append(evs, Event{Kind: Left, Entry: known[id], At: at})
		delete(known, id)
	}
	return evs
}

// changed reports whether b differs from a in what a Changed event is about (not
// the heartbeat's time, nor the wording of a problem that stays).
func changed(a, b Entry) bool {
	return a.URL != b.URL || a.Version != b.Version || a.HealthURL != b.HealthURL ||
		a.Healthy != b.Healthy || !maps.Equal(a.Metadata, b.Metadata)
}
