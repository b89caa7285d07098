// Command users runs the e-commerce platform's event-sourced user service once,
// end to end on the local servers: commands create users and change their profiles,
// events are stored in Cassandra, relayed to the Kafka topic user.events, and kept in
// the user_profiles read model. It prints what each step did.
//
//	make demo    # starts the dev servers, then runs the quickstart and this
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cqrs"
	"github.com/cassandraorm/cassandraorm-go/cqrs/kafka"
	"github.com/cassandraorm/cassandraorm-go/eventsourcing"
	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/user"
	"github.com/cassandraorm/cassandraorm-go/lease"
	"github.com/cassandraorm/cassandraorm-go/orm"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	hosts := strings.Split(envOr("CASSANDRA_HOSTS", "127.0.0.1:9042"), ",")
	brokers := strings.Split(envOr("KAFKA_BROKERS", "127.0.0.1:9092"), ",")
	db, err := orm.Open(ctx, orm.Config{Hosts: hosts, Keyspace: "ecommerce_users"})
	if err != nil {
		return fmt.Errorf("%w (start the servers with: make up)", err)
	}
	defer db.Close()
	// Each run starts afresh: the demo's keyspace holds nothing worth keeping.
	if err := db.DropKeyspace(ctx, "ecommerce_users"); err != nil {
		return err
	}
	if err := db.CreateKeyspace(ctx, "ecommerce_users", orm.SimpleStrategy(1)); err != nil {
		return err
	}
	bus, err := kafka.New(kafka.Config{Brokers: brokers, FetchMaxWait: 100 * time.Millisecond})
	if err != nil {
		return err
	}
	defer bus.Close()
	leases, err := lease.New(db, lease.Config{})
	if err != nil {
		return err
	}
	if err := leases.Sync(ctx); err != nil {
		return err
	}
	// Refused commands are part of the show; keep the log for real failures.
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError + 4}))
	svc, err := user.New(db, bus, leases, eventsourcing.StoreConfig{FeedLag: 500 * time.Millisecond}, quiet)
	if err != nil {
		return err
	}
	if err := svc.Sync(ctx); err != nil {
		return err
	}

	// Another service listening on user.events, in its own consumer group.
	run := orm.NewUUID().String()[:8]
	var mu sync.Mutex
	var heard []string
	sub, err := bus.Subscribe(ctx, user.Topic, "notifications-"+run, func(_ context.Context, m cqrs.Message) error {
		if strings.HasSuffix(m.Key, run) {
			mu.Lock()
			heard = append(heard, m.Type+" "+m.Key+" v"+m.Metadata["version"])
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer sub.Close()

	ctx = eventsourcing.WithMetadata(ctx, eventsourcing.Metadata{CorrelationID: "demo-" + run, Actor: "demo"})
	ada, grace := "ada-"+run, "grace-"+run
	steps := []struct {
		what string
		cmd  any
	}{
		{"create " + ada, user.CreateUser{UserID: ada, Email: "ada@example.com", Name: "Ada"}},
		{"create " + grace, user.CreateUser{UserID: grace, Email: "grace@example.com", Name: "Grace"}},
		{"update " + ada, user.UpdateUserProfile{UserID: ada, Name: "Ada Lovelace", Bio: "analyst"}},
		{"create " + ada + " again", user.CreateUser{UserID: ada, Email: "x@example.com", Name: "X"}},
		{"create with a bad email", user.CreateUser{UserID: "bad-" + run, Email: "not-an-email", Name: "X"}},
	}
	fmt.Println("commands:")
	for _, s := range steps {
		err := svc.Commands.Dispatch(ctx, s.cmd)
		switch {
		case err == nil:
			fmt.Printf("  %-40s ok\n", s.what)
		case errors.Is(err, user.ErrAlreadyExists), errors.Is(err, user.ErrInvalid):
			fmt.Printf("  %-40s refused: %v\n", s.what, err)
		default:
			return err
		}
	}

	time.Sleep(600 * time.Millisecond) // the feed lag
	if err := svc.CatchUp(ctx); err != nil {
		return err
	}
	fmt.Println("read model user_profiles:")
	for _, id := range []string{ada, grace} {
		p, err := svc.Profiles.Get(ctx, id)
		if err != nil {
			return err
		}
		fmt.Printf("  %-20s %-18s %-14s %-8s version %d\n", p.UserID, p.Email, p.Name, p.Bio, p.Version)
	}
	fmt.Println("heard on Kafka topic user.events:")
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(heard)
		mu.Unlock()
		if n >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, h := range heard {
		fmt.Println("  " + h)
	}
	if len(heard) < 3 {
		return fmt.Errorf("heard %d of 3 events on Kafka", len(heard))
	}
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
