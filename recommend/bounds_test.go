package recommend_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/recommend"
	"github.com/cassandraorm/cassandraorm-go/tenant"
)

// Lists at the bounds, of ids of 80 bytes, in a tenant of the longest id,
// fit in one batch: Cassandra takes them.
func TestListBounds(t *testing.T) {
	ctx := tenant.With(context.Background(), "t-bounds-"+strings.Repeat("x", 23))
	clk := &clock{base}
	r := newRecommender(t, recommend.Config{Now: clk.Now, Neighbors: recommend.MaxNeighbors, PopularSize: recommend.MaxPopularSize}, nil)
	id := func(i int) string { return fmt.Sprintf("%s%04d", strings.Repeat("i", 76), i) }
	for i := range recommend.MaxPopularSize {
		// One user bought them all: every item has every other as a neighbour.
		in := recommend.Interaction{UserID: "buyer", ItemID: id(i), Kind: recommend.Purchase, At: base.Add(-time.Duration(i+1) * time.Second)}
		if err := r.Record(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := r.Train(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Popular != recommend.MaxPopularSize {
		t.Errorf("report %+v, want a popularity list of %d", rep, recommend.MaxPopularSize)
	}
	got, err := r.Neighbours(ctx, id(0))
	if err != nil {
		t.Fatal(err)
	}
	pop, err := r.Popular(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != recommend.MaxNeighbors || len(pop) != recommend.MaxPopularSize {
		t.Errorf("stored %d neighbours and %d popular items, want %d and %d", len(got), len(pop), recommend.MaxNeighbors, recommend.MaxPopularSize)
	}
}
