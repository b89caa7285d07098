package cqrs_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cqrs"
	"github.com/cassandraorm/cassandraorm-go/cqrs/bustest"
	"github.com/cassandraorm/cassandraorm-go/retry"
)

func TestMemoryBusConformance(t *testing.T) {
	const maxDeliveries = 3
	bustest.Run(t, bustest.Transport{
		NewBus: func(t *testing.T) cqrs.EventBus {
			bus, err := cqrs.NewMemoryBus(cqrs.MemoryConfig{
				Backoff:       retry.Backoff{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond},
				MaxDeliveries: maxDeliveries,
				Logger:        slog.New(slog.DiscardHandler),
			})
			if err != nil {
				t.Fatal(err)
			}
			return bus
		},
		MaxDeliveries: maxDeliveries,
	})
}

func TestMemoryConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  cqrs.MemoryConfig
		want string // substring of the error; "" for valid
	}{
		{"defaults", cqrs.MemoryConfig{}, ""},
		{"negative partitions", cqrs.MemoryConfig{Partitions: -1}, "Partitions -1"},
		{"negative backoff", cqrs.MemoryConfig{Backoff: retry.Backoff{Initial: -time.Second}}, "Backoff"},
		{"backoff max below initial", cqrs.MemoryConfig{Backoff: retry.Backoff{Initial: time.Second, Max: time.Millisecond}}, "below Initial"},
		{"negative retention", cqrs.MemoryConfig{MaxRetained: -5}, "MaxRetained -5"},
		{"no delivery limit", cqrs.MemoryConfig{MaxDeliveries: -1}, ""},
		{"delivery limit below -1", cqrs.MemoryConfig{MaxDeliveries: -2}, "MaxDeliveries -2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			}
			bus, err := cqrs.NewMemoryBus(tc.cfg)
			if (err == nil) != (tc.want == "") {
				t.Fatalf("NewMemoryBus() error = %v, want error %v", err, tc.want != "")
			}
			if bus != nil {
				_ = bus.Close()
			}
		})
	}
}

// TestMemoryBusRetention: a topic keeps at most MaxRetained messages,
// whether no group reads it or its group has no member; the oldest go
// first, and a group that subscribes later receives the newest ones, in
// order, and then what is published next.
func TestMemoryBusRetention(t *testing.T) {
	const limit = 10
	for _, tc := range []struct {
		name        string
		groupBefore bool // a member of the group subscribes and leaves before the publishes
	}{
		{"no group", false},
		{"group without members", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bus, err := cqrs.NewMemoryBus(cqrs.MemoryConfig{Partitions: 1, MaxRetained: limit, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer bus.Close()
			const topic = "retention"
			got := make(chan cqrs.Message, 10*limit)
			record := func(_ context.Context, m cqrs.Message) error { got <- m; return nil }
			if tc.groupBefore {
				sub, err := bus.Subscribe(t.Context(), topic, "g", record)
				if err != nil {
					t.Fatal(err)
				}
				if err := sub.Close(); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 3 * limit {
				if err := bus.Publish(t.Context(), topic, cqrs.Message{Key: "k", Type: fmt.Sprint(i)}); err != nil {
					t.Fatal(err)
				}
			}
			if st, want := bus.TopicStats(topic), (cqrs.MemoryTopicStats{Retained: limit, Dropped: 2 * limit}); st != want {
				t.Fatalf("TopicStats after %d publishes = %+v, want %+v", 3*limit, st, want)
			}
			sub, err := bus.Subscribe(t.Context(), topic, "g", record)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			next := func() string {
				select {
				case m := <-got:
					return m.Type
				case <-time.After(bustest.Timeout):
					t.Fatalf("no delivery within %v", bustest.Timeout)
					return ""
				}
			}
			var types []string
			for range limit {
				types = append(types, next())
			}
			if want := "[20 21 22 23 24 25 26 27 28 29]"; fmt.Sprint(types) != want {
				t.Fatalf("delivered %v, want the newest %d: %v", types, limit, want)
			}
			if err := bus.Publish(t.Context(), topic, cqrs.Message{Key: "k", Type: "marker"}); err != nil {
				t.Fatal(err)
			}
			if typ := next(); typ != "marker" {
				t.Fatalf("delivered %s after the newest, want the marker published next", typ)
			}
		})
	}
}

// TestMemoryBusTrimsAcknowledged: what every group acknowledged is no
// longer retained, and counts as handled, not as dropped.
func TestMemoryBusTrimsAcknowledged(t *testing.T) {
	bus, err := cqrs.NewMemoryBus(cqrs.MemoryConfig{Partitions: 1, MaxRetained: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	const n = 50
	stats := make(chan cqrs.MemoryTopicStats, 1)
	sub, err := bus.Subscribe(t.Context(), "trim", "g", func(_ context.Context, m cqrs.Message) error {
		if m.Type == "last" {
			// One partition: every message before this one is acknowledged.
			stats <- bus.TopicStats("trim")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for i := range n {
		typ := fmt.Sprint(i)
		if i == n-1 {
			typ = "last"
		}
		if err := bus.Publish(t.Context(), "trim", cqrs.Message{Key: "k", Type: typ}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case st := <-stats:
		if want := (cqrs.MemoryTopicStats{Retained: 1}); st != want {
			t.Fatalf("TopicStats while the last message is handled = %+v, want %+v", st, want)
		}
	case <-time.After(bustest.Timeout):
		t.Fatalf("the last message was not delivered within %v", bustest.Timeout)
	}
}

// TestMemoryBusPoisonTopicRefused: a PoisonTopic that names no topic, or
// the topic itself (which would redeliver the poison forever), fails
// Subscribe.
func TestMemoryBusPoisonTopicRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		poison func(topic, group string) string
	}{
		{"empty", func(string, string) string { return "" }},
		{"the topic itself", func(topic, _ string) string { return topic }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bus, err := cqrs.NewMemoryBus(cqrs.MemoryConfig{PoisonTopic: tc.poison})
			if err != nil {
				t.Fatal(err)
			}
			defer bus.Close()
			sub, err := bus.Subscribe(t.Context(), "orders", "g", func(context.Context, cqrs.Message) error { return nil })
			if err == nil {
				_ = sub.Close()
			}
			if err == nil || !strings.Contains(err.Error(), "PoisonTopic") || !strings.Contains(err.Error(), "orders") {
				t.Fatalf("Subscribe = %v, want an error naming PoisonTopic and the topic", err)
			}
		})
	}
}
