package recommend

import (
	"context"
	"iter"
	"runtime"
	"sync"
)

// Snapshot is a trained model held in memory: every item's neighbour list and
// the popularity list, as the training job would store them. It serves the
// offline evaluation, which so measures the training and scoring code the
// stored path runs, and small deployments that fit in memory. A Snapshot is
// safe for concurrent use.
type Snapshot struct {
	cfg        Config
	neighbours map[string][]Scored
	popular    []Scored
	content    ContentSource
}

// Fit trains a Snapshot on interactions, with cfg.Now() as the present for
// popularity's decay. It is the computation Recommender.Train runs on the
// rows it reads.
func Fit(cfg Config, interactions iter.Seq[Interaction]) (*Snapshot, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := newBuilder(&cfg, cfg.Now())
	for in := range interactions {
		b.add(in.UserID, in.ItemID, in.Kind, in.At)
	}
	m := b.build()
	all := make([]int32, len(m.items))
	for i := range all {
		all[i] = int32(i)
	}
	return &Snapshot{cfg: cfg, neighbours: m.allNeighbours(all, cfg.Neighbors, cfg.Shrinkage), popular: m.popular(cfg.PopularSize)}, nil
}

// allNeighbours computes the neighbour lists of items, on as many goroutines
// as there are CPUs.
func (m *matrix) allNeighbours(items []int32, k int, shrinkage float64) map[string][]Scored {
	lists := make([][]Scored, len(items))
	workers := max(1, min(runtime.GOMAXPROCS(0), len(items)))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newScratch(len(m.items))
			for n := w; n < len(items); n += workers {
				lists[n] = m.neighbours(items[n], k, shrinkage, s)
			}
		}()
	}
	wg.Wait()
	out := make(map[string][]Scored, len(items))
	for n, i := range items {
		out[m.items[i]] = lists[n]
	}
	return out
}

// WithWeights returns a Snapshot sharing s's trained lists that blends them
// with w (the zero Weights means DefaultWeights()).
func (s *Snapshot) WithWeights(w Weights) *Snapshot {
	c := *s
	c.cfg.Weights = w
	c.cfg.setDefaults()
	return &c
}

// WithContent returns a Snapshot sharing s's trained lists that asks src for
// the content-based model's candidates.
func (s *Snapshot) WithContent(src ContentSource) *Snapshot {
	c := *s
	c.content = src
	return &c
}

// Neighbours returns item's neighbour list, best first (nil for an item never
// seen). The slice is shared: do not change it.
func (s *Snapshot) Neighbours(item string) []Scored { return s.neighbours[item] }

// Popular returns the popularity list, best first. The slice is shared: do not
// change it.
func (s *Snapshot) Popular() []Scored { return s.popular }

// Recommend blends the models for a user whose interactions, newest first,
// are history, as Recommender.Recommend does: the first Config.History of
// them are the seeds. exclude says which items may not be recommended; nil
// excludes the items history holds a purchase of.
func (s *Snapshot) Recommend(ctx context.Context, history []Interaction, exclude func(item string) bool, limit int) ([]Scored, error) {
	c, err := s.Candidates(ctx, history, exclude)
	if err != nil {
		return nil, err
	}
	return s.cfg.Weights.Rank(c, limit), nil
}

// Candidates gathers what Recommend blends, for ranking under other Weights.
func (s *Snapshot) Candidates(ctx context.Context, history []Interaction, exclude func(item string) bool) (Candidates, error) {
	history = history[:min(len(history), s.cfg.History)]
	if exclude == nil {
		exclude = purchased(history)
	}
	content, err := s.cfg.similar(ctx, s.content, history)
	if err != nil {
		return Candidates{}, err
	}
	sig := signals{history: history, neighbours: map[string][]Scored{}, content: content, popular: s.popular, exclude: exclude}
	for _, in := range history {
		sig.neighbours[in.ItemID] = s.neighbours[in.ItemID]
	}
	return s.cfg.normalise(sig), nil
}

// purchased returns the exclusion of the items history holds a purchase of.
func purchased(history []Interaction) func(string) bool {
	bought := map[string]bool{}
	for _, in := range history {
		if in.Kind == Purchase {
			bought[in.ItemID] = true
		}
	}
	return func(item string) bool { return bought[item] }
}
