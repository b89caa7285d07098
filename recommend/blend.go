package recommend

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Interaction is one thing a user did with an item, a row of the interactions
// table: one partition per user, newest first. Two interactions of a user
// with an item in the same millisecond are one row (the last written wins).
type Interaction struct {
	// UserID is the user.
	UserID string `cql:"user_id" orm:"pk"`
	// At is when it happened (kept to the millisecond).
	At time.Time `cql:"at" orm:"ck=desc"`
	// ItemID is the item.
	ItemID string `cql:"item_id" orm:"ck"`
	// Kind is what the user did.
	Kind Kind `cql:"kind"`
}

// ContentSource finds items similar in content to a set of items: the
// content-based model. VectorContent answers from a vector column with
// Cassandra's ANN index, MemoryContent from embeddings held in memory.
//
// Similar must be safe for concurrent use.
type ContentSource interface {
	// Similar returns up to limit items whose embeddings are nearest to the
	// mean of the embeddings of items, best first, with scores where greater
	// is more similar. Items without an embedding are left out of the mean;
	// when none has one, the result is empty.
	Similar(ctx context.Context, items []string, limit int) ([]Scored, error)
}

// signals are what the hybrid blends for one user; both the stored path
// (Recommender) and the in-memory one (Snapshot) gather them and hand them to
// blend, so the offline evaluation measures the code that serves.
type signals struct {
	history    []Interaction       // newest first
	neighbours map[string][]Scored // per seed item
	content    []Scored
	popular    []Scored
	exclude    func(item string) bool
}

// seeds returns the distinct items of history, newest first, with the user's
// affinity for each (the sum of the weights of their interactions).
func (c *Config) seeds(history []Interaction) ([]string, map[string]float64) {
	var order []string
	aff := map[string]float64{}
	for _, in := range history {
		w := c.weight(in.Kind)
		if w == 0 {
			continue
		}
		if _, ok := aff[in.ItemID]; !ok {
			order = append(order, in.ItemID)
		}
		aff[in.ItemID] += w
	}
	return order, aff
}

// Candidates are each model's candidates for one user, their scores
// normalised to [0, 1], excluded items left out: what Weights.Rank blends.
// Computing them once and ranking them under several Weights is how the
// offline evaluation tunes the blend.
type Candidates struct {
	knn, content, popular []Scored
}

// normalise scores the candidates of every model. Item-kNN scores an item j
// by Σ affinity(i)·sim(i, j) over the seeds i that list j as a neighbour
// (with Config.ScaleNeighbors, sim(i, j) divided by the best of i's list);
// item-kNN and popularity scores are divided by their best, content scores
// are scaled to [0, 1] between their worst and best (their scale depends on
// the index's similarity function). Excluded items are left out.
func (c *Config) normalise(s signals) Candidates {
	order, aff := c.seeds(s.history)
	knn := map[string]float64{}
	for _, i := range order {
		w := aff[i]
		if c.ScaleNeighbors {
			best := 0.0
			for _, n := range s.neighbours[i] {
				best = max(best, n.Score)
			}
			if best == 0 {
				continue
			}
			w /= best
		}
		for _, n := range s.neighbours[i] {
			knn[n.Item] += w * n.Score
		}
	}
	list := make([]Scored, 0, len(knn))
	for item, v := range knn {
		if v > 0 {
			list = append(list, Scored{item, v})
		}
	}
	return Candidates{
		knn:     scale(list, false, s.exclude),
		content: scale(s.content, true, s.exclude),
		popular: scale(s.popular, false, s.exclude),
	}
}

// scale returns list without excluded items, its scores divided by the best
// (minmax: scaled between the worst and the best), computed over the whole
// list.
func scale(list []Scored, minmax bool, exclude func(string) bool) []Scored {
	if len(list) == 0 {
		return nil
	}
	lo, hi := list[0].Score, list[0].Score
	for _, x := range list {
		lo, hi = min(lo, x.Score), max(hi, x.Score)
	}
	if !minmax {
		lo = 0
	}
	out := make([]Scored, 0, len(list))
	for _, x := range list {
		if exclude != nil && exclude(x.Item) {
			continue
		}
		v := 1.0
		if hi > lo {
			v = (x.Score - lo) / (hi - lo)
		}
		out = append(out, Scored{x.Item, v})
	}
	return out
}

// Rank sums the normalised candidates with the weights and returns the best
// limit (limit <= 0: all), best first, ties broken by item id.
func (w Weights) Rank(c Candidates, limit int) []Scored {
	total := make(map[string]float64, len(c.knn)+len(c.content)+len(c.popular))
	for _, part := range []struct {
		list   []Scored
		weight float64
	}{{c.knn, w.KNN}, {c.content, w.Content}, {c.popular, w.Popularity}} {
		if part.weight == 0 {
			continue
		}
		for _, x := range part.list {
			total[x.Item] += part.weight * x.Score
		}
	}
	if limit <= 0 {
		out := make([]Scored, 0, len(total))
		for item, v := range total {
			out = append(out, Scored{item, v})
		}
		return top(out, 0)
	}
	// Keep the best limit in a sorted slice: most candidates lose to its
	// last element with one comparison.
	out := make([]Scored, 0, limit+1)
	for item, v := range total {
		x := Scored{item, v}
		if len(out) == limit && byScore(x, out[limit-1]) >= 0 {
			continue
		}
		at, _ := slices.BinarySearchFunc(out, x, byScore)
		out = slices.Insert(out, at, x)
		if len(out) > limit {
			out = out[:limit]
		}
	}
	return out
}

// contentSeeds returns the ContentSeeds most recent distinct items of history.
func (c *Config) contentSeeds(history []Interaction) []string {
	order, _ := c.seeds(history)
	return order[:min(len(order), c.ContentSeeds)]
}

// similar asks src for the content candidates of history; no source or no
// weight asks nothing.
func (c *Config) similar(ctx context.Context, src ContentSource, history []Interaction) ([]Scored, error) {
	if src == nil || c.Weights.Content == 0 || len(history) == 0 {
		return nil, nil
	}
	got, err := src.Similar(ctx, c.contentSeeds(history), c.ContentCandidates)
	if err != nil {
		return nil, fmt.Errorf("recommend: content: %w", err)
	}
	return got, nil
}
