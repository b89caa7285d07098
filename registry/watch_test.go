package registry_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/registry"
)

// expect returns the next event of events, which must be of kind for instance id.
// Failed events (a poll that failed on a busy node) are logged and skipped.
func expect(t *testing.T, events <-chan registry.Event, kind registry.EventKind, id string) registry.Event {
	t.Helper()
	limit := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			switch {
			case !ok:
				t.Fatalf("watch closed while waiting for %s of %s", kind, id)
			case ev.Kind == registry.Failed:
				t.Logf("poll failed: %v", ev.Err)
				continue
			case ev.Kind != kind || ev.Entry.ID != id:
				t.Fatalf("event %s of %s (%+v), want %s of %s", ev.Kind, ev.Entry.ID, ev.Entry, kind, id)
			}
			return ev
		case <-limit:
			t.Fatalf("no %s event of %s within 30s", kind, id)
		}
	}
}

// drain reads events until the watch closes them, failing t if that takes long.
func drain(t *testing.T, events <-chan registry.Event) {
	t.Helper()
	limit := time.After(30 * time.Second)
	for {
		select {
		case _, ok := <-events:
			if !ok {
				return
			}
		case <-limit:
			t.Fatal("watch still open 30s after its context ended")
		}
	}
}

// A watch sees the instances listed when it starts, a join, a new version, health
// turning bad, a leave on Close and a leave on expiry; heartbeats of an unchanged
// instance are no event.
func TestWatchEvents(t *testing.T) {
	reg := newRegistry(t, openDB(t), fast)
	name := service()
	ctx := t.Context()
	pre, err := reg.Register(ctx, registry.Instance{Name: name, ID: "pre", URL: "http://10.2.0.1:80"})
	if err != nil {
		t.Fatal(err)
	}
	defer pre.Close()

	wctx, stop := context.WithCancel(ctx)
	defer stop()
	events, err := reg.Watch(wctx, name)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, events, registry.Joined, "pre")

	srv := newHealthServer(t)
	w1 := registry.Instance{Name: name, ID: "w1", URL: srv.URL, Version: "1.0.0", HealthURL: srv.URL + "/healthz",
		Metadata: map[string]string{"graphql": "true"}}
	h, err := reg.Register(ctx, w1)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if ev := expect(t, events, registry.Joined, "w1"); !ev.Entry.Healthy || ev.Entry.Metadata["graphql"] != "true" {
		t.Fatalf("joined %+v, want healthy with its metadata", ev.Entry)
	}

	w1.Version = "1.1.0"
	if err := h.Update(ctx, w1); err != nil {
		t.Fatal(err)
	}
	if ev := expect(t, events, registry.Changed, "w1"); ev.Previous.Version != "1.0.0" || ev.Entry.Version != "1.1.0" {
		t.Fatalf("changed from %q to %q, want 1.0.0 to 1.1.0", ev.Previous.Version, ev.Entry.Version)
	}

	srv.code.Store(http.StatusInternalServerError)
	if ev := expect(t, events, registry.Changed, "w1"); ev.Entry.Healthy || !ev.Previous.Healthy || !strings.Contains(ev.Entry.Problem, "500") {
		t.Fatalf("changed to %+v, want unhealthy with a 500 problem", ev.Entry)
	}

	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if ev := expect(t, events, registry.Left, "w1"); ev.Entry.Version != "1.1.0" {
		t.Fatalf("left %+v, want it as last seen", ev.Entry)
	}

	// An instance whose heartbeats stop being written (its session is closed, as
	// when a process loses the cluster) expires, and its registration says so.
	lost := ownDB(t)
	lreg := newRegistry(t, lost, fast)
	doomed, err := lreg.Register(ctx, registry.Instance{Name: name, ID: "doomed", URL: "http://10.2.0.9:80"})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, events, registry.Joined, "doomed")
	closed := time.Now()
	lost.Close()
	ev := expect(t, events, registry.Left, "doomed")
	t.Logf("instance left %v after its session closed (TTL %v, heartbeat %v, poll %v)",
		ev.At.Sub(closed).Round(time.Millisecond), fast.TTL, fast.Heartbeat, fast.Poll)
	select {
	case lapse := <-doomed.Lapses():
		if lapse.Name != name || lapse.ID != "doomed" || !errors.Is(lapse, orm.ErrClosed) {
			t.Fatalf("lapse %v, want doomed's, wrapping the heartbeat's ErrClosed", lapse)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no lapse reported 30s after the heartbeats stopped")
	}
	var le *registry.LapseError
	if !errors.As(doomed.Err(), &le) {
		t.Fatalf("Err() = %v, want a *LapseError", doomed.Err())
	}
	if err := doomed.Close(); err == nil || !strings.Contains(err.Error(), "deregistering "+name+"/doomed") {
		t.Fatalf("Close on a closed session = %v, want the delete's error naming the instance", err)
	}

	stop()
	drain(t, events)
}

// A watch stops when its context ends even if nobody reads its events.
func TestWatchStopsWithoutReader(t *testing.T) {
	reg := newRegistry(t, openDB(t), fast)
	name := service()
	for _, id := range []string{"a", "b", "c"} {
		h, err := reg.Register(t.Context(), registry.Instance{Name: name, ID: id, URL: "http://10.3.0.1:80"})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
	}
	ctx, cancel := context.WithCancel(t.Context())
	events, err := reg.Watch(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	cancel() // three Joined events wait to be read
	drain(t, events)
}
