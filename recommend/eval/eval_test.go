package eval_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/recommend/eval"
)

// TestMovieLens runs the whole evaluation on the real data set and checks
// that the computed figures land near the reference points measured with an
// independent implementation on an 80/20 split (popularity NDCG@10 ≈ 0.23,
// item-kNN with k=50 ≈ 0.39). The bands are wide enough for the difference
// of splits and of kNN scoring details (docs/recommendations.md), narrow
// enough to catch a broken model.
func TestMovieLens(t *testing.T) {
	ctx := context.Background()
	dir, err := eval.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d, err := eval.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Ratings) != 100000 || len(d.Movies) != 1682 {
		t.Fatalf("MovieLens 100k: %d ratings, %d movies; want 100000, 1682", len(d.Ratings), len(d.Movies))
	}
	// One k and one validation split for the hybrid, so that the suite stays
	// quick under -race; the command tunes over four k and three splits.
	rep, err := eval.Run(ctx, d, eval.Options{TuneNeighbors: []int{20}, ValidationFolds: 1})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := rep.Write(&b); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
	if rep.Train != 80000 || rep.Test != 20000 {
		t.Errorf("split %d/%d, want 80000/20000", rep.Train, rep.Test)
	}
	for _, tc := range []struct {
		model      string
		ndcgLo, hi float64
	}{
		{eval.Popularity, 0.18, 0.28},
		{eval.ItemKNN, 0.30, 0.45},
	} {
		row, ok := rep.Row(tc.model)
		if !ok {
			t.Errorf("no %s row", tc.model)
			continue
		}
		if row.Users != 943 {
			t.Errorf("%s: %d users evaluated, want 943", tc.model, row.Users)
		}
		if row.NDCG < tc.ndcgLo || row.NDCG > tc.hi {
			t.Errorf("%s: NDCG@10 %.4f, want %.2f to %.2f", tc.model, row.NDCG, tc.ndcgLo, tc.hi)
		}
		if row.Precision <= 0 || row.Recall <= 0 {
			t.Errorf("%s: precision %.4f, recall %.4f: want both above 0", tc.model, row.Precision, row.Recall)
		}
	}
	if len(rep.Tuning) == 0 {
		t.Error("the hybrid was not tuned")
	}
	for _, r := range rep.Rows {
		if r.Weights.KNN > 0 && r.Model != eval.ItemKNN && r.Neighbors != 20 {
			t.Errorf("%s: k %d, want the only k tuned over, 20", r.Model, r.Neighbors)
		}
	}
}
