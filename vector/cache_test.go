package vector_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/testenv"
	"github.com/cassandraorm/cassandraorm-go/vector"
)

// countingEmbedder is a real Embedder that computes textVec of its model and text
// and counts how often it embedded each text. When gate is set, Embed waits for it
// to close.
type countingEmbedder struct {
	model string
	dim   int
	claim int // when set, the Dimension it reports instead of dim
	gate  chan struct{}
	calls atomic.Int64
	mu    sync.Mutex
	times map[string]int
}

func newCounting(model string, dim int) *countingEmbedder {
	return &countingEmbedder{model: model, dim: dim, times: map[string]int{}}
}

func (e *countingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	e.calls.Add(1)
	e.mu.Lock()
	for _, t := range texts {
		e.times[t]++
	}
	e.mu.Unlock()
	if e.gate != nil {
		select {
		case <-e.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = textVec(e.model+"\x00"+t, e.dim)
	}
	return out, nil
}

func (e *countingEmbedder) Dimension() int {
	if e.claim != 0 {
		return e.claim
	}
	return e.dim
}
func (e *countingEmbedder) Model() string { return e.model }

// embedded returns how often each text was embedded.
func (e *countingEmbedder) embedded() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.times)
}

// uniqueModel returns a model name of its own for each test run, so that the
// entries a run stores in a Cassandra table are not found by the next (-count).
func uniqueModel(base string) string { return fmt.Sprintf("%s-%x", base, rand.Uint64()) }

// mustEmbed embeds texts and checks each vector is e's for its text.
func mustEmbed(t *testing.T, c vector.Embedder, inner *countingEmbedder, texts ...string) [][]float32 {
	t.Helper()
	got, err := c.Embed(t.Context(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(texts) {
		t.Fatalf("%d vectors for %d texts", len(got), len(texts))
	}
	for i, v := range got {
		if !slices.Equal(v, textVec(inner.model+"\x00"+texts[i], inner.dim)) {
			t.Fatalf("vector %d (%q) is not model %s's", i, texts[i], inner.model)
		}
	}
	return got
}

// cassandraStore returns a synced CassandraStore on a table of its own.
func cassandraStore(t *testing.T, table string) *vector.CassandraStore {
	t.Helper()
	s, err := vector.NewCassandraStore(openDB(t), vector.CassandraStoreConfig{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

func memoryStore(t *testing.T) *vector.MemoryStore {
	t.Helper()
	s, err := vector.NewMemoryStore(vector.MemoryStoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCached, for each store: a text is embedded once, however often and in
// whatever company it comes back; identical texts of one call are embedded once and
// returned as separate slices; another model (or dimension) is another key.
func TestCached(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) vector.CacheStore
	}{
		{"memory", func(t *testing.T) vector.CacheStore { return memoryStore(t) }},
		{"cassandra", func(t *testing.T) vector.CacheStore { return cassandraStore(t, "cache_basic") }},
		{"tiered", func(t *testing.T) vector.CacheStore {
			return vector.Tiered(memoryStore(t), cassandraStore(t, "cache_tiered"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := tc.store(t)
			m1 := uniqueModel("m1")
			inner := newCounting(m1, 16)
			c, err := vector.NewCached(inner, store, vector.CachedConfig{})
			if err != nil {
				t.Fatal(err)
			}
			got := mustEmbed(t, c, inner, "a", "b", "a", "c")
			got[0][0]++ // the caller's own: the other "a" and the cache keep theirs
			if got[2][0] == got[0][0] {
				t.Errorf("the two vectors of \"a\" share their memory")
			}
			mustEmbed(t, c, inner, "b", "c", "d")
			mustEmbed(t, c, inner, "d", "c", "b", "a")
			if n := inner.calls.Load(); n != 2 {
				t.Errorf("%d inner calls, want 2 (a b c, then d)", n)
			}
			if want := map[string]int{"a": 1, "b": 1, "c": 1, "d": 1}; fmt.Sprint(inner.embedded()) != fmt.Sprint(want) {
				t.Errorf("embedded %v, want each text once", inner.embedded())
			}
			if st := c.Stats(); st != (vector.CacheStats{Hits: 2 + 4, Embedded: 4, Calls: 2}) {
				t.Errorf("stats %+v", st)
			}
			// Another model, or another dimension, on the same store: other keys.
			for _, other := range []*countingEmbedder{newCounting(uniqueModel("m2"), 16), newCounting(m1, 8)} {
				oc, err := vector.NewCached(other, store, vector.CachedConfig{})
				if err != nil {
					t.Fatal(err)
				}
				mustEmbed(t, oc, other, "a", "b")
				mustEmbed(t, oc, other, "a", "b")
				if n := other.calls.Load(); n != 1 {
					t.Errorf("model %s dimension %d: %d inner calls, want 1", other.model, other.dim, n)
				}
			}
			if n := inner.calls.Load(); n != 2 {
				t.Errorf("model %s called again (%d calls) after other models wrote the store", m1, n)
			}
			if got, err := c.Embed(t.Context(), nil); err != nil || got == nil || len(got) != 0 || inner.calls.Load() != 2 {
				t.Errorf("empty input: %v, %v; want an empty result and no inner call", got, err)
			}
		})
	}
}

// TestCachedPersists: a fresh Cached on a fresh CassandraStore of the same table
// (as after a restart) embeds nothing it had embedded, and a memory level put in
// front of it is filled from it.
func TestCachedPersists(t *testing.T) {
	texts := []string{"red shoes", "blue shoes", "a green hat"}
	m1 := uniqueModel("m1")
	first := newCounting(m1, 16)
	c1, err := vector.NewCached(first, cassandraStore(t, "cache_persist"), vector.CachedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	mustEmbed(t, c1, first, texts...)

	again := newCounting(m1, 16)
	front := memoryStore(t)
	c2, err := vector.NewCached(again, vector.Tiered(front, cassandraStore(t, "cache_persist")), vector.CachedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	mustEmbed(t, c2, again, texts...)
	if n := again.calls.Load(); n != 0 {
		t.Errorf("%d inner calls after the restart, want 0", n)
	}
	if front.Len() != len(texts) {
		t.Errorf("the memory level holds %d vectors, want the %d read from Cassandra", front.Len(), len(texts))
	}
}

// TestCachedWrongLength: a stored vector of another length than the model's is a
// miss: the text is embedded again and the entry overwritten.
func TestCachedWrongLength(t *testing.T) {
	for name, store := range map[string]vector.CacheStore{"memory": memoryStore(t), "cassandra": cassandraStore(t, "cache_wronglen")} {
		t.Run(name, func(t *testing.T) {
			m1 := uniqueModel("m1")
			key := vector.CacheKey{Model: m1, Dimension: 16, Hash: sha256.Sum256([]byte("x"))}
			if err := store.Put(t.Context(), []vector.CacheKey{key}, [][]float32{{1, 2, 3}}); err != nil {
				t.Fatal(err)
			}
			inner := newCounting(m1, 16)
			c, err := vector.NewCached(inner, store, vector.CachedConfig{})
			if err != nil {
				t.Fatal(err)
			}
			mustEmbed(t, c, inner, "x")
			mustEmbed(t, c, inner, "x")
			if n := inner.calls.Load(); n != 1 {
				t.Errorf("%d inner calls, want 1", n)
			}
			got, err := store.Get(t.Context(), []vector.CacheKey{key})
			if err != nil || len(got) != 1 || !slices.Equal(got[0], textVec(m1+"\x00x", 16)) {
				t.Errorf("stored %v (%v), want the overwritten vector", got, err)
			}
		})
	}
}

// TestCachedConcurrent: calls for the same texts while one is embedding them wait
// for it: one inner call in all. The first call holds the inner embedder until the
// others have started; however they interleave, each finds the text claimed or
// stored.
func TestCachedConcurrent(t *testing.T) {
	inner := newCounting(uniqueModel("m1"), 16)
	inner.gate = make(chan struct{})
	c, err := vector.NewCached(inner, cassandraStore(t, "cache_concurrent"), vector.CachedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 9)
	embed := func(texts ...string) {
		defer wg.Done()
		got, err := c.Embed(t.Context(), texts)
		if err == nil && !slices.Equal(got[0], textVec(inner.model+"\x00"+texts[0], 16)) {
			err = fmt.Errorf("wrong vector for %q", texts[0])
		}
		errs <- err
	}
	wg.Add(1)
	go embed("p", "q")
	testenv.WaitUntil(t, 10*time.Second, "the first call reaches the inner embedder", func() bool { return inner.calls.Load() == 1 })
	for i := range 8 {
		wg.Add(1)
		go embed([]string{"p", "q"}[i%2], "q")
	}
	close(inner.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := inner.calls.Load(); n != 1 {
		t.Errorf("%d inner calls for 9 concurrent calls of the same texts, want 1", n)
	}
	if st := c.Stats(); st.Embedded != 2 || st.Hits+st.Shared != 4*2+4*1 {
		t.Errorf("stats %+v: want 2 embedded, and the 12 distinct texts of the other calls hits or shared", st)
	}
}

// TestCachedStoreErrors: a store that fails (a table never created) fails Embed,
// naming the model and the table, unless OnStoreError takes the error: then the
// texts are embedded and returned.
func TestCachedStoreErrors(t *testing.T) {
	broken, err := vector.NewCassandraStore(openDB(t), vector.CassandraStoreConfig{Table: "cache_never_synced"})
	if err != nil {
		t.Fatal(err)
	}
	inner := newCounting("m1", 16)
	c, err := vector.NewCached(inner, broken, vector.CachedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Embed(t.Context(), []string{"x"}); got != nil || err == nil || !strings.Contains(err.Error(), "cache_never_synced") || !strings.Contains(err.Error(), "m1") {
		t.Errorf("Embed on a missing table: %v, %v; want an error naming the table and model", got, err)
	}
	var seen []string
	c, err = vector.NewCached(inner, broken, vector.CachedConfig{OnStoreError: func(err error) { seen = append(seen, err.Error()) }})
	if err != nil {
		t.Fatal(err)
	}
	mustEmbed(t, c, inner, "x")
	if len(seen) != 2 || !strings.Contains(seen[0], "store get") || !strings.Contains(seen[1], "store put") {
		t.Errorf("OnStoreError saw %q, want the failed get and put", seen)
	}
}

// TestCachedInnerWrongDimension: an inner embedder whose vectors are not of its
// Dimension fails Embed with ErrDimension, naming the model and the input, and
// nothing is stored.
func TestCachedInnerWrongDimension(t *testing.T) {
	inner := newCounting(uniqueModel("m1"), 16)
	inner.claim = 17
	store := memoryStore(t)
	c, err := vector.NewCached(inner, store, vector.CachedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Embed(t.Context(), []string{"a", "b", "a"})
	if got != nil || !errors.Is(err, vector.ErrDimension) || !strings.Contains(err.Error(), inner.model) ||
		!strings.Contains(err.Error(), "input 0: the inner embedder gave 16 elements, want 17") {
		t.Fatalf("got %d vectors, error %v; want ErrDimension naming the model and input 0", len(got), err)
	}
	if store.Len() != 0 {
		t.Errorf("%d vectors stored after the error", store.Len())
	}
}

// TestTieredNil: a Tiered store with a nil level fails rather than panics.
func TestTieredNil(t *testing.T) {
	s := vector.Tiered(nil, memoryStore(t))
	if _, err := s.Get(t.Context(), nil); err == nil {
		t.Errorf("Get on a nil front: no error")
	}
	if err := s.Put(t.Context(), nil, nil); err == nil {
		t.Errorf("Put on a nil front: no error")
	}
}

// TestMemoryStoreBound: past MaxBytes the memory store evicts.
func TestMemoryStoreBound(t *testing.T) {
	const maxBytes = 20 << 10
	s, err := vector.NewMemoryStore(vector.MemoryStoreConfig{MaxBytes: maxBytes})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		k := vector.CacheKey{Model: "m1", Dimension: 256, Hash: sha256.Sum256(fmt.Appendf(nil, "%d", i))}
		if err := s.Put(t.Context(), []vector.CacheKey{k}, [][]float32{make([]float32, 256)}); err != nil {
			t.Fatal(err)
		}
	}
	// otter applies writes and evictions to its policy in batches: wait for them.
	testenv.WaitUntil(t, 10*time.Second, "the store evicts down to MaxBytes", func() bool {
		return s.Len() < 100 && s.Bytes() <= maxBytes
	})
	if s.Len() == 0 {
		t.Errorf("every entry evicted under a bound of 20 entries' weight")
	}
	if _, err := vector.NewMemoryStore(vector.MemoryStoreConfig{MaxBytes: -1}); err == nil {
		t.Errorf("MaxBytes -1 accepted")
	}
}

// TestCassandraStoreConfig: what NewCassandraStore refuses.
func TestCassandraStoreConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  vector.CassandraStoreConfig
		want string
	}{
		{vector.CassandraStoreConfig{Table: "bad-name"}, "Table"},
		{vector.CassandraStoreConfig{TTL: -time.Second}, "TTL"},
		{vector.CassandraStoreConfig{TTL: time.Millisecond}, "whole seconds"},
		{vector.CassandraStoreConfig{TTL: orm.MaxTTL + time.Second}, "TTL"},
		{vector.CassandraStoreConfig{Scope: orm.Scope(9)}, "Scope"},
		{vector.CassandraStoreConfig{Concurrency: -1}, "Concurrency"},
	} {
		if err := tc.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error about %s", tc.cfg, err, tc.want)
		}
	}
	if err := (vector.CassandraStoreConfig{TTL: time.Hour}).Validate(); err != nil {
		t.Errorf("TTL 1h: %v", err)
	}
}
