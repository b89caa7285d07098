package cqrs_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cqrs"
	"github.com/cassandraorm/cassandraorm-go/cqrs/bustest"
	"github.com/cassandraorm/cassandraorm-go/retry"
)

func TestMemoryBusConformance(t *testing.T) {
	bustest.Run(t, func(t *testing.T) cqrs.EventBus {
		bus, err := cqrs.NewMemoryBus(cqrs.MemoryConfig{
			Backoff: retry.Backoff{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond},
			Logger:  slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		return bus
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
