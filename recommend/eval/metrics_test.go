package eval

import (
	"math"
	"testing"
)

func TestMetrics(t *testing.T) {
	rel := func(items ...string) map[string]bool {
		m := map[string]bool{}
		for _, i := range items {
			m[i] = true
		}
		return m
	}
	for _, tc := range []struct {
		name            string
		k               int
		ranked          []string
		relevant        map[string]bool
		prec, rec, ndcg float64
	}{
		{"perfect", 2, []string{"a", "b"}, rel("a", "b"), 1, 1, 1},
		{"none", 2, []string{"x", "y"}, rel("a"), 0, 0, 0},
		{"hit at rank 2 of 1 relevant", 2, []string{"x", "a"}, rel("a"), 0.5, 1, 1 / math.Log2(3)},
		{"more relevant than k", 2, []string{"a", "x"}, rel("a", "b", "c"), 0.5, 1.0 / 3, 1 / (1 + 1/math.Log2(3))},
		{"a short list counts against precision", 4, []string{"a"}, rel("a"), 0.25, 1, 1},
		{"only the first k count", 1, []string{"x", "a"}, rel("a"), 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := accumulator{k: tc.k}
			a.add(tc.ranked, tc.relevant)
			a.add(tc.ranked, nil) // a user with nothing held out is not counted
			m := a.metrics()
			if m.Users != 1 || !approx(m.Precision, tc.prec) || !approx(m.Recall, tc.rec) || !approx(m.NDCG, tc.ndcg) {
				t.Errorf("metrics %+v, want precision %.4f recall %.4f NDCG %.4f over 1 user", m, tc.prec, tc.rec, tc.ndcg)
			}
		})
	}
}

func approx(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestSplitPerUser(t *testing.T) {
	var ratings []Rating
	for u := int64(1); u <= 3; u++ {
		for m := int64(1); m <= 10*u; m++ {
			ratings = append(ratings, Rating{User: u, Movie: m})
		}
	}
	ratings = append(ratings, Rating{User: 4, Movie: 1}) // one rating: kept for training
	s := SplitPerUser(ratings, 0.2, 42)
	held := map[int64]int{}
	seen := map[[2]int64]int{}
	for _, r := range s.Test {
		held[r.User]++
		seen[[2]int64{r.User, r.Movie}]++
	}
	for _, r := range s.Train {
		seen[[2]int64{r.User, r.Movie}]++
	}
	if len(seen) != len(ratings) || len(s.Train)+len(s.Test) != len(ratings) {
		t.Fatalf("split of %d ratings: %d train + %d test, %d distinct", len(ratings), len(s.Train), len(s.Test), len(seen))
	}
	for u, want := range map[int64]int{1: 2, 2: 4, 3: 6, 4: 0} {
		if held[u] != want {
			t.Errorf("user %d: %d held out, want %d", u, held[u], want)
		}
	}
	again := SplitPerUser(ratings, 0.2, 42)
	other := SplitPerUser(ratings, 0.2, 7)
	same, differs := true, false
	for i := range s.Test {
		same = same && s.Test[i] == again.Test[i]
		differs = differs || s.Test[i] != other.Test[i]
	}
	if !same || !differs {
		t.Errorf("split: same seed same split %v, other seed other split %v; want both", same, differs)
	}
}
