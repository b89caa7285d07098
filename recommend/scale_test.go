package recommend_test

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/recommend"
)

// ScaleNeighbors divides each seed's list by its best similarity before the
// sum. Trained: u1..u3 bought A and B, u4 A and X; u5, u6, u7 bought D and
// E, F, G; u8 E and u9 F. So B's list is A at cos √3/2, D's is G at 1/√3 and
// E, F at 1/√6. A history of B and D scores A, G, E, F raw as √3/2, 1/√3,
// 1/√6, 1/√6 (times the affinity 5), scaled as 1, 1, 1/√2, 1/√2; then each is
// divided by the best.
func TestScaleNeighbors(t *testing.T) {
	var train []recommend.Interaction
	buy := func(user string, items ...string) {
		for i, item := range items {
			train = append(train, recommend.Interaction{UserID: user, ItemID: item, Kind: recommend.Purchase, At: base.Add(-timeStep(len(train) + i))})
		}
	}
	for _, u := range []string{"u1", "u2", "u3"} {
		buy(u, "A", "B")
	}
	buy("u4", "A", "X")
	buy("u5", "D", "E")
	buy("u6", "D", "F")
	buy("u7", "D", "G")
	buy("u8", "E")
	buy("u9", "F")
	history := []recommend.Interaction{
		{UserID: "q", ItemID: "B", Kind: recommend.Purchase, At: base},
		{UserID: "q", ItemID: "D", Kind: recommend.Purchase, At: base.Add(-timeStep(1))},
	}
	for _, tc := range []struct {
		scale bool
		want  map[string]float64
	}{
		{false, map[string]float64{"A": 1, "G": (1 / math.Sqrt(3)) / (math.Sqrt(3) / 2), "E": (1 / math.Sqrt(6)) / (math.Sqrt(3) / 2), "F": (1 / math.Sqrt(6)) / (math.Sqrt(3) / 2)}},
		{true, map[string]float64{"A": 1, "G": 1, "E": 1 / math.Sqrt2, "F": 1 / math.Sqrt2}},
	} {
		cfg := recommend.Config{ScaleNeighbors: tc.scale, Weights: recommend.Weights{KNN: 1}, Now: func() time.Time { return base }}
		snap, err := recommend.Fit(cfg, slices.Values(train))
		if err != nil {
			t.Fatal(err)
		}
		got, err := snap.Recommend(context.Background(), history, nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(tc.want) {
			t.Errorf("scale %v: got %v, want the scores %v", tc.scale, got, tc.want)
			continue
		}
		for _, s := range got {
			if w, ok := tc.want[s.Item]; !ok || !near(s.Score, w) {
				t.Errorf("scale %v: %s scored %v, want %v (found %v)", tc.scale, s.Item, s.Score, w, ok)
			}
		}
	}
}

func timeStep(n int) time.Duration { return time.Duration(n) * time.Minute }
