package user_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cqrs"
	"github.com/cassandraorm/cassandraorm-go/cqrs/kafka"
	"github.com/cassandraorm/cassandraorm-go/eventsourcing"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/user"
	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

var env = testenv.New("user_service_test")

func TestMain(m *testing.M) { env.Main(m) }

// The user service end to end on Cassandra and Kafka: commands, the aggregate, the
// event store, the relay to the user.events topic and the profile projection.
func TestUserServiceEndToEnd(t *testing.T) {
	ctx := t.Context()
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	bus, err := kafka.New(kafka.Config{Brokers: env.KafkaBrokers(t), FetchMaxWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	leases, err := lease.New(db, lease.Config{TTL: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := leases.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc, err := user.New(db, bus, leases, eventsourcing.StoreConfig{FeedLag: 500 * time.Millisecond}, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Sync(ctx); err != nil {
		t.Fatal(err)
	}

	run := orm.NewUUID().String()[:8] // this run's users, on a topic that outlives runs
	id := func(n int) string { return fmt.Sprintf("user-%s-%d", run, n) }

	// Consume user.events from Kafka as another service would.
	var mu sync.Mutex
	got := map[string][]string{} // stream -> event types in delivery order
	seen := map[string]bool{}
	sub, err := bus.Subscribe(ctx, user.Topic, "e2e-"+run, func(_ context.Context, m cqrs.Message) error {
		mu.Lock()
		defer mu.Unlock()
		if seen[m.ID] { // at-least-once: dedupe by event id
			return nil
		}
		seen[m.ID] = true
		got[m.Key] = append(got[m.Key], m.Type)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	ctx = eventsourcing.WithMetadata(ctx, eventsourcing.Metadata{CorrelationID: "req-" + run, Actor: "admin"})
	for n := range 3 {
		if err := svc.Commands.Dispatch(ctx, user.CreateUser{UserID: id(n), Email: fmt.Sprintf("u%d@example.com", n), Name: "User"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.Commands.Dispatch(ctx, user.CreateUser{UserID: id(0), Email: "x@example.com", Name: "Again"}); !errors.Is(err, user.ErrAlreadyExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	if err := svc.Commands.Dispatch(ctx, user.CreateUser{UserID: id(9), Email: "not-an-email", Name: "X"}); !errors.Is(err, user.ErrInvalid) {
		t.Fatalf("invalid email: %v", err)
	}
	if err := svc.Commands.Dispatch(ctx, user.CreateUser{Email: "a@example.com", Name: "X"}); !errors.Is(err, user.ErrInvalid) {
		t.Fatalf("missing id: %v", err)
	}
	// Concurrent profile updates on one user: conflicts are retried by the bus.
	var wg sync.WaitGroup
	for k := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := svc.Commands.Dispatch(ctx, user.UpdateUserProfile{UserID: id(1), Name: fmt.Sprint("Name ", k), Bio: "bio"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()

	// The read model, once the feed lag has passed and a catch-up has read
	// every event.
	testenv.WaitFor(t, time.Minute, func() error {
		if err := svc.CatchUp(ctx); err != nil {
			t.Fatal(err)
		}
		p, err := svc.Profiles.Get(ctx, id(1))
		if err != nil {
			return err
		}
		if p.Version != 6 {
			return fmt.Errorf("profile at version %d of 6", p.Version)
		}
		if p.Email != "u1@example.com" || p.Bio != "bio" {
			t.Fatalf("profile %+v", p)
		}
		return nil
	})
	// Kafka: every event, in order per user. The relay catches up on its own
	// horizon, which may have ended before the profile projection's did.
	testenv.WaitFor(t, time.Minute, func() error {
		if err := svc.CatchUp(ctx); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(got[id(0)]) != 1 || len(got[id(1)]) != 6 || len(got[id(2)]) != 1 {
			return fmt.Errorf("events on Kafka: %v", got)
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if got[id(1)][0] != "UserCreated" {
		t.Fatalf("order on %s: %v", id(1), got[id(1)])
	}
	for _, typ := range got[id(1)][1:] {
		if typ != "UserProfileUpdated" {
			t.Fatalf("order on %s: %v", id(1), got[id(1)])
		}
	}
}

// When one of Run's two projections fails (here the relay, whose bus is closed),
// Run stops the other and returns the failure, instead of waiting for ctx to end.
func TestRunStopsWhenAProjectionFails(t *testing.T) {
	ctx := t.Context()
	db, err := orm.New(env.Session(t), env.Keyspace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	leases, err := lease.New(db, lease.Config{Table: "runfail_leases", TTL: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := leases.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	bus, err := cqrs.NewMemoryBus(cqrs.MemoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	_ = bus.Close() // every publish fails
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc, err := user.New(db, bus, leases, eventsourcing.StoreConfig{Prefix: "runfail", FeedLag: 500 * time.Millisecond}, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := svc.Commands.Dispatch(ctx, user.CreateUser{UserID: "runfail-1", Email: "r@example.com", Name: "R"}); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	select {
	case err := <-done:
		if !errors.Is(err, cqrs.ErrClosed) || !strings.Contains(err.Error(), "user-relay") {
			t.Fatalf("Run returned %v; want the relay's failure, naming it", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after the relay failed")
	}
	// Both projections stopped and gave their leases back.
	for _, name := range []string{"projection/user-relay", "projection/user-profiles"} {
		h, err := leases.TryAcquire(ctx, name)
		if err != nil {
			t.Fatalf("%s after Run: %v", name, err)
		}
		if err := h.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
