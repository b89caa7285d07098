package eval_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/recommend/eval"
)

// letters is a crude embedder for the test: a text's vector counts its
// letters a to z. It stands for a sentence embedder to exercise the content
// row's plumbing; its figures mean nothing.
type letters struct{}

func (letters) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, 26)
		for _, c := range strings.ToLower(t) {
			if c >= 'a' && c <= 'z' {
				v[c-'a']++
			}
		}
		out[i] = v
	}
	return out, nil
}

func (letters) Dimension() int { return 26 }
func (letters) Model() string  { return "letters" }

// With an embedder, Run adds the embedded content row and blends it into the
// hybrid in place of genres one-hot. On the first 100 users, to stay fast.
func TestRunWithEmbedder(t *testing.T) {
	ctx := context.Background()
	dir, err := eval.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d, err := eval.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for n < len(d.Ratings) && d.Ratings[n].User <= 100 {
		n++
	}
	d.Ratings = d.Ratings[:n]
	rep, err := eval.Run(ctx, d, eval.Options{Embedder: letters{}, ValidationFolds: 1, TuneNeighbors: []int{20}})
	if err != nil {
		t.Fatal(err)
	}
	row, ok := rep.Row(eval.Content)
	if !ok || row.Users != 100 {
		t.Fatalf("content row %+v (found %v), want one over 100 users", row, ok)
	}
	var b strings.Builder
	if err := rep.Write(&b); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "hybrid (item-kNN + popularity + content (titles and genres embedded))") || strings.Contains(out, "not run") {
		t.Errorf("report:\n%s\nwant the hybrid over the embedded content, and no row left out", out)
	}
}
