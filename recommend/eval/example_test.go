package eval_test

import (
	"fmt"

	"github.com/cassandraorm/cassandraorm-go/recommend/eval"
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
