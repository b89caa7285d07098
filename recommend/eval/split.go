package eval

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

// Split is a train/test partition of the ratings.
type Split struct {
	// Train and Test hold each rating once.
	Train, Test []Rating
}

// SplitPerUser puts a random fraction of each user's ratings (rounded to the
// nearest whole number, at least one when the user has two or more) into
// Test and the rest into Train. Users are taken in id order and each user's
// ratings in movie order, whatever the order of ratings, shuffled by one PCG
// stream seeded with seed, so a seed gives the same split on every machine.
func SplitPerUser(ratings []Rating, fraction float64, seed uint64) Split {
	ratings = slices.Clone(ratings)
	slices.SortStableFunc(ratings, func(a, b Rating) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Movie, b.Movie))
	})
	rng := rand.New(rand.NewPCG(seed, seed))
	var s Split
	for start := 0; start < len(ratings); {
		end := start
		for end < len(ratings) && ratings[end].User == ratings[start].User {
			end++
		}
		user := append([]Rating(nil), ratings[start:end]...)
		rng.Shuffle(len(user), func(i, j int) { user[i], user[j] = user[j], user[i] })
		n := int(math.Round(fraction * float64(len(user))))
		if n == 0 && len(user) > 1 && fraction > 0 {
			n = 1
		}
		s.Test = append(s.Test, user[:n]...)
		s.Train = append(s.Train, user[n:]...)
		start = end
	}
	return s
}
