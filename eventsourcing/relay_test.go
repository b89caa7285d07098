package eventsourcing_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cqrs"
	"github.com/cassandraorm/cassandraorm-go/eventsourcing"
	"github.com/cassandraorm/cassandraorm-go/testenv"
)

// A writer process killed at an arbitrary point while appending loses nothing: once
// the relay runs, every event its streams hold is published, and nothing else is.
func TestWriterKilledBeforePublishingLosesNothing(t *testing.T) {
	reg := registry(t)
	opts := eventsourcing.StoreConfig{FeedLag: fastLag, AbandonAfter: time.Second}
	s := newStore(t, "outbox", opts)
	ctx := t.Context()

	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=writer", "CHILD_KEYSPACE="+env.Keyspace())
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Let it write a few dozen events, then kill it wherever it is.
	testenv.WaitFor(t, time.Minute, func() error {
		var n int64
		for i := range 4 {
			v, err := s.Version(ctx, fmt.Sprint("w-", i))
			if err != nil {
				return err
			}
			n += v
		}
		if n < 40 {
			return fmt.Errorf("the writer has stored %d events", n)
		}
		return nil
	})
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	stored := map[string]bool{}
	for i := range 4 {
		for r, err := range s.Load(ctx, fmt.Sprint("w-", i), 1) {
			if err != nil {
				t.Fatal(err)
			}
			stored[r.ID.String()] = true
		}
	}
	if len(stored) < 10 {
		t.Fatalf("the writer stored only %d events before it was killed", len(stored))
	}

	bus, err := cqrs.NewMemoryBus(cqrs.MemoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	var mu sync.Mutex
	published := map[string]int{}
	sub, err := bus.Subscribe(ctx, "counters", "audit", func(_ context.Context, m cqrs.Message) error {
		mu.Lock()
		defer mu.Unlock()
		published[m.ID]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	// Entries of an append cut short hold the feed back until AbandonAfter has
	// passed: catch up until every stored event is published.
	p := projector(t, s, leases(t), reg, eventsourcing.ProjectorConfig{})
	relay := p.Relay("outbox-relay", bus, func(eventsourcing.Record) string { return "counters" })
	testenv.WaitFor(t, time.Minute, func() error {
		if err := p.CatchUp(ctx, relay); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		for id := range stored {
			if published[id] == 0 {
				return fmt.Errorf("stored event %s is not published yet (%d of %d)", id, len(published), len(stored))
			}
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	for id := range stored {
		if published[id] == 0 {
			t.Errorf("stored event %s was never published", id)
		}
	}
	// An append the writer had sent when it was killed may still have
	// reached its stream after the streams were first read: read them again.
	for i := range 4 {
		for r, err := range s.Load(ctx, fmt.Sprint("w-", i), 1) {
			if err != nil {
				t.Fatal(err)
			}
			stored[r.ID.String()] = true
		}
	}
	for id := range published {
		if !stored[id] {
			t.Errorf("published event %s is not in any stream", id)
		}
	}
	t.Logf("%d events stored by the killed writer, %d published", len(stored), len(published))
}

// writerChild appends to four streams as fast as it can until it is killed.
func writerChild() error {
	ctx := context.Background()
	_, reg, s, err := childStore(ctx, eventsourcing.StoreConfig{Prefix: "outbox", FeedLag: fastLag, AbandonAfter: time.Second})
	if err != nil {
		return err
	}
	versions := make([]int64, 4)
	for i := 0; ; i++ {
		d, err := reg.Encode(Added{N: i})
		if err != nil {
			return err
		}
		k := i % 4
		v, err := s.Append(ctx, fmt.Sprint("w-", k), versions[k], []eventsourcing.EventData{d, d})
		if err != nil {
			return err
		}
		versions[k] = v
	}
}
