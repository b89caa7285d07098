package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/services/product"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// trainEvery runs the recommender's training job for the tenant of ctx at
// once and then every interval until ctx ends. A job that fails is logged and
// run again at the next tick. Two processes training the same tenant write
// the same lists (each row with its job's time), so no lease is taken.
func trainEvery(ctx context.Context, svc *product.Service, every time.Duration, log *slog.Logger) error {
	id, _ := tenant.From(ctx)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		r, err := svc.Train(ctx)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			log.Warn("recommender training", "tenant", id, "err", err)
		default:
			log.Info("recommender trained", "tenant", id, "users", r.Users, "interactions", r.Interactions, "items", r.Items, "popular", r.Popular)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
