package recommend_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/recommend"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// The stored path (Record, Train, Recommend) and the in-memory one (Fit,
// Snapshot) give the same lists and the same recommendations, so the offline
// evaluation, which runs the second, measures the first.
func TestStoredAgreesWithMemory(t *testing.T) {
	ctx := tenant.With(context.Background(), "t-agree")
	clk := &clock{base}
	cfg := recommend.Config{Now: clk.Now, Neighbors: 5, Shrinkage: 2, PopularSize: 8}
	r := newRecommender(t, cfg, nil)
	rng := rand.New(rand.NewPCG(7, 7))
	kinds := []recommend.Kind{recommend.View, recommend.View, recommend.Cart, recommend.Purchase}
	var rows []recommend.Interaction
	for n := range 150 {
		in := recommend.Interaction{
			UserID: fmt.Sprintf("u%02d", rng.IntN(20)),
			ItemID: fmt.Sprintf("i%02d", rng.IntN(15)),
			Kind:   kinds[rng.IntN(len(kinds))],
			At:     base.Add(-time.Duration(150-n) * time.Hour),
		}
		if err := r.Record(ctx, in); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, in)
	}
	if _, err := r.Train(ctx); err != nil {
		t.Fatal(err)
	}
	snap, err := recommend.Fit(cfg, slices.Values(rows))
	if err != nil {
		t.Fatal(err)
	}
	same := func(what string, got, want []recommend.Scored) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: stored %v, memory %v", what, got, want)
			return
		}
		for i := range got {
			if got[i].Item != want[i].Item || !near(got[i].Score, want[i].Score) {
				t.Errorf("%s: stored %v, memory %v", what, got, want)
				return
			}
		}
	}
	for i := range 15 {
		item := fmt.Sprintf("i%02d", i)
		got, err := r.Neighbours(ctx, item)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 5 {
			t.Errorf("neighbours of %s: %d, want k=5", item, len(got))
		}
		same("neighbours of "+item, got, snap.Neighbours(item))
	}
	pop, err := r.Popular(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pop) != 8 {
		t.Errorf("popular holds %d items, want PopularSize 8", len(pop))
	}
	same("popular", pop, snap.Popular())
	for u := range 20 {
		user := fmt.Sprintf("u%02d", u)
		var history []recommend.Interaction
		for _, in := range slices.Backward(rows) {
			if in.UserID == user {
				history = append(history, in)
			}
		}
		got, err := r.Recommend(ctx, user, 6)
		if err != nil {
			t.Fatal(err)
		}
		want, err := snap.Recommend(ctx, history, nil, 6)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			t.Errorf("no recommendations for %s", user)
		}
		same("recommendations for "+user, got, want)
	}
}
