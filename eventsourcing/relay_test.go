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
	// Let it write for a while, then kill it wherever it is.
	time.Sleep(1500 * time.Millisecond)
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

	bus := cqrs.NewMemoryBus()
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
	// Entries of an append cut short are skipped once AbandonAfter has passed.
	time.Sleep(opts.AbandonAfter + 2*fastLag)
	p := eventsourcing.NewProjector(s, leases(t), reg, eventsourcing.ProjectorOptions{})
	relay := p.Relay("outbox-relay", bus, func(eventsourcing.Record) string { return "counters" })
	if err := p.CatchUp(ctx, relay); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(published)
		mu.Unlock()
		if n >= len(stored) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for id := range stored {
		if published[id] == 0 {
			t.Errorf("stored event %s was never published", id)
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
