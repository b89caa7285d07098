package isolation_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/eventsourcing"
	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// Tallied is the aggregate of the entry-point test: a count of Noted events.
type Tallied struct {
	eventsourcing.Root[Noted]
	n int
}

func (a *Tallied) Apply(Noted) { a.n++ }

// TestEntryPointsRefuseNoTenant calls every tenant-scoped entry point of the event
// store, the repository, the projector and the lease manager on a tenanted DB
// without a tenant, and with an invalid one: each refuses, naming what it concerns.
// The entry points are listed by reflection (the exported methods that take a
// context first), so a new one missing from the table fails the test. Sync is the
// exception by design: without a tenant it makes the shared tables.
func TestEntryPointsRefuseNoTenant(t *testing.T) {
	w := newWorld(t, "partition")
	repo, err := eventsourcing.NewRepository[*Tallied, Noted](w.store, w.events, func() *Tallied { return &Tallied{} }, eventsourcing.RepositoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	projector, err := eventsourcing.NewProjector(w.store, w.leases, w.events, eventsourcing.ProjectorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	proj := eventsourcing.Projection{Name: "p", Handle: func(context.Context, eventsourcing.Envelope) error { return nil },
		Reset: func(context.Context) error { return nil }}
	calls := map[string]func(ctx context.Context) error{
		"Store.Append": func(ctx context.Context) error {
			_, err := w.store.Append(ctx, "s", 0, []eventsourcing.EventData{{Type: Noted{}.EventType(), SchemaVersion: 1, Data: []byte("{}")}})
			return err
		},
		"Store.Version": func(ctx context.Context) error { _, err := w.store.Version(ctx, "s"); return err },
		"Store.Load": func(ctx context.Context) error {
			for _, err := range w.store.Load(ctx, "s", 1) {
				return err
			}
			return nil
		},
		"Store.ReadFeed": func(ctx context.Context) error {
			_, _, err := w.store.ReadFeed(ctx, 0, eventsourcing.Position{}, 10)
			return err
		},
		"Store.Checkpoint": func(ctx context.Context) error { _, err := w.store.Checkpoint(ctx, "p"); return err },
		"Repository.Load":  func(ctx context.Context) error { _, err := repo.Load(ctx, "s"); return err },
		"Repository.Save": func(ctx context.Context) error {
			a := repo.New("s")
			eventsourcing.Raise[Noted](a, Noted{})
			return repo.Save(ctx, a)
		},
		"Repository.Update": func(ctx context.Context) error { return repo.Update(ctx, "s", func(*Tallied) error { return nil }) },
		"Repository.CreateOrUpdate": func(ctx context.Context) error {
			return repo.CreateOrUpdate(ctx, "s", func(a *Tallied) error { eventsourcing.Raise[Noted](a, Noted{}); return nil })
		},
		"Projector.Run":      func(ctx context.Context) error { return projector.Run(ctx, proj) },
		"Projector.CatchUp":  func(ctx context.Context) error { return projector.CatchUp(ctx, proj) },
		"Projector.Rebuild":  func(ctx context.Context) error { return projector.Rebuild(ctx, proj) },
		"Manager.Acquire":    func(ctx context.Context) error { _, err := w.leases.Acquire(ctx, "job"); return err },
		"Manager.TryAcquire": func(ctx context.Context) error { _, err := w.leases.TryAcquire(ctx, "job"); return err },
	}
	for _, want := range slices.Concat(ctxMethods[*eventsourcing.Store]("Store"),
		ctxMethods[*eventsourcing.Repository[*Tallied, Noted]]("Repository"),
		ctxMethods[*eventsourcing.Projector]("Projector"), ctxMethods[*lease.Manager]("Manager")) {
		if calls[want] == nil && !strings.HasSuffix(want, ".Sync") {
			t.Errorf("entry point %s is not in the table: add it", want)
		}
	}
	for name, call := range calls {
		for _, tc := range []struct {
			ctx  context.Context
			want error
		}{
			{t.Context(), tenant.ErrNoTenant},
			{tenant.With(t.Context(), "Not A Slug"), tenant.ErrInvalidID},
		} {
			if err := call(tc.ctx); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", name, err, tc.want)
			}
		}
	}
}

// ctxMethods lists the exported methods of T that take a context.Context first, as
// prefix.Name.
func ctxMethods[T any](prefix string) []string {
	rt := reflect.TypeFor[T]()
	ctxType := reflect.TypeFor[context.Context]()
	var out []string
	for i := range rt.NumMethod() {
		m := rt.Method(i)
		if m.Type.NumIn() > 1 && m.Type.In(1) == ctxType {
			out = append(out, prefix+"."+m.Name)
		}
	}
	return out
}
