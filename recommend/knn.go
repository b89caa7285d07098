package recommend

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Scored is an item and its score under one model or the blend: greater is
// better.
type Scored struct {
	// Item is the item's id.
	Item string
	// Score is the item's score.
	Score float64
}

// byScore orders best first, then by item id so that ties are deterministic.
func byScore(a, b Scored) int {
	if c := cmp.Compare(b.Score, a.Score); c != 0 {
		return c
	}
	return cmp.Compare(a.Item, b.Item)
}

// top sorts s best first and cuts it to n (n <= 0: no cut).
func top(s []Scored, n int) []Scored {
	slices.SortFunc(s, byScore)
	if n > 0 && len(s) > n {
		s = s[:n]
	}
	return s
}

// cell is one entry of a sparse row: a user's affinity for an item, seen from
// the item (idx is the user) or from the user (idx is the item).
type cell struct {
	idx int32
	w   float64
}

// matrix is the user × item affinity matrix of implicit feedback, held both
// ways. The full job fills it whole; the incremental job fills byItem for the
// touched items only, byUser for their users, and norm for every item it may
// compare them with.
type matrix struct {
	items  []string
	item   map[string]int32
	users  []string
	user   map[string]int32
	byItem [][]cell
	byUser [][]cell
	norm   []float64 // per item: the Euclidean norm of its user vector
	pop    []float64 // per item: its time-decayed popularity
}

func newMatrix() *matrix {
	return &matrix{item: map[string]int32{}, user: map[string]int32{}}
}

// itemIndex returns the index of item id, adding it if new.
func (m *matrix) itemIndex(id string) int32 {
	if i, ok := m.item[id]; ok {
		return i
	}
	i := int32(len(m.items))
	m.items = append(m.items, id)
	m.item[id] = i
	m.byItem = append(m.byItem, nil)
	m.norm = append(m.norm, 0)
	m.pop = append(m.pop, 0)
	return i
}

func (m *matrix) userIndex(id string) int32 {
	if u, ok := m.user[id]; ok {
		return u
	}
	u := int32(len(m.users))
	m.users = append(m.users, id)
	m.user[id] = u
	m.byUser = append(m.byUser, nil)
	return u
}

// builder accumulates interactions into a matrix: affinities are summed per
// (user, item) pair.
type builder struct {
	cfg *Config
	now time.Time
	m   *matrix
	acc map[[2]int32]float64 // (user, item) -> affinity
}

func newBuilder(cfg *Config, now time.Time) *builder {
	return &builder{cfg: cfg, now: now, m: newMatrix(), acc: map[[2]int32]float64{}}
}

// add counts one interaction in the affinity matrix and in popularity. An
// interaction of an unknown kind weighs nothing.
func (b *builder) add(user, item string, k Kind, at time.Time) {
	w := b.cfg.weight(k)
	if w == 0 {
		return
	}
	u, i := b.m.userIndex(user), b.m.itemIndex(item)
	b.acc[[2]int32{u, i}] += w
	b.m.pop[i] += w * b.cfg.decay(b.now.Sub(at))
}

// build fills both views of the matrix and the norms.
func (b *builder) build() *matrix {
	m := b.m
	keys := make([][2]int32, 0, len(b.acc))
	for k := range b.acc {
		keys = append(keys, k)
	}
	// A fixed order makes the floating-point sums, and so the ties, repeatable.
	slices.SortFunc(keys, func(a, b [2]int32) int {
		if c := cmp.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return cmp.Compare(a[1], b[1])
	})
	for _, k := range keys {
		w := b.acc[k]
		m.byUser[k[0]] = append(m.byUser[k[0]], cell{k[1], w})
		m.byItem[k[1]] = append(m.byItem[k[1]], cell{k[0], w})
		m.norm[k[1]] += w * w
	}
	for i, n := range m.norm {
		m.norm[i] = math.Sqrt(n)
	}
	return m
}

// scratch is the per-worker state of neighbours: dense accumulators over the
// items, reset after each use.
type scratch struct {
	dot     []float64
	common  []int32
	touched []int32
}

func newScratch(items int) *scratch {
	return &scratch{dot: make([]float64, items), common: make([]int32, items)}
}

// neighbours returns the k items most similar to item i by the cosine of
// their user vectors, damped by shrinkage, best first. It reads byItem[i],
// byUser of i's users and the norms of the items they touched, so a partial
// matrix holding those gives the same list as the whole one.
func (m *matrix) neighbours(i int32, k int, shrinkage float64, s *scratch) []Scored {
	if m.norm[i] == 0 {
		return nil
	}
	for _, uc := range m.byItem[i] {
		for _, ic := range m.byUser[uc.idx] {
			j := ic.idx
			if j == i {
				continue
			}
			if s.common[j] == 0 {
				s.touched = append(s.touched, j)
			}
			s.dot[j] += uc.w * ic.w
			s.common[j]++
		}
	}
	out := make([]Scored, 0, len(s.touched))
	for _, j := range s.touched {
		if nj := m.norm[j]; nj > 0 {
			sim := s.dot[j] / (m.norm[i] * nj)
			if shrinkage > 0 {
				n := float64(s.common[j])
				sim *= n / (n + shrinkage)
			}
			out = append(out, Scored{Item: m.items[j], Score: sim})
		}
		s.dot[j], s.common[j] = 0, 0
	}
	s.touched = s.touched[:0]
	return slices.Clip(top(out, k))
}

// popular returns the n most popular items of m, best first.
func (m *matrix) popular(n int) []Scored {
	out := make([]Scored, 0, len(m.items))
	for i, p := range m.pop {
		if p > 0 {
			out = append(out, Scored{Item: m.items[i], Score: p})
		}
	}
	return slices.Clip(top(out, n))
}
