package cqrs_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/cqrs"
	"github.com/cassandraorm/cassandraorm-go/cqrs/bustest"
	"github.com/cassandraorm/cassandraorm-go/retry"
)

func TestMemoryBusConformance(t *testing.T) {
	bustest.Run(t, func(t *testing.T) cqrs.EventBus {
		return cqrs.NewMemoryBus(
			cqrs.MemoryBackoff(retry.Backoff{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond}),
			cqrs.MemoryLogger(slog.New(slog.DiscardHandler)),
		)
	})
}
