package minilm

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
)

// embedTexts mixes lengths, so that a batch holds short and long texts.
var embedTexts = []string{
	"A man is eating food.",
	"Cassandra 5 answers approximate nearest-neighbour queries over storage-attached vector indexes, " +
		"and this sentence is long enough to be several times longer than its neighbours.",
	"",
	"Café naïve",
	"東京は日本の首都です。",
}

func cosine32(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// TestEmbedBatching checks that a text's vector does not depend on what it
// is batched with, how many workers compute it or where it sits: the
// property padding without a mask would break.
func TestEmbedBatching(t *testing.T) {
	m := testModel(t)
	ctx := t.Context()
	alone := make([][]float32, len(embedTexts))
	for i, s := range embedTexts {
		v, err := m.Embed(ctx, []string{s})
		if err != nil {
			t.Fatal(err)
		}
		alone[i] = v[0]
	}
	for _, cfg := range []Config{{BatchSize: 2, Workers: 3}, {BatchSize: 32, Workers: 1}} {
		b, err := Load(modelDir(t), cfg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.Embed(ctx, embedTexts)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(embedTexts) {
			t.Fatalf("%+v: %d vectors for %d texts", cfg, len(got), len(embedTexts))
		}
		for i, v := range got {
			if len(v) != Dimension {
				t.Fatalf("%+v: text %d: %d dimensions", cfg, i, len(v))
			}
			if c := cosine32(v, alone[i]); c < 0.999999 {
				t.Errorf("%+v: text %d %q: cosine %.8f with the text embedded alone", cfg, i, embedTexts[i], c)
			}
		}
	}
}

func TestEmbedUnitLength(t *testing.T) {
	got, err := testModel(t).Embed(t.Context(), embedTexts)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		var sq float64
		for _, x := range v {
			sq += float64(x) * float64(x)
		}
		if math.Abs(math.Sqrt(sq)-1) > 1e-5 {
			t.Errorf("text %d: length %.7f, want 1", i, math.Sqrt(sq))
		}
	}
}

func TestEmbedSimilarity(t *testing.T) {
	got, err := testModel(t).Embed(t.Context(), []string{
		"A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby.",
	})
	if err != nil {
		t.Fatal(err)
	}
	near, far := cosine32(got[0], got[1]), cosine32(got[0], got[2])
	if near <= far {
		t.Fatalf("cosine of the two eating sentences %.3f, of eating and carrying %.3f: want the first higher", near, far)
	}
}

func TestEmbedEmpty(t *testing.T) {
	got, err := testModel(t).Embed(t.Context(), nil)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Embed(nil) = %v, %v; want an empty result", got, err)
	}
}

func TestEmbedCanceled(t *testing.T) {
	m := testModel(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	got, err := m.Embed(ctx, []string{"a"})
	if !errors.Is(err, context.Canceled) || got != nil || !strings.Contains(err.Error(), m.Model()) {
		t.Fatalf("Embed with a canceled context = %v, %v; want context.Canceled naming %s", got, err, m.Model())
	}
}

// TestEmbedConcurrent runs Embed from two goroutines at once on one Model;
// the race detector watches, and every call must give the same vectors.
func TestEmbedConcurrent(t *testing.T) {
	m := testModel(t)
	want, err := m.Embed(t.Context(), embedTexts)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			got, err := m.Embed(t.Context(), embedTexts)
			if err != nil {
				t.Error(err)
				return
			}
			for i := range got {
				if c := cosine32(got[i], want[i]); c < 0.999999 {
					t.Errorf("goroutine %d, text %d: cosine %.8f with the first call", g, i, c)
				}
			}
		})
	}
	wg.Wait()
}

func TestModelName(t *testing.T) {
	m := testModel(t)
	if m.Dimension() != 384 {
		t.Fatalf("Dimension() = %d, want 384", m.Dimension())
	}
	if !strings.HasPrefix(m.Model(), "all-MiniLM-L6-v2 sha256:") || !strings.HasSuffix(m.Model(), " max_tokens:256") {
		t.Fatalf("Model() = %q", m.Model())
	}
	short, err := Load(modelDir(t), Config{MaxTokens: 128})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(short.Model(), " max_tokens:128") {
		t.Fatalf("Model() with MaxTokens 128 = %q: the limit changes long texts' vectors, so it must be in the name", short.Model())
	}
}
