package eval

import "math"

// Metrics are ranking metrics at a cut-off, averaged over the users evaluated.
type Metrics struct {
	// Precision is the share of the top K that are held-out items.
	Precision float64
	// Recall is the share of a user's held-out items found in the top K.
	Recall float64
	// NDCG is the discounted cumulative gain of the top K (binary relevance,
	// gain 1/log2(rank+1)) over the best possible for the user's held-out items.
	NDCG float64
	// Users is how many users were evaluated.
	Users int
}

// accumulator sums per-user metrics.
type accumulator struct {
	k               int
	prec, rec, ndcg float64
	users           int
}

// add scores one user's ranked list against their held-out items.
func (a *accumulator) add(ranked []string, relevant map[string]bool) {
	if len(relevant) == 0 {
		return
	}
	hits, dcg := 0, 0.0
	for r, item := range ranked[:min(len(ranked), a.k)] {
		if relevant[item] {
			hits++
			dcg += 1 / math.Log2(float64(r)+2)
		}
	}
	idcg := 0.0
	for r := range min(len(relevant), a.k) {
		idcg += 1 / math.Log2(float64(r)+2)
	}
	a.prec += float64(hits) / float64(a.k)
	a.rec += float64(hits) / float64(len(relevant))
	a.ndcg += dcg / idcg
	a.users++
}

func (a *accumulator) metrics() Metrics {
	if a.users == 0 {
		return Metrics{}
	}
	n := float64(a.users)
	return Metrics{Precision: a.prec / n, Recall: a.rec / n, NDCG: a.ndcg / n, Users: a.users}
}
