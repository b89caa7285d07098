package cqrs_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cqrs"
	"github.com/cassandraorm/cassandraorm-go/cqrs/bustest"
)

func TestMemoryBusConformance(t *testing.T) {
	bustest.Run(t, func(t *testing.T) cqrs.EventBus {
		return cqrs.NewMemoryBus(
			cqrs.MemoryBackoff(cqrs.Backoff{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond}),
			cqrs.MemoryLogger(slog.New(slog.DiscardHandler)),
		)
	})
}
