package eventsourcing_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cqrs"
	"github.com/cassandraorm/cassandraorm-go/eventsourcing"
	"github.com/cassandraorm/cassandraorm-go/tenant"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// TestRepositorySaveTenant: Save takes the tenant of its context into the events'
// metadata, refuses metadata naming another tenant and an invalid context tenant,
// and, without a tenant in the context, keeps what WithMetadata gave.
func TestRepositorySaveTenant(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "tenant", eventsourcing.StoreConfig{})
	repo := newRepo(t, s, reg, eventsourcing.RepositoryConfig{})
	for i, tc := range []struct {
		name    string
		tenant  string // given to tenant.With; "" for none
		md      *eventsourcing.Metadata
		want    string // the stored Metadata.Tenant
		wantErr error
	}{
		{"context tenant", "acme", nil, "acme", nil},
		{"context tenant and the same in metadata", "acme", &eventsourcing.Metadata{Tenant: "acme", Actor: "ann"}, "acme", nil},
		{"context tenant fills empty metadata tenant", "acme", &eventsourcing.Metadata{Actor: "ann"}, "acme", nil},
		{"another tenant in metadata", "acme", &eventsourcing.Metadata{Tenant: "globex"}, "", tenant.ErrMismatch},
		{"invalid context tenant", "Bad'Id", nil, "", tenant.ErrInvalidID},
		{"no context tenant, metadata tenant kept", "", &eventsourcing.Metadata{Tenant: "globex"}, "globex", nil},
		{"no tenant at all", "", nil, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			if tc.tenant != "" {
				ctx = tenant.With(ctx, tc.tenant)
			}
			if tc.md != nil {
				ctx = eventsourcing.WithMetadata(ctx, *tc.md)
			}
			stream := fmt.Sprintf("tenant-%d", i)
			c := repo.New(stream)
			eventsourcing.Raise[CounterEvent](c, Added{N: 1})
			eventsourcing.Raise[CounterEvent](c, Added{N: 2})
			err := repo.Save(ctx, c)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), stream) {
					t.Fatalf("Save = %v, want an error wrapping %v and naming the stream %s", err, tc.wantErr, stream)
				}
				if v, err := s.Version(t.Context(), stream); err != nil || v != 0 || len(c.Pending()) != 2 {
					t.Fatalf("after a refused Save: stream version %d (%v), %d pending; want 0 and 2", v, err, len(c.Pending()))
				}
				return
			}
			if err != nil {
				t.Fatalf("Save: %v", err)
			}
			n := 0
			for r, err := range s.Load(t.Context(), stream, 1) {
				if err != nil {
					t.Fatal(err)
				}
				n++
				if r.Metadata.Tenant != tc.want {
					t.Errorf("event %d: Metadata.Tenant = %q, want %q", r.Version, r.Metadata.Tenant, tc.want)
				}
				if tc.md != nil && r.Metadata.Actor != tc.md.Actor {
					t.Errorf("event %d: Metadata.Actor = %q, want %q", r.Version, r.Metadata.Actor, tc.md.Actor)
				}
			}
			if n != 2 {
				t.Errorf("%d events stored, want 2", n)
			}
		})
	}
}

// TestMessageTenant: the relay's message names its event's tenant under the bus's
// metadata key, and no tenant when the event has none.
func TestMessageTenant(t *testing.T) {
	m := eventsourcing.Message(eventsourcing.Record{Stream: "s", Version: 1, Metadata: eventsourcing.Metadata{Tenant: "acme"}})
	if got := m.Metadata[cqrs.MetaTenant]; got != "acme" {
		t.Errorf("Metadata[%s] = %q, want acme", cqrs.MetaTenant, got)
	}
	m = eventsourcing.Message(eventsourcing.Record{Stream: "s", Version: 1})
	if got, ok := m.Metadata[cqrs.MetaTenant]; ok {
		t.Errorf("event without tenant: Metadata[%s] = %q, want no entry", cqrs.MetaTenant, got)
	}
}

// TestRelayTenant: events saved under several tenants' contexts, and one without,
// reach the bus's handlers under their own tenant, through a relay that runs under
// no tenant.
func TestRelayTenant(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "relaytenant", eventsourcing.StoreConfig{FeedLag: fastLag})
	repo := newRepo(t, s, reg, eventsourcing.RepositoryConfig{})
	want := map[string]string{} // stream -> tenant; "" for none
	for _, name := range []string{"acme", "globex", "initech", ""} {
		ctx := t.Context()
		if name != "" {
			ctx = tenant.With(ctx, name)
		}
		stream := "relay-" + name
		c := repo.New(stream)
		eventsourcing.Raise[CounterEvent](c, Added{N: 1})
		eventsourcing.Raise[CounterEvent](c, Added{N: 2})
		if err := repo.Save(ctx, c); err != nil {
			t.Fatal(err)
		}
		want[stream] = name
	}
	bus, err := cqrs.NewMemoryBus(cqrs.MemoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	var (
		mu   sync.Mutex
		seen = map[string]int{} // message id -> deliveries
		errs []string
	)
	sub, err := bus.Subscribe(t.Context(), "counters", "audit", func(ctx context.Context, m cqrs.Message) error {
		got, err := tenant.From(ctx)
		mu.Lock()
		defer mu.Unlock()
		w := want[m.Key]
		switch {
		case w == "" && !errors.Is(err, tenant.ErrNoTenant):
			errs = append(errs, fmt.Sprintf("stream %s: handler context tenant %q, %v; want none", m.Key, got, err))
		case w != "" && (err != nil || got != w || m.Metadata[cqrs.MetaTenant] != w):
			errs = append(errs, fmt.Sprintf("stream %s: handler context tenant %q, %v, metadata %q; want %s", m.Key, got, err, m.Metadata[cqrs.MetaTenant], w))
		}
		seen[m.ID]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	p := projector(t, s, leases(t), reg, eventsourcing.ProjectorConfig{})
	relay := p.Relay("tenant-relay", bus, func(eventsourcing.Record) string { return "counters" })
	testenv.WaitFor(t, time.Minute, func() error {
		if err := p.CatchUp(t.Context(), relay); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(seen) < 2*len(want) {
			return fmt.Errorf("%d of %d events delivered", len(seen), 2*len(want))
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	for _, e := range errs {
		t.Error(e)
	}
}

// TestStoreAppendTenant: Store.Append, which Save calls and callers may call
// directly, takes the tenant of its context into the events' metadata and refuses
// metadata naming another tenant, so an append made for one tenant can never reach
// another tenant's handlers through the relay.
func TestStoreAppendTenant(t *testing.T) {
	reg := registry(t)
	s := newStore(t, "appendtenant", eventsourcing.StoreConfig{})
	for i, tc := range []struct {
		name    string
		tenant  string // given to tenant.With; "" for none
		md      string // Metadata.Tenant of the events
		want    string // the stored Metadata.Tenant
		wantErr error
	}{
		{"context tenant", "acme", "", "acme", nil},
		{"context tenant and the same in metadata", "acme", "acme", "acme", nil},
		{"another tenant in metadata", "acme", "globex", "", tenant.ErrMismatch},
		{"invalid context tenant", "Bad'Id", "", "", tenant.ErrInvalidID},
		{"no context tenant, metadata tenant kept", "", "globex", "globex", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			if tc.tenant != "" {
				ctx = tenant.With(ctx, tc.tenant)
			}
			stream := fmt.Sprintf("append-tenant-%d", i)
			events := []eventsourcing.EventData{added(t, reg, 1), added(t, reg, 2)}
			for j := range events {
				events[j].Metadata.Tenant = tc.md
			}
			_, err := s.Append(ctx, stream, 0, events)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), stream) {
					t.Fatalf("Append = %v, want an error wrapping %v and naming the stream %s", err, tc.wantErr, stream)
				}
				if v, err := s.Version(t.Context(), stream); err != nil || v != 0 {
					t.Fatalf("after a refused Append: stream version %d (%v), want 0", v, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			for r, err := range s.Load(t.Context(), stream, 1) {
				if err != nil {
					t.Fatal(err)
				}
				if r.Metadata.Tenant != tc.want {
					t.Errorf("event %d: Metadata.Tenant = %q, want %q", r.Version, r.Metadata.Tenant, tc.want)
				}
			}
			if events[0].Metadata.Tenant != tc.md {
				t.Errorf("Append changed its argument's metadata: %q", events[0].Metadata.Tenant)
			}
		})
	}
}
