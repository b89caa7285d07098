package eval_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/internal/devenv"
	"github.com/cassandraorm/cassandraorm-go/recommend/eval"
	"github.com/cassandraorm/cassandraorm-go/vector"
	"github.com/cassandraorm/cassandraorm-go/vector/minilm"
)

// counting counts the texts it passes to the embedder it wraps.
type counting struct {
	vector.Embedder
	calls, texts atomic.Int64
}

func (c *counting) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	c.calls.Add(1)
	c.texts.Add(int64(len(texts)))
	return c.Embedder.Embed(ctx, texts)
}

// cachedInFile returns inner behind a vector.Cached whose store is the file
// at path, opened afresh.
func cachedInFile(t *testing.T, inner vector.Embedder, path string) *vector.Cached {
	t.Helper()
	store, err := eval.OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := vector.NewCached(inner, store, vector.CachedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The file keeps vectors across processes' worth of stores: a store opened
// again on the file answers every text, and a model of another name answers
// none of them.
func TestFileStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "cache.json")
	texts := []string{"Toy Story (1995). Genres: Animation, Children's, Comedy", "GoldenEye (1995). Genres: Action, Adventure, Thriller", "same", "same"}

	first := &counting{Embedder: letters{}}
	want, err := cachedInFile(t, first, path).Embed(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	if first.calls.Load() != 1 || first.texts.Load() != 3 {
		t.Fatalf("first run: %d calls, %d texts; want 1 call of the 3 distinct texts", first.calls.Load(), first.texts.Load())
	}

	again := &counting{Embedder: letters{}}
	got, err := cachedInFile(t, again, path).Embed(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	if again.calls.Load() != 0 {
		t.Errorf("second run: %d calls, want 0", again.calls.Load())
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("text %d: %v from the file, %v embedded", i, got[i], want[i])
		}
	}

	other := &counting{Embedder: renamed{letters{}}}
	if _, err := cachedInFile(t, other, path).Embed(ctx, texts); err != nil {
		t.Fatal(err)
	}
	if other.texts.Load() != 3 {
		t.Errorf("another model: %d texts embedded, want all 3", other.texts.Load())
	}
	store, err := eval.OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if store.Len() != 6 {
		t.Errorf("the file holds %d vectors, want 3 per model", store.Len())
	}
}

// renamed is letters under another model name.
type renamed struct{ letters }

func (renamed) Model() string { return "letters, renamed" }

// OpenFileStore refuses a file it cannot read, naming it.
func TestFileStoreRefuses(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"not JSON", "{"},
		{"bad hash", `[{"model":"m","dimension":1,"sha256":"zz","vector":[1]}]`},
		{"short vector", `[{"model":"m","dimension":2,"sha256":"` + strings.Repeat("a", 64) + `","vector":[1]}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cache.json")
			if err := os.WriteFile(path, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := eval.OpenFileStore(path); err == nil || !strings.Contains(err.Error(), path) {
				t.Errorf("OpenFileStore = %v, want an error naming %s", err, path)
			}
		})
	}
}

// The content model with the real local MiniLM, on the first 12 movies and
// their ratings (embedding all 1,682 takes minutes, far more under -race):
// the embedded content row runs, and a second run over the same file embeds
// nothing.
func TestRunWithMiniLM(t *testing.T) {
	ctx := context.Background()
	e, err := devenv.Load(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := e.MiniLMDir(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := minilm.Load(dir, minilm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	dataDir, err := eval.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d, err := eval.Load(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	const movies = 12
	d.Movies = d.Movies[:movies]
	d.Ratings = slices.DeleteFunc(d.Ratings, func(r eval.Rating) bool { return r.Movie > movies })

	path := eval.EmbeddingCachePath(t.TempDir(), m.Model())
	for run, wantTexts := range []int64{movies, 0} {
		inner := &counting{Embedder: m}
		rep, err := eval.Run(ctx, d, eval.Options{Embedder: cachedInFile(t, inner, path), ValidationFolds: 1, TuneNeighbors: []int{5}})
		if err != nil {
			t.Fatal(err)
		}
		if got := inner.texts.Load(); got != wantTexts {
			t.Errorf("run %d: MiniLM embedded %d texts, want %d", run+1, got, wantTexts)
		}
		row, ok := rep.Row(eval.Content)
		if !ok || row.Users == 0 || row.NDCG <= 0 {
			t.Errorf("run %d: content row %+v (found %v): want one with users and hits", run+1, row, ok)
		}
	}
}
