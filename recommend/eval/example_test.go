package eval_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/cassandraorm/cassandraorm-go/recommend/eval"
	"github.com/cassandraorm/cassandraorm-go/vector"
)

// A per-user split: each user keeps 80% of their ratings for training, the
// same ones for the same seed.
func ExampleSplitPerUser() {
	var ratings []eval.Rating
	for movie := int64(1); movie <= 10; movie++ {
		ratings = append(ratings, eval.Rating{User: 1, Movie: movie}, eval.Rating{User: 2, Movie: movie})
	}
	s := eval.SplitPerUser(ratings, 0.2, 42)
	fmt.Println(len(s.Train), len(s.Test))
	// Output: 16 4
}

// An embedder behind vector.Cached with a FileStore: what one run embeds, the
// next, opening the same file, reads back. (letters is the tests' toy
// embedder; the command puts the local MiniLM here.)
func ExampleFileStore() {
	dir, err := os.MkdirTemp("", "eval-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := eval.EmbeddingCachePath(dir, letters{}.Model())
	for run := 1; run <= 2; run++ {
		store, err := eval.OpenFileStore(path)
		if err != nil {
			log.Fatal(err)
		}
		emb, err := vector.NewCached(letters{}, store, vector.CachedConfig{})
		if err != nil {
			log.Fatal(err)
		}
		if _, err := emb.Embed(context.Background(), []string{"Toy Story (1995). Genres: Animation, Children's, Comedy"}); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("run %d: %d embedded, %d from the file\n", run, emb.Stats().Embedded, emb.Stats().Hits)
	}
	// Output:
	// run 1: 1 embedded, 0 from the file
	// run 2: 0 embedded, 1 from the file
}
