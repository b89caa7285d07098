package recommend_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cassandraorm/cassandraorm-go/recommend"
)

// letters is a crude embedder for the tests: a text's vector counts its
// letters a to z. claim is the dimension it reports (26 when honest).
type letters struct{ claim int }

func (l letters) Embed(_ context.Context, texts []string) ([][]float32, error) {
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

func (l letters) Dimension() int { return l.claim }
func (l letters) Model() string  { return "letters" }

func TestEmbedContent(t *testing.T) {
	ctx := context.Background()
	texts := map[string]string{"tent": "tent", "tents": "tents, two", "stove": "stove", "zzz": "zzz"}
	c, err := recommend.EmbedContent(ctx, letters{26}, texts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Similar(ctx, []string{"tent"}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if items(got) != "tent,tents,stove" {
		t.Errorf("Similar(tent) = %v, want tent, tents, stove", got)
	}
	for _, tc := range []struct {
		name  string
		emb   letters
		texts map[string]string
		want  string
	}{
		{"dimension differs from the model's", letters{384}, texts, "the model has 384"},
		{"a text with no letters: a zero vector", letters{26}, map[string]string{"x": "123"}, "zero or empty vector"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := recommend.EmbedContent(ctx, tc.emb, tc.texts); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("EmbedContent = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
